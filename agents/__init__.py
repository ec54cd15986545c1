"""Agent assemblies, registered by name. One lazy line per assembly; configs in configs/."""

from neuralbrain.core import AGENTS

AGENTS.register("scripted_picker", "neuralbrain_agents.scripted_picker:ScriptedPicker")
AGENTS.register("random", "neuralbrain_agents.random_agent:RandomAgent")
AGENTS.register("snn_cartpole", "neuralbrain_agents.snn_cartpole:SnnCartPole")
AGENTS.register("lsm_nmnist", "neuralbrain_agents.lsm:LsmNmnist")
AGENTS.register("lsm_fsdd", "neuralbrain_agents.lsm:LsmFsdd")
AGENTS.register("lsm_zeroshot", "neuralbrain_agents.lsm:LsmZeroShot")
AGENTS.register("insensor_nmnist", "neuralbrain_agents.insensor:InsensorNMNIST")
AGENTS.register("neural_brain", "neuralbrain_agents.neural_brain:NeuralBrain")
AGENTS.register("insensor_picker", "neuralbrain_agents.insensor:InsensorPicker")

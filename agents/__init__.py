"""Agent assemblies, registered by name. One lazy line per assembly; configs in configs/."""

from neuralbrain.core import AGENTS

AGENTS.register("scripted_picker", "agents.scripted_picker:ScriptedPicker")
AGENTS.register("random", "agents.random_agent:RandomAgent")
AGENTS.register("snn_cartpole", "agents.snn_cartpole:SnnCartPole")
AGENTS.register("lsm_nmnist", "agents.lsm:LsmNmnist")
AGENTS.register("lsm_fsdd", "agents.lsm:LsmFsdd")
AGENTS.register("lsm_zeroshot", "agents.lsm:LsmZeroShot")
AGENTS.register("insensor_nmnist", "agents.insensor:InsensorNMNIST")
AGENTS.register("neural_brain", "agents.neural_brain:NeuralBrain")
AGENTS.register("insensor_picker", "agents.insensor:InsensorPicker")

"""The registry of module types: one lazy line per module (its class is imported on use).

An agent TOML names a module's type (``[modules.perception] type = "perception"``). Another
package adds a type without touching this file, through an entry point::

    [project.entry-points."neuralbrain.modules"]
    my_policy = "my_package.policy:MyPolicy"

(this repository's DigitPick oracle modules plug in that way from ``neuralbrain_envs``).
"""

from __future__ import annotations

from neuralbrain.core import Module
from neuralbrain.registry import Registry

MODULES: Registry[type[Module]] = Registry("module", group="neuralbrain.modules")

# sensing
MODULES.register("perception", "neuralbrain.sensing.scene_perception:ScenePerception")
# memory
MODULES.register("scene_memory", "neuralbrain.memory.scene_memory:SceneMemory")
MODULES.register("listener", "neuralbrain.memory.listener:Listener")
# reasoning and planning
MODULES.register("reasoner", "neuralbrain.reasoning.gl.module:SceneReasoner")
MODULES.register("language", "neuralbrain.reasoning.planner.language:Language")
MODULES.register("llm_planner", "neuralbrain.reasoning.planner.planner:LlmPlanner")
# action
MODULES.register("plan_executor", "neuralbrain.control.executor:PlanExecutor")
MODULES.register("skill_control", "neuralbrain.control.executor:SkillControl")
MODULES.register("random_policy", "neuralbrain.control.random_policy:RandomPolicy")

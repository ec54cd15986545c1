"""Scripted picker: solves DigitPick from privileged ``info`` through the IK skills.

The first agent of the project and the upper bound for the others: it reads the target cube
and the scene from the env's ``info`` (an oracle; real perception comes with the Neural Brain
agent), plans the skill calls with ``envs.oracle.scripted_calls`` and executes them with the
skills of ``neuralbrain.control``. Its three modules run on the ``cpu`` backend by default and
book their arithmetic as integer ALU ops:

    env.info -> oracle.facts -> planner.plan -> control.action <- env.obs

The planner replans from fresh facts every step (a few comparisons per cube), so a skill
that fails (a missed grip, a cube knocked over) is simply planned again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neuralbrain.config import ExperimentConfig
from neuralbrain.control.skills import SceneFacts, Skill, SkillConfig, make_skill
from neuralbrain.core import Agent, Module
from neuralbrain_envs.oracle import scripted_calls
from neuralbrain_envs.scene import SceneGeometry

FACT_KEYS = ("target_cube", "on_top_of", "holding", "cube_positions", "tray_position")


@dataclass(frozen=True)
class ModuleConfig:
    backend: str = "cpu"


class Oracle(Module):
    """Copies the privileged scene facts out of ``info`` (one ALU op per scalar copied)."""

    Config = ModuleConfig
    inputs = {"info": dict}
    outputs = {"facts": dict}

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        info = inputs["info"]
        facts = {key: info[key] for key in FACT_KEYS}
        self.charge("alu_op", sum(np.size(v) for v in facts.values()), op="read_facts")
        return {"facts": facts}


class ScriptedPlanner(Module):
    """The skill calls that finish the task from the current facts (unstack, pick, place)."""

    Config = ModuleConfig
    inputs = {"facts": dict}
    outputs = {"plan": tuple}

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        facts = inputs["facts"]
        n = len(facts["on_top_of"])
        self.charge("alu_op", n * n, op="plan")  # the stack search compares every pair
        return {"plan": tuple(scripted_calls(facts))}


@dataclass(frozen=True)
class ControlConfig:
    backend: str = "cpu"
    skills: SkillConfig = field(default_factory=SkillConfig)


class SkillControl(Module):
    """Executes the first call of the plan with an IK skill; starts the next when it ends."""

    Config = ControlConfig
    inputs = {"plan": tuple, "facts": dict, "obs": object}
    outputs = {"action": np.ndarray}

    def __init__(self, config: ControlConfig, hardware: Any = None) -> None:
        super().__init__(config, hardware)
        self.geometry = SceneGeometry()
        self.skill: Skill | None = None

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self.skill = None

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        proprio = np.asarray(inputs["obs"]["proprio"])
        if self.skill is None or self.skill.done or self.skill.failed:
            facts = SceneFacts.from_info(inputs["facts"], cube_size_m=self.geometry.cube_size_m)
            self.skill = make_skill(inputs["plan"][0], facts, self.config.skills, proprio[7:9])
            self.charge("alu_op", self.skill.setup_ops, op="skill_setup")
        action = self.skill.step(proprio)
        self.charge("alu_op", self.skill.ops_per_step, op="skill_step")
        return {"action": np.asarray(action, dtype=np.float32)}


@dataclass(frozen=True)
class ScriptedPickerConfig:
    oracle: ModuleConfig = field(default_factory=ModuleConfig)
    planner: ModuleConfig = field(default_factory=ModuleConfig)
    control: ControlConfig = field(default_factory=ControlConfig)


class ScriptedPicker(Agent):
    """Oracle facts -> scripted plan -> IK skills (privileged; the upper bound)."""

    Config = ScriptedPickerConfig

    @classmethod
    def from_config(cls, cfg: ExperimentConfig, checkpoint: Path | None = None) -> ScriptedPicker:
        m = cfg.modules
        modules = {
            "oracle": Oracle(m.oracle, cfg.hardware),
            "planner": ScriptedPlanner(m.planner, cfg.hardware),
            "control": SkillControl(m.control, cfg.hardware),
        }
        edges = [
            ("env.info", "oracle.info"),
            ("oracle.facts", "planner.facts"),
            ("planner.plan", "control.plan"),
            ("oracle.facts", "control.facts"),
            ("env.obs", "control.obs"),
            ("control.action", "action"),
        ]
        return cls(modules, edges)

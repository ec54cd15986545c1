"""Modules that read DigitPick's privileged ``info``: an oracle and the scripted planner.

They plug into neuralbrain through the ``neuralbrain.modules`` entry point (as any other
package's modules would) and make the scripted picker, the upper bound the perceiving agents
are compared with:

    env.info -> oracle -> (facts, scene) -> scripted_planner -> plan -> skill_control

Both book their arithmetic as integer ALU work on their backend (``cpu`` by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from neuralbrain.control.skills import SceneFacts
from neuralbrain.core import Module, Needs
from neuralbrain.payloads import Plan
from neuralbrain_envs.oracle import scripted_calls

ALU = {"backend": Needs(actions={"alu_op"})}


@dataclass(frozen=True)
class OracleFacts:
    """What the scripted planner decides from: the target cube, what each cube rests on
    (-1: the table) and the cube held (-1: none), indices as in ``info``."""

    target_cube: int
    on_top_of: tuple[int, ...]
    holding: int = -1


@dataclass(frozen=True)
class Config:
    backend: str = "cpu"


class Oracle(Module):
    """Copies the privileged scene facts out of ``info`` (one ALU op per scalar copied)."""

    Config = Config
    inputs = {"info": object}
    outputs = {"facts": OracleFacts, "scene": SceneFacts}
    requires = ALU

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        info = inputs["info"]
        facts = OracleFacts(int(info["target_cube"]), tuple(int(s) for s in info["on_top_of"]),
                            int(info["holding"]))
        scene = SceneFacts.from_info(info)
        copied = 2 + len(facts.on_top_of) + scene.cube_positions.size + scene.tray_position.size
        self.charge("alu_op", copied, op="read_facts")
        return {"facts": facts, "scene": scene}


class ScriptedPlanner(Module):
    """The skill calls that finish the task from the current facts (unstack, pick, place)."""

    Config = Config
    inputs = {"facts": OracleFacts}
    outputs = {"plan": Plan}
    requires = ALU

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        facts: OracleFacts = inputs["facts"]
        n = len(facts.on_top_of)
        self.charge("alu_op", n * n, op="plan")  # the stack search compares every pair
        calls = scripted_calls({"target_cube": facts.target_cube, "on_top_of": facts.on_top_of,
                                "holding": facts.holding})
        return {"plan": Plan(tuple(calls))}


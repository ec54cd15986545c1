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
from neuralbrain_envs.oracle import goal_cubes, plan_calls

ALU = {"backend": Needs(actions={"alu_op"})}


@dataclass(frozen=True)
class OracleFacts:
    """What the scripted planner decides from, cube indices as in ``info``: the target cube,
    what each cube rests on (-1: the table), the cube held (-1: none), the goal's cubes for
    the tray in goal order (None: just the target), whether they are to be stacked in that
    order, the reason the request cannot be done ("" when it can) and the tray's cubes
    bottom to top."""

    target_cube: int
    on_top_of: tuple[int, ...]
    holding: int = -1
    goal_cubes: tuple[int, ...] | None = None
    ordered: bool = False
    cannot: str = ""
    tray_stack: tuple[int, ...] = ()


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
                            int(info["holding"]), tuple(goal_cubes(info)),
                            bool(info["goal_ordered"]), str(info["goal_cannot"]),
                            tuple(int(i) for i in info["tray_stack"]))
        scene = SceneFacts.from_info(info)
        copied = (4 + len(facts.on_top_of) + len(facts.goal_cubes) + len(facts.tray_stack)
                  + scene.cube_positions.size + scene.tray_position.size)
        self.charge("alu_op", copied, op="read_facts")
        return {"facts": facts, "scene": scene}


class ScriptedPlanner(Module):
    """The skill calls that finish the task from the current facts (unstack, pick, place;
    ``cannot()`` for an impossible request)."""

    Config = Config
    inputs = {"facts": OracleFacts}
    outputs = {"plan": Plan}
    requires = ALU

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        facts: OracleFacts = inputs["facts"]
        n = len(facts.on_top_of)
        self.charge("alu_op", n * n, op="plan")  # the stack search compares every pair
        goal = facts.goal_cubes if facts.goal_cubes is not None else (facts.target_cube,)
        calls = plan_calls(goal, facts.on_top_of, facts.holding, facts.tray_stack,
                           facts.ordered, facts.cannot)
        return {"plan": Plan(tuple(calls))}


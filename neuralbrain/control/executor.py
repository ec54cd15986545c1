"""Modules that act: run skill calls with the IK skills of ``neuralbrain.control.skills``.

``plan_executor`` runs a ``Plan`` against what memory believes (``SceneMap``) and reports each
skill that ended; ``skill_control`` runs the first call of a plan against given ``SceneFacts``
(an oracle's, or perceived ones) and lets the planner replan every step. Both book the
skills' arithmetic as integer ALU work on their backend (``Skill.setup_ops`` once,
``Skill.ops_per_step`` per step).

A call ``cannot(...)`` (any text inside the parentheses: the reason) is no skill: it is the
answer that the request cannot be done. Both modules answer it with one action that holds
the arm still and sets DigitPick's "cannot" element (``skills.arm_action``), which ends the
episode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuralbrain.control.arm import Proprio
from neuralbrain.control.skills import SceneFacts, Skill, SkillConfig, arm_action, make_skill
from neuralbrain.core import Module, Needs
from neuralbrain.errors import Error
from neuralbrain.payloads import Plan, SceneMap, SkillReport

REST = "rest"  # the report that the arm is back where it started, out of the camera's view
REST_TOLERANCE_M = 0.02
ALU = {"backend": Needs(actions={"alu_op"})}


@dataclass(frozen=True)
class Config:
    backend: str = "cpu"
    skills: SkillConfig = field(default_factory=SkillConfig)


class PlanExecutor(Module):
    """Runs the plan's calls one after the other; reports each finished or failed skill.

    A call names cubes as memory does (``pick(cube_3)``); the skills index the cubes memory
    knows in name order. After ``place(table)`` (a cube moved aside) the arm first returns
    to where it started the episode, out of the camera's way, and reports ``rest`` done; only
    then does the plan go on or a new plan get asked for (``replan``: the plan ran out or a
    skill failed). A ``cannot(reason)`` call is reported done at once (``SkillReport(call,
    "done", None, tip, reason)``) with the action that says so.
    """

    Config = Config
    inputs = {"plan": Plan, "scene": SceneMap, "obs": object}
    outputs = {"action": np.ndarray, "report": SkillReport, "replan": bool}
    requires = ALU

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self.skill: Skill | None = None
        self.call = ""
        self.index = 0
        self.plan: Plan | None = None
        self.home: np.ndarray | None = None  # the tip where the episode started
        self.resting = False

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        arm = Proprio.from_vector(inputs["obs"]["proprio"])
        scene: SceneMap = inputs["scene"]
        plan: Plan = inputs["plan"] or Plan()
        report = None
        tip = tuple(float(t) for t in arm.tip)
        if self.home is None:
            self.home = arm.tip.copy()
        if plan is not self.plan:  # a new plan (possibly equal to the last one)
            self.plan, self.index, self.skill = plan, 0, None
        if self.skill is not None and (self.skill.done or self.skill.failed):
            status = "done" if self.skill.done else "failed"
            report = SkillReport(self.call, status, scene.digit_of(_picked(self.call)), tip,
                                 self.skill.reason)
            self.skill = None
            self.index = self.index + 1 if status == "done" else len(plan.calls)
            self.resting = status == "done" and self.call == "place(table)"
        elif self.resting and np.linalg.norm(arm.tip - self.home) < REST_TOLERANCE_M:
            self.resting = False
            report = SkillReport(REST, "done", None, tip)
        if self.resting:
            self.charge("alu_op", 3, op="skill_step")  # a straight move: one target per axis
            return {"action": arm_action(self.home, -1.0), "report": report, "replan": False}
        grip = 1.0 if arm.suction else -1.0
        if (self.skill is None and report is None and self.index < len(plan.calls)
                and is_cannot(plan.calls[self.index])):
            # answered, not run (one report per step: a skill that just ended waits a step)
            call = plan.calls[self.index]
            self.index += 1
            report = SkillReport(call, "done", None, tip, call[len("cannot("):-1])
            return {"action": arm_action(arm.tip, grip, cannot=True), "report": report,
                    "replan": self.index >= len(plan.calls)}
        # A skill that just ended waits a step too: ``scene`` is what memory believed before
        # it read this report (after a place it still holds the cube just let go of).
        if (self.skill is None and report is None and self.index < len(plan.calls)
                and scene.tray is not None):
            self.call = plan.calls[self.index]
            try:
                self.skill = self._make(self.call, scene, arm)
            except Error as err:  # a call the skills cannot run: fail it, ask for a new plan
                report = SkillReport(self.call, "failed", None, tip, str(err))
                self.index = len(plan.calls)
        if self.skill is None:  # nothing to do: hold still, suction as it is
            action = arm_action(arm.tip, grip)
        else:
            action = self.skill.step(inputs["obs"]["proprio"])
            self.charge("alu_op", self.skill.ops_per_step, op="skill_step")
        replan = report is not None and self.index >= len(plan.calls)
        return {"action": np.asarray(action, np.float32), "report": report, "replan": replan}

    def _make(self, call: str, scene: SceneMap, arm: Proprio) -> Skill:
        names = sorted(scene.objects, key=lambda n: int(n.split("_")[1]))
        # skills index cubes by position in this list; rename the call accordingly
        target = _picked(call)
        if target in names:
            call = f"pick(cube_{names.index(target)})"
        facts = SceneFacts(
            cube_positions=np.array([scene.objects[n][1] for n in names]).reshape(-1, 3),
            tray_position=scene.tray,
            workspace=scene.workspace,
            holding=names.index(scene.held) if scene.held in names else -1,
        )
        skill = make_skill(call, facts, self.config.skills, arm.tip[:2])
        self.charge("alu_op", skill.setup_ops, op="skill_setup")
        return skill


def is_cannot(call: str) -> bool:
    """Whether ``call`` is the answer ``cannot(...)`` (any reason inside the parentheses)."""
    return call.startswith("cannot(") and call.endswith(")")


def _picked(call: str) -> str:
    """The object a ``pick(...)`` call names ("" for other calls)."""
    return call[5:-1] if call.startswith("pick(") and call.endswith(")") else ""


class SkillControl(Module):
    """Executes the first call of the plan with an IK skill; starts the next when it ends
    (the first call ``cannot(...)``: the action reporting it, holding still)."""

    Config = Config
    inputs = {"plan": Plan, "scene": SceneFacts, "obs": object}
    outputs = {"action": np.ndarray}
    requires = ALU

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self.skill: Skill | None = None

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        proprio = inputs["obs"]["proprio"]
        calls = inputs["plan"].calls
        if not calls or is_cannot(calls[0]):
            # nothing left to do (the goal holds), or the answer cannot(...): hold still,
            # saying it in the second case
            arm = Proprio.from_vector(proprio)
            self.skill = None
            grip = 1.0 if arm.suction else -1.0
            return {"action": arm_action(arm.tip, grip, cannot=bool(calls))}
        if self.skill is None or self.skill.done or self.skill.failed:
            tip_xy = Proprio.from_vector(proprio).tip[:2]
            self.skill = make_skill(inputs["plan"].calls[0], inputs["scene"], self.config.skills,
                                    tip_xy)
            self.charge("alu_op", self.skill.setup_ops, op="skill_setup")
        action = self.skill.step(proprio)
        self.charge("alu_op", self.skill.ops_per_step, op="skill_step")
        return {"action": np.asarray(action, dtype=np.float32)}

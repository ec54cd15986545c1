"""The skill-running modules answer ``cannot(...)`` with DigitPick's "cannot" action."""

from __future__ import annotations

import numpy as np

from neuralbrain.control.arm import Proprio, Workspace
from neuralbrain.control.executor import Config, PlanExecutor, SkillControl
from neuralbrain.control.skills import ACTION_SIZE, SceneFacts
from neuralbrain.payloads import Plan, SceneMap

WORKSPACE = Workspace(cube_size_m=0.06, tray_inner_half_m=0.08, tray_outer_half_m=0.09,
                      tray_floor_m=0.01, table_region=(0.42, 0.71, -0.22, 0.01), reach_xy_m=0.74)
TIP = np.array([0.3, 0.05, 0.45])


def obs(suction: bool = False) -> dict:
    return {"proprio": Proprio(np.zeros(7), TIP, suction, False).to_vector()}


def scene_map(tray: np.ndarray | None) -> SceneMap:
    return SceneMap({"cube_0": (4, np.array([0.5, -0.1, 0.03]))}, tray, None, WORKSPACE)


def module(cls):
    m = cls(Config(), {})
    m.reset(0)
    return m


def test_plan_executor_answers_cannot_at_once_holding_still():
    ex = module(PlanExecutor)
    plan = Plan(("cannot(no cube shows 4)",))
    # no tray seen yet: the answer needs none
    out = ex.step({"plan": plan, "scene": scene_map(None), "obs": obs(suction=True)})
    a = out["action"]
    assert a.shape == (ACTION_SIZE,) and a[4] == 1.0
    assert np.allclose(a[:3], TIP) and a[3] == 1.0  # still, suction as it was
    r = out["report"]
    assert (r.skill, r.status, r.digit, r.reason) == ("cannot(no cube shows 4)", "done", None,
                                                      "no cube shows 4")
    assert out["replan"]
    # the plan is spent: next step holds still without repeating the answer
    out = ex.step({"plan": plan, "scene": scene_map(None), "obs": obs()})
    assert out["report"] is None and out["action"][4] == 0.0


def test_plan_executor_skills_emit_five_floats_without_cannot():
    ex = module(PlanExecutor)
    out = ex.step({"plan": Plan(("pick(cube_0)",)), "scene": scene_map(np.array([0.56, 0.165, 0.0])),
                   "obs": obs()})
    assert out["action"].shape == (ACTION_SIZE,) and out["action"][4] == 0.0
    assert out["report"] is None


def test_skill_control_answers_cannot_then_runs_skills_again():
    sc = module(SkillControl)
    facts = SceneFacts(np.array([[0.5, -0.1, 0.03]]), np.array([0.56, 0.165, 0.0]), WORKSPACE)
    a = sc.step({"plan": Plan(("cannot()",)), "scene": facts, "obs": obs()})["action"]
    assert a.shape == (ACTION_SIZE,) and a[4] == 1.0 and np.allclose(a[:3], TIP) and a[3] == -1.0
    a = sc.step({"plan": Plan(("pick(cube_0)",)), "scene": facts, "obs": obs()})["action"]
    assert a.shape == (ACTION_SIZE,) and a[4] == 0.0


def test_skill_control_holds_still_once_nothing_is_left_to_do():
    """An empty plan (the goal already holds) is not an error: the arm stays where it is."""
    sc = module(SkillControl)
    facts = SceneFacts(np.array([[0.5, -0.1, 0.03]]), np.array([0.56, 0.165, 0.0]), WORKSPACE)
    a = sc.step({"plan": Plan(()), "scene": facts, "obs": obs(suction=True)})["action"]
    assert np.allclose(a[:3], TIP) and a[3] == 1.0 and a[4] == 0.0  # still, no "cannot"


def test_plan_executor_starts_the_next_call_a_step_after_a_report():
    """The report reaches memory at the next step: a skill started in the same step would
    run on a scene that still holds the cube just let go of."""
    ex = module(PlanExecutor)
    scene = scene_map(np.array([0.56, 0.165, 0.0]))
    plan = Plan(("pick(cube_0)", "place(tray)"))
    ex.step({"plan": plan, "scene": scene, "obs": obs()})
    ex.skill.status = "done"  # the pick ends (as the env would make it, many steps later)
    out = ex.step({"plan": plan, "scene": scene, "obs": obs(suction=True)})
    assert (out["report"].skill, out["report"].status) == ("pick(cube_0)", "done")
    assert ex.skill is None and np.allclose(out["action"][:3], TIP)  # held still this step
    out = ex.step({"plan": plan, "scene": scene, "obs": obs(suction=True)})
    assert out["report"] is None and ex.call == "place(tray)" and ex.skill is not None

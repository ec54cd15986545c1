"""Planning for a goal: every consequence of the facts, none of the request's words."""

from __future__ import annotations

import pytest

from neuralbrain.errors import DataError
from neuralbrain.payloads import TrayGoal
from neuralbrain.reasoning.affordances import GLJudge
from neuralbrain.reasoning.gl.agent import digitpick_reasoner
from neuralbrain.reasoning.goals import plan_for
from neuralbrain.reasoning.plan_suite import cases, oracle_plan, outcome

PLACES = ["location(tray)", "location(table)"]


@pytest.fixture(scope="module")
def judge():
    return GLJudge(digitpick_reasoner())


def _scene(*atoms):
    return PLACES + list(atoms)


def test_the_true_goal_gives_the_oracle_plan_in_every_kind(judge):
    for case in cases(range(100, 130)):
        g = case.task.goal
        plan = plan_for(TrayGoal(g.tray or (case.task.named_digit,)), case.facts, judge)
        assert plan == oracle_plan(case.task), case
        assert outcome(case.task, case.facts, plan) == (True, True)


def test_what_cannot_be_done_is_said_with_its_reason(judge):
    scene = _scene("shows(cube_0, 3)", "shows(cube_1, 5)", "reachable(cube_1)")
    assert plan_for(TrayGoal((4,)), scene, judge) == ["cannot(no_cube_shows_4)"]
    assert plan_for(TrayGoal((3,)), scene, judge) == ["cannot(cube_0_out_of_reach)"]
    assert plan_for(TrayGoal(()), scene, judge) == ["cannot(nothing_asked)"]


def test_a_cube_nobody_has_seen_may_be_under_a_pile(judge):
    scene = _scene("shows(cube_0, 3)", "reachable(cube_0)", "object(hidden_0)",
                   "on(cube_0, hidden_0)")
    assert plan_for(TrayGoal((7,)), scene, judge) == ["pick(cube_0)", "place(table)"]


def test_a_held_cube_and_goal_cubes_already_in_place(judge):
    scene = _scene("shows(cube_0, 3)", "shows(cube_1, 5)", "shows(cube_2, 8)",
                   "reachable(cube_0)", "reachable(cube_1)", "reachable(cube_2)",
                   "in(cube_0, tray)", "holding(cube_2)")
    assert plan_for(TrayGoal((3, 5)), scene, judge) == [
        "place(table)", "pick(cube_1)", "place(tray)", "done()"]
    assert plan_for(TrayGoal((3, 8)), scene, judge) == ["place(tray)", "done()"]


def test_contradicting_facts_are_a_clear_error(judge):
    with pytest.raises(DataError, match="cannot rest on itself"):
        plan_for(TrayGoal((3,)), _scene("shows(cube_0, 3)", "on(cube_0, cube_0)"), judge)
    with pytest.raises(DataError, match="cycle: cube_0 on cube_1 on cube_0"):
        plan_for(TrayGoal((3,)), _scene("shows(cube_0, 3)", "shows(cube_1, 4)",
                                        "on(cube_0, cube_1)", "on(cube_1, cube_0)"), judge)
    assert plan_for(TrayGoal((3,)), PLACES, judge) == ["cannot(empty_scene)"]

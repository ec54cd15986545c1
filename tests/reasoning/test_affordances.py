"""Affordances: the reasoner's verdict on every call, now and along every feasible prefix."""

from __future__ import annotations

import pytest

from neuralbrain.errors import ConfigError
from neuralbrain.reasoning.affordances import apply_skill, explore, gl_feasibility
from neuralbrain.reasoning.gl.agent import digitpick_reasoner

FACTS = ["shows(cube_1, 3)", "shows(cube_2, 7)", "reachable(cube_2)"]


def test_skills_change_the_facts_a_plan_reaches():
    held = apply_skill(FACTS, "pick(cube_2)")
    assert "holding(cube_2)" in held
    placed = apply_skill(held, "place(tray)")
    assert "placed(cube_2, tray)" in placed and "holding(cube_2)" not in placed
    stacked = ["shows(cube_1, 3)", "shows(cube_2, 7)", "on(cube_2, cube_1)"]
    assert "on(cube_2, cube_1)" not in apply_skill(stacked, "pick(cube_2)")
    assert apply_skill(FACTS, "done()") == FACTS


def test_gl_decides_along_a_plan():
    verdict = gl_feasibility(digitpick_reasoner())
    facts = FACTS + ["reachable(cube_1)", "shows(cube_3, 8)", "reachable(cube_3)",
                     "on(cube_3, cube_2)"]
    assert not verdict("pick(cube_2)", facts)[0]  # cube_3 rests on it
    assert not verdict("pick(cube_1)", FACTS)[0]  # not reachable
    assert not verdict("place(tray)", FACTS)[0]  # nothing held
    assert not verdict("done()", FACTS)[0]  # nothing placed yet
    moved = apply_skill(apply_skill(facts, "pick(cube_3)"), "place(bin)")
    assert verdict("pick(cube_2)", moved)[0]
    assert not verdict("pick(cube_3)", moved)[0] and "already placed" in verdict("pick(cube_3)", moved)[1]
    assert verdict("done()", moved)[0]


def test_explore_follows_feasible_calls_only_to_the_horizon():
    aff = explore(FACTS, 2, gl_feasibility(digitpick_reasoner()), "gl")
    assert set(aff.verdicts) == {(), ("pick(cube_2)",)}
    assert aff.calls() == ["pick(cube_1)", "pick(cube_2)", "place(tray)", "place(table)",
                           "place(bin)", "place(box)", "done()"]
    assert aff.check("place(bin)", ("pick(cube_2)",))[0]
    assert aff.check("fly(cube_2)") == (False, "'fly(cube_2)' is not a skill call of this scene")
    with pytest.raises(ConfigError, match="horizon"):
        aff.check("done()", ("pick(cube_1)",))

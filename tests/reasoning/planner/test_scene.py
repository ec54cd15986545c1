from __future__ import annotations

import pytest

from neuralbrain.errors import DataError
from neuralbrain.reasoning.planner.scene import (
    DEFAULT_PLACES,
    apply_skill,
    feasibility_function,
    parse_atom,
    parse_facts,
    rule_feasible,
)

FACTS = ["shows(cube_1, 3)", "shows(cube_2, 7)", "reachable(cube_2)"]


def test_parse_atom_and_scene():
    assert parse_atom(" shows( cube_2 ,7 ) ").args == ("cube_2", "7")
    scene = parse_facts(FACTS)
    assert scene.objects == ("cube_1", "cube_2") and scene.digits["cube_2"] == "7"
    assert scene.places == DEFAULT_PLACES
    assert "pick(cube_1)" in scene.skills() and "done()" in scene.skills()
    assert "(seven)" in scene.describe() and "out of reach" in scene.describe()
    assert parse_facts(FACTS + ["location(shelf)"]).places == ("shelf",)


@pytest.mark.parametrize("bad, match", [
    (["shows cube_1 3"], "expected a ground atom"),
    (["shows(cube_1, 3)", "reachable(cube_9)"], "unknown object 'cube_9'"),
    (["reachable(cube_1)"], "declare no object"),
    (["shows(cube_1)"], r"expected shows\(OBJECT, DIGIT\)"),
    (["shows(cube-1, 3)"], "not a name or number"),
    ("shows(cube_1, 3)", "expected a list"),
])
def test_bad_facts_name_what_is_wrong(bad, match):
    with pytest.raises(DataError, match=match):
        parse_facts(bad)


def test_rules_follow_the_plan_state():
    ok, why = rule_feasible("pick(cube_1)", FACTS)
    assert not ok and "not reachable" in why
    assert rule_feasible("pick(cube_2)", FACTS)[0]
    assert not rule_feasible("place(tray)", FACTS)[0]
    assert not rule_feasible("done()", FACTS)[0]
    held = apply_skill(FACTS, "pick(cube_2)")
    assert "holding(cube_2)" in held
    assert rule_feasible("place(tray)", held)[0]
    assert not rule_feasible("pick(cube_2)", held)[0]
    placed = apply_skill(held, "place(tray)")
    assert "placed(cube_2, tray)" in placed and "holding(cube_2)" not in placed
    assert rule_feasible("done()", placed)[0]
    assert not rule_feasible("pick(cube_2)", placed)[0]
    assert not rule_feasible("fly(cube_2)", FACTS)[0]


def test_gl_and_rules_agree_along_a_plan():
    fn, source = feasibility_function()
    assert source in ("gl", "rules")
    facts = FACTS + ["shows(cube_3, 8)", "reachable(cube_3)", "on(cube_3, cube_2)"]
    for skill in ("pick(cube_2)", "place(tray)", "done()"):
        states = [facts, apply_skill(facts, "pick(cube_3)"),
                  apply_skill(apply_skill(facts, "pick(cube_3)"), "place(bin)")]
        for state in states:
            got, why = fn(skill, state)
            assert got == rule_feasible(skill, state)[0], (skill, state, why)
    assert not fn("pick(cube_2)", facts)[0]  # cube_3 rests on it
    assert fn("pick(cube_2)", apply_skill(apply_skill(facts, "pick(cube_3)"), "place(bin)"))[0]

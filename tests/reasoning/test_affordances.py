"""The skills' effects on the facts, and the GL reasoner's verdicts on them."""

from __future__ import annotations

from neuralbrain.reasoning.affordances import GLJudge, apply_skill, skill_calls
from neuralbrain.reasoning.gl.agent import digitpick_reasoner
from neuralbrain.reasoning.planner.scene import parse_facts

FACTS = ["shows(cube_1, 3)", "shows(cube_2, 7)", "reachable(cube_2)"]


def test_skills_change_the_facts_a_plan_reaches():
    held = apply_skill(FACTS, "pick(cube_2)")
    assert "holding(cube_2)" in held
    placed = apply_skill(held, "place(tray)")
    assert "in(cube_2, tray)" in placed and "holding(cube_2)" not in placed
    second = apply_skill(apply_skill(placed + ["reachable(cube_1)"], "pick(cube_1)"),
                         "place(tray)")
    assert {"in(cube_1, tray)", "on(cube_1, cube_2)"} <= set(second)  # stacked on the top one
    stacked = ["shows(cube_1, 3)", "shows(cube_2, 7)", "on(cube_2, cube_1)"]
    assert "on(cube_2, cube_1)" not in apply_skill(stacked, "pick(cube_2)")
    assert apply_skill(held, "place(table)") == FACTS  # on the table: no fact
    assert apply_skill(FACTS, "done()") == FACTS


def test_gl_decides_what_can_run():
    judge = GLJudge(digitpick_reasoner())
    facts = FACTS + ["reachable(cube_1)", "shows(cube_3, 8)", "reachable(cube_3)",
                     "on(cube_3, cube_2)"]
    assert not judge.check("pick(cube_2)", facts)[0]  # cube_3 rests on it
    assert not judge.check("pick(cube_1)", FACTS)[0]  # not reachable
    assert not judge.check("place(tray)", FACTS)[0]  # nothing held
    assert judge.check("done()", FACTS)[0]
    held = apply_skill(facts, "pick(cube_3)")
    assert judge.check("place(table)", held)[0] and not judge.check("done()", held)[0]
    assert judge.check("cannot(x)", FACTS) == (True, "nothing done yet")
    assert not judge.check("cannot(x)", FACTS, first=False)[0]
    assert judge.feasible_calls(facts) == ["pick(cube_1)", "pick(cube_3)", "done()", "cannot()"]
    assert skill_calls(parse_facts(FACTS)) == ["pick(cube_1)", "pick(cube_2)", "place(tray)",
                                               "place(table)", "done()", "cannot()"]


def test_each_state_is_derived_once():
    judge = GLJudge(digitpick_reasoner())
    judge.check("pick(cube_2)", FACTS)
    spent = judge.reasoner.ledger.total.energy_j
    judge.check("pick(cube_1)", list(reversed(FACTS)))  # the same state in another order
    assert judge.reasoner.ledger.total.energy_j == spent

"""Planning modules: when they plan, and the rule planner's choices over the affordances."""

from __future__ import annotations

from neuralbrain.payloads import Facts, Plan, Request
from neuralbrain.reasoning.affordances import explore, gl_feasibility
from neuralbrain.reasoning.gl.agent import digitpick_reasoner
from neuralbrain.reasoning.planning import RuleConfig, RulePlanner

TARGET = ("location(tray)", "location(table)", "shows(cube_2, 7)", "reachable(cube_2)",
          "target(cube_2)")
COVERING = ("location(table)", "shows(cube_4, 1)", "reachable(cube_4)")  # target unseen


def _inputs(facts, replan=None, settling=None):
    affordances = explore(facts, 2, gl_feasibility(digitpick_reasoner()), "gl")
    return {"request": Request(7, "put the seven in the tray"), "facts": Facts(facts),
            "affordances": affordances, "replan": replan, "settling": settling}


def test_the_rule_planner_takes_the_target_to_the_tray():
    planner = RulePlanner(RuleConfig())
    planner.reset(0)
    assert planner.step(_inputs(TARGET))["plan"] == Plan(("pick(cube_2)", "place(tray)"))
    assert planner.ledger.total.energy_j > 0  # its compares are booked


def test_the_rule_planner_moves_what_may_cover_the_target_aside():
    planner = RulePlanner(RuleConfig())
    planner.reset(0)
    assert planner.step(_inputs(COVERING))["plan"] == Plan(("pick(cube_4)", "place(table)"))


def test_a_planning_module_keeps_its_plan_until_asked_and_waits_while_settling():
    planner = RulePlanner(RuleConfig())
    planner.reset(0)
    first = planner.step(_inputs(TARGET))["plan"]
    assert planner.step(_inputs(TARGET, replan=False))["plan"] is first
    settling = planner.step(_inputs(COVERING, replan=True, settling=True))["plan"]
    assert settling is first  # the scene is changing: wait for the new facts
    assert planner.step(_inputs(COVERING, replan=False))["plan"].calls == ("pick(cube_4)",
                                                                          "place(table)")

"""The reasoner module: derived facts for the language model, and the plan for its goal."""

from __future__ import annotations

import pytest

from neuralbrain.errors import ConfigError
from neuralbrain.payloads import Facts, Plan, TrayGoal
from neuralbrain.reasoning.gl.module import Config, SceneReasoner

SCENE = ("location(tray)", "location(table)", "shows(cube_1, 3)", "shows(cube_2, 7)",
         "on(cube_2, cube_1)", "reachable(cube_1)", "reachable(cube_2)")


def _step(module, facts=SCENE, goal=None, replan=None, settling=None):
    return module.step({"facts": Facts(facts), "goal": goal, "replan": replan,
                        "settling": settling})


def test_derived_facts_are_added_and_the_request_is_not_read():
    m = SceneReasoner(Config())
    m.reset(0)
    out = _step(m)
    assert out["facts"].atoms[:len(SCENE)] == SCENE
    derived = set(out["facts"].atoms[len(SCENE):])
    assert {"clear(cube_2)", "above(cube_2, cube_1)", "largest(cube_2)", "smallest(cube_1)",
            "largest_odd(cube_2)", "smallest_odd(cube_1)", "one_more(cube_1, 2)"} <= derived
    assert not any(f.startswith(("clear(cube_1)", "even")) for f in derived)
    assert out["plan"] == Plan()  # no goal yet: nothing to plan


def test_the_plan_for_a_goal_unstacks_first_and_waits_while_settling():
    m = SceneReasoner(Config())
    m.reset(0)
    out = _step(m, goal=TrayGoal((3,)))
    assert out["plan"].calls == ("pick(cube_2)", "place(table)", "pick(cube_1)", "place(tray)",
                                 "done()")
    assert _step(m, goal=TrayGoal((3,)), replan=False)["plan"] is out["plan"]
    moved = (*SCENE[:4], "reachable(cube_1)", "reachable(cube_2)")
    settling = _step(m, moved, TrayGoal((3,)), replan=True, settling=True)["plan"]
    assert settling is out["plan"]  # the scene is changing: wait for the new facts
    again = _step(m, moved, TrayGoal((3,)), replan=False)["plan"]
    assert again.calls == ("pick(cube_1)", "place(tray)", "done()")


def test_work_is_booked_on_the_backend_and_each_state_derived_once():
    m = SceneReasoner(Config())
    m.reset(0)
    _step(m)
    booked = {(b.op, b.backend) for b in m.ledger.drain()}
    assert booked == {("gl_agent.message", "logic_grid"), ("gl_agent.unify", "logic_grid"),
                      ("gl_agent.block_cycle", "logic_grid")}
    again = _step(m)
    assert m.ledger.drain() == [] and again == _step(m)
    m.to("cpu")
    _step(m, SCENE[:-1])
    assert {b.backend for b in m.ledger.drain()} == {"cpu"}


def test_the_same_input_gives_the_same_output():
    a, b = SceneReasoner(Config()), SceneReasoner(Config())
    a.reset(0)
    b.reset(0)
    assert _step(a, goal=TrayGoal((7,))) == _step(b, goal=TrayGoal((7,)))


def test_config_is_validated():
    with pytest.raises(ConfigError, match="max_steps"):
        Config(max_steps=0)
    with pytest.raises(ConfigError, match="max_calls"):
        Config(max_calls=0)

"""The reasoner module: the target, the facts the planner needs, and the affordances."""

from __future__ import annotations

import pytest

from neuralbrain.errors import ConfigError
from neuralbrain.payloads import Facts, Request
from neuralbrain.reasoning.gl.module import Config, SceneReasoner, relevant

SCENE = ("location(tray)", "location(table)", "shows(cube_1, 3)", "shows(cube_2, 7)",
         "on(cube_2, cube_1)", "reachable(cube_1)", "reachable(cube_2)")


def _step(module, facts=SCENE, digit=7):
    return module.step({"facts": Facts(facts), "request": Request(digit, "")})


def test_target_facts_and_affordances_two_calls_ahead():
    m = SceneReasoner(Config())
    m.reset(0)
    out = _step(m)
    assert out["facts"].atoms == ("location(tray)", "location(table)", "shows(cube_2, 7)",
                                  "on(cube_2, cube_1)", "reachable(cube_2)", "target(cube_2)")
    aff = out["affordances"]
    assert aff.check("pick(cube_2)") == (True, "GL proof by rule pick_when_reachable_and_clear")
    assert not aff.check("place(tray)")[0]
    assert not aff.check("done()")[0]
    assert aff.check("place(tray)", ("pick(cube_2)",))[0]
    assert not aff.check("pick(cube_2)", ("pick(cube_2)",))[0]  # the hand is full
    with pytest.raises(ConfigError, match="looked 2 call"):
        aff.check("done()", ("pick(cube_2)", "place(tray)"))


def test_work_is_booked_on_the_backend_and_only_when_the_facts_change():
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
    assert _step(a) == _step(b)


def test_config_is_validated():
    with pytest.raises(ConfigError, match="max_steps"):
        Config(max_steps=0)
    with pytest.raises(ConfigError, match="horizon"):
        Config(horizon=0)


def test_planner_facts_while_the_requested_cube_is_unseen():
    facts = ["location(tray)", "location(table)", "shows(cube_0, 3)", "reachable(cube_0)",
             "set_aside(cube_0)", "shows(cube_1, 8)", "reachable(cube_1)"]
    # only cubes that may cover it, and not the tray: the plan can only move cube_1 aside
    assert relevant(facts, [], True, ["cube_1"]) == [
        "location(table)", "shows(cube_1, 8)", "reachable(cube_1)"]
    assert relevant(facts, [], True, []) == []  # nothing can hide it: wait for the next look
    held = [*facts, "holding(cube_0)"]
    assert "holding(cube_0)" in relevant(held, [], True, [])  # a held cube must go somewhere
    assert relevant(facts, ["cube_1"], True, []) == [
        "location(tray)", "location(table)", "shows(cube_1, 8)", "reachable(cube_1)",
        "target(cube_1)"]
    assert relevant(facts, [], False, []) == [f for f in facts if not f.startswith("set_aside")]

from __future__ import annotations

import json

import pytest

from neuralbrain.errors import CapabilityError, ConfigError, DataError
from neuralbrain.reasoning.planner.commands import read_facts
from neuralbrain.reasoning.planner.planner import LlmPlanner, PlannerConfig
from neuralbrain.reasoning.planner.scene import parse_facts

from .helpers import gl_affordances, model_path_or_skip

FACTS = ["shows(cube_1, 3)", "shows(cube_2, 7)", "reachable(cube_1)", "reachable(cube_2)"]
AFFORDANCES = gl_affordances(FACTS)


@pytest.fixture(scope="module")
def planner():
    model_path_or_skip()
    return LlmPlanner(PlannerConfig(backend="cpu", n_ctx=512))


def test_scores_the_example_request(planner):
    result = planner.plan("put the seven in the tray", FACTS, AFFORDANCES)
    assert result.plan == ["pick(cube_2)", "place(tray)"]
    first = result.scores[0]
    assert set(first) == set(parse_facts(FACTS).skills())
    assert first["place(tray)"]["score"] == 0.0 and not first["place(tray)"]["feasible"]
    feasible_p = sum(v["llm_p"] for v in first.values() if v["feasible"])
    assert feasible_p == pytest.approx(1.0, abs=1e-3)
    assert result.energy_j > 0 and result.tokens > 0 and result.feasibility == "gl:digitpick"
    bookings = result.ledger.drain()
    ops = {b.op for b in bookings}
    assert {"mpgemm", "attn"} <= ops and "place" not in ops  # weights were placed at load
    assert {b.backend for b in bookings} == {"cpu"}
    assert result.ledger.total.energy_j == pytest.approx(result.energy_j)
    out = result.to_json()
    assert json.loads(json.dumps(out))["plan"] == result.plan


def test_generate_mode_emits_only_valid_calls_and_is_seeded(planner):
    planner.config = PlannerConfig(backend="cpu", mode="generate", temperature=1.0, n_ctx=512,
                                   max_steps=1)
    plans = []
    for seed in (5, 5):
        planner.reset(seed)
        plans.append(planner.plan("I want the three in the box", FACTS, AFFORDANCES).plan)
    assert plans[0] == plans[1]
    assert plans[0][0] in ("pick(cube_1)", "pick(cube_2)")
    assert len(plans[0]) == 1


def test_a_backend_without_mpgemm_is_refused_when_the_planner_is_built():
    with pytest.raises(CapabilityError, match=r"'LlmPlanner': backend = 'rram' cannot run op "
                                              r"'mpgemm'.*\['cpu', 'lut'\]"):
        LlmPlanner(PlannerConfig(backend="rram"))


def test_bad_input_is_named(planner, tmp_path):
    with pytest.raises(DataError, match="instruction ''"):
        planner.plan("", FACTS, AFFORDANCES)
    with pytest.raises(DataError, match="unknown object 'cube_7'"):
        planner.plan("put it away", FACTS + ["reachable(cube_7)"], AFFORDANCES)
    with pytest.raises(DataError, match="context"):
        planner.plan("please " * 600, FACTS, AFFORDANCES)
    planner.config = PlannerConfig(backend="cpu", n_ctx=512, max_steps=2)
    with pytest.raises(ConfigError, match="look 1 call.*max_steps = 2"):
        planner.plan("put the seven in the tray", FACTS, gl_affordances(FACTS, horizon=1))
    with pytest.raises(ConfigError, match="mode"):
        PlannerConfig(mode="beam")
    path = tmp_path / "facts.json"
    path.write_text('{"shows": 1}')
    with pytest.raises(DataError, match="expected a JSON list"):
        read_facts(path)
    with pytest.raises(DataError, match="does not exist"):
        read_facts(tmp_path / "missing.json")

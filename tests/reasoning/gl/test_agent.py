import pytest

from neuralbrain.energy import Ledger
from neuralbrain.errors import BudgetExceeded, CapabilityError, ConfigError, UnknownNameError
from neuralbrain.hardware import make_backend
from neuralbrain.reasoning.gl.agent import Reasoner, digitpick_reasoner, feasible
from neuralbrain.reasoning.gl.mpl import theories_dir

SCENE = [
    "shows(cube_1, 3)",
    "shows(cube_2, 7)",
    "on(cube_2, cube_1)",
    "reachable(cube_1)",
    "reachable(cube_2)",
    "heard(7)",
]


def test_target_is_the_cube_showing_the_heard_digit():
    r = digitpick_reasoner()
    for f in SCENE:
        r.assert_fact(f)
    res = r.query("target(?c)")
    assert [a["bindings"]["?c"] for a in res["answers"]] == ["cube_2"]
    proof = res["answers"][0]["proof"]
    assert proof["rule"] == "target_shows_heard_digit"
    assert {p["fact"] for p in proof["premises"]} == {"shows(cube_2, 7)", "heard(7)"}


def test_a_cube_the_agent_set_aside_covers_nothing():
    r = digitpick_reasoner()
    for f in ["shows(cube_1, 3)", "shows(cube_2, 8)", "reachable(cube_1)", "reachable(cube_2)",
              "heard(5)"]:
        r.assert_fact(f)
    assert r.query("target(?c)")["answers"] == []  # nobody has seen a 5: it may be under one
    covering = lambda: sorted(a["bindings"]["?c"] for a in r.query("may_cover(?c)")["answers"])  # noqa: E731
    assert covering() == ["cube_1", "cube_2"]
    r.assert_fact("set_aside(cube_1)")
    assert covering() == ["cube_2"]


def test_pick_feasibility_with_explanations():
    ok, why = feasible("pick(cube_2)", SCENE)
    assert ok and why["is_target"] and why["proof"]["rule"] == "pick_when_reachable_and_clear"
    assert "covered(cube_2)" in why["proof"]["absent"]
    ok, why = feasible("pick(cube_1)", SCENE)
    assert not ok and not why["is_target"]
    assert "covered(cube_1) holds" in why["why_not"][0]["fails"]
    assert "on(cube_2, cube_1)" in why["why_not"][0]["fails"]
    ok, why = feasible("pick(cube_1)", ["shows(cube_1, 3)"])
    assert not ok and "reachable" in why["why_not"][0]["fails"]


def test_place_needs_a_held_cube_and_pick_an_empty_hand():
    assert not feasible("place(tray)", SCENE)[0]
    assert feasible("place(tray)", [*SCENE, "holding(cube_2)"])[0]
    assert feasible("place(table)", [*SCENE, "holding(cube_2)"])[0]
    assert not feasible("pick(cube_2)", [*SCENE, "holding(cube_1)"])[0]


def test_feasible_is_pure():
    a = feasible("pick(cube_2)", SCENE)
    b = feasible("pick(cube_2)", SCENE)
    assert a == b
    r = digitpick_reasoner()
    feasible("pick(cube_2)", SCENE, r)
    assert r.facts() == ["location(table)", "location(tray)"]


def test_assert_retract_and_add_rule():
    r = digitpick_reasoner()
    for f in SCENE:
        r.assert_fact(f)
    assert not r.query("pick(cube_1)")["holds"]
    assert r.retract_fact("on(cube_2, cube_1)")
    assert r.query("pick(cube_1)")["holds"]
    r.add_rule("(rule stacked (forall ((a Cube) (b Cube)) (implies (on a b) (covered a))))")
    r.assert_fact("(on cube_1 cube_2)")
    assert not r.query("pick(cube_1)")["holds"]
    exp = r.explain("covered(cube_1)")
    assert exp["holds"] and exp["proof"]["rule"] == "stacked"


def test_bad_input_is_reported():
    r = digitpick_reasoner()
    with pytest.raises(ConfigError, match="ill-typed"):
        r.assert_fact("shows(tray, 3)")
    with pytest.raises(ConfigError, match="Digit"):
        r.assert_fact("heard(12)")
    with pytest.raises(UnknownNameError, match="did you mean 'reachable'"):
        r.assert_fact("reachble(cube_1)")
    with pytest.raises(ConfigError, match="range restriction"):
        r.add_rule("(rule bad (forall ((c Cube)) (implies (not (covered c)) (pick c))))")
    with pytest.raises(ConfigError, match="stratified"):
        r.add_rule("(rule loop (forall ((c Cube)) (implies (and (reachable c) (not (pick c))) "
                   "(pick c))))")
    with pytest.raises(UnknownNameError):
        feasible("throw(cube_1)", SCENE)
    with pytest.raises(ConfigError):
        feasible("pick cube_1", SCENE)


def test_budget_exhaustion_raises():
    r = digitpick_reasoner()
    for i in range(30):
        r.assert_fact(f"on(cube_{i}, cube_{i + 1})")
        r.assert_fact(f"reachable(cube_{i})")
    with pytest.raises(BudgetExceeded, match="budget"):
        r.run(max_steps=10)


@pytest.mark.parametrize("backend", ["cpu", "logic_grid"])
def test_inference_is_booked(backend):
    ledger = Ledger()
    r = Reasoner(theories_dir() / "digitpick.mpl", make_backend(backend), ledger)
    feasible("pick(cube_2)", SCENE, r)
    assert ledger.total.energy_j > 0
    assert ledger.total.latency_s > 0
    bookings = ledger.drain()
    assert {(b.op, b.backend) for b in bookings} == {
        (f"gl_agent.{a}", backend) for a in ("message", "unify", "block_cycle")}
    table = make_backend(backend).energy_table
    s = r.stats
    assert ledger.total.energy_j == pytest.approx(
        s.messages * table["message"] + s.unify * table["unify"] + s.cycles * table["block_cycle"])


def test_cpu_prices_a_message_as_16_and_a_unification_as_24_alu_ops():
    ledger = Ledger()
    r = Reasoner(theories_dir() / "digitpick.mpl", make_backend("cpu"), ledger)
    feasible("pick(cube_2)", SCENE, r)
    alu = make_backend("cpu").energy_table["alu_op"]
    n_alu = 16 * r.stats.messages + 24 * r.stats.unify
    assert ledger.total.energy_j == pytest.approx(n_alu * alu)
    assert ledger.total.latency_s == pytest.approx(n_alu / 8e9)


def test_a_backend_that_cannot_price_the_grid_is_refused_and_none_books_nothing():
    with pytest.raises(CapabilityError, match=r"GL reasoner: backend = 'rram' does not price "
                                              r"action 'block_cycle'.*'cpu'.*'logic_grid'"):
        Reasoner(theories_dir() / "digitpick.mpl", make_backend("rram"))
    r = Reasoner(theories_dir() / "digitpick.mpl")
    assert feasible("pick(cube_2)", SCENE, r)[0]
    assert r.ledger.total.energy_j == 0 and r.ledger.drain() == []

import pytest

from neuralbrain.energy import Ledger
from neuralbrain.errors import BudgetExceeded, CapabilityError, ConfigError, UnknownNameError
from neuralbrain.hardware import make_backend
from neuralbrain.reasoning.gl.agent import Reasoner, digitpick_reasoner
from neuralbrain.reasoning.gl.mpl import theories_dir

SCENE = [
    "shows(cube_1, 3)",
    "shows(cube_2, 7)",
    "on(cube_2, cube_1)",
    "reachable(cube_1)",
    "reachable(cube_2)",
]


def _answers(r, query, var="?c"):
    return sorted(a["bindings"][var] for a in r.query(query)["answers"])


def test_what_the_numbers_say_is_derived_with_a_proof():
    r = digitpick_reasoner()
    for f in [*SCENE, "shows(cube_3, 4)", "shows(cube_4, 8)"]:
        r.assert_fact(f)
    assert _answers(r, "largest(?c)") == ["cube_4"] and _answers(r, "smallest(?c)") == ["cube_1"]
    assert _answers(r, "smallest_even(?c)") == ["cube_3"]
    assert _answers(r, "largest_odd(?c)") == ["cube_2"]
    assert _answers(r, "one_more(?c, 6)") == ["cube_2"]
    proof = r.query("largest(cube_4)")["answers"][0]["proof"]
    assert proof["rule"] == "largest_unless_bigger_shown"
    assert "bigger_shown(cube_4)" in proof["absent"]


def test_piles_clear_cubes_and_picks():
    r = digitpick_reasoner()
    for f in [*SCENE, "shows(cube_3, 4)", "on(cube_3, cube_2)", "reachable(cube_3)"]:
        r.assert_fact(f)
    assert _answers(r, "above(?a, cube_1)", "?a") == ["cube_2", "cube_3"]
    assert _answers(r, "clear(?c)") == ["cube_3"] and _answers(r, "pick(?c)") == ["cube_3"]
    why = r.explain("pick(cube_1)")
    assert not why["holds"] and "covered(cube_1) holds" in why["why_not"][0]["fails"]


def test_place_needs_a_held_cube_and_pick_an_empty_hand():
    r = digitpick_reasoner()
    for f in SCENE:
        r.assert_fact(f)
    assert not r.query("place(tray)")["holds"]
    r.assert_fact("holding(cube_2)")
    assert r.query("place(tray)")["holds"] and r.query("place(table)")["holds"]
    assert not r.query("pick(cube_1)")["holds"]  # the hand is full


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
        r.assert_fact("shows(cube_1, 12)")
    with pytest.raises(UnknownNameError, match="did you mean 'reachable'"):
        r.assert_fact("reachble(cube_1)")
    with pytest.raises(ConfigError, match="range restriction"):
        r.add_rule("(rule bad (forall ((c Cube)) (implies (not (covered c)) (pick c))))")
    with pytest.raises(ConfigError, match="stratified"):
        r.add_rule("(rule loop (forall ((c Cube)) (implies (and (reachable c) (not (pick c))) "
                   "(pick c))))")


def test_budget_exhaustion_raises():
    r = digitpick_reasoner()
    for i in range(30):
        r.assert_fact(f"on(cube_{i}, cube_{i + 1})")
        r.assert_fact(f"reachable(cube_{i})")
    with pytest.raises(BudgetExceeded, match="budget"):
        r.run(max_steps=10)


def _ask(r, atom):
    for f in SCENE:
        r.assert_fact(f)
    return r.query(atom)["holds"]


@pytest.mark.parametrize("backend", ["cpu", "logic_grid"])
def test_inference_is_booked(backend):
    ledger = Ledger()
    r = Reasoner(theories_dir() / "digitpick.mpl", make_backend(backend), ledger)
    _ask(r, "pick(cube_2)")
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
    _ask(r, "pick(cube_2)")
    alu = make_backend("cpu").energy_table["alu_op"]
    n_alu = 16 * r.stats.messages + 24 * r.stats.unify
    assert ledger.total.energy_j == pytest.approx(n_alu * alu)
    assert ledger.total.latency_s == pytest.approx(n_alu / 8e9)


def test_a_backend_that_cannot_price_the_grid_is_refused_and_none_books_nothing():
    with pytest.raises(CapabilityError, match=r"GL reasoner: backend = 'rram' does not price "
                                              r"action 'block_cycle'.*'cpu'.*'logic_grid'"):
        Reasoner(theories_dir() / "digitpick.mpl", make_backend("rram"))
    r = Reasoner(theories_dir() / "digitpick.mpl")
    assert _ask(r, "pick(cube_2)")
    assert r.ledger.total.energy_j == 0 and r.ledger.drain() == []


@pytest.mark.parametrize("digit", ["²", "9" * 5000, "-0x1"])
def test_a_digit_that_is_not_an_ascii_int64_is_a_config_error(digit):
    # "²".isdigit() is true and int("²") a ValueError; 5000 digits overflow int()
    with pytest.raises(ConfigError, match=r"is not a Digit \(an integer in \[0, 9\]\)"):
        digitpick_reasoner().assert_fact(f"shows(cube_1, {digit})")

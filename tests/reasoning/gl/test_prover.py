import pytest

from neuralbrain.energy import Ledger
from neuralbrain.errors import ConfigError, DataError
from neuralbrain.hardware import make_backend
from neuralbrain.reasoning.gl.checker import check_document
from neuralbrain.reasoning.gl.export import proof_document
from neuralbrain.reasoning.gl.laws import STANDARD_LAWS
from neuralbrain.reasoning.gl.mpl import load_theory, parse_theory, theories_dir
from neuralbrain.reasoning.gl.prover import Prover, ProverConfig
from neuralbrain.reasoning.gl.run import prove_file

PEANO_PATH = theories_dir() / "peano.mpl"


def test_discovers_and_proves_the_five_laws(peano_run):
    s = peano_run["summary"]
    assert s["laws_found"] == list(STANDARD_LAWS)
    assert s["checked"] is True and s["rejected"] == []
    assert not s["budget_exhausted"]
    names = {t["law"] for t in peano_run["doc"]["theorems"]}
    assert set(STANDARD_LAWS) <= names
    # the lemmas they need were found too, e.g. 0 + x = x and s(x) + y = s(x + y)
    texts = {t["text"] for t in peano_run["doc"]["theorems"]}
    assert "0 + x = x" in texts and "s(x) + y = s((x + y))" in texts


def test_every_law_rests_only_on_axioms_and_earlier_theorems(peano_run):
    seen = {a["id"] for a in peano_run["doc"]["axioms"]}
    for t in peano_run["doc"]["theorems"]:
        assert set(t["deps"]) <= seen, t["name"]
        seen.add(t["id"])


def _small_run(budget_s=30.0, size=5):
    theory = load_theory(PEANO_PATH)
    run = Prover(theory, ProverConfig(max_term_size=size, budget_s=budget_s)).discover()
    return theory, run


def test_same_input_same_output():
    _, a = _small_run(size=7)
    _, b = _small_run(size=7)
    assert [t.as_json() for t in a.theorems] == [t.as_json() for t in b.theorems]
    assert len(a.theorems) > 5


def test_a_tiny_budget_reports_exhaustion_and_claims_nothing_false():
    theory, run = _small_run(budget_s=0.001, size=7)
    assert run.budget_exhausted
    text = PEANO_PATH.read_text()
    import hashlib

    doc = proof_document(theory, hashlib.sha256(text.encode()).hexdigest(), run)
    report = check_document(doc, text)
    assert report.rejected == []  # whatever it did prove is checked


def test_targets_mode_proves_a_given_list(tmp_path):
    targets = tmp_path / "t.mpl"
    targets.write_text(
        "(theorem plus_comm (forall ((a N) (b N) (c N)) (implies (+ a b c) (+ b a c))))\n"
        "(theorem times_zero_left (forall ((a N)) (* 0 a 0)))\n"
    )
    out = prove_file(PEANO_PATH, targets, config=ProverConfig(budget_s=20))
    assert {"plus_comm", "times_zero_left"} <= set(out["proved"])
    assert out["checked"] and out["unproved"] == []
    assert "add_comm" in out["laws_found"]


def test_a_false_target_is_not_proved(tmp_path):
    targets = tmp_path / "t.mpl"
    targets.write_text("(theorem wrong (forall ((a N)) (+ a a a)))\n")
    out = prove_file(PEANO_PATH, targets, config=ProverConfig(budget_s=3, max_term_size=5))
    assert "wrong" not in out["proved"]
    assert out["unproved"][0]["name"] == "wrong"
    assert "counterexample {'a': 1}" in out["unproved"][0]["reason"]


NO_INDUCTION = PEANO_PATH.read_text().replace("(induction N (base 0) (step s))", "")


def test_no_induction_declaration(tmp_path):
    theory_file = tmp_path / "noind.mpl"
    theory_file.write_text(NO_INDUCTION)
    with pytest.raises(DataError, match="declares no"):
        prove_file(theory_file)
    targets = tmp_path / "t.mpl"
    targets.write_text("(theorem zero_left (forall ((a N)) (+ 0 a a)))\n")
    out = prove_file(theory_file, targets, config=ProverConfig(budget_s=5))
    assert out["proved"] == []
    assert "declares no induction for sort N" in out["unproved"][0]["reason"]
    # a target that needs no induction is still proved by rewriting alone
    targets.write_text("(theorem zero_right (forall ((a N) (b N)) (implies (+ a 0 b) (= b a))))")
    out = prove_file(theory_file, targets, config=ProverConfig(budget_s=5))
    assert out["proved"] == ["zero_right"] and out["checked"]
    assert parse_theory(NO_INDUCTION).inductions == {}


def test_bad_config_names_the_field():
    with pytest.raises(ConfigError, match="max_term_size"):
        ProverConfig(max_term_size=0)
    with pytest.raises(ConfigError, match="budget_s"):
        ProverConfig(budget_s=-1)
    with pytest.raises(ConfigError, match=r"goal_share=0: expected a share in \(0, 1\]"):
        ProverConfig(goal_share=0)
    with pytest.raises(ConfigError, match="class_pairs"):
        ProverConfig(class_pairs=-1)
    with pytest.raises(ConfigError, match="ih_instances"):
        ProverConfig(ih_instances=1.5)
    with pytest.raises(ConfigError, match=r"conjecture_share=1.5: expected a share"):
        ProverConfig(conjecture_share=1.5)
    with pytest.raises(ConfigError, match="fertilize"):
        ProverConfig(fertilize=-1)


@pytest.mark.parametrize("backend", ["cpu", "logic_grid"])
def test_reasoning_is_booked_on_the_backend(backend):
    ledger = Ledger()
    theory = load_theory(PEANO_PATH)
    Prover(theory, ProverConfig(max_term_size=4), make_backend(backend), ledger).discover()
    assert ledger.total.energy_j > 0 and ledger.total.ops > 0
    where = {(b.op, b.backend) for b in ledger.drain()}
    assert where == {(f"gl.{a}", backend) for a in ("message", "unify", "block_cycle")}


def test_discovery_over_two_inductive_sorts_is_refused_clearly(tmp_path):
    extra = "(sort M)\n(constant e M)\n(relation t (M M) functional)\n(induction M (base e) (step t))\n"
    f = tmp_path / "two.mpl"
    f.write_text(PEANO_PATH.read_text() + extra)
    with pytest.raises(DataError, match="one inductive sort"):
        prove_file(f)


def test_a_target_already_discovered_is_not_proved_twice():
    import hashlib

    text = PEANO_PATH.read_text()
    theory = parse_theory(text, str(PEANO_PATH))
    prover = Prover(theory, ProverConfig(max_term_size=4))
    prover.discover()
    ext = parse_theory("(theorem zero_plus (forall ((a N) (c N)) (implies (+ 0 a c) (= c a))))",
                       base=theory)
    run = prover.prove_targets([(s.name, s.formula) for s in ext.of_kind("theorem")])
    assert [t.name for t in run.theorems] == ["zero_plus"]
    ids = [t.tid for t in prover.theorems]
    assert len(ids) == len(set(ids))
    doc = proof_document(theory, hashlib.sha256(text.encode()).hexdigest(), run)
    assert check_document(doc, text).ok


# -- the memory cap beside the time budget ---------------------------------------
def test_memory_cap_stops_discovery_and_says_so(monkeypatch):
    from neuralbrain.reasoning.gl import prover as prover_mod

    rss = iter(range(0, 10**12, 2**20))  # grows 1 MiB per look
    monkeypatch.setattr(prover_mod, "resident_bytes", lambda: next(rss))
    monkeypatch.setattr(prover_mod, "_MEMORY_EVERY", 1)
    theory = load_theory(PEANO_PATH)
    run = Prover(theory, ProverConfig(max_memory_mb=20, budget_s=600)).discover()
    assert run.budget_exhausted and run.exhausted_by == "memory"
    assert run.seconds < 60  # stopped by memory, not by the 600 s budget
    with_target = parse_theory(
        "(theorem add_comm (forall ((a N) (b N) (c N)) (implies (+ a b c) (+ b a c))))",
        base=theory)
    targets = [(st.name, st.formula) for st in with_target.of_kind("theorem")]
    assert targets
    theory = with_target
    rss = iter(range(0, 10**12, 2**20))
    res = Prover(theory, ProverConfig(max_memory_mb=3)).prove_targets(targets)
    assert res.exhausted_by == "memory"
    assert any("memory limit reached" in u["reason"] for u in res.unproved)


def test_time_budget_is_named_too_and_memory_cap_is_validated():
    theory = load_theory(PEANO_PATH)
    run = Prover(theory, ProverConfig(budget_s=1e-6)).discover()
    assert run.budget_exhausted and run.exhausted_by == "time"
    with pytest.raises(ConfigError, match=r"max_memory_mb=0: expected MiB > 0"):
        ProverConfig(max_memory_mb=0)


def test_constructors_rank_below_every_defined_function():
    from neuralbrain.reasoning.gl.blocks import derived_precedence

    # filter is declared first, but it uses ite (defined) and ++ only cons (a constructor):
    # filter(p, xs ++ ys) -> filter(p, xs) ++ filter(p, ys) is then the oriented direction
    functions = {"filter": (), "++": (), "cons": (), "ite": ()}
    defs = [(("ite", ("true",), "x", "y"), "x"),
            (("++", ("cons", "x", "xs"), "y"), ("cons", "x", ("++", "xs", "y"))),
            (("filter", "p", ("cons", "x", "xs")),
             ("ite", ("p",), ("cons", "x", ("filter", "p", "xs")), ("filter", "p", "xs")))]
    prec = derived_precedence(functions, ["nil"], defs)
    assert prec["filter"] > prec["++"] > prec["cons"] > prec["nil"]
    assert prec["ite"] > prec["cons"]


def test_the_grid_calls_its_budget_hook_inside_one_long_normalisation():
    from neuralbrain.reasoning.gl.blocks import CHECK_EVERY, LogicGrid, Order

    grid = LogicGrid(Order({"0": 0, "s": 1, "+": 2}))
    grid.add_equation("add_0", ("+", "x", ("0",)), "x")
    grid.add_equation("add_s", ("+", "x", ("s", "y")), ("s", ("+", "x", "y")))
    num: tuple = ("0",)
    for _ in range(100):
        num = ("s", num)
    calls = []
    grid.on_rewrites = lambda: calls.append(1)
    steps = []
    grid.normalize(("+", num, num), steps)
    assert len(steps) == 101 and len(calls) >= 101 // CHECK_EVERY
    assert calls  # hundreds of rewrite attempts in one normalize call

    class Stop(Exception):
        pass

    def stop():
        raise Stop

    grid.on_rewrites = stop
    with pytest.raises(Stop):
        grid.normalize(("+", num, num), [])
    prover = Prover(load_theory(theories_dir() / "peano.mpl"))
    assert prover.grid.on_rewrites == prover._check_budget

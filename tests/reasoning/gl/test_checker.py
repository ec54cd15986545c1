import copy

from neuralbrain.reasoning.gl.checker import check_document
from neuralbrain.reasoning.gl.mpl import theories_dir

TEXT = (theories_dir() / "peano.mpl").read_text()


def _first(doc, method):
    return next(i for i, t in enumerate(doc["theorems"]) if t["proof"]["method"] == method)


def test_checker_accepts_the_discovered_proofs(peano_run):
    report = check_document(peano_run["doc"], TEXT)
    assert report.ok
    assert len(report.accepted) == len(peano_run["doc"]["theorems"])


def test_planted_wrong_step_is_rejected_and_so_is_what_rests_on_it(peano_run):
    doc = copy.deepcopy(peano_run["doc"])
    i = _first(doc, "induction")
    victim = doc["theorems"][i]
    steps = victim["proof"]["step"]["lhs"]["steps"] or victim["proof"]["step"]["rhs"]["steps"]
    steps[0]["rule"] = "mul_zero"  # a rule that does not apply there
    report = check_document(doc, TEXT)
    rejected = {r["id"]: r["reason"] for r in report.rejected}
    assert victim["id"] in rejected
    assert "mul_zero" in rejected[victim["id"]]
    users = [t["id"] for t in doc["theorems"] if victim["id"] in t["deps"]]
    assert users and all(u in rejected for u in users)


def test_a_wrong_result_term_is_rejected(peano_run):
    doc = copy.deepcopy(peano_run["doc"])
    t = doc["theorems"][0]
    chain = t["proof"]["base"]["lhs"] if t["proof"]["method"] == "induction" else t["proof"]["lhs"]
    step = chain["steps"][0]
    step["term"] = ["0"] if step["term"] != ["0"] else ["s", ["0"]]
    assert not check_document(doc, TEXT).ok


def test_statement_must_match_the_equation(peano_run):
    doc = copy.deepcopy(peano_run["doc"])
    t = doc["theorems"][0]
    t["equation"]["lhs"], t["equation"]["rhs"] = t["equation"]["rhs"], ["0"]
    report = check_document(doc, TEXT)
    assert t["id"] in {r["id"] for r in report.rejected}


def test_vacuous_theorem_is_rejected():
    # premises: s(a) = 0, which contradicts succ_ne_zero; the "proof" is irrelevant
    doc = {"theorems": [{
        "id": "thm_vacuous", "deps": [],
        "statement": "(theorem v (forall ((a N) (b N)) (implies (s a 0) (+ a b 0))))",
        "equation": {"lhs": ["+", "a", "b"], "rhs": ["0"]},
        "proof": {"method": "rewrite"},
    }]}
    report = check_document(doc, TEXT)
    assert not report.ok
    assert "vacuous" in report.rejected[0]["reason"]


def test_induction_without_declaration_is_rejected(peano_run):
    doc = copy.deepcopy(peano_run["doc"])
    text = TEXT.replace("(induction N (base 0) (step s))", "")
    doc["theory"] = {}  # skip the version check to reach the induction check itself
    report = check_document(doc, text)
    i = _first(doc, "induction")
    reasons = {r["id"]: r["reason"] for r in report.rejected}
    assert "declares no induction" in reasons[doc["theorems"][i]["id"]]


def test_unlisted_dependency_and_other_theory_are_rejected(peano_run):
    doc = copy.deepcopy(peano_run["doc"])
    i = _first(doc, "induction")
    doc["theorems"][i]["deps"] = []
    assert doc["theorems"][i]["id"] in {r["id"] for r in check_document(doc, TEXT).rejected}
    assert not check_document(peano_run["doc"], TEXT + "\n; edited\n").ok


def test_ill_typed_statement_is_rejected(peano_run):
    doc = copy.deepcopy(peano_run["doc"])
    t = doc["theorems"][0]
    t["statement"] = t["statement"].replace("(x N)", "(x M)")
    text = TEXT + "\n(sort M)\n"
    doc["theory"] = {}
    reasons = {r["id"]: r["reason"] for r in check_document(doc, text).rejected}
    assert "ill-typed" in reasons[t["id"]]


def test_a_hostile_proof_file_is_one_data_error_or_a_rejection(tmp_path, monkeypatch):
    import pytest

    from neuralbrain.errors import DataError
    from neuralbrain.reasoning.gl import checker

    theory = theories_dir() / "peano.mpl"
    deep, listed, big = tmp_path / "deep.json", tmp_path / "list.json", tmp_path / "big.json"
    deep.write_text("[" * 100_000)
    listed.write_text('[{"theorems": []}]')
    big.write_text("{}")
    with pytest.raises(DataError, match="deep.json.*nests JSON too deeply"):
        checker.check_files(deep, theory)
    report = checker.check_files(listed, theory)
    assert not report.ok and "a JSON list" in report.rejected[0]["reason"]
    monkeypatch.setattr(checker, "MAX_PROOF_BYTES", 1)
    with pytest.raises(DataError, match="big.json' is 2 bytes: expected at most 1"):
        checker.check_files(big, theory)

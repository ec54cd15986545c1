"""Case splits and generalised induction hypotheses: proved, checked, and forgeries rejected."""

from __future__ import annotations

import copy
import hashlib

from neuralbrain.energy import Ledger
from neuralbrain.hardware import make_backend
from neuralbrain.reasoning.gl.checker import check_document
from neuralbrain.reasoning.gl.export import proof_document
from neuralbrain.reasoning.gl.mpl import parse_theory
from neuralbrain.reasoning.gl.prover import Prover, ProverConfig
from neuralbrain.reasoning.gl.tip import parse_tip
from neuralbrain.reasoning.gl.tip_prove import TIP_SEARCH, tip_to_mpl

NAT_LIST = """
(declare-datatype Nat ((Z) (S (p Nat))))
(declare-datatype list (par (a) ((nil) (cons (head a) (tail (list a))))))
"""
# count n (x :: xs) = count n [x] + count n xs: no induction, one split on (== n x)
COUNT = NAT_LIST + """
(define-fun-rec == ((x Nat) (y Nat)) Bool
  (match x ((Z (match y ((Z true) ((S z) false))))
            ((S x2) (match y ((Z false) ((S y2) (== x2 y2))))))))
(define-fun-rec plus ((x Nat) (y Nat)) Nat (match x ((Z y) ((S z) (S (plus z y))))))
(define-fun-rec count ((x Nat) (y (list Nat))) Nat
  (match y ((nil Z) ((cons z ys) (ite (== x z) (S (count x ys)) (count x ys))))))
(prove (forall ((n Nat) (x Nat) (xs (list Nat)))
  (= (count n (cons x xs)) (plus (count n (cons x (_ nil Nat))) (count n xs)))))
"""
# take n xs ++ drop n xs = xs: induction on n with xs generalised, then a split on xs
TAKE_DROP = NAT_LIST + """
(define-fun-rec take (par (a) (((x Nat) (y (list a))) (list a)))
  (match x ((Z (_ nil a)) ((S z) (match y ((nil (_ nil a)) ((cons x2 x3) (cons x2 (take z x3)))))))))
(define-fun-rec drop (par (a) (((x Nat) (y (list a))) (list a)))
  (match x ((Z y) ((S z) (match y ((nil (_ nil a)) ((cons x2 x3) (drop z x3))))))))
(define-fun-rec ++ (par (a) (((x (list a)) (y (list a))) (list a)))
  (match x ((nil y) ((cons z xs) (cons z (++ xs y))))))
(prove (par (a) (forall ((n Nat) (xs (list a))) (= (++ (take n xs) (drop n xs)) xs))))
"""


def _doc(tip_text: str, **cfg):
    text, goal, _ = tip_to_mpl(parse_tip(tip_text, "t.smt2"))
    theory = parse_theory(text)
    target = parse_theory(goal, base=theory).statements[len(theory.statements):]
    run = Prover(theory, ProverConfig(budget_s=10, **{**TIP_SEARCH, **cfg}),
                 make_backend("logic_grid"),
                 Ledger()).prove_targets([(s.name, s.formula) for s in target])
    return proof_document(theory, hashlib.sha256(text.encode()).hexdigest(), run), text


def _reason(doc, text) -> str:
    report = check_document(doc, text)
    assert not report.ok
    return report.rejected[0]["reason"]


def test_a_split_on_an_ite_condition_is_proved_and_checked():
    doc, text = _doc(COUNT)
    assert check_document(doc, text).ok
    proof = doc["theorems"][-1]["proof"]
    assert proof["method"] == "split"
    assert proof["term"] == ["==", ["%v0"], ["%v1"]]
    assert [c["constructor"] for c in proof["cases"]] == ["false", "true"]


def test_without_splits_the_same_goal_is_not_proved():
    doc, text = _doc(COUNT, max_split_depth=0)
    assert not any(t["name"] == "goal" for t in doc["theorems"])


def test_the_checker_rejects_a_split_missing_a_case():
    doc, text = _doc(COUNT)
    broken = copy.deepcopy(doc)
    broken["theorems"][-1]["proof"]["cases"].pop()
    assert "constructors" in _reason(broken, text)
    broken = copy.deepcopy(doc)  # both cases claim the same constructor
    cases = broken["theorems"][-1]["proof"]["cases"]
    cases[1] = copy.deepcopy(cases[0])
    assert "constructors" in _reason(broken, text)


def test_the_checker_rejects_a_case_proved_under_the_other_hypothesis():
    doc, text = _doc(COUNT)
    broken = copy.deepcopy(doc)
    cases = broken["theorems"][-1]["proof"]["cases"]
    cases[0]["proof"], cases[1]["proof"] = cases[1]["proof"], cases[0]["proof"]
    assert not check_document(broken, text).ok


def test_the_checker_rejects_a_split_on_a_non_ground_or_ill_sorted_term():
    doc, text = _doc(COUNT)
    broken = copy.deepcopy(doc)
    broken["theorems"][-1]["proof"]["term"] = ["==", "x", ["%v1"]]
    assert "ground" in _reason(broken, text)
    broken = copy.deepcopy(doc)  # a list where == takes a Nat
    broken["theorems"][-1]["proof"]["term"] = ["==", ["%v2"], ["%v1"]]
    assert "sort" in _reason(broken, text)
    broken = copy.deepcopy(doc)  # the split term's sort is Nat: cases must be Z and S
    broken["theorems"][-1]["proof"]["term"] = ["%v0"]
    assert "constructors" in _reason(broken, text)


def test_the_checker_rejects_a_reused_hypothesis_name_or_constant():
    doc, text = _doc(COUNT)
    broken = copy.deepcopy(doc)
    broken["theorems"][-1]["proof"]["cases"][0]["hyp"] = "count.1"  # an axiom's name
    assert "taken" in _reason(broken, text)
    doc2, text2 = _doc(TAKE_DROP)
    broken = copy.deepcopy(doc2)
    split = _find(broken["theorems"][-1]["proof"], "split")
    cons = next(c for c in split["cases"] if c["fresh"])
    cons["fresh"][0] = "%v1"  # a statement variable, not fresh
    assert "fresh" in _reason(broken, text2)


def test_the_checker_rejects_a_proof_using_an_unproved_lemma():
    doc, text = _doc(COUNT)
    broken = copy.deepcopy(doc)
    chain = broken["theorems"][-1]["proof"]["cases"][0]["proof"]["lhs"]
    chain["steps"][0]["rule"] = "thm_000000000000"
    assert "neither an axiom" in _reason(broken, text)


def _find(proof, method):
    """The first node of ``method`` in a proof tree (depth first)."""
    if proof.get("method") == method:
        return proof
    subs = [proof.get("base"), proof.get("step")]
    subs += [c["proof"] for c in proof.get("cases", [])]
    for s in subs:
        if isinstance(s, dict):
            hit = _find(s, method)
            if hit is not None:
                return hit
    return None


def test_a_generalised_hypothesis_proves_take_drop_and_is_checked():
    doc, text = _doc(TAKE_DROP)
    assert check_document(doc, text).ok
    proof = doc["theorems"][-1]["proof"]
    assert proof["method"] == "induction" and proof["generalize"] is True
    assert _find(proof["step"], "split") is not None
    # with the other variable fixed the hypothesis does not apply: not proved
    doc, _ = _doc(TAKE_DROP, generalize=False)
    assert not any(t["name"] == "goal" for t in doc["theorems"])


def test_the_checker_rejects_a_generalised_proof_with_the_hypothesis_fixed():
    doc, text = _doc(TAKE_DROP)
    broken = copy.deepcopy(doc)
    broken["theorems"][-1]["proof"]["generalize"] = False
    assert not check_document(broken, text).ok


def test_the_checker_rejects_a_hypothesis_used_at_a_non_smaller_argument():
    # take n xs = xs is false; its "proof" applies the hypothesis take n n1 = n1 (generalised
    # over n) to take n (n0 :: n1) itself, the value being proved, not a smaller one
    doc, text = _doc(TAKE_DROP)
    forged = copy.deepcopy(doc)
    goal = forged["theorems"][-1]
    goal["statement"] = ("(theorem goal (forall ((%v0 Nat) (%v1 list[sk]) (t1 list[sk])) "
                         "(implies (take[sk] %v0 %v1 t1) (= t1 %v1))))")
    goal["equation"] = {"lhs": ["take[sk]", "%v0", "%v1"], "rhs": "%v1"}
    cons_goal = ["take[sk]", ["%v0"], ["cons[sk]", ["n0"], ["n1"]]]
    value = ["cons[sk]", ["n0"], ["n1"]]
    nil = ["nil[sk]"]
    goal["proof"] = {"method": "structural", "var": "%v1", "cases": [
        {"constructor": "nil[sk]", "fresh": [], "generalize": False, "proof": {
            "method": "split", "term": ["%v0"], "cases": [
                {"constructor": "Z", "fresh": [], "hyp": "h", "proof": _rw(
                    ["take[sk]", ["%v0"], nil], nil,
                    [([0], "h", "lr", {}, ["take[sk]", ["Z"], nil]),
                     ([], "take[sk].0", "lr", {"%v0": nil}, nil)])},
                {"constructor": "S", "fresh": ["m"], "hyp": "h", "proof": _rw(
                    ["take[sk]", ["%v0"], nil], nil,
                    [([0], "h", "lr", {}, ["take[sk]", ["S", ["m"]], nil]),
                     ([], "take[sk].1", "lr", {"%v0": ["m"]}, nil)])}]}},
        {"constructor": "cons[sk]", "fresh": ["n0", "n1"], "generalize": True, "proof": _rw(
            cons_goal, value, [([], "IH1", "lr", {"%v0": ["%v0"]}, value)])}]}
    reason = _reason(forged, text)
    assert "IH1" in reason and "does not match" in reason


def _rw(lhs, rhs, steps):
    return {"method": "rewrite",
            "lhs": {"start": lhs, "end": steps[-1][4] if steps else lhs, "steps": [
                {"pos": p, "rule": r, "dir": d, "subst": s, "term": t}
                for p, r, d, s, t in steps]},
            "rhs": {"start": rhs, "end": rhs, "steps": []}}


# len (delete n xs) <= len xs: in the case n == x the hypothesis len (delete n xs') <= len xs'
# must give len (delete n xs') <= S (len xs'): the conditional lemma x <= y => x <= S y
DELETE_LE = NAT_LIST + """
(define-fun-rec == ((x Nat) (y Nat)) Bool
  (match x ((Z (match y ((Z true) ((S z) false))))
            ((S x2) (match y ((Z false) ((S y2) (== x2 y2))))))))
(define-fun-rec <= ((x Nat) (y Nat)) Bool
  (match x ((Z true) ((S z) (match y ((Z false) ((S x2) (<= z x2))))))))
(define-fun-rec len (par (a) (((x (list a))) Nat))
  (match x ((nil Z) ((cons y xs) (S (len xs))))))
(define-fun-rec delete ((x Nat) (y (list Nat))) (list Nat)
  (match y ((nil (_ nil Nat)) ((cons z xs) (ite (== x z) (delete x xs) (cons z (delete x xs)))))))
(prove (forall ((n Nat) (xs (list Nat))) (<= (len (delete n xs)) (len xs))))
"""


def test_a_conditional_lemma_is_conjectured_proved_and_checked():
    doc, text = _doc(DELETE_LE)
    assert check_document(doc, text).ok
    names = [t["name"] for t in doc["theorems"]]
    assert "goal" in names
    cond = [t for t in doc["theorems"] if t["equation"]["lhs"][0] == "implies%"]
    assert cond, "expected a lemma implies%(C, R) = true"
    goal = doc["theorems"][-1]
    assert cond[0]["id"] in goal["deps"]


def test_the_checker_rejects_a_goal_resting_on_a_dropped_conditional_lemma():
    doc, text = _doc(DELETE_LE)
    broken = copy.deepcopy(doc)
    broken["theorems"] = [t for t in broken["theorems"]
                          if t["equation"]["lhs"][0] != "implies%"]
    report = check_document(broken, text)
    assert not report.ok
    assert any(r["id"] == doc["theorems"][-1]["id"] for r in report.rejected)


def test_a_false_conditional_conjecture_is_refuted_by_the_model():
    text, goal, _ = tip_to_mpl(parse_tip(DELETE_LE, "t.smt2"))
    prover = Prover(parse_theory(text), ProverConfig(budget_s=5))
    le, s = "<=", "S"
    false_lemma = ("implies%", (le, "a", "b"), (le, (s, "a"), "b"))  # a <= b => S a <= b
    true_lemma = ("implies%", (le, "a", "b"), (le, "a", (s, "b")))
    sorts = {"a": "Nat", "b": "Nat"}
    assert not prover._survives(false_lemma, sorts)
    assert prover._survives(true_lemma, sorts)


def test_a_goal_conjectured_again_inside_its_own_proof_is_stored_once():
    # proving m <= n => m <= S n, the stuck step case suggests the goal itself as a lemma:
    # the document must hold it once (the checker rejects an id used twice)
    le = DELETE_LE.split("(prove")[0] + (
        "(prove (forall ((m Nat) (n Nat)) (=> (<= m n) (<= m (S n)))))\n")
    doc, text = _doc(le)
    ids = [t["id"] for t in doc["theorems"]]
    assert len(ids) == len(set(ids))
    assert check_document(doc, text).ok
    assert doc["theorems"][-1]["name"] == "goal"


def test_without_conditional_lemmas_delete_le_is_not_proved():
    doc, _ = _doc(DELETE_LE, conditional_lemmas=False)
    assert not any(t["name"] == "goal" for t in doc["theorems"])


# max(x, y) = max(y, x) with max as an ite over <=: induction on x with y generalised, a
# split y = S(k0), and the hypothesis instantiated at k0, which under the splits on
# leq n k0 and leq k0 n rewrites to k0 = n
MAX_COMM = """
(declare-datatype Nat ((zero) (succ (p Nat))))
(define-fun-rec leq ((x Nat) (y Nat)) Bool
  (match x ((zero true) ((succ z) (match y ((zero false) ((succ x2) (leq z x2))))))))
(prove (forall ((x Nat) (y Nat)) (= (ite (leq x y) y x) (ite (leq y x) x y))))
"""


def _steps(proof):
    """Every rewrite step of a proof tree, depth first."""
    out = []
    if proof.get("method") == "rewrite":
        for side in ("lhs", "rhs"):
            out += proof[side]["steps"]
    for key in ("base", "step"):
        if isinstance(proof.get(key), dict):
            out += _steps(proof[key])
    for c in proof.get("cases", []):
        out += _steps(c["proof"])
    return out


def _ih_instance_case(proof):
    """The innermost split case whose proof uses the hypothesis at a fresh constant."""
    for c in proof.get("cases", []):
        inner = _ih_instance_case(c["proof"])
        if inner is not None:
            return inner
        if c["proof"].get("method") == "rewrite" and any(
                s["rule"] == "IH" and s["subst"].get("%v1") == ["k0"]
                for s in _steps(c["proof"])):
            return c
    return None


def test_a_hypothesis_instance_at_a_split_constant_proves_max_comm_and_is_checked():
    doc, text = _doc(MAX_COMM)
    assert check_document(doc, text).ok
    proof = doc["theorems"][-1]["proof"]
    assert doc["theorems"][-1]["name"] == "goal"
    assert proof["method"] == "induction" and proof["generalize"] is True
    assert _ih_instance_case(proof["step"]) is not None
    doc, _ = _doc(MAX_COMM, ih_instances=0)
    assert not any(t["name"] == "goal" for t in doc["theorems"])


def test_the_checker_rejects_a_hypothesis_instance_without_generalisation():
    doc, text = _doc(MAX_COMM)
    broken = copy.deepcopy(doc)
    broken["theorems"][-1]["proof"]["generalize"] = False  # y fixed: IH binds nothing
    assert "does not bind exactly" in _reason(broken, text)


def test_the_checker_rejects_a_hypothesis_instance_at_a_non_smaller_argument():
    # max(x, y) = y is false; its "proof" applies the hypothesis max(n, y) = y to the
    # step case max(S n, y) itself, the value being proved, not the smaller n
    doc, text = _doc(MAX_COMM)
    forged = copy.deepcopy(doc)
    goal = forged["theorems"][-1]
    goal["statement"] = ("(theorem goal (forall ((%v0 Nat) (%v1 Nat) (t1 Bool) (t2 Nat)) "
                         "(implies (and (leq %v0 %v1 t1) (ite%[Nat] t1 %v1 %v0 t2)) "
                         "(= t2 %v1))))")
    lhs = ["ite%[Nat]", ["leq", "%v0", "%v1"], "%v1", "%v0"]
    goal["equation"] = {"lhs": lhs, "rhs": "%v1"}
    step_goal = ["ite%[Nat]", ["leq", ["succ", ["n"]], ["%v1"]], ["%v1"], ["succ", ["n"]]]
    proof = goal["proof"]
    proof["hypothesis"] = {"lhs": ["ite%[Nat]", ["leq", ["n"], "%v1"], "%v1", ["n"]],
                           "rhs": "%v1"}
    proof["step"] = _rw(step_goal, ["%v1"],
                        [([], "IH", "lr", {"%v1": ["%v1"]}, ["%v1"])])
    # the base case: max(0, y) = y by rewriting
    base_goal = ["ite%[Nat]", ["leq", ["zero"], ["%v1"]], ["%v1"], ["zero"]]
    proof["base"] = _rw(base_goal, ["%v1"], [
        ([0], "leq.0", "lr", {"%v0": ["%v1"]}, ["ite%[Nat]", ["true"], ["%v1"], ["zero"]]),
        ([], "ite%[Nat].0", "lr", {"%v0": ["%v1"], "%v1": ["zero"]}, ["%v1"])])
    reason = _reason(forged, text)
    assert "IH" in reason and "does not match" in reason


def test_the_checker_rejects_a_hypothesis_instance_proof_missing_a_split_case():
    doc, text = _doc(MAX_COMM)
    broken = copy.deepcopy(doc)
    step = broken["theorems"][-1]["proof"]["step"]
    case = _ih_instance_case(step)

    def drop(node):  # remove the case that uses the instance from its split
        for c in node.get("cases", []):
            if c is case:
                node["cases"].remove(c)
                return True
            if drop(c["proof"]):
                return True
        return False

    assert drop(step)
    assert "constructors" in _reason(broken, text)


def test_the_checker_rejects_a_hypothesis_instance_step_naming_an_unproved_lemma():
    doc, text = _doc(MAX_COMM)
    broken = copy.deepcopy(doc)
    case = _ih_instance_case(broken["theorems"][-1]["proof"]["step"])
    step = next(s for s in _steps(case["proof"]) if s["rule"] == "IH")
    step["rule"] = "thm_000000000000"
    assert "neither an axiom" in _reason(broken, text)
    # nor may the hypothesis be used in the base case
    broken = copy.deepcopy(doc)
    base_steps = _steps(broken["theorems"][-1]["proof"]["base"])
    base_steps[0]["rule"] = "IH"
    assert "neither an axiom" in _reason(broken, text)


def _absurd_chains(node, out):
    """Rewrite chains that prove a case from contradicting case hypotheses: they open with
    ``implies%(true, s)`` read backwards and close with ``implies%(false, s) = true``."""
    if isinstance(node, dict):
        steps = node.get("steps")
        if isinstance(steps, list) and len(steps) > 2 and \
                (steps[0]["rule"], steps[0]["dir"]) == ("implies%.0", "rl") and \
                (steps[-1]["rule"], steps[-1]["dir"]) == ("implies%.1", "lr"):
            out.append(node)
        for v in node.values():
            _absurd_chains(v, out)
    elif isinstance(node, list):
        for v in node:
            _absurd_chains(v, out)
    return out


# x <= 0 => x = 0 where the split x = S(k) turns the case hypothesis leq(x, Z) = true into
# leq(S(k), Z) = true, i.e. false = true: that case is proved from the contradiction
LEQ_ZERO = """
(declare-datatype Nat ((Z) (S (p Nat))))
(define-fun-rec leq ((x Nat) (y Nat)) Bool
  (match x ((Z true) ((S z) (match y ((Z false) ((S x2) (leq z x2))))))))
(prove (forall ((x Nat)) (=> (leq x Z) (= x Z))))
"""


def test_a_case_whose_hypotheses_contradict_is_proved_and_a_forged_one_rejected():
    doc, text = _doc(LEQ_ZERO)
    assert check_document(doc, text).ok
    chains = _absurd_chains(doc, [])
    assert chains, "expected a case proved from contradicting hypotheses"
    bad = copy.deepcopy(doc)
    # drop the step that reads the case hypothesis backwards: true no longer becomes false
    chain = _absurd_chains(bad, [])[0]
    chain["steps"] = [s for s in chain["steps"] if not s["rule"].startswith("split")]
    assert "does not match" in _reason(bad, text)

"""Recursion induction: schemes from a function's rules, proved, checked, forgeries rejected."""

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

# add3acc recurses on (0, S y) -> (0, y) and on (S x, y) -> (x, S y): neither argument
# descends in every call, so induction on one variable cannot follow it
ADD3ACC = """
(declare-datatype Nat ((Z) (S (p Nat))))
(define-fun-rec add3acc ((x Nat) (y Nat) (z Nat)) Nat
  (match x ((Z (match y ((Z z) ((S x2) (add3acc Z x2 (S z))))))
            ((S x3) (add3acc x3 (S y) z)))))
(prove (forall ((a Nat) (b Nat) (c Nat) (d Nat) (e Nat))
  (= (add3acc (add3acc a b c) d e) (add3acc a b (add3acc c d e)))))
"""
# pairs goes two elements down: structural induction's hypothesis is one element down
PAIRS = """
(declare-datatype list (par (a) ((nil) (cons (head a) (tail (list a))))))
(declare-datatype pair (par (a b) ((pair2 (proj1-pair a) (proj2-pair b)))))
(define-fun-rec pairs (par (a) (((x (list a))) (list (pair a a))))
  (match x ((nil (_ nil (pair a a)))
            ((cons y z) (match z ((nil (_ nil (pair a a)))
                                  ((cons y2 xs) (cons (pair2 y y2) (pairs xs)))))))))
(define-fun-rec firsts (par (a) (((x (list (pair a a)))) (list a)))
  (match x ((nil (_ nil a)) ((cons p ps) (cons (proj1-pair p) (firsts ps))))))
(define-fun-rec evens (par (a) (((x (list a))) (list a)))
  (match x ((nil (_ nil a))
            ((cons y z) (match z ((nil (_ nil a)) ((cons y2 xs) (cons y (evens xs)))))))))
(prove (par (a) (forall ((xs (list a))) (= (firsts (pairs xs)) (evens xs)))))
"""


def _run(tip_text: str, budget_s: float = 10, **cfg):
    text, goal, _ = tip_to_mpl(parse_tip(tip_text, "t.smt2"))
    theory = parse_theory(text)
    target = parse_theory(goal, base=theory).statements[len(theory.statements):]
    prover = Prover(theory, ProverConfig(budget_s=budget_s, **{**TIP_SEARCH, **cfg}),
                    make_backend("logic_grid"), Ledger())
    run = prover.prove_targets([(s.name, s.formula) for s in target])
    doc = proof_document(theory, hashlib.sha256(text.encode()).hexdigest(), run)
    return doc, text, prover


def _goal_proof(doc) -> dict:
    return next(t for t in doc["theorems"] if t["name"] == "goal")["proof"]


def _reason(doc, text) -> str:
    report = check_document(doc, text)
    assert not report.ok
    return report.rejected[0]["reason"]


def test_the_scheme_follows_add3acc_rules_and_its_measure():
    _, _, prover = _run(ADD3ACC)
    schemes = prover._recursion.schemes(
        ("add3acc", "x", ("S", "y"), "z"), ("S", ("add3acc", "x", "y", "z")),
        {"x": "Nat", "y": "Nat", "z": "Nat"})
    assert [(s.function, s.variables, s.measure) for s in schemes] == \
        [("add3acc", ("x", "y"), "lex")]
    cases = schemes[0].cases
    assert [c.pattern for c in cases] == [
        (("Z",), ("Z",)), (("Z",), ("S", "r0")), (("S", "r0"), "r1")]
    assert [c.hypotheses for c in cases] == [(), ((("Z",), "r0"),), (("r0", ("S", "r1")),)]


def test_recursion_induction_proves_add3acc_associative_and_is_checked():
    doc, text, _ = _run(ADD3ACC)
    assert check_document(doc, text).ok
    proof = _goal_proof(doc)
    assert proof["method"] == "recursion" and proof["vars"] == ["%v0", "%v1"]


def test_without_recursion_induction_add3acc_associative_is_not_proved():
    doc, _, _ = _run(ADD3ACC, budget_s=3, recursion_induction=False)
    assert not any(t["name"] == "goal" for t in doc["theorems"])


def test_recursion_induction_goes_two_elements_down_a_list():
    doc, text, _ = _run(PAIRS)
    assert check_document(doc, text).ok
    assert _goal_proof(doc)["method"] == "recursion"
    doc, _, _ = _run(PAIRS, recursion_induction=False)
    assert not any(t["name"] == "goal" for t in doc["theorems"])


def _forged(doc, edit) -> dict:
    broken = copy.deepcopy(doc)
    edit(_goal_proof(broken))
    return broken


def test_the_checker_rejects_cases_that_do_not_cover_every_value():
    doc, text, _ = _run(ADD3ACC)
    broken = _forged(doc, lambda p: p["cases"].pop(0))
    assert "do not cover" in _reason(broken, text)


def test_the_checker_rejects_a_hypothesis_not_below_its_case():
    doc, text, _ = _run(ADD3ACC)

    def at_the_pattern(p):  # the case's own arguments: assumes what it proves
        case = p["cases"][2]
        case["hypotheses"][0] = copy.deepcopy(case["pattern"])
    assert "is not below" in _reason(_forged(doc, at_the_pattern), text)

    def grown(p):  # (x, S y) from (S x, y): lex on (x, y) descends, sum does not
        p["measure"]["kind"] = "sum"
        p["measure"]["positions"] = [0, 1]
    doc_sum = _forged(doc, grown)
    assert "is not below" in _reason(doc_sum, text)


def test_the_checker_rejects_malformed_recursion_proofs():
    doc, text, _ = _run(ADD3ACC)

    def unknown_measure(p):
        p["measure"]["kind"] = "depth"
    assert "unknown measure" in _reason(_forged(doc, unknown_measure), text)

    def clashing_name(p):  # a pattern variable named like a statement variable
        case = p["cases"][1]
        case["pattern"][1] = ["S", "%v2"]
        case["hypotheses"][0][1] = "%v2"
    assert "not fresh" in _reason(_forged(doc, clashing_name), text)

    def call_in_argument(p):  # a hypothesis at add3acc(...): its size is not known
        case = p["cases"][1]
        case["hypotheses"][0][1] = ["add3acc", ["Z"], ["Z"], ["Z"]]
    assert "not a constructor" in _reason(_forged(doc, call_in_argument), text)

    def repeated_variable(p):
        p["vars"] = ["%v0", "%v0"]
    assert "not distinct" in _reason(_forged(doc, repeated_variable), text)


def test_a_target_is_tried_by_rewriting_after_every_theorem():
    # with goal_share tiny every retry after the first is skipped; add3acc a b c =
    # add3acc c b a then follows by rewriting alone from the permutation lemmas discovery
    # proves (a retry would have had to wait for discovery to end: budget exhausted)
    text = ADD3ACC.replace(
        "(prove (forall ((a Nat) (b Nat) (c Nat) (d Nat) (e Nat))\n"
        "  (= (add3acc (add3acc a b c) d e) (add3acc a b (add3acc c d e)))))",
        "(prove (forall ((a Nat) (b Nat) (c Nat)) (= (add3acc a b c) (add3acc c b a))))")
    assert text != ADD3ACC
    doc, text, _ = _run(text, budget_s=5, goal_share=1e-6)
    assert check_document(doc, text).ok
    assert _goal_proof(doc)["method"] == "rewrite"


# op counts down z, then x (refilling z from y), adding one to w at each step: x*y + z + w.
# The path order ranks op below plus (op's rules do not use it), so it would orient each
# recursion hypothesis from the arithmetic side to op; the goal's side would then not meet
# it (op(x, y, z, S w) against S(w + (z + x*y))).
OP_SPEC = """
(declare-datatype Nat ((Z) (S (p Nat))))
(define-fun-rec plus ((x Nat) (y Nat)) Nat (match x ((Z y) ((S z) (S (plus z y))))))
(define-fun-rec times ((x Nat) (y Nat)) Nat (match x ((Z Z) ((S z) (plus y (times z y))))))
(define-fun-rec op ((x Nat) (y Nat) (z Nat) (w Nat)) Nat
  (match z ((Z (match x ((Z w) ((S x2) (op x2 y y w)))))
            ((S z2) (op x y z2 (S w))))))
(prove (forall ((a Nat) (b Nat) (c Nat) (d Nat))
  (= (op a b c d) (plus (plus (times a b) c) d))))
(assert (forall ((x Nat) (y Nat)) (= (plus x y) (plus y x))))
(assert (forall ((x Nat)) (= (plus x Z) x)))
"""


def test_a_recursion_hypothesis_rewrites_the_call_it_is_about():
    doc, text, _ = _run(OP_SPEC)
    assert check_document(doc, text).ok
    assert _goal_proof(doc)["method"] == "recursion"

"""The counterexample models: ground constructor terms of any datatype, sampled points."""

from __future__ import annotations

import pytest

from neuralbrain.reasoning.gl.models import (
    PointFingerprinter,
    TermModel,
    Undefined,
    sample_points,
)
from neuralbrain.reasoning.gl.prover import ProverConfig
from neuralbrain.reasoning.gl.tip import parse_tip
from neuralbrain.reasoning.gl.tip_prove import discovery_signature, prove_tip

NIL, CONS = ("nil",), "cons"
APPEND = [(("++", NIL, "y"), "y"), (("++", (CONS, "x", "xs"), "y"), (CONS, "x", ("++", "xs", "y")))]
HEAD = [(("head", (CONS, "x", "xs")), "x")]
CTORS = {"list": [("nil", ()), ("cons", ("E", "list"))]}


def _list(*xs):
    out = NIL
    for x in reversed(xs):
        out = (CONS, x, out)
    return out


def test_functions_are_evaluated_on_ground_constructor_terms():
    m = TermModel({"nil", "cons"}, APPEND + HEAD)
    a, b = ("@E0",), ("@E1",)
    assert m.value(("++", "u", "v"), {"u": _list(a), "v": _list(b, a)}) == _list(a, b, a)
    assert m.apply("head", (_list(b),)) == b
    with pytest.raises(Undefined):
        m.apply("head", (NIL,))  # a selector on the wrong constructor: no value
    assert m.safe_value(("head", "u"), {"u": NIL}) is None


def test_values_above_the_size_cap_are_undefined():
    m = TermModel({"nil", "cons"}, APPEND, max_size=12)
    xs = _list(*[("@E0",)] * 3)  # 7 nodes
    assert m.safe_value(("++", "u", "u"), {"u": xs}) is None  # 13 nodes
    assert m.safe_value(("++", "u", "v"), {"u": xs, "v": NIL}) == xs


def test_sampled_points_are_deterministic_and_start_with_the_smallest_values():
    vs = {"xs": "list", "x": "E"}
    p1 = sample_points(vs, CTORS, 20, seed=0)
    assert p1 == sample_points(vs, CTORS, 20, seed=0)
    assert p1[0]["xs"] == NIL
    assert len({repr(p["xs"]) for p in p1}) > 3  # not all the same list
    assert all(p["x"][0].startswith("@E") for p in p1)  # no constructors: opaque atoms


def test_equal_fingerprints_for_equal_functions_only():
    m = TermModel({"nil", "cons"}, APPEND)
    pts = sample_points({"u": "list", "v": "list"}, CTORS, 30)
    fp = PointFingerprinter(m, ["u", "v"], pts)
    u, v, nil = fp.leaf("u"), fp.leaf("v"), fp.leaf(NIL)
    assert fp.combine("++", [u, nil]) == u  # xs ++ [] = xs holds at every point
    assert fp.combine("++", [u, v]) != fp.combine("++", [v, u])  # ++ is not commutative


ELEM = """
(declare-datatype Nat ((Z) (S (p Nat))))
(declare-datatype list (par (a) ((nil) (cons (head a) (tail (list a))))))
(define-fun-rec == ((x Nat) (y Nat)) Bool
  (match x ((Z (match y ((Z true) ((S z) false))))
            ((S x2) (match y ((Z false) ((S y2) (== x2 y2))))))))
(define-fun-rec elem ((x Nat) (y (list Nat))) Bool
  (match y ((nil false) ((cons z xs) (ite (== x z) true (elem x xs))))))
(define-fun-rec ++ (par (a) (((x (list a)) (y (list a))) (list a)))
  (match x ((nil y) ((cons z xs) (cons z (++ xs y))))))
(prove (forall ((x Nat) (xs (list Nat))) (elem x (++ xs (cons x (_ nil Nat))))))
"""


def test_the_discovery_signature_is_the_goals_functions_and_their_callees():
    sig = discovery_signature(parse_tip(ELEM, "elem.smt2"))
    assert {"elem", "==", "++[Nat]", "cons[Nat]", "nil[Nat]", "true", "false"} <= sig
    assert not any(f.startswith(("ite%", "case%")) for f in sig)  # no auxiliaries
    assert "head[Nat]" not in sig  # no selectors


def test_a_bool_lemma_is_discovered_over_lists_and_checked(tmp_path):
    f = tmp_path / "elem.smt2"
    f.write_text(ELEM)
    out = prove_tip(f, ProverConfig(budget_s=10))
    assert out["status"] == "proved", out
    # x == x = true: found by discovery over Bool-valued terms, needed in the nil case
    assert any("(== " in lemma for lemma in out["lemmas"])


APPLY = [(("apply", ("lam1",), "x"), ("true",))]  # one closure: (lambda (x) true)
BOOL = {"Bool": [("true", ()), ("false", ())], "list": CTORS["list"]}


def test_a_free_function_is_fixed_but_arbitrary_where_no_equation_covers_it():
    m = TermModel({"nil", "cons", "true", "false"}, APPEND + APPLY,
                  free={"apply": "Bool", "lam1": "Fun"}, ctors=BOOL)
    p, a = ("@Fun0",), ("@E0",)
    assert m.apply("apply", (("lam1",), a)) == ("true",)  # the closure's own equation
    v = m.apply("apply", (p, a))  # a function variable: some Boolean, the same every time
    assert v in (("true",), ("false",))
    assert TermModel(set(m.constructors), APPEND + APPLY, free=m.free, ctors=BOOL
                     ).apply("apply", (p, a)) == v  # a hash of the application, not of a run
    values = {TermModel(set(m.constructors), [], free=m.free, ctors=BOOL).apply(
        "apply", (p, (f"@E{k}",))) for k in range(12)}
    assert values == {("true",), ("false",)}  # not a constant function
    assert m.apply("lam1", ()) == ("lam1",)  # a closure of a sort without constructors
    with pytest.raises(Undefined):
        TermModel({"nil", "cons"}, APPEND).apply("apply", (p, a))  # not free: undefined

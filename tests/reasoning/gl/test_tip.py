"""The TIP reader: every benchmark file ends parsed or unsupported; bad input names its place."""

from __future__ import annotations

import pytest

from neuralbrain.reasoning.gl.tip import TipError, UnsupportedError, load_tip, parse_tip
from tests.conftest import data_root_or_skip

NAT_LIST = """
(declare-datatype Nat ((Z) (S (p Nat))))
(declare-datatype list (par (a) ((nil) (cons (head a) (tail (list a))))))
(define-fun-rec ++ (par (a) (((x (list a)) (y (list a))) (list a)))
  (match x ((nil y) ((cons z xs) (cons z (++ xs y))))))
"""


def test_all_tip_files_parse_or_are_unsupported():
    root = data_root_or_skip("tip")
    files = sorted(root.glob("*/*.smt2"))
    assert len(files) == 412
    parsed = unsupported = 0
    for f in files:
        try:
            p = load_tip(f)
        except UnsupportedError as e:
            assert e.construct and str(f) in str(e)
            unsupported += 1
            continue
        assert p.goal_lhs and p.goal_rhs != () and p.functions
        parsed += 1
    assert parsed + unsupported == 412
    assert parsed >= 150  # 175 when written


def test_polymorphism_is_instantiated_with_a_fresh_sort_and_rules_come_from_match():
    p = parse_tip(NAT_LIST + "(prove (par (a) (forall ((xs (list a))) (= (++ xs (_ nil a)) xs))))")
    assert p.sorts == ["sk", "list[sk]"]
    assert p.goal_vars == (("xs", "list[sk]"),)
    assert p.goal_lhs == ("++[sk]", "xs", ("nil[sk]",)) and p.goal_rhs == "xs"
    rules = p.functions["++[sk]"].rules
    assert rules[0] == (("++[sk]", ("nil[sk]",), "y"), "y")
    assert rules[1][1] == ("cons[sk]", "z", ("++[sk]", "xs", "y"))
    assert p.functions["head[sk]"].rules == ((("head[sk]", ("cons[sk]", "x0", "x1")), "x0"),)
    assert parse_tip(NAT_LIST + "(prove (par (a) (forall ((xs (list a))) "
                     "(= (++ xs (_ nil a)) xs))))").rules() == p.rules()  # deterministic


def test_a_non_equational_goal_becomes_a_boolean_equation():
    p = parse_tip(NAT_LIST + "(prove (forall ((n Nat) (m Nat)) (=> (= n m) (= m n))))")
    assert p.goal_rhs == ("true",)
    assert p.goal_lhs[0] == "implies%"
    assert "equal%[Nat]" in p.functions


MAP = """
(define-fun-rec map (par (a b) (((f (=> a b)) (xs (list a))) (list b)))
  (match xs ((nil (_ nil b)) ((cons y ys) (cons (@ f y) (map f ys))))))
"""


def test_higher_order_functions_are_defunctionalised():
    p = parse_tip(NAT_LIST + MAP + "(prove (forall ((n Nat) (xs (list Nat))) "
                  "(= (map (lambda ((y Nat)) (S n)) xs) (map (lambda ((z Nat)) (S n)) xs))))")
    # the function sort is an uninterpreted sort, applied by apply%; each lambda a closure
    # over its free variables, with its own apply% rule
    assert "fun%[Nat,Nat]" in p.uninterpreted
    assert p.functions["map[Nat,Nat]"].args == ("fun%[Nat,Nat]", "list[Nat]")
    assert p.functions["map[Nat,Nat]"].rules[1][1] == (
        "cons[Nat]", ("apply%[Nat,Nat]", "f", "y"), ("map[Nat,Nat]", "f", "ys"))
    assert p.goal_lhs == ("map[Nat,Nat]", ("lam%1", "n"), "xs")
    assert p.goal_rhs == ("map[Nat,Nat]", ("lam%2", "n"), "xs")
    apply_rules = p.functions["apply%[Nat,Nat]"].rules
    assert [lhs[1][0] for lhs, _ in apply_rules] == ["lam%1", "lam%2"]
    assert apply_rules[0] == (("apply%[Nat,Nat]", ("lam%1", "n"), "y"), ("S", "n"))
    assert p.functions["lam%1"].args == ("Nat",) and p.functions["lam%1"].rules == ()


@pytest.mark.parametrize("text, construct", [
    (MAP + "(define-fun-rec twice ((xs (list Nat))) (list Nat)"
     " (match xs ((nil xs) ((cons y ys) (map (lambda ((z Nat)) (twice ys)) ys)))))"
     "(prove (forall ((xs (list Nat))) (= (twice xs) xs)))", "non-structural recursion"),
    ("(prove (forall ((n Int)) (= n n)))", "built-in Int arithmetic"),
    ("(define-fun-rec loop ((x Nat)) Nat (S (loop x)))(prove (forall ((n Nat)) (= (loop n) n)))",
     "non-structural recursion"),
])
def test_unsupported_constructs_are_named(text, construct):
    with pytest.raises(UnsupportedError) as e:
        parse_tip(NAT_LIST + text, "t.smt2")
    assert e.value.construct == construct
    assert "t.smt2:" in str(e.value)


@pytest.mark.parametrize("text, where, what", [
    ("(prove (forall ((n Nat)) (= (++ n", "t.smt2:", "truncated"),
    ("(prove (forall ((n Nut)) (= n n)))", "t.smt2:6:", "unknown sort 'Nut'"),
    ("(prove (forall ((n Nat)) (= (f n) n)))", "t.smt2:6:", "unknown function"),
    ("(declare-datatype T ((A)))", "t.smt2", "no (prove ...) goal"),
    ("(prove (forall ((n Nat)) (= (S n n) n)))", "t.smt2:6:", "takes 1 arguments"),
    ("(prove (forall ((n Nat)) (= (@ n n) n)))", "t.smt2:6:", "expected a function sort"),
    ("(prove (forall ((f (=> Nat Nat))) (= (@ f Z Z) Z)))", "t.smt2:6:", "takes 1 arguments"),
])
def test_bad_input_names_the_place(text, where, what):
    with pytest.raises(TipError) as e:
        parse_tip(NAT_LIST + text, "t.smt2")
    assert where in str(e.value) and what in str(e.value)


def test_missing_file_is_a_tip_error(tmp_path):
    with pytest.raises(TipError, match="cannot read"):
        load_tip(tmp_path / "none.smt2")

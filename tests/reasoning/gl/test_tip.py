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
    assert parsed >= 310  # 326 when written


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


def test_a_let_is_read_where_it_is_used_so_the_fail_idiom_is_structural():
    # TIP's ``(let ((fail (match y ...))) (match x ...))``: read eagerly, the match on y
    # became an auxiliary function hiding the recursive call; read at each use, under the
    # cases already taken, y is a constructor term and its match is decided statically
    p = parse_tip(NAT_LIST + """
(define-fun-rec dist ((x Nat) (y Nat)) Nat
  (let ((fail (match y ((Z x) ((S z) (match x ((Z y) ((S x2) (dist x2 z)))))))))
    (match x ((Z (match y ((Z Z) ((S x3) fail)))) ((S x4) fail)))))
(prove (forall ((n Nat)) (= (dist n n) Z)))""")
    rules = p.functions["dist"].rules
    assert not [f for f in p.functions if f.startswith("case%")]
    assert (("dist", ("Z",), ("Z",)), ("Z",)) in rules
    assert (("dist", ("Z",), ("S", "x3")), ("S", "x3")) in rules
    assert (("dist", ("S", "x4"), ("S", "z")), ("dist", "x4", "z")) in rules
    assert (("dist", ("S", "x4"), ("Z",)), ("S", "x4")) in rules
    assert len(rules) == 4


def test_recursion_decreasing_in_the_sum_of_argument_sizes_is_read():
    # interleave swaps its arguments: neither decreases alone, their sizes' sum does
    p = parse_tip(NAT_LIST + """
(define-fun-rec interleave (par (a) (((x (list a)) (y (list a))) (list a)))
  (match x ((nil y) ((cons z xs) (cons z (interleave y xs))))))
(prove (par (a) (forall ((xs (list a))) (= (interleave xs (_ nil a)) xs))))""")
    assert p.functions["interleave[sk]"].rules[1][1] == (
        "cons[sk]", "z", ("interleave[sk]", "y", "xs"))


FILTER = """
(define-fun-rec filter (par (a) (((p (=> a Bool)) (xs (list a))) (list a)))
  (match xs ((nil (_ nil a))
             ((cons y ys) (ite (@ p y) (cons y (filter p ys)) (filter p ys))))))
(define-fun-rec le ((x Nat) (y Nat)) Bool
  (match x ((Z true) ((S z) (match y ((Z false) ((S y2) (le z y2))))))))
"""


def test_recursion_on_a_result_no_bigger_than_a_sub_term_is_read():
    # qsort recurses on filter's result: |filter p ys| <= |ys| (filter's size bound, proved
    # from its rules), and ys is smaller than (cons y ys)
    p = parse_tip(NAT_LIST + FILTER + """
(define-fun-rec qsort ((xs (list Nat))) (list Nat)
  (match xs ((nil xs)
             ((cons y ys) (++ (qsort (filter (lambda ((z Nat)) (le z y)) ys))
                              (cons y (qsort (filter (lambda ((z Nat)) (not (le z y))) ys))))))))
(prove (forall ((xs (list Nat))) (= (qsort (qsort xs)) (qsort xs))))""")
    assert len(p.functions["qsort"].rules) == 2


def test_size_bounds_of_a_mutually_recursive_group_are_proved_together():
    # evens and odds call each other: |evens xs| <= |xs| needs |odds xs| <= |xs| and back;
    # halve recurses on evens of a list of two or more, which unfolds to (cons y (evens zs))
    p = parse_tip(NAT_LIST + """
(define-funs-rec ((evens ((xs (list Nat))) (list Nat)) (odds ((xs (list Nat))) (list Nat)))
  ((match xs ((nil xs) ((cons y ys) (cons y (odds ys)))))
   (match xs ((nil xs) ((cons y ys) (evens ys))))))
(define-fun-rec halve ((xs (list Nat))) Nat
  (match xs ((nil Z) ((cons y ys) (match ys ((nil Z) ((cons z zs) (S (halve (evens xs))))))))))
(prove (forall ((xs (list Nat))) (= (halve xs) (halve xs))))""")
    assert len(p.functions["halve"].rules) == 3


@pytest.mark.parametrize("body", [
    # filter's bound is |ys|, not smaller than ys itself
    "(match xs ((nil xs) ((cons y ys) (bad (filter (lambda ((z Nat)) (le z y)) xs)))))",
    # head is partial (no rule for nil), so it has no size bound
    "(match xs ((nil xs) ((cons y ys) (bad (cons (head ys) (tail ys))))))",
])
def test_recursion_on_results_of_unknown_size_is_refused(body):
    with pytest.raises(UnsupportedError, match="bad: no order") as e:
        parse_tip(NAT_LIST + FILTER + f"(define-fun-rec bad ((xs (list Nat))) (list Nat) {body})"
                  "(prove (forall ((xs (list Nat))) (= (bad xs) xs)))", "t.smt2")
    assert e.value.construct == "non-structural recursion"


@pytest.mark.parametrize("body", [
    "(match x ((Z Z) ((S z) (grow (S (S z)) y))))",       # the size grows
    "(match x ((Z Z) ((S z) (grow (plus z z) y))))",      # a call's size is not known
    "(match x ((Z Z) ((S z) (grow y (S x)))))",           # sum unchanged
])
def test_recursion_that_may_not_terminate_is_refused(body):
    text = NAT_LIST + f"""
(define-fun-rec plus ((x Nat) (y Nat)) Nat (match x ((Z y) ((S z) (S (plus z y))))))
(define-fun-rec grow ((x Nat) (y Nat)) Nat {body})
(prove (forall ((n Nat)) (= (grow n n) Z)))"""
    with pytest.raises(UnsupportedError, match="grow: no order") as e:
        parse_tip(text, "t.smt2")
    assert e.value.construct == "non-structural recursion"


def test_equality_on_a_type_parameter_reads_it_as_an_infinite_datatype():
    p = parse_tip(NAT_LIST + """
(define-fun-rec elem (par (a) (((x a) (xs (list a))) Bool))
  (match xs ((nil false) ((cons y ys) (or (= x y) (elem x ys))))))
(prove (par (a) (forall ((x a) (xs (list a))) (elem x (++ xs (cons x (_ nil a)))))))""")
    assert p.equality_sorts == ["sk"] and "sk" not in p.uninterpreted
    assert [c.name for c in p.datatype("sk")] == ["sk%0", "sk%s"]
    assert (("equal%[sk]", ("sk%s", "x0"), ("sk%0",)), ("false",)) in p.functions[
        "equal%[sk]"].rules
    # a function sort has no such reading: = on it stays unsupported
    with pytest.raises(UnsupportedError, match="equality on the uninterpreted sort fun%"):
        parse_tip(NAT_LIST + "(prove (forall ((f (=> Nat Nat)) (g (=> Nat Nat))) "
                  "(= (= f g) (= g f))))")


INT_LIST = """
(declare-datatype list (par (a) ((nil) (cons (head a) (tail (list a))))))
(define-fun-rec count ((x Int) (xs (list Int))) Int
  (match xs ((nil 0) ((cons y ys) (ite (= x y) (+ 1 (count x ys)) (count x ys))))))
(define-fun-rec insert ((x Int) (xs (list Int))) (list Int)
  (match xs ((nil (cons x (_ nil Int)))
             ((cons y ys) (ite (<= x y) (cons x xs) (cons y (insert x ys)))))))
"""


def test_int_as_ordered_data_and_as_counts_is_read_as_the_naturals():
    p = parse_tip(INT_LIST + "(prove (forall ((x Int) (y Int) (xs (list Int))) "
                  "(= (count x (insert y xs)) (count x (cons y xs)))))")
    assert ("x", "int%") in p.goal_vars and "list[int%]" in p.sorts
    rules = p.functions["count"].rules
    assert (("count", "x", ("nil[int%]",)), ("int%0",)) in rules
    assert rules[1][1][2] == ("plus%", ("int%s", ("int%0",)), ("count", "x", "ys"))
    assert p.functions["insert"].rules[1][1][1] == ("le%", "x", "y")
    assert parse_tip(INT_LIST + "(prove (forall ((x Int) (y Int)) (=> (> x y) (>= x y))))"
                     ).goal_lhs == ("implies%", ("lt%", "y", "x"), ("le%", "y", "x"))


@pytest.mark.parametrize("goal", [
    "(forall ((x Int)) (<= 0 x))",                          # true of naturals only
    "(forall ((x Int) (xs (list Int))) (<= (count x xs) x))",
    "(forall ((xs (list Int))) (= (count 0 xs) (count 0 (insert 0 xs))))",
    "(forall ((x Int)) (= (- x x) 0))",
    "(forall ((x Int)) (= x -1))",
    # head of the empty list is any integer, a negative one too
    "(forall ((x Int)) (<= 0 (head (_ nil Int))))",
])
def test_int_the_naturals_could_tell_apart_is_refused(goal):
    with pytest.raises(UnsupportedError) as e:
        parse_tip(INT_LIST + f"(prove {goal})", "t.smt2")
    assert e.value.construct == "built-in Int arithmetic"


def test_a_numeral_too_large_for_a_chain_of_successors_is_refused_by_name():
    with pytest.raises(UnsupportedError, match="the numeral 5000 is above 1000") as e:
        parse_tip(INT_LIST + "(prove (= (+ 1 5000) 5001))", "t.smt2")
    assert e.value.construct == "built-in Int arithmetic" and "t.smt2:" in str(e.value)


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
    ("(prove (forall ((n Real)) (= n n)))", "built-in Real arithmetic"),
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

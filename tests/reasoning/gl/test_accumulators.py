"""Accumulator lemmas: which parameters accumulate, and the conjectures they give."""

from __future__ import annotations

from neuralbrain.reasoning.gl.accumulators import (
    accumulating_parameters,
    accumulator_conjectures,
)

# flatten(TNil, y) = y; flatten(TNode(p, z, q), y) = flatten(p, cons(z, flatten(q, y)))
FLATTEN = [(("flatten", ("TNil",), "y"), "y"),
           (("flatten", ("TNode", "p", "z", "q"), "y"),
            ("flatten", "p", ("cons", "z", ("flatten", "q", "y"))))]
# plus(Z, y) = y; plus(S(x), y) = S(plus(x, y)): y is returned but handed on unchanged
PLUS = [(("plus", ("Z",), "y"), "y"), (("plus", ("S", "x"), "y"), ("S", ("plus", "x", "y")))]
# count(x, nil) = Z; count(x, cons(z, ys)) = ite(x = z, S(count(x, ys)), count(x, ys))
COUNT = [(("count", "x", ("nil",)), ("Z",)),
         (("count", "x", ("cons", "z", "ys")),
          ("ite", ("eq", "x", "z"), ("S", ("count", "x", "ys")), ("count", "x", "ys")))]
FUNCTIONS = {
    "flatten": (("Tree", "List"), "List"), "plus": (("Nat", "Nat"), "Nat"),
    "count": (("Nat", "List"), "Nat"), "cons": (("Nat", "List"), "List"),
    "TNode": (("Tree", "Nat", "Tree"), "Tree"), "S": (("Nat",), "Nat"),
}
CONSTANTS = {"nil": "List", "Z": "Nat", "TNil": "Tree"}


def test_an_accumulating_parameter_is_returned_in_a_base_case_and_changed_in_a_call():
    assert accumulating_parameters(FLATTEN, "flatten") == [1]
    assert accumulating_parameters(PLUS, "plus") == []  # handed on unchanged
    assert accumulating_parameters(COUNT, "count") == []  # x is never returned, ys is matched on
    assert accumulating_parameters(FLATTEN[:1], "flatten") == []  # not recursive at all


def test_the_conjecture_splits_an_observer_over_the_accumulator():
    defs = {"flatten": FLATTEN, "plus": PLUS, "count": COUNT}
    found = accumulator_conjectures(defs, FUNCTIONS, CONSTANTS)
    count_plus = (("count", "%o0", ("flatten", "%a0", "%a1")),
                  ("plus", ("count", "%o0", ("flatten", "%a0", ("nil",))),
                   ("count", "%o0", "%a1")))
    assert [(lhs, rhs) for lhs, rhs, _ in found] == [count_plus]
    assert found[0][2] == {"%a0": "Tree", "%a1": "List", "%o0": "Nat"}
    # outside the allowed signature no observer or combiner is used
    assert accumulator_conjectures(defs, FUNCTIONS, CONSTANTS, allowed={"flatten"}) == []

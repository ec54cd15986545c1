"""The path order that orients rules and hypotheses: what it says, and what it costs."""

from __future__ import annotations

from neuralbrain.reasoning.gl.blocks import Order

ORDER = Order({"Z": 0, "S": 1, "plus": 2, "f": 3, "g": 4})


def test_path_order_orients_the_definition_of_plus_and_refuses_its_reverse():
    lhs, rhs = ("plus", ("S", "x"), "y"), ("S", ("plus", "x", "y"))
    assert ORDER.gt_vars(lhs, rhs)
    assert not ORDER.gt_vars(rhs, lhs)


def test_a_variable_is_below_a_term_it_occurs_in_and_nowhere_else():
    assert ORDER.gt_vars(("S", "x"), "x")
    assert not ORDER.gt_vars(("S", "x"), "y")
    assert not ORDER.gt_vars("x", ("S", "x"))
    assert not ORDER.gt_vars(("plus", "x", "y"), ("plus", "y", "x"))  # either order holds


def _shared_tree(depth: int) -> tuple:
    """f(t, t) with t the tree one level down: 2**depth leaves, ``depth + 1`` distinct terms."""
    t: object = "x"
    for _ in range(depth):
        t = ("f", t, t)
    return t  # type: ignore[return-value]


def test_comparing_terms_with_shared_parts_compares_each_pair_of_parts_once():
    """Unmemoised, the order re-compares each repeated sub-term (2**13 comparisons here);
    that is what held a hypothesis of bin_nat_plus for minutes past its budget."""
    order = Order(ORDER.prec)
    calls = 0
    compare = order._gt_vars

    def counted(s, t):
        nonlocal calls
        calls += 1
        return compare(s, t)

    order._gt_vars = counted  # type: ignore[method-assign]
    s, t = _shared_tree(12), ("g", "y")
    assert not order.gt_vars(s, t)  # y does not occur in s, and g is above f
    assert calls <= (12 + 1) * 2  # at most one comparison per pair of distinct sub-terms

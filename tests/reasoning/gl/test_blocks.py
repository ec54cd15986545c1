"""The path order that orients rules and hypotheses: what it says, and what it costs."""

from __future__ import annotations

import dataclasses

from neuralbrain.reasoning.gl.blocks import LogicGrid, Order

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


def _plus_grid() -> LogicGrid:
    grid = LogicGrid(Order(ORDER.prec))
    grid.add_equation("plus.0", ("plus", ("Z",), "y"), "y")
    grid.add_equation("plus.1", ("plus", ("S", "x"), "y"), ("S", ("plus", "x", "y")))
    return grid


def test_a_term_normalised_again_costs_the_grid_the_same_and_ends_the_same():
    """The grid keeps what its own blocks answered; the counters the hardware backend
    prices still count every block the term is offered to."""
    grid = _plus_grid()
    two_plus_k = ("plus", ("S", ("S", ("Z",))), ("k",))
    costs, ends = [], []
    for _ in range(2):
        before = dataclasses.replace(grid.stats)
        steps: list = []
        ends.append((grid.normalize(two_plus_k, steps), steps))
        costs.append({f.name: getattr(grid.stats, f.name) - getattr(before, f.name)
                      for f in dataclasses.fields(before)})
    assert ends[0] == ends[1] and ends[0][0] == ("S", ("S", ("k",)))
    # plus(S(S(Z)), k) and plus(S(Z), k) are offered to both plus blocks (the second
    # fires), plus(Z, k) to the first, which fires: 5 offers, 3 rewrites, each time
    assert costs[0] == costs[1]
    assert (costs[0]["messages"], costs[0]["rewrites"]) == (5, 3)


def test_a_new_equation_changes_what_the_grid_answers():
    grid = _plus_grid()
    k_plus_zero = ("plus", ("k",), ("Z",))
    assert grid.normalize(k_plus_zero, []) == k_plus_zero  # stuck on the constant k
    grid.add_equation("right_zero", ("plus", "x", ("Z",)), "x")
    assert grid.normalize(k_plus_zero, []) == ("k",)

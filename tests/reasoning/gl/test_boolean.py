"""The theory's connectives are recognised by their equations, never by their names."""

from __future__ import annotations

from neuralbrain.reasoning.gl.blocks import Step
from neuralbrain.reasoning.gl.boolean import FALSE, TRUE, absurd_chains, find_connectives
from neuralbrain.reasoning.gl.equations import Equation

AXIOMS = {
    "imp.0": Equation(("imp", TRUE, "y"), "y", ()),
    "imp.1": Equation(("imp", FALSE, "y"), TRUE, ()),
    "both.0": Equation(("both", TRUE, "y"), "y", ()),
    "both.1": Equation(("both", FALSE, "y"), FALSE, ()),
    "pick.0": Equation(("pick", TRUE, "x", "y"), "x", ()),
    "pick.1": Equation(("pick", FALSE, "x", "y"), "y", ()),
    # named like an implication, but it is not one: implies%(false, y) = false
    "implies%.0": Equation(("implies%", TRUE, "y"), "y", ()),
    "implies%.1": Equation(("implies%", FALSE, "y"), FALSE, ()),
}
FUNCTIONS = {"imp": (("Bool", "Bool"), "Bool"), "both": (("Bool", "Bool"), "Bool"),
             "pick": (("Bool", "Nat", "Nat"), "Nat"), "implies%": (("Bool", "Bool"), "Bool")}


def test_connectives_are_found_by_their_defining_equations():
    conn = find_connectives(AXIOMS, FUNCTIONS)
    assert conn.implies is not None and conn.implies.head == "imp"
    assert conn.conj is not None and conn.conj.head in ("both", "implies%")
    assert conn.ite["Nat"].head == "pick" and conn.ite["Nat"].params == ("x", "y")


def test_a_contradiction_proves_a_boolean_goal_and_an_ite_sorted_one():
    conn = find_connectives(AXIOMS, FUNCTIONS)
    tf = [Step((), "h", "rl", ())]  # true -> false by some case hypothesis h
    lhs, rhs = absurd_chains(("p",), TRUE, "Bool", "Bool", tf, conn)
    assert [s.rule for s in lhs] == ["imp.0", "h", "imp.1"] and rhs == []
    assert lhs[1].pos == (0,)  # inside implies(true, p)
    lhs, rhs = absurd_chains(("a",), ("b",), "Nat", "Bool", tf, conn)
    assert [s.rule for s in lhs] == ["pick.0", "h", "pick.1"] and rhs == []
    assert absurd_chains(("a",), ("b",), "List", "Bool", tf, conn) is None

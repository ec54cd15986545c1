"""Conditional lemmas: which premises a conclusion's match binds, and the chain that uses one."""

from __future__ import annotations

from neuralbrain.reasoning.gl.blocks import Step
from neuralbrain.reasoning.gl.boolean import find_connectives
from neuralbrain.reasoning.gl.conditional import implication_chain, premises

from .test_boolean import AXIOMS, FUNCTIONS


def test_premises_must_be_bound_by_the_conclusion():
    lemma = ("imp", ("leq", "x", "y"), ("imp", ("leq", "y", "x"), ("eq", "x", "y")))
    assert premises(lemma, "imp") == ((("leq", "x", "y"), ("leq", "y", "x")), ("eq", "x", "y"))
    # transitivity: y occurs in no conclusion, so a match of leq(x, z) cannot bind it
    transitive = ("imp", ("leq", "x", "y"), ("imp", ("leq", "y", "z"), ("leq", "x", "z")))
    assert premises(transitive, "imp") is None
    assert premises(("leq", "x", "y"), "imp") is None


def test_an_implication_chain_wraps_each_premise_innermost_first():
    conn = find_connectives(AXIOMS, FUNCTIONS)
    u = ("leq", ("a",), ("c",))
    c1, c2 = ("leq", ("a",), ("b",)), ("leq", ("b",), ("c",))
    steps = implication_chain(u, [(c1, [Step((), "s1", "lr", ())]),
                                  (c2, [Step((), "s2", "lr", ())])], "lem",
                              {"x": ("a",)}, conn.implies)
    assert [(s.rule, s.direction, s.pos) for s in steps] == [
        ("imp.0", "rl", ()), ("s2", "rl", (0,)), ("imp.0", "rl", ()), ("s1", "rl", (0,)),
        ("lem", "lr", ())]
    assert steps[2].subst == (("y", ("imp", c2, u)),)

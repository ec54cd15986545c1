import pytest

from neuralbrain.reasoning.gl.equations import (
    Equation,
    NotEquational,
    equation_to_mpl,
    statement_equation,
)
from neuralbrain.reasoning.gl.mpl import load_theory, parse_theory, theories_dir

PEANO = load_theory(theories_dir() / "peano.mpl")


def _axiom(name):
    return next(s for s in PEANO.statements if s.name == name)


def test_relational_definition_becomes_an_equation():
    eq = statement_equation(PEANO, _axiom("add_succ").formula)
    assert (eq.lhs, eq.rhs) == (("+", "a", ("s", "b")), ("s", ("+", "a", "b")))
    eq = statement_equation(PEANO, _axiom("mul_succ").formula)
    assert (eq.lhs, eq.rhs) == (("*", "a", ("s", "b")), ("+", ("*", "a", "b"), "a"))


def test_hypotheses_are_not_equations():
    with pytest.raises(NotEquational):
        statement_equation(PEANO, _axiom("succ_inj").formula)
    with pytest.raises(NotEquational):
        statement_equation(PEANO, _axiom("succ_ne_zero").formula)


def test_equation_to_mpl_round_trips():
    eq = Equation(("*", "x", ("+", "y", "z")), ("+", ("*", "x", "y"), ("*", "x", "z")),
                  (("x", "N"), ("y", "N"), ("z", "N")))
    text = equation_to_mpl(PEANO, "distrib", eq)
    t2 = parse_theory(text, base=PEANO)
    back = statement_equation(t2, t2.statements[-1].formula)
    assert (back.lhs, back.rhs) == (eq.lhs, eq.rhs)

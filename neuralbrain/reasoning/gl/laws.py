"""Recognise the standard laws of arithmetic among proved equations, up to variable renaming.

The patterns are written over the symbol names of our Peano theory (``+``, ``*``); a law is
recognised when a theorem's canonical form (variables renamed in order of appearance,
mirror images identified, see ``terms.canonical_equation``) equals the pattern's. This is
used for reporting only (``laws_found``); the prover never looks at these patterns.
"""

from __future__ import annotations

from neuralbrain.reasoning.gl.terms import Term, canonical_equation

_PATTERNS: dict[str, list[tuple[Term, Term]]] = {
    "add_comm": [(("+", "x", "y"), ("+", "y", "x"))],
    "add_assoc": [(("+", ("+", "x", "y"), "z"), ("+", "x", ("+", "y", "z")))],
    "mul_comm": [(("*", "x", "y"), ("*", "y", "x"))],
    "mul_assoc": [(("*", ("*", "x", "y"), "z"), ("*", "x", ("*", "y", "z")))],
    "distrib": [
        (("*", "x", ("+", "y", "z")), ("+", ("*", "x", "y"), ("*", "x", "z"))),
        (("*", ("+", "x", "y"), "z"), ("+", ("*", "x", "z"), ("*", "y", "z"))),
    ],
}
STANDARD_LAWS = tuple(_PATTERNS)
_INDEX = {canonical_equation(lhs, rhs): name for name, ps in _PATTERNS.items() for lhs, rhs in ps}


def law_name(lhs: Term, rhs: Term) -> str | None:
    """The standard law ``lhs = rhs`` is an instance of up to renaming, or None."""
    return _INDEX.get(canonical_equation(lhs, rhs))


def laws_found(equations: list[tuple[Term, Term]]) -> list[str]:
    """Names of the standard laws among ``equations``, in the order of ``STANDARD_LAWS``."""
    found = {law_name(lhs, rhs) for lhs, rhs in equations}
    return [name for name in STANDARD_LAWS if name in found]

"""The theory's Boolean connectives, recognised by their defining equations, and what a
proof can do with them once case hypotheses contradict each other.

A theory (TIP's, read by ``tip.py``) defines its connectives by equations over the
constants ``true`` and ``false``; the prover never trusts a name:

* implication ``f``: ``f(true, y) = y`` and ``f(false, y) = true``;
* conjunction ``f``: ``f(true, y) = y`` and ``f(false, y) = false``;
* if-then-else ``f`` of a sort S: ``f(true, x, y) = x`` and ``f(false, x, y) = y``.

``absurd_chains`` turns a chain of equational steps from ``true`` to ``false`` (case
hypotheses that contradict each other) into a rewrite proof of any goal of sort Bool, or of
a sort with an if-then-else, using only those defining equations (ex falso quodlibet, as
plain rewriting the checker replays)::

    s  <-  implies(true, s)  ->*  implies(false, s)  ->  true        (s of sort Bool)
    l  <-  ite(true, l, r)   ->*  ite(false, l, r)   ->  r           (l, r of sort S)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from neuralbrain.reasoning.gl.blocks import Step
from neuralbrain.reasoning.gl.equations import Equation
from neuralbrain.reasoning.gl.terms import Term

TRUE: Term = ("true",)
FALSE: Term = ("false",)


@dataclass(frozen=True)
class Connective:
    """A function with one defining equation per Boolean first argument: the axioms'
    names and their variables (in argument order after the first)."""

    head: str
    on_true: str
    on_false: str
    params: tuple[str, ...]


@dataclass
class Connectives:
    """The theory's implication and conjunction (if it has them) and its if-then-else per
    sort."""

    implies: Connective | None = None
    conj: Connective | None = None
    ite: dict[str, Connective] = field(default_factory=dict)


def find_connectives(axioms: dict[str, Equation],
                     functions: dict[str, tuple[tuple[str, ...], str]]) -> Connectives:
    """Recognise the connectives among ``axioms`` by the shapes in the module docstring."""
    cases: dict[str, dict[Term, tuple[str, tuple[str, ...], Term]]] = {}
    for name, e in axioms.items():
        lhs = e.lhs
        if isinstance(lhs, str) or len(lhs) < 3 or lhs[1] not in (TRUE, FALSE):
            continue
        params = lhs[2:]
        if not all(isinstance(v, str) for v in params) or len(set(params)) != len(params):
            continue
        cases.setdefault(lhs[0], {}).setdefault(lhs[1], (name, params, e.rhs))
    out = Connectives()
    for head, by in sorted(cases.items()):
        if TRUE not in by or FALSE not in by:
            continue
        (nt, pt, rt), (nf, pf, rf) = by[TRUE], by[FALSE]
        if pt != pf:
            continue
        con = Connective(head, nt, nf, pt)
        if len(pt) == 1 and rt == pt[0] and rf == TRUE and out.implies is None:
            out.implies = con
        elif len(pt) == 1 and rt == pt[0] and rf == FALSE and out.conj is None:
            out.conj = con
        elif len(pt) == 2 and rt == pt[0] and rf == pt[1] and head in functions:
            out.ite.setdefault(functions[head][1], con)
    return out


def absurd_chains(lhs: Term, rhs: Term, sort: str | None, bool_sort: str | None,
                  true_to_false: list[Step], conn: Connectives
                  ) -> tuple[list[Step], list[Step]] | None:
    """Steps rewriting ``lhs`` and ``rhs`` to one term, given steps from ``true`` to
    ``false``; None when the goal's sort has neither implication (Bool) nor an
    if-then-else."""
    def inside(steps: list[Step]) -> list[Step]:
        return [Step((0, *s.pos), s.rule, s.direction, s.subst) for s in steps]

    imp = conn.implies
    if sort is not None and sort == bool_sort and imp is not None:
        def to_true(s: Term) -> list[Step]:
            if s == TRUE:
                return []
            sub = ((imp.params[0], s),)
            return ([Step((), imp.on_true, "rl", sub)] + inside(true_to_false) +
                    [Step((), imp.on_false, "lr", sub)])
        return to_true(lhs), to_true(rhs)
    ite = conn.ite.get(sort) if sort is not None else None
    if ite is None:
        return None
    sub = tuple(sorted(zip(ite.params, (lhs, rhs), strict=True)))
    return ([Step((), ite.on_true, "rl", sub)] + inside(true_to_false) +
            [Step((), ite.on_false, "lr", sub)]), []

"""Conditional lemmas ``implies(C1, implies(C2, ... implies(Ck, R))) = true`` as rewriting.

A proved conditional lemma rewrites an instance ``u = Rσ`` to ``true`` where each ``Ciσ``
rewrites to ``true`` in the case at hand (under its hypotheses). The use is justified by
equational steps only, so the checker replays it like any other chain::

    u  <-  implies(true, u)  <-*  implies(Ckσ, u)  <-  implies(true, implies(Ckσ, u))  <-* ...
       <-*  implies(C1σ, implies(C2σ, ... implies(Ckσ, u)))  ->  true     (the lemma at σ)

where ``<-*`` runs the steps that took ``Ciσ`` to ``true`` backwards, inside the first
argument. ``implies`` is the theory's implication (``boolean.Connective``).
"""

from __future__ import annotations

from neuralbrain.reasoning.gl.blocks import Step
from neuralbrain.reasoning.gl.boolean import TRUE, Connective
from neuralbrain.reasoning.gl.terms import Term, variables


def premises(lhs: Term, imp_head: str) -> tuple[tuple[Term, ...], Term] | None:
    """``implies(C1, implies(C2, R))`` -> ``((C1, C2), R)``; None unless every premise's
    variables occur in the conclusion ``R`` (a match of ``R`` must bind them)."""
    conds: list[Term] = []
    while not isinstance(lhs, str) and lhs[0] == imp_head and len(lhs) == 3:
        conds.append(lhs[1])
        lhs = lhs[2]
    if not conds or isinstance(lhs, str) or lhs == TRUE:
        return None
    if not all(set(variables(c)) <= set(variables(lhs)) for c in conds):
        return None
    return tuple(conds), lhs


def implication_chain(u: Term, conds: list[tuple[Term, list[Step]]], lemma: str,
                      sigma: dict[str, Term], imp: Connective) -> list[Step]:
    """Steps from ``u`` to ``true`` by ``lemma`` at ``sigma``, given for each premise (in
    the lemma's order) its instance ``Ciσ`` and the steps that rewrite it to ``true``."""
    flip = {"lr": "rl", "rl": "lr"}
    out: list[Step] = []
    cur = u
    for ci, steps in reversed(conds):
        out.append(Step((), imp.on_true, "rl", ((imp.params[0], cur),)))
        out += [Step((0, *s.pos), s.rule, flip[s.direction], s.subst) for s in reversed(steps)]
        cur = (imp.head, ci, cur)
    out.append(Step((), lemma, "lr", tuple(sorted(sigma.items()))))
    return out

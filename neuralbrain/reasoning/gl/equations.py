"""Relational MPL statements <-> equations between functional terms.

Why two encodings: the MPL surface is relational, as in the Generative Logic paper
(``(+ a b c)`` reads a + b = c), which keeps the language tiny and the type check trivial.
The prover works on functional terms (``+(a, b)``) because equational rewriting, matching
and induction are cheap and easy to check on terms, and a proof step is then a single
substitution instance of one equation at one position. The bridge is the ``functional``
declaration: the last argument of such a relation is a total function of the others, so a
premise ``(+ a b c)`` whose output ``c`` is a fresh universally quantified variable *defines*
``c := +(a, b)``. Eliminating every defined variable turns

    forall a b sb c sc. (s b sb) and (+ a b c) and (s c sc) -> (+ a sb sc)

into the equation ``+(a, s(b)) = s(+(a, b))``. A statement whose premises are not all such
definitions (a real hypothesis) is *conditional* and is not an equation (``NotEquational``).

``equation_to_mpl`` goes back: every compound subterm gets a fresh variable defined by one
premise, so each theorem is printed in the same relational language as the axioms.
"""

from __future__ import annotations

from dataclasses import dataclass

from neuralbrain.reasoning.gl.mpl import And, Atom, Forall, Implies, Not, Theory
from neuralbrain.reasoning.gl.terms import Term, variables


class NotEquational(Exception):
    """The statement is well formed but is not a (possibly definitional) equation."""


@dataclass(frozen=True)
class Equation:
    """``lhs = rhs`` universally quantified over ``sorts`` (variable -> sort)."""

    lhs: Term
    rhs: Term
    sorts: tuple[tuple[str, str], ...]

    @property
    def var_sorts(self) -> dict[str, str]:
        return dict(self.sorts)


def _split(formula) -> tuple[dict[str, str], list, object]:
    bound: dict[str, str] = {}
    while isinstance(formula, Forall):
        bound.update(dict(formula.variables))
        formula = formula.body
    if isinstance(formula, Implies):
        prem = formula.premise
        parts = list(prem.parts) if isinstance(prem, And) else [prem]
        return bound, parts, formula.conclusion
    return bound, [], formula


def statement_equation(theory: Theory, formula) -> Equation:
    """The equation a relational statement denotes, or ``NotEquational`` saying why not."""
    bound, premises, conclusion = _split(formula)
    funcs = theory.functions()
    defs: dict[str, tuple[str, tuple[str, ...]]] = {}
    for p in premises:
        if isinstance(p, Not) or not isinstance(p, Atom):
            raise NotEquational("a premise is not a positive atom (conditional statement)")
        if p.rel not in funcs:
            raise NotEquational(f"premise ({p.rel} ...) is not a functional relation")
        *ins, out = p.args
        if out not in bound or out in defs or out in ins:
            raise NotEquational(
                f"premise ({p.rel} {' '.join(p.args)}) is a hypothesis, not a definition of "
                f"a fresh variable"
            )
        defs[out] = (p.rel, tuple(ins))

    def term(name: str, seen: tuple[str, ...] = ()) -> Term:
        if name in seen:
            raise NotEquational(f"variable {name!r} is defined in terms of itself")
        if name in defs:
            f, ins = defs[name]
            return (f, *(term(a, (*seen, name)) for a in ins))
        if name in bound:
            return name
        return (name,)  # a constant (the parser checked it is declared)

    if not isinstance(conclusion, Atom):
        raise NotEquational("the conclusion is not an atom")
    if conclusion.rel == "=":
        lhs, rhs = term(conclusion.args[0]), term(conclusion.args[1])
    elif conclusion.rel in funcs:
        *ins, out = conclusion.args
        lhs = (conclusion.rel, *(term(a) for a in ins))
        rhs = term(out)
    else:
        raise NotEquational(f"conclusion ({conclusion.rel} ...) is not a functional relation")
    used = variables(rhs, variables(lhs))
    return Equation(lhs, rhs, tuple((v, bound[v]) for v in used))


def equation_to_mpl(theory: Theory, name: str, eq: Equation, kind: str = "theorem") -> str:
    """``(kind NAME (forall (...) (implies (and DEFS) CONCLUSION)))`` in relational MPL."""
    funcs = theory.functions()
    sorts = dict(eq.sorts)
    names: dict[Term, str] = {}
    premises: list[str] = []
    taken = set(sorts)
    counter = [0]

    def fresh() -> str:
        while True:
            counter[0] += 1
            v = f"t{counter[0]}"
            if v not in taken:
                taken.add(v)
                return v

    def flat(t: Term) -> str:
        if isinstance(t, str):
            return t
        if len(t) == 1:
            return t[0]
        if t in names:
            return names[t]
        args = [flat(a) for a in t[1:]]
        v = fresh()
        names[t] = v
        sorts[v] = funcs[t[0]][1]
        premises.append(f"({t[0]} {' '.join(args)} {v})")
        return v

    lhs, rhs = eq.lhs, eq.rhs
    if isinstance(lhs, str) or len(lhs) == 1:
        lhs, rhs = rhs, lhs
    if isinstance(lhs, str) or len(lhs) == 1:
        concl = f"(= {flat(lhs)} {flat(rhs)})"
    else:
        r = flat(rhs)
        args = [flat(a) for a in lhs[1:]]
        concl = f"({lhs[0]} {' '.join(args)} {r})"
    binders = " ".join(f"({v} {s})" for v, s in sorts.items())
    body = concl
    if premises:
        prem = premises[0] if len(premises) == 1 else f"(and {' '.join(premises)})"
        body = f"(implies {prem} {concl})"
    if binders:
        body = f"(forall ({binders}) {body})"
    return f"({kind} {name} {body})"

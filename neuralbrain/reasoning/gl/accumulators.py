"""Accumulator lemmas: what an observer of a function's result makes of its accumulator.

A function ``f`` with an *accumulating* parameter (one no rule matches on, returned as it is
by a rule with no recursive call, and handed on changed by a recursive one: ``flatten(TNil,
y) = y``, ``flatten(TNode(p, z, q), y) = flatten(p, cons(z, flatten(q, y)))``) keeps what
it builds apart from what it was given. Induction on ``f``'s other arguments cannot prove
a goal about ``f(x, nil)`` directly: the recursive calls see other accumulators. The
classical remedy is to generalise (Boyer and Moore, *A Computational Logic*, 1979, on
generalisation before induction); here the generalised statement says how the
accumulator's part and the function's own part combine:

    g(u, f(x, a)) = h(g(u, f(x, c)), g(u, a))

for an observer ``g`` (``count(u, -)``, or none: ``f(x, a) = f(x, nil) ++ a``), a binary
function ``h`` of ``g``'s result sort (``plus``, ``++``) and a constant constructor ``c`` of
the accumulator's sort (``nil``). Such a lemma has more symbols than discovery enumerates
(``count(x, flatten(t, y)) = plus(count(x, flatten(t, nil)), count(x, y))`` has 9), so it
is conjectured from the definitions' shape instead, and, like every conjecture, must pass
the model and a proof before it is used.
"""

from __future__ import annotations

from neuralbrain.reasoning.gl.terms import Term, calls

Signature = dict[str, tuple[tuple[str, ...], str]]  # name -> (argument sorts, result sort)


def accumulating_parameters(rules: list[tuple[Term, Term]], f: str) -> list[int]:
    """The positions of ``f``'s accumulating parameters, as the module docstring defines
    them, in its defining ``rules`` (``(lhs, rhs)`` pairs)."""
    if not rules or not any(calls(rhs, f) for _, rhs in rules):
        return []
    out = []
    for i in range(len(rules[0][0]) - 1):
        if not all(isinstance(lhs[1 + i], str) for lhs, _ in rules):
            continue  # matched on: an ordinary induction argument
        returned = any(rhs == lhs[1 + i] for lhs, rhs in rules)  # a variable: no call
        changed = any(c[1 + i] != lhs[1 + i] for lhs, rhs in rules for c in calls(rhs, f))
        if returned and changed:
            out.append(i)
    return out


def accumulator_conjectures(definitions: dict[str, list[tuple[Term, Term]]],
                            functions: Signature, constants: dict[str, str],
                            allowed: set[str] | None = None
                            ) -> list[tuple[Term, Term, dict[str, str]]]:
    """Every ``g(u, f(x, a)) = h(g(u, f(x, c)), g(u, a))`` the signature can state, as
    ``(lhs, rhs, variable sorts)``, for each function ``f`` of ``definitions`` with an
    accumulating parameter, observer ``g`` (one argument of the accumulator's sort, or the
    identity), combiner ``h`` (two arguments of ``g``'s result sort, returning it) and
    constant constructor ``c`` (``constants``: name -> sort). ``allowed`` limits ``g`` and
    ``h`` to a signature (discovery's). Unfiltered: the caller tests them on its model."""
    def ok(name: str) -> bool:
        return allowed is None or name in allowed

    out: list[tuple[Term, Term, dict[str, str]]] = []
    for f, rules in sorted(definitions.items()):
        if f not in functions:
            continue
        args, res = functions[f]
        for i in accumulating_parameters(rules, f):
            acc_sort = args[i]
            xs = [f"%a{k}" for k in range(len(args))]
            sorts = dict(zip(xs, args, strict=True))
            observers: list[tuple[str | None, int, tuple[str, ...], str]] = [
                (None, 0, (res,), res)]
            observers += [(g, j, gargs, gres) for g, (gargs, gres) in sorted(functions.items())
                          if ok(g) and g in definitions and g != f
                          and list(gargs).count(res) == 1
                          for j in [gargs.index(res)]]
            for g, j, gargs, gres in observers:
                us = [f"%o{k}" for k in range(len(gargs))]

                def observe(t: Term, g=g, j=j, us=us) -> Term:
                    return t if g is None else (g, *us[:j], t, *us[j + 1:])

                gsorts = {} if g is None else {u: s for k, (u, s) in
                                               enumerate(zip(us, gargs, strict=True))
                                               if k != j}
                for h, (hargs, hres) in sorted(functions.items()):
                    if not ok(h) or h not in definitions or hargs != (gres, gres) \
                            or hres != gres:
                        continue
                    for c, csort in sorted(constants.items()):
                        if csort != acc_sort or not ok(c):
                            continue
                        whole = (f, *xs)
                        own = (f, *xs[:i], (c,), *xs[i + 1:])
                        lhs = observe(whole)
                        rhs = (h, observe(own), observe(xs[i]))
                        out.append((lhs, rhs, {**sorts, **gsorts}))
    return out

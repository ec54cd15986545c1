"""Recursion induction: the cases and hypotheses a function's own recursion gives a goal.

A goal ``E`` with a call ``f(v1, ..., vn)`` whose matched arguments are distinct variables is
proved by following ``f``'s definition (the induction schemes of Boyer and Moore, *A
Computational Logic*, 1979): one case per defining rule ``f(p1, ..., pn) = r``,
proving ``E[v := p]``, with one hypothesis ``E[v := a]`` per recursive call ``f(a...)`` in
``r``. It is the induction the definition itself suggests where no single argument descends
structurally in every call: ``mul3(x, y, z)`` recurses on ``(1, y', z')`` as well as on
``(x', y', z')``, ``pairs`` two elements down a list. The hypotheses are kept only where a
well-founded measure of the induction variables, which the checker re-computes, shows the
call's arguments smaller: the sizes (constructor counts) compared lexicographically, or
their sum.
"""

from __future__ import annotations

from dataclasses import dataclass

from neuralbrain.reasoning.gl.termination import Form, at_most, covers, sum_forms
from neuralbrain.reasoning.gl.terms import Term, calls, substitute, subterms

MEASURES = ("lex", "sum")


@dataclass(frozen=True)
class Case:
    """One defining rule's case: the induction variables' ``pattern`` (over fresh variables
    of ``pattern_sorts``) and the argument tuples of its hypotheses."""

    pattern: tuple[Term, ...]
    pattern_sorts: dict[str, str]
    hypotheses: tuple[tuple[Term, ...], ...]


@dataclass(frozen=True)
class Scheme:
    """Recursion induction on ``variables`` along ``function``'s rules, under ``measure``."""

    function: str
    variables: tuple[str, ...]
    measure: str
    cases: tuple[Case, ...]


class Recursion:
    """The schemes the theory's definitions give.

    ``definitions``: name -> rules, each a ``(lhs, rhs)`` pair; ``ctors``: each datatype's
    constructors with their argument sorts; ``reserved``: names pattern variables avoid.
    """

    def __init__(self, definitions: dict[str, list[tuple[Term, Term]]],
                 ctors: dict[str, list[tuple[str, tuple[str, ...]]]], reserved: set[str]):
        self.ctors, self.reserved = ctors, reserved
        self._fields = {c: fs for cs in ctors.values() for c, fs in cs}
        self.matched: dict[str, tuple[int, ...]] = {}
        self.rules: dict[str, list[tuple[Term, Term]]] = {}
        for f, rules in definitions.items():
            m = self._matched(f, rules)
            if m is not None:
                self.matched[f], self.rules[f] = m, rules

    def _pattern(self, t: Term, seen: set[str]) -> bool:
        """A linear pattern of constructors and variables."""
        if isinstance(t, str):
            if t in seen:
                return False
            seen.add(t)
            return True
        return t[0] in self._fields and all(self._pattern(a, seen) for a in t[1:])

    def _matched(self, f: str, rules: list[tuple[Term, Term]]) -> tuple[int, ...] | None:
        """The argument positions ``f``'s rules match on, when its recursion needs its own
        induction: rules over linear constructor patterns, recursive, and no single argument
        an immediate part of its pattern in every recursive call (structural induction on
        that argument gives those hypotheses already)."""
        if any(isinstance(lhs, str) or not all(self._pattern(a, set()) for a in lhs[1:])
               for lhs, _ in rules):
            return None
        arity = len(rules[0][0]) - 1
        matched = tuple(i for i in range(arity)
                        if any(not isinstance(lhs[1 + i], str) for lhs, _ in rules))
        recursive = [(lhs, c) for lhs, rhs in rules for c in calls(rhs, f)]
        if not matched or not recursive:
            return None
        for i in matched:
            if all(not isinstance(lhs[1 + i], str) and c[1 + i] in lhs[1 + i][1:]
                   for lhs, c in recursive):
                return None
        return matched

    def schemes(self, lhs: Term, rhs: Term, sorts: dict[str, str]) -> list[Scheme]:
        """A scheme for each call in the goal whose matched arguments are distinct
        variables, in order of appearance (one per function and variable tuple)."""
        out: list[Scheme] = []
        seen: set[tuple] = set()
        for t in (*subterms(lhs), *subterms(rhs)):
            if isinstance(t, str) or t[0] not in self.matched:
                continue
            vs = tuple(t[1 + i] for i in self.matched[t[0]])
            if not all(isinstance(v, str) for v in vs) or len(set(vs)) < len(vs) or \
                    (t[0], vs) in seen:
                continue
            seen.add((t[0], vs))
            scheme = self._scheme(t, vs, sorts)
            if scheme is not None:
                out.append(scheme)
        return out

    def _scheme(self, call: Term, vs: tuple[str, ...], sorts: dict[str, str]
                ) -> Scheme | None:
        f = call[0]
        matched = self.matched[f]
        taken = set(sorts) | self.reserved
        raw: list[tuple[tuple[Term, ...], dict[str, str], list[tuple[Term, ...]]]] = []
        for lhs, rhs in self.rules[f]:
            sigma: dict[str, Term] = {}
            psorts: dict[str, str] = {}
            for i in range(len(lhs) - 1):
                if i not in matched:
                    sigma[lhs[1 + i]] = call[1 + i]  # an argument the rules do not match on
            for i in matched:
                if not self._sorts(lhs[1 + i], sorts[vs[matched.index(i)]], psorts, sigma,
                                   set(taken) | set(psorts)):
                    return None
            pattern = tuple(substitute(lhs[1 + i], sigma) for i in matched)
            hyps = []
            for c in calls(rhs, f):
                args = tuple(substitute(c[1 + i], sigma) for i in matched)
                if args not in hyps:
                    hyps.append(args)
            raw.append((pattern, psorts, hyps))
        if not covers([pattern for pattern, _, _ in raw], [sorts[v] for v in vs],
                      lambda s: self.ctors.get(s, [])):
            return None  # the checker would refuse the cases
        values = {**sorts, **{v: s for _, ps, _ in raw for v, s in ps.items()}}
        values = {v: s for v, s in values.items() if v not in vs}
        best: tuple[int, str, list[Case]] | None = None
        for measure in MEASURES:
            cases, kept = [], 0
            for pattern, psorts, hyps in raw:
                big = [self.size(p, values) for p in pattern]
                good = tuple(a for a in hyps if _below(
                    measure, [self.size(x, values) for x in a], big))
                kept += len(good)
                cases.append(Case(pattern, psorts, good))
            if best is None or kept > best[0]:
                best = (kept, measure, cases)
        if best is None or best[0] == 0:
            return None
        return Scheme(f, vs, best[1], tuple(best[2]))

    def _sorts(self, p: Term, sort: str, out: dict[str, str], sigma: dict[str, Term],
               taken: set[str]) -> bool:
        """Fresh names (into ``sigma``) and sorts (into ``out``) of a pattern's variables."""
        if isinstance(p, str):
            k = 0
            while f"r{k}" in taken:
                k += 1
            taken.add(f"r{k}")
            sigma[p], out[f"r{k}"] = f"r{k}", sort
            return True
        fields = self._fields.get(p[0])
        return fields is not None and len(fields) == len(p) - 1 and all(
            self._sorts(a, s, out, sigma, taken) for a, s in zip(p[1:], fields, strict=True))

    def size(self, t: Term, values: dict[str, str]) -> Form | None:
        """``|t|`` as a linear form over the variables in ``values``; None if ``t`` is not
        built from constructors and those variables."""
        if isinstance(t, str):
            return (0, {t: 1}) if t in values else None
        if t[0] not in self._fields:
            return None
        const, coef = 1, {}
        for a in t[1:]:
            f = self.size(a, values)
            if f is None:
                return None
            const += f[0]
            for v, n in f[1].items():
                coef[v] = coef.get(v, 0) + n
        return const, coef


def _below(measure: str, small: list[Form | None], big: list[Form | None]) -> bool:
    if any(f is None for f in small) or any(f is None for f in big):
        return False
    if measure == "sum":
        total = sum_forms([[f] for f in small], 0), sum_forms([[f] for f in big], 0)
        return at_most(total[0][0], total[1][0], strict=True)
    for f, g in zip(small, big, strict=True):
        if at_most(f, g, strict=True):
            return True
        if not at_most(f, g, strict=False):
            return False
    return False


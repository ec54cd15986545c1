"""The counterexample filter: a finite prefix of the standard model, built from the theory.

Nothing here knows what ``+`` or ``*`` mean. The model's elements are the numerals of an
inductive sort, ``k`` standing for step^k(base) as the theory's ``(induction ...)``
declaration gives them; a function is evaluated by finding the definitional equation whose
left side matches the numeral arguments (``a + s(b)`` matches ``(3, 5)`` with ``b = 4``) and
evaluating its right side, memoised. Values above ``cap`` are *undefined* (``None``): the
model is the prefix 0..cap of the standard model, on which every axiom holds wherever both
sides are defined, so an equation that fails at a point where both sides are defined is
false in the standard model and need not be tried.

A candidate equation is tested on every assignment of its variables to 0..``max_value``
(the standard model on 0..4 by default): ``fingerprint`` returns the vector of values over
those assignments, so equal fingerprints are the candidates and unequal ones are refuted.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
from collections.abc import Iterator

from neuralbrain.reasoning.gl.terms import Term


@contextlib.contextmanager
def deep_recursion(limit: int = 20_000) -> Iterator[None]:
    """Evaluating s^k(0)-style recursion needs ~4 frames per unit of the recursion argument."""
    old = sys.getrecursionlimit()
    if old < limit:
        sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


class Undefined(Exception):
    """The value lies outside the model's prefix (or the function has no matching clause)."""


class PrefixModel:
    """Numerals 0..cap of one inductive sort, functions evaluated from their definitions."""

    def __init__(
        self,
        base: str,
        step: str,
        definitions: list[tuple[Term, Term]],
        cap: int = 100_000,
    ):
        self.base, self.step, self.cap = base, step, cap
        self.clauses: dict[str, list[tuple[Term, Term]]] = {}
        for lhs, rhs in definitions:
            if not isinstance(lhs, str) and len(lhs) > 1 and lhs[0] != step:
                self.clauses.setdefault(lhs[0], []).append((lhs, rhs))
        self.memo: dict[tuple, int] = {}

    # numerals <-> terms
    def _numeral_match(self, pattern: Term, k: int, sigma: dict) -> bool:
        if isinstance(pattern, str):
            if pattern in sigma:
                return sigma[pattern] == k
            sigma[pattern] = k
            return True
        if len(pattern) == 1:
            return pattern[0] == self.base and k == 0
        if pattern[0] == self.step and len(pattern) == 2:
            return k > 0 and self._numeral_match(pattern[1], k - 1, sigma)
        return False

    def apply(self, f: str, args: tuple[int, ...]) -> int:
        if f == self.step:
            v = args[0] + 1
            if v > self.cap:
                raise Undefined(f)
            return v
        key = (f, *args)
        hit = self.memo.get(key)
        if hit is not None:
            return hit
        for lhs, rhs in self.clauses.get(f, ()):
            sigma: dict = {}
            if len(lhs) - 1 == len(args) and all(
                self._numeral_match(p, a, sigma) for p, a in zip(lhs[1:], args, strict=True)
            ):
                v = self.value(rhs, sigma)
                self.memo[key] = v
                return v
        raise Undefined(f"no clause of {f} matches {args}")

    def value(self, t: Term, env: dict[str, int]) -> int:
        if isinstance(t, str):
            return env[t]
        if len(t) == 1:
            if t[0] == self.base:
                return 0
            return self.apply(t[0], ())
        return self.apply(t[0], tuple(self.value(a, env) for a in t[1:]))

    def safe_value(self, t: Term, env: dict[str, int]) -> int | None:
        with deep_recursion():
            try:
                return self.value(t, env)
            except (Undefined, RecursionError):
                return None


class Fingerprinter:
    """Values of terms over all assignments of ``variables`` to 0..``max_value``."""

    def __init__(self, model: PrefixModel, variables: list[str], max_value: int = 4):
        self.model = model
        self.variables = list(variables)
        self.points = list(itertools.product(range(max_value + 1), repeat=len(self.variables)))
        self.index = {v: i for i, v in enumerate(self.variables)}

    def leaf(self, t: Term) -> tuple:
        if isinstance(t, str):
            i = self.index[t]
            return tuple(p[i] for p in self.points)
        v = self.model.safe_value(t, {})
        return (v,) * len(self.points)

    def combine(self, f: str, children: list[tuple]) -> tuple:
        """The fingerprint of ``f(children...)`` from the children's fingerprints."""
        out = []
        apply = self.model.apply
        with deep_recursion():
            for vals in zip(*children, strict=True):
                if None in vals:
                    out.append(None)
                    continue
                try:
                    out.append(apply(f, vals))
                except (Undefined, RecursionError):
                    out.append(None)
        return tuple(out)


def refutes(model: PrefixModel, lhs: Term, rhs: Term, variables: list[str], max_value: int = 4,
            ) -> dict[str, int] | None:
    """An assignment in 0..max_value where both sides are defined and differ, else None."""
    for point in itertools.product(range(max_value + 1), repeat=len(variables)):
        env = dict(zip(variables, point, strict=True))
        a, b = model.safe_value(lhs, env), model.safe_value(rhs, env)
        if a is not None and b is not None and a != b:
            return env
    return None



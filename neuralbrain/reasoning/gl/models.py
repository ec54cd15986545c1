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

For theories over other datatypes (lists, trees, Booleans: the TIP problems) ``TermModel``
does the same on ground constructor terms, and ``PointFingerprinter`` tests candidates at
``sample_points`` (seeded random assignments of every variable of every sort) instead of
the full grid, which would grow as the product of all the sorts' value sets.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import random
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




# -- any datatype: ground constructor terms ---------------------------------------------------


class TermModel:
    """Ground constructor terms of every datatype, functions evaluated from their definitions.

    The counterexample filter for theories over lists, trees, Booleans and naturals alike:
    a value is a ground term built from constructors (an element of an uninterpreted sort
    is an opaque atom ``("@S0",)``, which no definition can take apart). A function applied
    to values is evaluated by the first definitional equation whose left side matches (the
    TIP reader emits one rule per constructor case, so at most one matches), memoised.
    A value bigger than ``max_size`` nodes, or an application no rule matches (a selector
    applied to the wrong constructor), is ``Undefined``: as with ``PrefixModel``, only a
    point where both sides are defined counts as evidence.

    ``free`` (function name -> result sort) names the functions the theory leaves partly
    uninterpreted, such as a defunctionalised ``apply`` whose equations cover only the
    lambdas of the problem. Where no equation matches, their value is an arbitrary but fixed
    one: a pseudo-random ground value of the result sort (``ctors``) drawn from a hash of
    the application, or, for a sort without constructors, the application itself (an
    opaque element such as a closure). A function variable's opaque atom thus behaves as
    one fixed function at every point.
    """

    def __init__(self, constructors: set[str], definitions: list[tuple[Term, Term]],
                 max_size: int = 200, free: dict[str, str] | None = None,
                 ctors: dict[str, list[tuple[str, tuple[str, ...]]]] | None = None):
        from neuralbrain.reasoning.gl.terms import match

        self._match = match
        self.constructors = set(constructors)
        self.free = dict(free or {})
        self.ctors = dict(ctors or {})
        self.max_size = max_size
        self.clauses: dict[str, list[tuple[Term, Term]]] = {}
        for lhs, rhs in definitions:
            if not isinstance(lhs, str) and len(lhs) > 1 and lhs[0] not in self.constructors:
                self.clauses.setdefault(lhs[0], []).append((lhs, rhs))
        self.memo: dict[tuple, Term] = {}
        self.sizes: dict[Term, int] = {}

    def _size(self, v: Term) -> int:
        s = self.sizes.get(v)
        if s is None:
            s = 1 + sum(self._size(a) for a in v[1:])
            self.sizes[v] = s
        return s

    def apply(self, f: str, args: tuple) -> Term:
        if f in self.constructors:
            v = (f, *args)
            if self._size(v) > self.max_size:
                raise Undefined(f)
            return v
        key = (f, *args)
        hit = self.memo.get(key)
        if hit is not None:
            return hit
        for lhs, rhs in self.clauses.get(f, ()):
            sigma = self._match(lhs, key, {})
            if sigma is not None:
                v = self.value(rhs, sigma)
                self.memo[key] = v
                return v
        if f in self.free:
            v = self._arbitrary(key, self.free[f])
            self.memo[key] = v
            return v
        raise Undefined(f"no clause of {f} matches")

    def _arbitrary(self, key: tuple, sort: str) -> Term:
        if not self.ctors.get(sort):
            if self._size(key) > self.max_size:
                raise Undefined(key[0])
            return key
        seed = int.from_bytes(hashlib.blake2b(repr(key).encode(), digest_size=8).digest(), "big")
        return random_value(sort, self.ctors, random.Random(seed), 1)

    def value(self, t: Term, env: dict) -> Term:
        if isinstance(t, str):
            return env[t]
        return self.apply(t[0], tuple(self.value(a, env) for a in t[1:]))

    def safe_value(self, t: Term, env: dict) -> Term | None:
        with deep_recursion():
            try:
                return self.value(t, env)
            except (Undefined, RecursionError):
                return None


def random_value(sort: str, ctors: dict[str, list[tuple[str, tuple[str, ...]]]],
                 rng, fuel: int) -> Term:
    """A random ground value of ``sort``: constructors chosen uniformly while ``fuel`` lasts
    (each nested field gets one unit less), then a constant one; an opaque atom
    ``@S0..@S2`` for a sort without constructors."""
    cs = ctors.get(sort)
    if not cs:
        return (f"@{sort}{rng.randrange(3)}",)
    nullary = [c for c in cs if not c[1]]
    if fuel <= 0 and nullary:
        name, _ = nullary[rng.randrange(len(nullary))]
        return (name,)
    name, fields = cs[rng.randrange(len(cs))]
    return (name, *(random_value(s, ctors, rng, fuel - 1) for s in fields))


class PointFingerprinter(Fingerprinter):
    """Values of terms at sampled points (an assignment of every variable of every sort).

    ``Fingerprinter``'s ``combine``, its own ``leaf``, so discovery can use either; one object
    per sort shares the points, and ``variables`` are the ones of its sort.
    """

    def __init__(self, model: TermModel, variables: list[str], points: list[dict]):
        self.model = model
        self.variables = list(variables)
        self.points = points

    def leaf(self, t: Term) -> tuple:
        if isinstance(t, str):
            return tuple(p[t] for p in self.points)
        v = self.model.safe_value(t, {})
        return (v,) * len(self.points)


def sample_points(var_sorts: dict[str, str], ctors: dict[str, list[tuple[str, tuple[str, ...]]]],
                  n_points: int, seed: int = 0, fuel: int = 4) -> list[dict]:
    """``n_points`` assignments, the first the smallest values, the rest random (seeded, so
    discovery stays deterministic); the fuel grows from 1 so short values come often."""
    rng = random.Random(seed)
    points = [{v: random_value(s, ctors, rng, 0) for v, s in var_sorts.items()}]
    for k in range(1, n_points):
        f = 1 + k % fuel
        points.append({v: random_value(s, ctors, rng, f) for v, s in var_sorts.items()})
    return points

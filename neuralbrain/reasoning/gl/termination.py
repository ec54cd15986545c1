"""Termination of a TIP function's recursion: one well-founded order all its calls descend.

A TIP definition is read as equations, so a definition that does not terminate could make the
theory inconsistent (``f(x) = S(f(x))``). ``decreasing_order`` accepts a function's recursive
calls, each given with the left side of the rule it is made from, when one of these orders
decreases along every call:

- *lexicographic*, in some fixed order of the parameters: the first argument that changes is a
  proper sub-term of its left-side argument (the structural recursion of Coq's or Isabelle's
  ``fun``, with the order of parameters searched);
- *size sum* over a fixed set of parameters: the sum of those arguments' sizes (constructor
  counts) is smaller in the call for every value of the variables. An argument that is a call
  of an earlier function is first rewritten with that function's rules, then bounded by its
  *size bound*: ``|g(x...)| <= sum of |x_i|`` over some of g's arguments of g's result sort,
  proved rule by rule by induction along g's own (already accepted) recursion. A function whose
  rules do not cover every constructor case (a selector) has no bound: its value off its rules
  is unknown. (Size-change termination in its simplest form; Lee, Jones, Ben-Amram, POPL 2001.)

Anything else is refused; the reader reports it as ``non-structural recursion``.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations, permutations, product

from neuralbrain.reasoning.gl.terms import Term, match, substitute

Form = tuple[int, dict[str, int]]  # const + sum(n_v * |v|)
MAX_FORMS = 32  # alternatives (ite branches) kept per bound; more and the size is unknown
MAX_REWRITES = 200


class SizeBounds:
    """Sizes of terms over a theory's accepted functions.

    ``rules(name)`` gives a function's rules, ``arg_sorts(name)``/``result(name)`` its sorts,
    ``ctors(sort)`` a sort's constructors as ``(name, field sorts)``; only functions for
    which ``accepted(name)`` holds are rewritten with or bounded."""

    def __init__(self, rules: Callable, arg_sorts: Callable, result: Callable,
                 ctors: Callable, constructors: set[str], accepted: Callable):
        self.rules, self.arg_sorts, self.result = rules, arg_sorts, result
        self.ctors, self.constructors, self.accepted = ctors, constructors, accepted
        self.bounds: dict[str, tuple[int, ...] | None] = {}

    # -- rewriting ----------------------------------------------------------------------
    def normalise(self, t: Term, budget: list[int] | None = None) -> Term:
        """``t`` rewritten innermost with the rules of accepted functions (bounded steps)."""
        budget = budget if budget is not None else [MAX_REWRITES]
        if isinstance(t, str):
            return t
        t = (t[0], *(self.normalise(a, budget) for a in t[1:]))
        if t[0] in self.constructors or not self.accepted(t[0]) or budget[0] <= 0:
            return t
        for lhs, rhs in self.rules(t[0]):
            sigma = match(lhs, t, {})
            if sigma is not None:
                budget[0] -= 1
                return self.normalise(substitute(rhs, sigma), budget)
        return t

    # -- upper bounds -------------------------------------------------------------------
    def upper(self, t: Term, assume: dict[str, tuple[int, ...]] | None = None
              ) -> list[Form] | None:
        """Upper bounds of ``|t|``, one per alternative (``ite`` branch); None if unknown.
        ``assume``: bounds taken as given (``|f(x...)| <= sum_{i in S} |x_i|`` for f: S)."""
        if isinstance(t, str):
            return [(0, {t: 1})]
        head, args = t[0], t[1:]
        if head in self.constructors:
            return sum_forms([self.upper(a, assume) for a in args], 1)
        if head.startswith("ite%"):
            a, b = self.upper(args[1], assume), self.upper(args[2], assume)
            if a is None or b is None or len(a) + len(b) > MAX_FORMS:
                return None
            return a + b
        bound = assume[head] if assume and head in assume else self.bound(head)
        if bound is None:
            return None
        return sum_forms([self.upper(args[i], assume) for i in bound], 0)

    def bound(self, name: str) -> tuple[int, ...] | None:
        """Argument positions S with ``|name(x...)| <= sum_{i in S} |x_i|``, or None.

        The bounds of a mutually recursive group (``name``'s strongly connected component
        of the call graph) are proved together, each rule assuming the group's bounds for
        its calls: induction along the group's recursion, which terminates."""
        if name in self.bounds:
            return self.bounds[name]
        if not self.accepted(name):
            return None  # not cached: it may be accepted later
        group = self._component(name)
        for g in group:
            self.bounds[g] = None  # while being proved: no circular use outside ``assume``
        options = [self._candidates(g) for g in group]
        for combo in product(*options):
            assume = dict(zip(group, combo, strict=True))
            if all(self._rule_within(lhs, rhs, g, assume)
                   for g in group for lhs, rhs in self.rules(g)):
                self.bounds.update(assume)
                break
        return self.bounds[name]

    def _candidates(self, name: str) -> list[tuple[int, ...]]:
        if not self.accepted(name) or not self.covers(name):
            return []
        res = self.result(name)
        same = [i for i, s in enumerate(self.arg_sorts(name)) if s == res]
        return [(i,) for i in same] + ([tuple(same)] if len(same) > 1 else [])

    def _component(self, name: str) -> list[str]:
        """``name`` and the accepted functions it calls that call it back."""
        reach = self._reach(name)
        return [name, *sorted(g for g in reach if g != name and name in self._reach(g))]

    def _reach(self, name: str) -> set[str]:
        seen: set[str] = set()
        todo = [name]
        while todo:
            f = todo.pop()
            if not self.accepted(f):
                continue
            for _, rhs in self.rules(f):
                for g in _heads(rhs):
                    if g not in seen and g not in self.constructors:
                        seen.add(g)
                        todo.append(g)
        return seen

    def _rule_within(self, lhs: Term, rhs: Term, name: str,
                     assume: dict[str, tuple[int, ...]]) -> bool:
        forms = self.upper(rhs, assume)
        limit = sum_forms([self.upper(lhs[1 + i]) for i in assume[name]], 0)
        return forms is not None and limit is not None and \
            all(at_most(f, limit[0], strict=False) for f in forms)

    def covers(self, name: str) -> bool:
        """The rules' left sides cover every constructor case of the arguments."""
        pats = [lhs[1:] for lhs, _ in self.rules(name)]
        return covers(pats, list(self.arg_sorts(name)), self.ctors)


def decreasing_order(calls: list[tuple[Term, Term]], arity: int, alone: bool,
                     sizes: SizeBounds) -> str | None:
    """The name of an order every ``(lhs, call)`` descends, or None. ``alone``: the function
    is not mutually recursive (then any order of parameters, and size sums, may be used;
    a mutual group keeps parameter order, the order its members share)."""
    if any(len(c) != len(lhs) for lhs, c in calls):
        return None  # a mutual call to a function of another arity: no shared order here
    orders = list(permutations(range(arity))) if alone else [tuple(range(arity))]
    for order in orders:
        if all(lex_smaller([c[1 + i] for i in order], [lhs[1 + i] for i in order])
               for lhs, c in calls):
            return "lexicographic"
    if alone:
        # each argument's size bounds once: a call's rewritten, a left side's exact
        measured = [([sizes.upper(sizes.normalise(a)) for a in c[1:]],
                     [sizes.upper(a) for a in lhs[1:]]) for lhs, c in calls]
        for k in range(1, arity + 1):
            for subset in combinations(range(arity), k):
                if all(_sum_smaller(small, big, subset) for small, big in measured):
                    return "size sum"
    return None


def _sum_smaller(small: list, big: list, subset: tuple[int, ...]) -> bool:
    """The call's arguments in ``subset`` are smaller in sum than the left side's, always."""
    s = sum_forms([small[i] for i in subset], 0)
    b = sum_forms([big[i] for i in subset], 0)
    return s is not None and b is not None and all(at_most(f, b[0], strict=True) for f in s)


def _heads(t: Term):
    if not isinstance(t, str):
        yield t[0]
        for a in t[1:]:
            yield from _heads(a)


def _proper_subterm(a: Term, b: Term) -> bool:
    return not isinstance(b, str) and any(a == x or _proper_subterm(a, x) for x in b[1:])


def lex_smaller(args: list, than: list) -> bool:
    """``args`` below ``than`` lexicographically, each step by the proper sub-term order."""
    for a, b in zip(args, than, strict=True):
        if a != b:
            return _proper_subterm(a, b)
    return False


def sum_forms(parts: list[list[Form] | None], const: int) -> list[Form] | None:
    """Every combination of one alternative per part, summed, plus ``const``."""
    if any(p is None for p in parts):
        return None
    out: list[Form] = []
    for combo in product(*parts):
        c, coef = const, {}
        for k, vs in combo:
            c += k
            for v, n in vs.items():
                coef[v] = coef.get(v, 0) + n
        out.append((c, coef))
        if len(out) > MAX_FORMS:
            return None
    return out


def at_most(f: Form, g: Form, strict: bool) -> bool:
    """``f <= g`` (``<`` if strict) for every value of the variables, each of size >= 1."""
    diff = dict(g[1])
    for v, n in f[1].items():
        diff[v] = diff.get(v, 0) - n
    if any(n < 0 for n in diff.values()):
        return False
    least = g[0] - f[0] + sum(diff.values())
    return least > 0 if strict else least >= 0


def covers(pats: list[tuple], sorts: list[str], ctors: Callable) -> bool:
    """Pattern rows ``pats`` (tuples of terms over ``sorts``) match every value tuple."""
    if not pats:
        return False
    col = next((i for i in range(len(sorts)) for p in pats if not isinstance(p[i], str)), None)
    if col is None:
        return True  # a row of variables only
    cs = ctors(sorts[col])
    if not cs:
        return False
    for cname, fsorts in cs:
        rows = []
        for p in pats:
            if isinstance(p[col], str):
                rows.append(p[:col] + tuple(f"_{k}" for k in range(len(fsorts))) + p[col + 1:])
            elif p[col][0] == cname:
                rows.append(p[:col] + tuple(p[col][1:]) + p[col + 1:])
        if not covers(rows, sorts[:col] + list(fsorts) + sorts[col + 1:], ctors):
            return False
    return True

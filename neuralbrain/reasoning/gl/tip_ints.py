"""Built-in ``Int`` in a TIP problem, read as the naturals where that proves the same goal.

TIP 2015 uses ``Int`` in two ways: as ordered data (the elements ``sort_*`` problems sort,
compared by ``<=``; variable names in ``propositional_*``) and as counts (``count``,
``length``: ``0``, ``(+ 1 (count x ys))``). The reader reads ``Int`` as the datatype
``int%0 | int%s(int%)`` (the naturals) with ``+``, ``*``, ``<=``, ``<``, ``>=``, ``>`` and
numerals >= 0 as functions on it (``INT_FUNCTIONS``); ``-``, ``div``, ``mod`` and negative
numerals stay unsupported. That reading is not the integers, so ``check_int_roles`` accepts
it only when the goal cannot tell them apart:

- every ``Int`` position (a function's parameter or result, a constructor's field, a goal
  variable) gets a *role* by data flow: positions joined by an argument passed, a field
  stored, ``=``, ``<=``/``<`` or an ``ite``'s branches share one role;
- an *input* role holds the goal's integers (its ``Int`` variables and the ``Int`` fields
  inside its variables' values) and what a partial function returns off its rules (``head``
  of the empty list: any integer), a *computed* role the numerals and the results of
  ``+``/``*``;
- no role may be both.

Why that suffices: take a counterexample over the integers. Its input integers are finitely
many; number them in order, ``h``: an order embedding into the naturals. Input-role values are
only copied and compared with each other, which ``h`` preserves; computed-role values are
built from numerals >= 0 by ``+``/``*`` and compared with each other, so they are naturals
already and their arithmetic is the same. Running the problem on the ``h``-images therefore
gives the same Booleans everywhere and a counterexample over the naturals. So a goal proved
in this reading holds over the integers. (A goal variable of a function sort over ``Int`` is
refused: the argument would have to carry the function across ``h``.)
"""

from __future__ import annotations

from neuralbrain.reasoning.gl.termination import covers
from neuralbrain.reasoning.gl.terms import Term

INT = "int%"
ZERO, SUCC = "int%0", "int%s"
PLUS, TIMES, LE, LT = "plus%", "times%", "le%", "lt%"
BOOL_TRUE, BOOL_FALSE = ("true",), ("false",)


MAX_NUMERAL = 1000  # a numeral is a chain of int%s; longer ones are refused, not built


def numeral(n: int) -> Term:
    t: Term = (ZERO,)
    for _ in range(n):
        t = (SUCC, t)
    return t


def int_functions() -> dict[str, tuple[tuple[str, ...], str, tuple]]:
    """name -> (argument sorts, result sort, rules) of the arithmetic on ``int%``."""
    z, s = (ZERO,), SUCC
    return {
        PLUS: ((INT, INT), INT, (((PLUS, z, "y"), "y"),
                                 ((PLUS, (s, "x"), "y"), (s, (PLUS, "x", "y"))))),
        TIMES: ((INT, INT), INT, (((TIMES, z, "y"), z),
                                  ((TIMES, (s, "x"), "y"), (PLUS, "y", (TIMES, "x", "y"))))),
        LE: ((INT, INT), "Bool", (((LE, z, "y"), BOOL_TRUE),
                                  ((LE, (s, "x"), z), BOOL_FALSE),
                                  ((LE, (s, "x"), (s, "y")), (LE, "x", "y")))),
        LT: ((INT, INT), "Bool", (((LT, "x", z), BOOL_FALSE),
                                  ((LT, z, (s, "y")), BOOL_TRUE),
                                  ((LT, (s, "x"), (s, "y")), (LT, "x", "y")))),
    }


class _Roles:
    """Union-find over ``Int`` positions, each class marked input and/or computed."""

    def __init__(self):
        self.parent: dict[object, object] = {}
        self.marks: dict[object, set[str]] = {}

    def find(self, a):
        self.parent.setdefault(a, a)
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a, b) -> None:
        if a is None or b is None:
            return
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[ra] = rb
            self.marks.setdefault(rb, set()).update(self.marks.pop(ra, set()))

    def mark(self, a, what: str) -> None:
        if a is not None:
            self.marks.setdefault(self.find(a), set()).add(what)


def check_int_roles(p) -> str | None:
    """None if the ``int%`` reading of ``p`` (a ``TipProblem``) proves the same goal as the
    integers (module docstring); else the reason it may not."""
    if INT not in p.sorts:
        return None
    roles = _Roles()
    fresh = iter(range(1 << 30))
    computed = ("computed",)
    roles.mark(computed, "computed")
    prim = {PLUS, TIMES, LE, LT, f"equal%[{INT}]", f"ite%[{INT}]"}

    def arg_sorts(head: str):
        if head in p.constructors:
            return [s for _, s in p.constructors[head].fields]
        return list(p.functions[head].args)

    def slot(head: str, i: int):
        return ("field", head, i) if head in p.constructors else ("param", head, i)

    def walk(t: Term, env: dict):
        """Process ``t``; its role node if it has sort ``int%``."""
        if isinstance(t, str):
            return env.get(t)
        head, args = t[0], t[1:]
        if head in (ZERO, SUCC):
            return computed
        if head in (PLUS, TIMES):
            for a in args:
                roles.union(walk(a, env), computed)
            return computed
        if head in (LE, LT, f"equal%[{INT}]"):
            roles.union(walk(args[0], env), walk(args[1], env))
            return None
        if head == f"ite%[{INT}]":
            walk(args[0], env)
            n = ("ite", next(fresh))
            roles.union(n, walk(args[1], env))
            roles.union(n, walk(args[2], env))
            return n
        for i, (a, s) in enumerate(zip(args, arg_sorts(head), strict=True)):
            r = walk(a, env)
            if s == INT:
                roles.union(r, slot(head, i))
        if head in p.functions and p.functions[head].result == INT:
            return ("result", head)
        return None

    def bind(pat: Term, node, env: dict) -> None:
        if isinstance(pat, str):
            if node is not None:
                env[pat] = node
            return
        for i, (a, s) in enumerate(zip(pat[1:], arg_sorts(pat[0]), strict=True)):
            bind(a, slot(pat[0], i) if s == INT else None, env)

    for f in p.functions.values():
        if f.name in prim:
            continue
        if f.result == INT and not covers([lhs[1:] for lhs, _ in f.rules], list(f.args),
                                           p.constructor_fields):
            # a partial function (a selector off its constructor: head of nil) may return
            # any integer, a negative one too: it counts as an input
            roles.mark(("result", f.name), "input")
        for lhs, rhs in f.rules:
            env: dict[str, object] = {}
            for i, (a, s) in enumerate(zip(lhs[1:], f.args, strict=True)):
                bind(a, ("param", f.name, i) if s == INT else None, env)
            r = walk(rhs, env)
            if f.result == INT:
                roles.union(r, ("result", f.name))
    env = {}
    for v, s in p.goal_vars:
        if s.startswith("fun%") and INT in s:
            return f"the goal variable {v} is a function over Int"
        if s == INT:
            env[v] = ("goal", v)
            roles.mark(env[v], "input")
        for c, j in _int_fields(p, s):
            roles.mark(("field", c, j), "input")
    roles.union(walk(p.goal_lhs, env), walk(p.goal_rhs, env))
    for marks in roles.marks.values():
        if {"input", "computed"} <= marks:
            return ("an Int the goal quantifies over meets an Int computed by a numeral, "
                    "+ or * (or is compared with one)")
    return None


def _int_fields(p, sort: str) -> list[tuple[str, int]]:
    """(constructor, field index) of every ``int%`` field inside values of ``sort``."""
    out, seen, todo = [], {sort}, [sort]
    while todo:
        s = todo.pop()
        for c in p.datatype(s):
            for j, (_, fs) in enumerate(c.fields):
                if fs == INT:
                    out.append((c.name, j))
                elif fs not in seen and fs != INT:
                    seen.add(fs)
                    todo.append(fs)
    return out

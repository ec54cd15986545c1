"""First-order terms, the prover's internal encoding, as plain hashable Python values.

A term is either a variable, written as a ``str`` (``"x"``), or an application, written as a
tuple ``(f, arg1, ..., argk)``; a constant is a 0-ary application such as ``("0",)``. Tuples
of strings hash and compare fast, which matters: discovery builds tens of thousands of terms.

Positions are tuples of 0-based argument indices from the root. In JSON a term is a string
(variable) or a list ``[f, args...]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Term = str | tuple


def is_var(t: Term) -> bool:
    return isinstance(t, str)


def size(t: Term) -> int:
    if isinstance(t, str):
        return 1
    return 1 + sum(size(a) for a in t[1:])


def variables(t: Term, out: list[str] | None = None) -> list[str]:
    """Variables of ``t`` in order of first appearance (left to right, depth first)."""
    if out is None:
        out = []
    if isinstance(t, str):
        if t not in out:
            out.append(t)
    else:
        for a in t[1:]:
            variables(a, out)
    return out


def substitute(t: Term, sigma: dict[str, Term]) -> Term:
    if isinstance(t, str):
        return sigma.get(t, t)
    return (t[0], *(substitute(a, sigma) for a in t[1:]))


def match(pattern: Term, t: Term, sigma: dict[str, Term]) -> dict[str, Term] | None:
    """Extend ``sigma`` so that ``pattern``σ == ``t`` (one-way; ``t``'s variables are rigid)."""
    if isinstance(pattern, str):
        bound = sigma.get(pattern)
        if bound is None:
            sigma[pattern] = t
            return sigma
        return sigma if bound == t else None
    if isinstance(t, str) or t[0] != pattern[0] or len(t) != len(pattern):
        return None
    for p, a in zip(pattern[1:], t[1:], strict=True):
        if match(p, a, sigma) is None:
            return None
    return sigma


def subterm(t: Term, pos: tuple[int, ...]) -> Term:
    for i in pos:
        if isinstance(t, str) or i + 1 >= len(t):
            raise IndexError(pos)
        t = t[i + 1]
    return t


def replace(t: Term, pos: tuple[int, ...], new: Term) -> Term:
    if not pos:
        return new
    if isinstance(t, str) or pos[0] + 1 >= len(t):
        raise IndexError(pos)
    i = pos[0] + 1
    return (*t[:i], replace(t[i], pos[1:], new), *t[i + 1 :])


def positions(t: Term, pos: tuple[int, ...] = ()) -> Iterator[tuple[int, ...]]:
    yield pos
    if not isinstance(t, str):
        for i, a in enumerate(t[1:]):
            yield from positions(a, (*pos, i))


def subterms(t: Term) -> Iterator[Term]:
    """``t`` and every sub-term of it, pre-order."""
    yield t
    if not isinstance(t, str):
        for a in t[1:]:
            yield from subterms(a)


def calls(t: Term, f: str) -> list[Term]:
    """The sub-terms of ``t`` that apply ``f``."""
    return [s for s in subterms(t) if not isinstance(s, str) and s[0] == f]


def rename(t: Term, mapping: dict[str, str]) -> Term:
    return substitute(t, mapping)  # type: ignore[arg-type]


def to_json(t: Term) -> Any:
    if isinstance(t, str):
        return t
    return [t[0], *(to_json(a) for a in t[1:])]


def from_json(j: Any) -> Term:
    if isinstance(j, str):
        return j
    if isinstance(j, list) and j and isinstance(j[0], str):
        return (j[0], *(from_json(a) for a in j[1:]))
    raise ValueError(f"not a term: {j!r}")


def fmt(t: Term) -> str:
    """Human form: infix for symbolic binary functions, ``f(a, b)`` otherwise."""
    if isinstance(t, str):
        return t
    f, args = t[0], t[1:]
    if not args:
        return f
    if len(args) == 2 and not f[0].isalnum():
        return f"({fmt(args[0])} {f} {fmt(args[1])})"
    return f"{f}({', '.join(fmt(a) for a in args)})"


def fmt_eq(lhs: Term, rhs: Term) -> str:
    def strip(s: str) -> str:
        return s[1:-1] if s.startswith("(") and s.endswith(")") else s

    return f"{strip(fmt(lhs))} = {strip(fmt(rhs))}"


def canonical_equation(lhs: Term, rhs: Term) -> tuple[Term, Term]:
    """The equation with variables renamed in order of appearance, mirror images identified.

    Both orientations are renamed (``v0, v1, ...``) and the smaller of the two by ``repr``
    is returned, so ``x + y = y + x`` and ``b + a = a + b`` give the same key.
    """
    best = None
    for a, b in ((lhs, rhs), (rhs, lhs)):
        vs = variables(b, variables(a))
        m = {v: f"v{i}" for i, v in enumerate(vs)}
        cand = (substitute(a, m), substitute(b, m))
        if best is None or repr(cand) < repr(best):
            best = cand
    return best  # type: ignore[return-value]

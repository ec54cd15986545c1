"""Logic Blocks: each equation of the theory (axiom, lemma, induction hypothesis) as a block.

The Generative Logic architecture compiles definitions into a grid of Logic Blocks that
exchange messages. Here a block holds one equation ``l = r`` in one direction; a term that
needs simplifying is sent as a *message* to the blocks indexed by the term's head symbol (the
grid's routing table); each contacted block tries to *unify* (one-way match) its left side
with the term and, if it fits, replies with the rewritten term. When several blocks fit, the
lowest block id wins, so the outcome is deterministic whatever the hardware parallelism.

Blocks are oriented by a lexicographic path order (LPO) whose precedence comes from the
theory: a function defined in terms of another is bigger (``*`` > ``+`` > ``s`` > ``0``).
An equation that cannot be oriented (commutativity) becomes two *ordered* blocks that fire
only when the instance they produce is smaller in the ground LPO, the standard ordered
rewriting of Bachmair, Dershowitz and Plaisted (1989); all the terms the prover rewrites are
ground because their variables are treated as fixed (Skolem) constants. Every rewrite
therefore strictly decreases a well-founded order and normalisation terminates.

This is a software simulation of the grid: the blocks run one after another, while the
counters (``GridStats``) record what the parallel hardware would do: one message per block
contacted, one unification per match attempt, and one *wave* (a sequence of cycles on the
critical path) per term sent, whose length is 1 routing cycle plus the size of the largest
pattern tried, because a block matches one term node per cycle.

The counters are booked (``GridStats.book``) as the priced actions ``message``, ``unify`` and
``block_cycle`` of whatever backend the reasoner runs on: the ``logic_grid`` prices the
parallel hardware, the ``cpu`` the same work done one ALU op after another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from neuralbrain.energy import Cost, Ledger
from neuralbrain.hardware import check_backend
from neuralbrain.hardware.base import Backend
from neuralbrain.reasoning.gl.terms import Term, match, size, substitute

# The grid's work as priced actions (``neuralbrain.energy.ACTIONS``): what a reasoner's
# backend must price.
GRID_ACTIONS = frozenset({"message", "unify", "block_cycle"})
CHECK_EVERY = 256  # rewrite attempts between two calls of LogicGrid.on_rewrites
_ROOT_CACHE = 250_000  # root rewrites kept (term -> answer, ~100 MB at most); cleared when full


def check_grid_backend(backend: Backend | None) -> None:
    """Raise ``CapabilityError`` unless ``backend`` prices ``GRID_ACTIONS`` (``None``, a
    reasoner that books nothing, passes)."""
    if backend is not None:
        check_backend(backend, "the GL reasoner", actions=GRID_ACTIONS)


@dataclass
class GridStats:
    """What the grid did: messages, unification attempts, rewrites, critical-path cycles."""

    messages: int = 0
    unify: int = 0
    rewrites: int = 0
    cycles: int = 0

    def book(self, backend: Backend | None, ledger: Ledger, prefix: str) -> Cost:
        """Charge the messages, unifications and cycles on ``backend`` as ``message``,
        ``unify`` and ``block_cycle`` and book each (if any) in ``ledger`` under
        ``prefix.action``; the total cost (nothing without a backend)."""
        total = Cost()
        if backend is None:
            return total
        for action, n in (("message", self.messages), ("unify", self.unify),
                          ("block_cycle", self.cycles)):
            if n:
                total = total + ledger.book(f"{prefix}.{action}", backend.charge(action, n),
                                            backend=backend.name)
        return total

    def as_dict(self) -> dict[str, int]:
        return {
            "messages": self.messages,
            "unify": self.unify,
            "rewrites": self.rewrites,
            "cycles": self.cycles,
        }


@dataclass(frozen=True)
class Block:
    """One directed equation ``lhs -> rhs``; ``ordered`` blocks fire only if lhsσ > rhsσ."""

    bid: int
    rule: str  # the id of the axiom/theorem/"IH" this block was compiled from
    direction: str  # "lr" or "rl": which side of the source equation is ``lhs``
    lhs: Term
    rhs: Term
    ordered: bool
    pattern_size: int


class Order:
    """Lexicographic path order with a precedence over symbols (Skolem constants lowest)."""

    def __init__(self, precedence: dict[str, int]):
        self.prec = dict(precedence)
        # The textbook LPO recursion is exponential (it re-compares the same pairs of
        # sub-terms); memoising on the pair makes it polynomial.
        self._memo: dict[tuple[Term, Term], bool] = {}
        self._memo_vars: dict[tuple[Term, Term], bool] = {}

    def _p(self, sym: str) -> tuple[int, int, str]:
        p = self.prec.get(sym)
        if p is None:  # a variable used as a Skolem constant: below every symbol
            return (0, 0, sym)
        return (1, p, "")

    def gt_ground(self, s: Term, t: Term) -> bool:
        """s > t in the LPO, treating variables as constants (a total order on terms)."""
        return s != t and _memoised(self._memo, s, t, self._gt_ground)

    def _gt_ground(self, s: Term, t: Term) -> bool:
        sa = () if isinstance(s, str) else s[1:]
        for si in sa:
            if si == t or self.gt_ground(si, t):
                return True
        ta = () if isinstance(t, str) else t[1:]
        f = s if isinstance(s, str) else s[0]
        g = t if isinstance(t, str) else t[0]
        pf, pg = self._p(f), self._p(g)
        if pf > pg:
            return all(self.gt_ground(s, tj) for tj in ta)
        if pf == pg:
            for a, b in zip(sa, ta, strict=False):
                if a != b:
                    return self.gt_ground(a, b) and all(self.gt_ground(s, tj) for tj in ta)
            return len(sa) > len(ta)
        return False

    def gt_vars(self, s: Term, t: Term) -> bool:
        """s > t in the LPO with variables as variables (holds for every instance)."""
        return s != t and _memoised(self._memo_vars, s, t, self._gt_vars)

    def _gt_vars(self, s: Term, t: Term) -> bool:
        if isinstance(t, str):
            return _occurs(t, s)
        if isinstance(s, str):
            return False
        for si in s[1:]:
            if si == t or self.gt_vars(si, t):
                return True
        pf, pg = self._p(s[0]), self._p(t[0])
        if pf > pg:
            return all(self.gt_vars(s, tj) for tj in t[1:])
        if pf == pg and len(s) == len(t):
            for a, b in zip(s[1:], t[1:], strict=True):
                if a != b:
                    return self.gt_vars(a, b) and all(self.gt_vars(s, tj) for tj in t[1:])
        return False


def _memoised(memo: dict, s: Term, t: Term, compare: Callable[[Term, Term], bool]) -> bool:
    hit = memo.get((s, t))
    if hit is None:
        if len(memo) > 2_000_000:
            memo.clear()
        hit = memo[(s, t)] = compare(s, t)
    return hit


def _occurs(v: str, t: Term) -> bool:
    if isinstance(t, str):
        return t == v
    return any(_occurs(v, a) for a in t[1:])


@dataclass(frozen=True)
class Step:
    """One rewrite: at ``pos`` rule ``rule`` (direction ``direction``) with ``subst``."""

    pos: tuple[int, ...]
    rule: str
    direction: str
    subst: tuple[tuple[str, Term], ...]


class LogicGrid:
    """The blocks of one theory plus the routing table, normalisation, and the counters."""

    def __init__(self, order: Order, stats: GridStats | None = None):
        self.order = order
        self.blocks: list[Block] = []
        self.by_head: dict[str, list[Block]] = {}
        self.stats = stats if stats is not None else GridStats()
        self._cache: dict[Term, Term] = {}
        self._cache_oriented: dict[Term, Term] = {}
        self._root: dict[Term, tuple] = {}
        self._root_oriented: dict[Term, tuple] = {}
        # called every ``CHECK_EVERY`` rewrite attempts (the prover's budget check, which
        # raises to end a run): one normalisation of a big ground term can outlast a budget
        self.on_rewrites: Callable[[], None] | None = None
        self._calls = 0

    def add_equation(self, rule: str, lhs: Term, rhs: Term, as_written: bool = False) -> str:
        """Compile ``lhs = rhs`` into blocks; returns "lr", "rl" or "ordered".

        ``as_written``: a definition known to terminate on its own (a TIP function the reader
        showed terminating, ``tip.py``) rewrites left to right even where the path order
        cannot orient it (``odds(cons(y, xs)) -> evens(xs)`` under ``evens > odds``)."""
        if self.order.gt_vars(lhs, rhs) or (as_written and not isinstance(lhs, str)):
            self._add(Block(len(self.blocks), rule, "lr", lhs, rhs, False, size(lhs)))
            kind = "lr"
        elif self.order.gt_vars(rhs, lhs):
            self._add(Block(len(self.blocks), rule, "rl", rhs, lhs, False, size(rhs)))
            kind = "rl"
        else:
            from neuralbrain.reasoning.gl.terms import variables

            vl, vr = set(variables(lhs)), set(variables(rhs))
            if not isinstance(lhs, str) and vr <= vl:
                self._add(Block(len(self.blocks), rule, "lr", lhs, rhs, True, size(lhs)))
            if not isinstance(rhs, str) and vl <= vr:
                self._add(Block(len(self.blocks), rule, "rl", rhs, lhs, True, size(rhs)))
            kind = "ordered"
        for cache in (self._cache, self._cache_oriented, self._root, self._root_oriented):
            cache.clear()
        return kind

    def _add(self, block: Block) -> None:
        self.blocks.append(block)
        self.by_head.setdefault(block.lhs[0], []).append(block)

    def rewrite_root(
        self, t: Term, extra: list[Block] = (), oriented_only: bool = False
    ) -> tuple[Term, Block, dict[str, Term]] | None:
        """Send ``t`` to the blocks of its head; the lowest-id block that fires answers.

        With ``oriented_only`` the ordered blocks (permutative equations) stay silent.
        """
        if isinstance(t, str):
            return None
        st = self.stats
        result, tried, biggest = self._first_firing(t, extra, oriented_only)
        if result is None:
            # the grid's own blocks answer a term the same way until the grid changes: the
            # answer (and what finding it cost, for the counters) is kept
            cache = self._root_oriented if oriented_only else self._root
            hit = cache.get(t)
            if hit is None:
                if len(cache) > _ROOT_CACHE:
                    cache.clear()
                hit = cache[t] = self._first_firing(t, self.by_head.get(t[0], ()),
                                                    oriented_only)
            result, tried, biggest = hit[0], tried + hit[1], max(biggest, hit[2])
        st.messages += tried
        st.unify += tried
        st.cycles += 1 + biggest if tried else 0
        if result is not None:
            st.rewrites += 1
        self._calls += 1
        if self.on_rewrites is not None and self._calls % CHECK_EVERY == 0:
            self.on_rewrites()
        return result

    def _first_firing(self, t: Term, blocks, oriented_only: bool
                      ) -> tuple[tuple[Term, Block, dict[str, Term]] | None, int, int]:
        """The first of ``blocks`` that rewrites ``t`` at its root (None if none does),
        with how many were tried and the largest pattern among them."""
        tried = biggest = 0
        for block in blocks:
            if block.lhs[0] != t[0] or (oriented_only and block.ordered):
                continue
            tried += 1
            biggest = max(biggest, block.pattern_size)
            sigma = match(block.lhs, t, {})
            if sigma is None:
                continue
            new = substitute(block.rhs, sigma)
            if block.ordered and not self.order.gt_ground(t, new):
                continue
            return (new, block, sigma), tried, biggest
        return None, tried, biggest

    def normal_form(self, t: Term, oriented_only: bool = False) -> Term:
        """The normal form of ``t`` (innermost strategy), cached until the grid changes."""
        cache = self._cache_oriented if oriented_only else self._cache
        hit = cache.get(t)
        if hit is not None:
            return hit
        if isinstance(t, str):
            return t
        if len(t) > 1:
            u = (t[0], *(self.normal_form(a, oriented_only) for a in t[1:]))
        else:
            u = t
        r = self.rewrite_root(u, (), oriented_only)
        out = u if r is None else self.normal_form(r[0], oriented_only)
        cache[t] = out
        return out

    def normalize(
        self, t: Term, steps: list[Step], extra: list[Block] = (), pos: tuple[int, ...] = ()
    ) -> Term:
        """Normal form of ``t`` under the grid (plus ``extra`` blocks), recording every step."""
        by_head: dict[str, list[Block]] = {}
        for block in extra:  # each term is offered only the extra blocks of its head
            by_head.setdefault(block.lhs[0], []).append(block)
        return self._normalize(t, steps, by_head, pos)

    def _normalize(self, t: Term, steps: list[Step], extra: dict[str, list[Block]],
                   pos: tuple[int, ...]) -> Term:
        if isinstance(t, str):
            return t
        if len(t) > 1:
            t = (t[0], *(self._normalize(a, steps, extra, (*pos, i))
                         for i, a in enumerate(t[1:])))
        r = self.rewrite_root(t, extra.get(t[0], ()))
        if r is None:
            return t
        new, block, sigma = r
        steps.append(Step(pos, block.rule, block.direction, tuple(sorted(sigma.items()))))
        return self._normalize(new, steps, extra, pos)


def derived_precedence(
    functions: dict[str, tuple], constants: list[str], definitions: list[tuple[Term, Term]]
) -> dict[str, int]:
    """Precedence from the definitions: f > g when g occurs in the definition of f.

    Constants come lowest (in declaration order), then functions ranked by the longest
    chain of definitional dependencies, ties broken by declaration order. A function with
    no definition (a constructor, an uninterpreted function) is at depth 0, so every
    defined function is above the constructors it builds with, whatever the order of
    declaration.
    """
    uses: dict[str, set[str]] = {f: set() for f in functions}

    def heads(t: Term, out: set[str]) -> set[str]:
        if not isinstance(t, str):
            if len(t) > 1:
                out.add(t[0])
            for a in t[1:]:
                heads(a, out)
        return out

    defined: set[str] = set()
    for lhs, rhs in definitions:
        if not isinstance(lhs, str) and lhs[0] in uses:
            uses[lhs[0]] |= heads(rhs, set()) - {lhs[0]}
            defined.add(lhs[0])

    rank: dict[str, int] = {}

    def depth(f: str, seen: frozenset = frozenset()) -> int:
        if f in rank:
            return rank[f]
        if f in seen:
            return 0
        if f not in defined:
            rank[f] = 0
            return 0
        d = 1 + max((depth(g, seen | {f}) for g in uses.get(f, ()) if g in uses), default=0)
        rank[f] = d
        return d

    order = sorted(functions, key=lambda f: (depth(f), list(functions).index(f)))
    prec = {c: i for i, c in enumerate(constants)}
    base = len(prec)
    for i, f in enumerate(order):
        prec[f] = base + i
    return prec


"""The prover: discovery of equational laws and their proofs by rewriting and induction.

Pipeline (Generative Logic, Sergeev 2025, re-designed for a term encoding; see
``equations.py`` for why terms):

1. *Compile*: the equational axioms of the theory become Logic Blocks (``blocks.py``).
2. *Enumerate* typed terms over the theory's functions, constants and ``vars_per_sort``
   variables per sort, size by size up to ``max_term_size``. Only well-sorted terms are
   built (the type filter), and only from sub-terms in normal form: a term with a reducible
   sub-term is covered by a smaller equation.
3. *Filter*: a term whose root an oriented block can rewrite is dropped (permutative blocks
   such as commutativity do not filter, or associativity could never be stated once
   commutativity is known); the rest are grouped by their values on the standard model's
   prefix 0..``max_value`` (``models.py``). Two terms in one group give a candidate
   equation: a new term is paired with the group's first member and, with
   ``class_pairs``, with that many of its latest members with the same variables too;
   terms in different groups are refuted by a counterexample. Candidates are canonicalised
   (variables renamed in order of appearance, mirror images identified) and deduplicated;
   a candidate whose two sides already have the same normal form under all blocks follows
   from what is known and is skipped.
4. *Prove* the survivors level by level (size of the bigger side), within a level the
   regrouping equations before the permuting ones and then those over more distinct variables
   first (``_candidate_order``: a proved general law makes its instances redundant, while
   instances proved first each cost a proof): first by rewriting both
   sides to one normal form, else by induction on one variable (tried in turn, recursive
   argument positions first) over the sort's declared ``(induction S (base c) (step f))``:
   base case ``E[v:=c]`` and step case ``E[v:=f(n)]`` with the hypothesis ``E[v:=n]`` as
   an extra block (or structurally over ``(induction S (cases ...))``). The hypothesis is
   first tried *generalised*: the other variables of E stay universally quantified in it,
   so it can be used at other arguments (``take n xs ++ drop n xs = xs`` needs that).
   When rewriting gets stuck, a *case split* on the sub-term that blocks it (an ``ite``
   condition, a variable some function matches on) proves each constructor case with the
   hypothesis ``t = c(k...)`` as an extra block, nesting up to ``max_split_depth``;
   under a split, a generalised hypothesis is also instantiated at the constants of the
   stuck goal (``_ih_instances``: ``max(n, k) = max(k, n)`` at a split's ``k``). Boolean
   case hypotheses are restated under later splits, a case whose hypotheses contradict each
   other is proved from the contradiction, and conditional lemmas (``conditional.py``) are
   conjectured where a case is stuck (``_split_facts``, ``_conditional_facts``,
   ``_refutation_lemmas``).
   Proved equations join the grid. Unproved ones wait; after each new
   theorem the waiting candidates of earlier levels are retried first (oldest first), and
   all of them at the end of each level, so a law is proved as soon as its lemma exists
   and the permuted variants it implies are then skipped as redundant.

Every proof is a JSON object of rewrite chains; each step names its rule (axiom name,
theorem id or ``IH``), direction, position and substitution, so the independent checker
(``checker.py``) can replay it. Theorem ids are ``thm_`` + a hash of the canonical equation:
stable across runs and machines. Everything is deterministic: fixed enumeration order,
lowest-block-id-wins rewriting, no randomness and no threads, so the output is the same
whatever the core count.

Limits (``ProverConfig``): the time budget ``budget_s``, ``max_rewrites``, and a memory cap
``max_memory_mb`` on the growth of the resident set during a run (a theory from outside can
make the term tables explode). Whichever is hit first ends the run with
``budget_exhausted`` and ``exhausted_by`` naming it; what was proved until then is kept.
Only a run that hits none of them is reproducible bit for bit: where the time and memory
limits fall depends on the machine.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from neuralbrain.energy import Ledger
from neuralbrain.errors import ConfigError, DataError
from neuralbrain.hardware.base import Backend
from neuralbrain.reasoning.gl.accumulators import accumulator_conjectures
from neuralbrain.reasoning.gl.blocks import (
    Block,
    GridStats,
    LogicGrid,
    Order,
    Step,
    check_grid_backend,
    derived_precedence,
)
from neuralbrain.reasoning.gl.boolean import FALSE, TRUE, absurd_chains, find_connectives
from neuralbrain.reasoning.gl.checker import MAX_SPLIT_DEPTH
from neuralbrain.reasoning.gl.conditional import implication_chain, premises
from neuralbrain.reasoning.gl.equations import (
    Equation,
    NotEquational,
    equation_to_mpl,
    statement_equation,
)
from neuralbrain.reasoning.gl.laws import law_name
from neuralbrain.reasoning.gl.models import (
    Fingerprinter,
    PointFingerprinter,
    PrefixModel,
    TermModel,
    refutes,
    sample_points,
)
from neuralbrain.reasoning.gl.mpl import Theory
from neuralbrain.reasoning.gl.recursion import Recursion
from neuralbrain.reasoning.gl.terms import (
    Term,
    canonical_equation,
    fmt_eq,
    match,
    positions,
    replace,
    size,
    substitute,
    subterm,
    to_json,
    variables,
)

_VAR_NAMES = ("x", "y", "z", "u", "w", "p", "q", "r")


@dataclass(frozen=True)
class ProverConfig:
    """Bounds of discovery and proof search."""

    max_term_size: int = 7
    vars_per_sort: int = 3
    max_value: int = 4  # counterexample filter: every assignment of the variables to 0..4
    model_cap: int = 100_000  # numerals above this are outside the model's prefix
    budget_s: float = 30.0
    max_rewrites: int = 5_000_000
    # Memory cap: the growth of the process's resident set during one run, in MiB. The
    # term tables grow with max_term_size (an untrusted theory with many functions can
    # make them explode long before the time budget ends). Measured every
    # _MEMORY_EVERY budget checks from /proc/self/statm (Linux) or the peak RSS elsewhere.
    max_memory_mb: float = 1024.0
    # Discovery over any datatype (``discover(signature=...)``): values are ground
    # constructor terms of at most model_cap_terms nodes, candidates are tested at
    # ``points`` sampled assignments.
    model_cap_terms: int = 200
    points: int = 48
    # Case splits on a blocking sub-term (``Prover._case_proof``): how deeply they nest in
    # a proof of a target (discovery's candidates get ``discovery_split_depth``) and how
    # many blocking sub-terms are tried at each level. Off by default: the HTML export
    # (``export.write_html``) renders rewrite and naturals-induction proofs only;
    # ``tip_prove.TIP_SEARCH`` switches them on for TIP problems.
    max_split_depth: int = 0
    discovery_split_depth: int = 0
    split_candidates: int = 3
    # Whether discovery's candidates may also split on a variable (max(x, y) = max(y, x)
    # needs one); it triples the cost of discovery on theories/peano.mpl.
    discovery_split_vars: bool = False
    # Induction hypotheses generalised over the statement's other variables (tried first).
    generalize: bool = True
    # Recursion induction along a call's function where no argument descends structurally
    # in every recursive call (``recursion.py``), tried before induction on one variable.
    recursion_induction: bool = True
    # Conditional lemmas implies(C, R) = true conjectured from stuck goals and used to
    # rewrite R to true where C rewrites to true (``Prover._conditional_facts``).
    conditional_lemmas: bool = True
    # How deeply such conjectures nest: a lemma's proof may conjecture its own (1: not).
    conditional_depth: int = 1
    # The share of budget_s one such conjecture's proof may take (the goal's proof, and
    # discovery, must not be starved by conjectures that cannot be proved).
    conjecture_share: float = 0.02
    # Boolean case hypotheses restated under later splits, contradictory cases closed, and
    # splits with one live case made at once (``Prover._split_facts``, ``_forced_split``).
    case_facts: bool = True
    # The axioms are definitions that terminate on their own (TIP's, checked by the reader):
    # each rewrites left to right even where the path order cannot orient it (mutual
    # recursion, arguments that swap).
    definitions_as_written: bool = False
    # Lemmas from a stuck step case by weak fertilisation and generalisation
    # (``Prover._fertilized_lemma``), nested this deep (a lemma's proof may need its own).
    fertilize: int = 1
    # Ground instances of a generalised hypothesis at the constants of a stuck goal, at
    # most this many per hypothesis (``Prover._ih_instances``); 0 switches them off.
    ih_instances: int = 16
    # Discovery pairs a new term with its class's first member (the representative) and
    # with this many of the class's latest other members too.
    class_pairs: int = 0
    # ``prove_targets`` retries its targets after each discovered theorem while the time
    # spent on them is at most this share of the time so far (1.0: after every theorem).
    goal_share: float = 1.0
    # ``prove_targets`` conjectures accumulator lemmas (``accumulators.py``) and tries them
    # after the targets, each attempt given this share of the budget (0: not at all), and
    # again only once there are new theorems. A conjecture's 2% is too little: the count
    # over tree sort's accumulator (TIP's sort_nat_TSortCount) took 0.8-1.3 s to prove.
    accumulator_share: float = 0.0

    def __post_init__(self) -> None:
        checks = {
            "max_term_size": (self.max_term_size, 1, 12),
            "vars_per_sort": (self.vars_per_sort, 1, len(_VAR_NAMES)),
            "max_value": (self.max_value, 1, 20),
            "model_cap": (self.model_cap, 10, 10**7),
            "max_split_depth": (self.max_split_depth, 0, 8),
            "discovery_split_depth": (self.discovery_split_depth, 0, 8),
            "split_candidates": (self.split_candidates, 1, 64),
            "model_cap_terms": (self.model_cap_terms, 10, 10**6),
            "points": (self.points, 1, 4096),
            "ih_instances": (self.ih_instances, 0, 4096),
            "class_pairs": (self.class_pairs, 0, 64),
            "conditional_depth": (self.conditional_depth, 0, 4),
            "fertilize": (self.fertilize, 0, 4),
        }
        for name, (v, lo, hi) in checks.items():
            if not isinstance(v, int) or not lo <= v <= hi:
                raise ConfigError(f"ProverConfig.{name}={v!r}: expected an int in [{lo}, {hi}]")
        for name, v in (("conjecture_share", self.conjecture_share),
                        ("goal_share", self.goal_share)):
            if not (isinstance(v, int | float) and 0 < v <= 1):
                raise ConfigError(f"ProverConfig.{name}={v!r}: expected a share in (0, 1]")
        if not (isinstance(self.accumulator_share, int | float) and
                0 <= self.accumulator_share <= 1):
            raise ConfigError(f"ProverConfig.accumulator_share={self.accumulator_share!r}: "
                              f"expected a share in [0, 1]")
        if not (isinstance(self.budget_s, int | float) and self.budget_s > 0):
            raise ConfigError(f"ProverConfig.budget_s={self.budget_s!r}: expected seconds > 0")
        if not (isinstance(self.max_rewrites, int) and self.max_rewrites > 0):
            raise ConfigError(f"ProverConfig.max_rewrites={self.max_rewrites!r}: expected > 0")
        if not (isinstance(self.max_memory_mb, int | float) and self.max_memory_mb > 0):
            raise ConfigError(
                f"ProverConfig.max_memory_mb={self.max_memory_mb!r}: expected MiB > 0"
            )


@dataclass
class Theorem:
    """A proved equation with its proof (JSON-ready) and the rules it rests on."""

    tid: str
    name: str
    lhs: Term
    rhs: Term
    sorts: tuple[tuple[str, str], ...]
    proof: dict
    deps: list[str]
    law: str | None = None
    statement: str = ""

    def as_json(self) -> dict:
        return {
            "id": self.tid,
            "kind": "theorem",
            "name": self.name,
            "law": self.law,
            "statement": self.statement,
            "equation": {"lhs": to_json(self.lhs), "rhs": to_json(self.rhs)},
            "text": fmt_eq(self.lhs, self.rhs),
            "sorts": dict(self.sorts),
            "deps": self.deps,
            "proof": self.proof,
        }


@dataclass
class ProofRun:
    """What a run produced: theorems in proof order, unproved targets, budget state."""

    theorems: list[Theorem] = field(default_factory=list)
    unproved: list[dict] = field(default_factory=list)
    budget_exhausted: bool = False
    exhausted_by: str | None = None  # "time", "rewrites" or "memory" when budget_exhausted
    candidates: int = 0
    attempts: int = 0
    seconds: float = 0.0
    stats: dict = field(default_factory=dict)


class _OutOfBudget(Exception):
    pass


_MEMORY_EVERY = 1024
# refutation lemmas (``Prover._refutation_lemmas``) are sought among this many Boolean facts
_REFUTE_FACTS = 6
_MEMO_TERMS = 200_000  # terms whose blocking sub-terms are kept (_blocked); cleared when full
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int:
    """The process's resident set now (Linux ``/proc``), else its peak (``getrusage``)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def theorem_id(lhs: Term, rhs: Term) -> str:
    key = repr(canonical_equation(lhs, rhs)).encode()
    return "thm_" + hashlib.sha1(key).hexdigest()[:12]


def _boolean_fact(b: Block) -> bool:
    """A case hypothesis or fact ``t = true|false`` about a ground compound ``t``."""
    return b.rhs in (TRUE, FALSE) and not isinstance(b.lhs, str) and len(b.lhs) > 1 and \
        not _has_var(b.lhs)


def _fix(t: Term, names: set[str]) -> Term:
    """The variables in ``names`` as rigid constants, the others left as variables."""
    if isinstance(t, str):
        return (t,) if t in names else t
    return (t[0], *(_fix(a, names) for a in t[1:]))


def _has_var(t: Term) -> bool:
    if isinstance(t, str):
        return True
    return any(_has_var(a) for a in t[1:])


def _replace_instances(t: Term, pattern: Term, by: Term, found: list[Term]) -> Term:
    """``t`` with every instance ``pattern σ`` replaced by ``by σ`` (outermost first); the
    replacements are appended to ``found``."""
    sigma = match(pattern, t, {})
    if sigma is not None and set(variables(by)) <= set(sigma):
        found.append(substitute(by, sigma))
        return found[-1]
    if isinstance(t, str):
        return t
    return (t[0], *(_replace_instances(a, pattern, by, found) for a in t[1:]))


# an induction hypothesis: (name, lhs, rhs, block id, function): with a function (recursion
# induction along it), the hypothesis rewrites that function's call away (``_hyp_blocks``)
Hypothesis = tuple[str, Term, Term, int, str | None]


def _mentions(t: Term, f: str) -> bool:
    """``f`` is applied somewhere in ``t``."""
    return not isinstance(t, str) and (t[0] == f or any(_mentions(a, f) for a in t[1:]))


def _has_var_outside(lhs: Term, rhs: Term, names: dict[Term, str]) -> bool:
    """A variable (of a generalised hypothesis) left in the generalised equation."""
    mine = set(names.values())
    return any(v not in mine for v in variables(rhs, variables(lhs)))


def _skolem(t: Term) -> Term:
    """Variables as rigid constants: ``"x"`` -> ``("x",)``."""
    if isinstance(t, str):
        return (t,)
    return (t[0], *(_skolem(a) for a in t[1:]))


class Prover:
    """Proves equations of one theory; ``discover`` and ``prove_targets`` drive it."""

    def __init__(
        self,
        theory: Theory,
        config: ProverConfig | None = None,
        backend: Backend | None = None,
        ledger: Ledger | None = None,
    ):
        check_grid_backend(backend)
        self.theory = theory
        self.config = config or ProverConfig()
        self.backend = backend
        self.ledger = ledger if ledger is not None else Ledger()
        self.functions = theory.functions()
        self.axioms: dict[str, Equation] = {}
        for st in theory.of_kind("axiom"):
            try:
                self.axioms[st.name] = statement_equation(theory, st.formula)
            except NotEquational:
                continue  # e.g. succ_ne_zero: used by the checker's models, not by rewriting
        defs = [(e.lhs, e.rhs) for e in self.axioms.values()]
        self.precedence = derived_precedence(self.functions, list(theory.constants), defs)
        self.stats = GridStats()
        self.grid = LogicGrid(Order(self.precedence), self.stats)
        self.grid.on_rewrites = self._check_budget
        self.rules: dict[str, tuple[Term, Term]] = {}
        for name, eq in self.axioms.items():
            self.grid.add_equation(name, eq.lhs, eq.rhs, self.config.definitions_as_written)
            self.rules[name] = (eq.lhs, eq.rhs)
        self.theorems: list[Theorem] = []
        # what case splits need: the constructors of each sort (structural or naturals
        # induction declarations) and each function's defining left sides (patterns)
        self._ctors: dict[str, tuple[str, ...]] = dict(theory.structural)
        for sort, ind in theory.inductions.items():
            self._ctors.setdefault(sort, (ind.base, ind.step))
        self._ctor_sort = {c: s for s, cs in self._ctors.items() for c in cs}
        # each datatype's constructors with their field sorts
        self._ctor_fields: dict[str, list[tuple[str, tuple[str, ...]]]] = {
            s: [(c, self.functions[c][0] if c in self.functions else ()) for c in cs]
            for s, cs in self._ctors.items()}
        definitions: dict[str, list[tuple[Term, Term]]] = {}
        for eq in self.axioms.values():
            if not isinstance(eq.lhs, str) and eq.lhs[0] not in self._ctor_sort:
                definitions.setdefault(eq.lhs[0], []).append((eq.lhs, eq.rhs))
        self._definitions = definitions
        self._patterns = {f: [lhs for lhs, _ in rules] for f, rules in definitions.items()}
        self._recursion = Recursion(definitions, self._ctor_fields,
                                    set(theory.constants) | set(self.functions))
        # conditional lemmas ``implies(C, R) = true`` (the theory's implication, if it has
        # one: a function whose equations are implies(true, y) = y, implies(false, y) = true)
        self._conn = find_connectives(self.axioms, self.functions)
        imp = self._conn.implies
        self._imp_head = imp.head if imp else None
        self._bool_sort = theory.constants.get("true")
        # (theorem id, premises, conclusion) of each conditional lemma
        self._cond_lemmas: list[tuple[str, tuple[Term, ...], Term]] = []
        self._conjectured: set = set()
        self._conjecturing = 0  # nesting of conditional lemmas being proved
        self._fertile = 0  # nesting of fertilisation lemmas being proved
        # nesting of recursion-induction cases: their several hypotheses make fertilisation
        # (one hypothesis read backwards) costly and, on TIP's weird_nat_* problems, useless
        self._recursion_cases = 0
        self._blocked_memo: dict[Term, tuple[Term, ...]] = {}
        self._tmodel: TermModel | None = None
        self._split_depth = self.config.max_split_depth
        # forced splits (``_forced_split``) stop where the ordinary ones could still take
        # the nesting past the checker's bound
        self._forced_max = MAX_SPLIT_DEPTH - self.config.max_split_depth - 1
        self._discovering = False
        self._signature: set[str] | None = None
        self._deadline = float("inf")
        self._rss0 = 0
        self._checks = 0
        self._exhausted_by: str | None = None
        self._booked = GridStats()

    # -- budget and booking -----------------------------------------------------------------
    def _start_budget(self, deadline: float) -> None:
        self._deadline = deadline
        self._rss0 = resident_bytes()
        self._exhausted_by = None

    def _check_budget(self) -> None:
        if time.perf_counter() > self._deadline:
            self._exhausted_by = "time"
            raise _OutOfBudget
        if self.stats.rewrites > self.config.max_rewrites:
            self._exhausted_by = "rewrites"
            raise _OutOfBudget
        self._checks += 1
        if self._checks % _MEMORY_EVERY == 0 and \
                resident_bytes() - self._rss0 > self.config.max_memory_mb * 2**20:
            self._exhausted_by = "memory"
            raise _OutOfBudget

    def _within(self, seconds: float, attempt: Callable[[], dict | None]) -> dict | None:
        """``attempt()`` with at most ``seconds`` of the time budget; None if they run out
        (the run's own limits still end the run)."""
        deadline = self._deadline
        self._deadline = min(deadline, time.perf_counter() + seconds)
        try:
            return attempt()
        except _OutOfBudget:
            if self._exhausted_by != "time" or time.perf_counter() > deadline:
                raise
            self._exhausted_by = None
            return None
        finally:
            self._deadline = deadline

    def book(self) -> None:
        """Charge the grid work done since the last call to the backend and ledger."""
        s, b = self.stats, self._booked
        delta = GridStats(s.messages - b.messages, s.unify - b.unify, s.rewrites - b.rewrites,
                          s.cycles - b.cycles)
        delta.book(self.backend, self.ledger, "gl")
        self._booked = GridStats(**s.as_dict())

    # -- proofs -----------------------------------------------------------------------------
    def _chain(self, start: Term, steps: list[Step], rules: dict[str, tuple[Term, Term]]) -> dict:
        """Steps -> JSON chain with the whole term after each step (re-checked here too)."""
        cur = start
        out = []
        for st in steps:
            lhs, rhs = rules[st.rule]
            frm, to = (lhs, rhs) if st.direction == "lr" else (rhs, lhs)
            sigma = dict(st.subst)
            if subterm(cur, st.pos) != substitute(frm, sigma):
                raise RuntimeError(f"internal: step {st} does not apply to {cur}")
            cur = replace(cur, st.pos, substitute(to, sigma))
            out.append(
                {
                    "pos": list(st.pos),
                    "rule": st.rule,
                    "dir": st.direction,
                    "subst": {k: to_json(v) for k, v in st.subst},
                    "term": to_json(cur),
                }
            )
        return {"start": to_json(start), "steps": out, "end": to_json(cur)}

    def _join(
        self, lhs: Term, rhs: Term, extra: list[Block], ih_expand: dict | None
    ) -> tuple[list[Step], list[Step], Term] | None:
        sl: list[Step] = []
        sr: list[Step] = []
        nl = self.grid.normalize(lhs, sl, extra)
        nr = self.grid.normalize(rhs, sr, extra)
        self._check_budget()
        if nl != nr:
            return None
        if ih_expand:
            sl, sr = _expand(sl, ih_expand), _expand(sr, ih_expand)
        return sl, sr, nl

    def _rewrite_proof(self, lhs, rhs, extra=(), ih_expand=None, rules=None) -> dict | None:
        j = self._join(lhs, rhs, list(extra), ih_expand)
        if j is None:
            return None
        sl, sr, _ = j
        return self._rewrite_node(lhs, rhs, sl, sr, rules or self.rules)

    def _rewrite_node(self, lhs: Term, rhs: Term, sl: list[Step], sr: list[Step],
                      rules: dict) -> dict:
        """The ``rewrite`` proof of ``lhs = rhs`` by the two chains of steps."""
        return {
            "method": "rewrite",
            "goal": {"lhs": to_json(lhs), "rhs": to_json(rhs)},
            "lhs": self._chain(lhs, sl, rules),
            "rhs": self._chain(rhs, sr, rules),
        }

    # -- case splits ------------------------------------------------------------------------
    def _sort_of(self, t: Term, scope: dict[str, str]) -> str | None:
        if isinstance(t, str):
            return None
        if len(t) == 1 and t[0] in scope:
            return scope[t[0]]
        if len(t) == 1 and t[0] in self.theory.constants:
            return self.theory.constants[t[0]]
        sig = self.functions.get(t[0])
        return sig[1] if sig else None

    def _split_candidates(self, terms: tuple[Term, ...], scope: dict[str, str]) -> list[Term]:
        """Ground sub-terms that block a rewrite: where a defining equation of a function
        wants a constructor (at any depth of its pattern) but the term has none (an ``ite``
        condition such as ``x == y``, a variable a function recurses on).
        Bool-like terms first (innermost first), then Skolem constants, then other compound
        terms (splitting those is rarely better than splitting the variable they wait on)."""
        compound: list[Term] = []
        skolems: list[Term] = []
        for t in terms:
            for a in self._blocked(t):
                if self._sort_of(a, scope) not in self._ctors:
                    continue
                out = skolems if len(a) == 1 else compound
                if a not in out:
                    out.append(a)
        enum = [t for t in compound if self._enum_sort(self._sort_of(t, scope))]
        if self._discovering:
            return enum + skolems if self.config.discovery_split_vars else enum
        return enum + skolems + [t for t in compound if t not in enum]

    def _blocked(self, t: Term) -> tuple[Term, ...]:
        """The ground sub-terms of ``t`` where a defining equation wants a constructor,
        innermost first (``not(x == y)`` waits on ``x == y``); kept per term, as the
        definitions do not change."""
        hit = self._blocked_memo.get(t)
        if hit is not None:
            return hit

        def blockers(pat: Term, t: Term, out: list[Term]) -> bool:
            """Sub-terms of ``t`` where ``pat`` wants a constructor; False on a clash."""
            if isinstance(pat, str):
                return True
            if isinstance(t, str):
                return True  # a generalised hypothesis's variable: not ground
            if t[0] not in self._ctor_sort:
                if t[0] not in self.theory.constants:
                    out.append(t)
                return True
            if t[0] != pat[0]:
                return False  # this equation can never apply here
            return all(blockers(p, a, out) for p, a in zip(pat[1:], t[1:], strict=True))

        out: list[Term] = []
        if not (isinstance(t, str) or len(t) == 1):
            for a in t[1:]:
                out += self._blocked(a)
            for pat in self._patterns.get(t[0], ()):
                found: list[Term] = []
                if len(pat) == len(t) and all(
                        blockers(p, a, found) for p, a in zip(pat[1:], t[1:], strict=True)):
                    out += [a for a in found if not _has_var(a)]
        if len(self._blocked_memo) > _MEMO_TERMS:
            self._blocked_memo.clear()
        hit = self._blocked_memo[t] = tuple(out)
        return hit

    def _enum_sort(self, sort: str | None) -> bool:
        """Only constants build this sort (``Bool``): a split on it is cheap."""
        return sort in self._ctors and all(c not in self.functions for c in self._ctors[sort])

    def _fresh_names(self, k: int, taken: set[str]) -> list[str]:
        out = []
        i = 0
        while len(out) < k:
            n = f"k{i}"
            i += 1
            if n in taken or n in self.theory.constants or n in self.theory.relations \
                    or n in self.functions:
                continue
            taken.add(n)
            out.append(n)
        return out

    def _case_proof(self, lhs: Term, rhs: Term, hyps: list[Hypothesis],
                    rules: dict, scope: dict[str, str], depth: int = 0,
                    splits: tuple[Block, ...] = ()) -> dict | None:
        """A rewrite proof of the ground goal, else a ``split`` on a blocking sub-term.

        ``hyps`` are the induction hypotheses (``Hypothesis``). Each case of
        a split gets the hypothesis ``t = c(k...)`` (fresh constants ``k``) as a block that
        rewrites ``t`` wherever it appears, the induction hypotheses included (so one
        about a variable split on still applies), and is proved the same way, up to
        ``max_split_depth`` nested splits. What a Boolean case hypothesis says under the
        later ones is a block too (``_split_facts``); a case whose hypotheses contradict
        each other is proved from the contradiction (``boolean.absurd_chains``), and a
        split that all but one case of would contradict is made at once, outside the depth
        bound (``_forced_split``).
        """
        facts, fact_steps, absurd = self._split_facts(splits) if self.config.case_facts \
            else ([], {}, None)
        if absurd is not None:
            return self._absurd_proof(lhs, rhs, absurd, rules, scope)
        known = facts + list(splits)  # what the case hypotheses say, restated or not
        bool_facts = [b for b in known if _boolean_fact(b)]
        extra: list[Block] = list(known)
        expand: dict[str, list[Step]] = dict(fact_steps)
        for name, hl, hr, bid, unfold in hyps:
            hb = self._hyp_blocks(name, hl, hr, bid, known, fact_steps, unfold)
            if hb is not None:
                extra += hb[0]
                expand.update(hb[1])
        both = self._normal_forms(lhs, rhs, extra)
        if both is None:
            return None
        nl, nr, sl, sr = both
        self._check_budget()
        # not in discovery: its thousands of candidates are proved by splits or not at all
        if nl != nr and self.config.case_facts and not self._discovering and \
                len(splits) < self._forced_max:
            forced = self._forced_split((nl, nr), bool_facts, extra, scope)
            if forced is not None:
                return self._split_on(forced, lhs, rhs, hyps, rules, scope, depth, splits)
        # instances of a generalised hypothesis: only under a case split (where its
        # fresh constants appear), since trying them at every stuck goal doubles the cost
        # of discovery on theories/peano.mpl
        if nl != nr and splits and self.config.ih_instances and \
                any(_has_var(h[1]) or _has_var(h[2]) for h in hyps):
            inst = self._ih_instances(hyps, known, fact_steps, (nl, nr), scope)
            if inst:
                extra = inst[0] + extra
                expand = {**expand, **inst[1]}
                both = self._normal_forms(lhs, rhs, extra)
                if both is None:
                    return None
                nl, nr, sl, sr = both
        if nl != nr and self._imp_head is not None and not self._discovering and \
                self.config.conditional_lemmas:
            cond = self._conditional_facts(nl, nr, extra, expand, scope)
            if cond:
                extra = cond[0] + extra
                expand = {**expand, **cond[1]}
                both = self._normal_forms(lhs, rhs, extra)
                if both is None:
                    return None
                nl, nr, sl, sr = both
        if nl != nr and self.config.case_facts and self._imp_head is not None and \
                not self._discovering:
            absurd = self._refuted_fact(bool_facts, extra, expand)
            if absurd is None and self._conjecturing < self.config.conditional_depth:
                self._refutation_lemmas(bool_facts, scope)
                absurd = self._refuted_fact(bool_facts, extra, expand)
            if absurd is not None:
                return self._absurd_proof(lhs, rhs, absurd, rules, scope)
        if nl != nr and hyps and self._fertile < self.config.fertilize and \
                not self._recursion_cases and \
                not self._discovering and not self._conjecturing and \
                self._fertilized_lemma(nl, nr, hyps, scope):
            both = self._normal_forms(lhs, rhs, extra)
            if both is None:
                return None
            nl, nr, sl, sr = both
        if nl == nr:
            if expand:
                sl, sr = _expand(sl, expand), _expand(sr, expand)
            # with any lemma proved on the way
            return self._rewrite_node(lhs, rhs, sl, sr, {**self.rules, **rules})
        if depth >= self._split_depth:
            return None
        # then the facts' blockers: a split made at once can leave the goal with none
        # (x = zero under leq(x, zero) = true)
        cands = self._split_candidates((nl, nr), scope)
        cands += [t for t in self._split_candidates(tuple(f.lhs for f in bool_facts), scope)
                  if t not in cands and self.grid.normalize(t, [], extra) == t]
        for t in cands[: self.config.split_candidates]:
            proof = self._split_on(t, lhs, rhs, hyps, rules, scope, depth + 1, splits)
            if proof is not None:
                return proof
        return None

    def _split_on(self, t: Term, lhs: Term, rhs: Term, hyps: list[Hypothesis],
                  rules: dict, scope: dict[str, str], depth: int,
                  splits: tuple[Block, ...]) -> dict | None:
        """A ``split`` proof on ``t``: every constructor case proved at ``depth``, or None."""
        hyp = f"split{len(splits)}"
        while hyp in rules:
            hyp += "'"
        sort = self._sort_of(t, scope)
        cases = []
        for c in self._ctors[sort]:
            arg_sorts = self.functions[c][0] if c in self.functions else ()
            fresh = self._fresh_names(len(arg_sorts), set(scope))
            value = (c, *((n,) for n in fresh))
            block = Block(-1000 - len(splits), hyp, "lr", t, value, False, size(t))
            sub = self._case_proof(lhs, rhs, hyps, {**rules, hyp: (t, value)},
                                   {**scope, **dict(zip(fresh, arg_sorts, strict=True))},
                                   depth, (block, *splits))
            if sub is None:
                return None
            cases.append({"constructor": c, "fresh": fresh, "hyp": hyp, "proof": sub})
        return {"method": "split", "term": to_json(t), "sort": sort, "cases": cases}

    # -- what the case hypotheses say ---------------------------------------------------------
    def _split_facts(self, splits: tuple[Block, ...]
                     ) -> tuple[list[Block], dict[str, list[Step]], list[Step] | None]:
        """The Boolean case hypotheses ``t = true`` / ``t = false`` restated under the others.

        A split made where ``t`` was blocked stops matching once a later split unblocks it:
        under ``n1 = cons(k2, k3)`` the hypothesis ``ordered(cons(n0, n1)) = true`` says
        ``and(leq(n0, k2), ordered(cons(k2, k3))) = true``. Each such ``t``, normalised by
        the other case hypotheses (and the facts found before it) to ``t'``, gives the
        block ``t' -> c`` whose use expands to ``t' <-* t -> c``. Returns the blocks, their
        expansions, and, when some ``t'`` is the other truth value (the cases contradict
        each other), the steps from ``true`` to ``false`` instead.
        """
        blocks: list[Block] = []
        table: dict[str, list[Step]] = {}
        for b in splits:
            if not _boolean_fact(b):
                continue
            steps: list[Step] = []
            try:
                t = self.grid.normalize(b.lhs, steps, [*blocks, *(o for o in splits
                                                               if o is not b)])
            except RecursionError:
                continue
            steps = _expand(steps, table)
            if t == b.rhs or t == b.lhs:
                continue
            if t in (TRUE, FALSE):
                absurd = [Step((), b.rule, "rl", ())] + steps
                return [], {}, absurd if b.rhs == TRUE else _reverse(absurd)
            name = f"{b.rule}~"
            blocks.append(Block(-4000 - len(blocks), name, "lr", t, b.rhs, False, size(t)))
            table[name] = _reverse(steps) + [Step((), b.rule, "lr", ())]
        return blocks, table, None

    def _absurd_proof(self, lhs: Term, rhs: Term, true_to_false: list[Step], rules: dict,
                      scope: dict[str, str]) -> dict | None:
        chains = absurd_chains(lhs, rhs, self._sort_of(lhs, scope) or self._sort_of(rhs, scope),
                               self._bool_sort, true_to_false, self._conn)
        if chains is None:
            return None
        return self._rewrite_node(lhs, rhs, *chains, {**self.rules, **rules})

    def _forced_split(self, goal: tuple[Term, Term], facts: list[Block], extra: list[Block],
                      scope: dict[str, str]) -> Term | None:
        """A Boolean sub-term blocking a fact or the goal whose split leaves one live case:
        every other case turns the fact into the other truth value (``and(p, q) = true``
        blocked on ``p``: ``p = false`` contradicts it) or closes the goal at once
        (``implies(p, q) = true``: ``p = false``). Such a split costs no search, so it is
        made at once and the fact's content (``p = true``, then ``q = true``) is usable."""
        def live_cases(t: Term, alive: Callable[[list[Block]], bool | None]) -> int:
            """How many cases of a split on ``t`` stay open (2: do not force it)."""
            n = 0
            for c in self._ctors[self._sort_of(t, scope)]:
                probe = Block(-5000, "%probe", "lr", t, (c,), False, size(t))
                try:
                    state = alive([probe, *extra])
                except RecursionError:
                    return 2
                if state is None:
                    return 2
                n += state
            return n

        def fact_alive(f: Block) -> Callable[[list[Block]], bool | None]:
            def alive(blocks: list[Block]) -> bool:
                got = self.grid.normalize(f.lhs, [], blocks)
                return got not in (TRUE, FALSE) or got == f.rhs
            return alive

        def goal_alive(blocks: list[Block]) -> bool | None:
            a, b = (self.grid.normalize(t, [], blocks) for t in goal)
            if {a, b} == {TRUE, FALSE}:
                return None  # a case left only to refute: nothing gained by forcing it
            return a != b

        todo = [((f.lhs,), fact_alive(f)) for f in facts]
        todo.append((goal, goal_alive))
        for terms, alive in todo:
            for t in self._split_candidates(terms, scope):
                if not self._enum_sort(self._sort_of(t, scope)) or \
                        self.grid.normalize(t, [], extra) != t:
                    continue  # not Boolean, or split already (a stale hypothesis's blocker)
                if live_cases(t, alive) == 1:
                    return t
        return None

    def _normal_forms(self, lhs: Term, rhs: Term, extra: list[Block]
                      ) -> tuple[Term, Term, list[Step], list[Step]] | None:
        """Both sides' normal forms under the grid and ``extra`` and the steps to them
        (None: a term too deep to normalise)."""
        sl: list[Step] = []
        sr: list[Step] = []
        try:
            return (self.grid.normalize(lhs, sl, extra), self.grid.normalize(rhs, sr, extra),
                    sl, sr)
        except RecursionError:
            return None

    # -- instances of a generalised hypothesis -------------------------------------------------
    def _ih_instances(self, hyps: list[Hypothesis], splits: list[Block],
                      facts: dict[str, list[Step]], stuck: tuple[Term, Term],
                      scope: dict[str, str]
                      ) -> tuple[list[Block], dict[str, list[Step]]] | None:
        """Ground instances of the generalised hypotheses at the constants of a stuck goal.

        A generalised hypothesis ``IH: l(n, y) = r(n, y)`` holds for every ``y``; the block
        ``_hyp_blocks`` makes of it fires only where the goal contains an instance of one
        side. Under case splits an instance at a constant ``k`` of the goal (a split's fresh
        constant, ``y = succ(k)``) can normalise, with the split hypotheses, to a new ground
        equation (``k = n`` in ``max(x, y) = max(y, x)``) that the goal needs. Each such
        instance, its two sides normalised by the grid and the splits in force (not by the
        hypotheses: the instance would rewrite to itself), becomes a ground block oriented
        by the path order; its use expands into the steps back to ``lσ``, the hypothesis
        at ``σ``, and the steps on to the normal form of ``rσ``: ordinary equational steps
        the checker replays (the hypothesis is about ``n`` only, whatever ``σ`` binds).
        At most ``ih_instances`` instances per hypothesis, over the Skolem constants that
        occur in the stuck normal forms.
        """
        consts: list[Term] = []
        for t in stuck:
            for pos in positions(t):
                u = subterm(t, pos)
                if not isinstance(u, str) and len(u) == 1 and u[0] in scope and u not in consts:
                    consts.append(u)
        blocks: list[Block] = []
        table: dict[str, list[Step]] = {}
        seen: set[tuple[Term, Term]] = set()
        for name, hl, hr, _, _ in hyps:
            hv = variables(hr, variables(hl))
            if not hv or any(v not in scope for v in hv):
                continue
            pools = [[c for c in consts if scope[c[0]] == scope[v]] for v in hv]
            if any(not p for p in pools):
                continue
            for k, combo in enumerate(_product(pools)):
                if k >= self.config.ih_instances:
                    break
                sigma = dict(zip(hv, combo, strict=True))
                al: list[Step] = []
                ar: list[Step] = []
                try:
                    a = self.grid.normalize(substitute(hl, sigma), al, splits)
                    b = self.grid.normalize(substitute(hr, sigma), ar, splits)
                except RecursionError:
                    continue
                al, ar = _expand(al, facts), _expand(ar, facts)
                self._check_budget()
                if a == b or (a, b) in seen or (b, a) in seen:
                    continue
                seen.add((a, b))
                subst = tuple(sorted(sigma.items()))
                bname = f"{name}@{len(blocks)}"
                if self.grid.order.gt_ground(a, b):
                    frm, to = a, b
                    steps = _reverse(al) + [Step((), name, "lr", subst)] + ar
                else:
                    frm, to = b, a
                    steps = _reverse(ar) + [Step((), name, "rl", subst)] + al
                blocks.append(Block(-3000 - len(blocks), bname, "lr", frm, to, False,
                                    size(frm)))
                table[bname] = steps
        return (blocks, table) if blocks else None

    # -- conditional lemmas -----------------------------------------------------------------
    def _conditional_facts(self, nl: Term, nr: Term, extra: list[Block],
                           expand: dict[str, list[Step]], scope: dict[str, str]
                           ) -> tuple[list[Block], dict[str, list[Step]]] | None:
        """Sub-terms ``u`` of the stuck normal forms that a conditional lemma makes true:
        ``u`` is an instance ``Rσ`` of its conclusion and each premise ``Ciσ`` rewrites to
        true here (by the hypotheses in ``extra``). Each becomes a ground block
        ``u -> true`` whose use expands into equational steps only
        (``conditional.implication_chain``), so the checker needs nothing new.

        Before that, a stuck goal ``u = true`` under a Boolean hypothesis ``C0 = true``
        (or ``= false``) suggests the lemma ``implies(C0, u) = true`` (``implies(not C0,
        u)``) with their shared sub-terms and Skolem constants generalised to variables;
        it is tested on the model and, if it survives, proved and kept
        (``_conjecture``).
        """
        if self._conjecturing < self.config.conditional_depth and TRUE in (nl, nr):
            for u in self._conjuncts(nr if nl == TRUE else nl):
                for b in extra:
                    if b.rhs in (TRUE, FALSE) and not _has_var(b.lhs):
                        self._conjecture([(b.lhs, b.rhs == FALSE)], u, scope)
        blocks: list[Block] = []
        table: dict[str, list[Step]] = {}
        seen: set[Term] = set()
        for t in (nl, nr):
            for pos in positions(t):
                u = subterm(t, pos)
                if isinstance(u, str) or len(u) == 1 or u in seen or _has_var(u):
                    continue
                chain = self._lemma_makes_true(u, extra, expand)
                if chain is not None:
                    seen.add(u)
                    name = f"cond{len(blocks)}"
                    blocks.append(Block(-2000 - len(blocks), name, "lr", u, TRUE, False,
                                        size(u)))
                    table[name] = chain
        return (blocks, table) if blocks else None

    def _lemma_makes_true(self, u: Term, extra: list[Block], expand: dict[str, list[Step]]
                          ) -> list[Step] | None:
        """Steps from ``u`` to ``true`` by a conditional lemma whose premises all rewrite
        to true under ``extra``; None if none applies."""
        for tid, conds, r in self._cond_lemmas:
            sigma = match(r, u, {})
            if sigma is None:
                continue
            proved: list[tuple[Term, list[Step]]] = []
            for c in conds:
                ci = substitute(c, sigma)
                steps: list[Step] = []
                try:
                    if self.grid.normalize(ci, steps, extra) != TRUE:
                        break
                except RecursionError:
                    break
                proved.append((ci, _expand(steps, expand)))
            else:
                return implication_chain(u, proved, tid, sigma, self._conn.implies)
        return None

    def _conjuncts(self, u: Term) -> list[Term]:
        """``u``'s conjuncts (``and(p, q)``: those of ``p`` and of ``q``) other than
        ``true``; ``[u]`` if it is no conjunction; none that are variables."""
        conj = self._conn.conj
        if conj is not None and not isinstance(u, str) and u[0] == conj.head:
            return [p for a in u[1:] for p in self._conjuncts(a)]
        return [] if isinstance(u, str) or u == TRUE else [u]

    def _generalise(self, terms: list[Term], shared_from: list[Term], scope: dict[str, str]
                    ) -> tuple[list[Term], dict[str, str]] | None:
        """``terms`` with their Skolem constants, and the compound sub-terms of
        ``shared_from`` below each term's root, replaced by variables (one per distinct
        term, across all of them); None if a replaced term's sort is unknown."""
        names: dict[Term, str] = {}
        sorts: dict[str, str] = {}
        shared = {subterm(c, p) for c in shared_from for p in positions(c)}

        def gen(t: Term, top: bool) -> Term:
            if not isinstance(t, str) and len(t) > 1 and (top or t not in shared):
                return (t[0], *(gen(a, False) for a in t[1:]))
            if not isinstance(t, str) and t[0] in self.theory.constants:
                return t
            if t not in names:
                names[t] = f"%c{len(names)}"
                sorts[names[t]] = self._sort_of(t, scope)
            return names[t]

        out = [gen(t, True) for t in terms]
        return None if None in sorts.values() else (out, sorts)

    def _conjecture(self, given: list[tuple[Term, bool]], u: Term, scope: dict[str, str]
                    ) -> bool:
        """Try the lemma ``implies(C1, ... implies(Ck, R)) = true`` generalised from the
        hypotheses ``given`` (``(C0, False)``: ``C0 = true``; ``(C0, True)``: ``C0 =
        false``, premise ``implies(C0', false)``, i.e. not C0') and the conclusion ``u``;
        True if it was proved."""
        got = self._generalise([*(c for c, _ in given), u], [c for c, _ in given], scope)
        if got is None:
            return False
        *conds, r = got[0]
        sorts = got[1]
        if any(not set(variables(c)) <= set(variables(r)) or c == r for c in conds):
            return False
        imp = self._implication([(c, neg) for c, (_, neg) in zip(conds, given, strict=True)], r)
        key = canonical_equation(imp, TRUE)
        if key in self._conjectured or any(t.tid == theorem_id(imp, TRUE)
                                           for t in self.theorems):
            return False
        self._conjectured.add(key)
        if not self._survives(imp, sorts):
            return False
        self._conjecturing += 1
        try:
            proof = self._within(self.config.conjecture_share * self.config.budget_s,
                                 lambda: self.prove_equation(imp, TRUE, sorts))
        finally:
            self._conjecturing -= 1
        if proof is not None:
            self.add_theorem(imp, TRUE, sorts, proof)
        return proof is not None

    def _implication(self, premises: list[tuple[Term, bool]], conclusion: Term) -> Term:
        """``implies(C1, ... implies(Ck, conclusion))``; a premise ``(C, True)`` is negated,
        ``not C`` written ``implies(C, false)``."""
        for c, negated in reversed(premises):
            conclusion = (self._imp_head, (self._imp_head, c, FALSE) if negated else c,
                          conclusion)
        return conclusion

    def _refuted_fact(self, facts: list[Block], extra: list[Block],
                      expand: dict[str, list[Step]]) -> list[Step] | None:
        """Steps from ``true`` to ``false`` when a conditional lemma contradicts a Boolean
        fact of the case: it makes ``u`` true where the fact says ``u = false``, or makes
        ``not u`` (``implies(u, false)``) true where the fact says ``u = true``."""
        imp = self._conn.implies
        for b in facts:
            via = expand.get(b.rule, [Step((), b.rule, b.direction, ())])
            if b.rhs == FALSE:  # true <- u -> false
                chain = self._lemma_makes_true(b.lhs, extra, expand)
                if chain is not None:
                    return _reverse(chain) + via
                continue
            u = self._implication([(b.lhs, False)], FALSE)  # true <- not u -> not true
            chain = self._lemma_makes_true(u, extra, expand)
            if chain is not None:
                return (_reverse(chain) + [Step((0, *s.pos), s.rule, s.direction, s.subst)
                                           for s in via] +
                        [Step((), imp.on_true, "lr", ((imp.params[0], FALSE),))])
        return None

    def _refutation_lemmas(self, facts: list[Block], scope: dict[str, str]) -> None:
        """Where the model says the case's Boolean facts never hold together, conjecture
        that one of them fails given one or two others (``x <= y => x <= max(z, y)``;
        ``not(x <= y), not(z <= y) => not(min(x, z) <= y)``), and prove what survives the
        model (``_conjecture``)."""
        given = [(b.lhs, b.rhs == FALSE) for b in facts][:_REFUTE_FACTS]
        if len(given) < 2:
            return
        got = self._generalise([c for c, _ in given], [], scope)
        if got is None:
            return
        never = self._implication(
            [(c, neg) for c, (_, neg) in zip(got[0], given, strict=True)], FALSE)
        if not self._survives(never, got[1]):
            return  # the facts can hold together: nothing to refute
        for j, (cj, neg_j) in enumerate(given):
            concl = cj if neg_j else self._implication([(cj, False)], FALSE)
            others = given[:j] + given[j + 1:]
            for k in (1, 2):
                for prem in itertools.combinations(others, k):
                    if self._conjecture(list(prem), concl, scope):
                        return

    def _fertilized_lemma(self, nl: Term, nr: Term, hyps: list[Hypothesis],
                          scope: dict[str, str]) -> bool:
        """Weak fertilisation and generalisation (Boyer and Moore, "A Computational Logic",
        1979, ch. XI-XII): a step case stuck at ``nl != nr`` whose hypothesis ``l = r`` cannot
        rewrite (``count(x, insert(k1, isort(k2)))``: ``l = count(x, isort(k2))`` is not a
        sub-term). Rewrite one side's instances of ``r`` back into ``l``, then generalise a
        sub-term of ``l`` the two sides now share (``isort(k2)``) and the Skolem constants to
        variables: ``count(x, insert(y, z)) = ite(x == y, S(count(x, z)), count(x, z))``.
        The lemma is tested on the model and, if it survives, proved (its own proof may
        suggest lemmas this way only ``config.fertilize`` levels deep) and kept; True when
        one was."""
        for (_, hl, hr, _, _), (keep, back) in itertools.product(hyps, ((nl, nr), (nr, nl))):
            # either way round: the hypothesis may be oriented either way in the grid
            for pat, by in ((hr, hl), (hl, hr)):
                if isinstance(pat, str):
                    continue
                found: list[Term] = []
                back2 = _replace_instances(back, pat, by, found)
                if back2 == back:
                    continue
                try:  # the hypothesis's side as the grid writes it (tsort(xs) unfolded)
                    back2 = self.grid.normalize(back2, [], [])
                    found = [self.grid.normalize(t, [], []) for t in found]
                except RecursionError:
                    continue
                shared = {subterm(keep, q) for q in positions(keep)}
                common = [g for lhs in found for g in (subterm(lhs, q) for q in positions(lhs))
                          if not isinstance(g, str) and len(g) > 1 and not _has_var(g)
                          and g in shared]
                for g in sorted(dict.fromkeys(common), key=size, reverse=True):
                    if self._try_generalised(keep, back2, g, scope):
                        return True
        return False

    def _try_generalised(self, a: Term, b: Term, g: Term, scope: dict[str, str]) -> bool:
        names: dict[Term, str] = {}
        sorts: dict[str, str] = {}

        def gen(t: Term) -> Term:
            if t == g or (not isinstance(t, str) and len(t) == 1 and
                          t[0] not in self.theory.constants):
                if t not in names:
                    names[t] = f"%g{len(names)}"
                    sorts[names[t]] = self._sort_of(t, scope)
                return names[t]
            if isinstance(t, str):
                return t
            return (t[0], *(gen(x) for x in t[1:]))

        lhs, rhs = gen(a), gen(b)
        if lhs == rhs or None in sorts.values() or _has_var_outside(lhs, rhs, names):
            return False
        key = canonical_equation(lhs, rhs)
        if key in self._conjectured or any(t.tid == theorem_id(lhs, rhs)
                                           for t in self.theorems):
            return False
        self._conjectured.add(key)
        if not self._survives(lhs, sorts, rhs):
            return False
        self._fertile += 1
        try:
            proof = self.prove_equation(lhs, rhs, sorts)
        finally:
            self._fertile -= 1
        if proof is None:
            return False
        self.add_theorem(lhs, rhs, sorts, proof)
        return True

    def _term_model(self) -> TermModel:
        """``TermModel`` of the axioms. A function whose first argument or result has a
        sort without constructors (``apply`` over a function sort, a closure, a selector
        into an abstract sort), or such a constant, is ``free`` where no axiom covers it:
        see ``TermModel``."""
        defs = [(e.lhs, e.rhs) for e in self.axioms.values()]
        free = {f: res for f, (args, res) in self.functions.items()
                if f not in self._ctor_sort and
                any(s not in self._ctors for s in (*args[:1], res))}
        free.update({c: s for c, s in self.theory.constants.items()
                     if c not in self._ctor_sort and s not in self._ctors})
        return TermModel(set(self._ctor_sort), defs, self.config.model_cap_terms, free,
                         self._ctor_fields)

    def _survives(self, t: Term, sorts: dict[str, str], rhs: Term = ("true",)) -> bool:
        """``t = rhs`` at every sampled point where both are defined (and at least one)."""
        if self._tmodel is None:
            self._tmodel = self._term_model()
        ctors = self._ctor_fields
        defined = 0
        for point in sample_points(sorts, ctors, self.config.points, seed=1):
            v = self._tmodel.safe_value(t, point)
            w = self._tmodel.safe_value(rhs, point)
            if v is None or w is None:
                continue
            if v != w:
                return False
            defined += 1
        return defined > 0

    # -- induction --------------------------------------------------------------------------
    def _hyp_blocks(self, name: str, hl: Term, hr: Term, bid: int, splits: list[Block],
                    facts: dict[str, list[Step]], unfold: str | None = None
                    ) -> tuple[list[Block], dict[str, list[Step]]] | None:
        """The hypothesis ``hl = hr`` as rewrite blocks between its two normal forms.

        Each block's use expands into: the steps back from the normal form to ``hl``, the
        hypothesis itself, the steps from ``hr`` to its normal form. A generalised hypothesis
        (with variables) becomes a block that holds for every instance: oriented if the
        path order orients it, else ordered; None when its variables do not survive
        normalisation (an instance could not be rebuilt from a match). ``splits``: the case
        hypotheses in force and the facts they give, which rewrite the hypothesis too;
        ``facts``: those facts' expansions; ``unfold``: a function whose call the
        hypothesis rewrites away whichever way the path order would orient it.
        """
        al: list[Step] = []
        ar: list[Step] = []
        try:
            a = self.grid.normalize(hl, al, splits)
            b = self.grid.normalize(hr, ar, splits)
        except RecursionError:
            return None
        if a == b:
            return [], {}
        al, ar = _expand(al, facts), _expand(ar, facts)
        hv = variables(hr, variables(hl))
        ident = tuple((x, x) for x in sorted(hv))
        fwd = _reverse(al) + [Step((), name, "lr", ident)] + ar
        back = _reverse(ar) + [Step((), name, "rl", ident)] + al
        if unfold is not None and _mentions(a, unfold) != _mentions(b, unfold):
            # a recursion-induction hypothesis replaces the scheme function's call by what
            # it equals (op(x, y, z, w) -> x*y + z + w), even where the path order puts the
            # other side first: the goal's side then meets its definition's side
            if _mentions(a, unfold) and set(variables(a)) == set(hv):
                return [Block(bid, name + "*", "lr", a, b, False, size(a))], {name + "*": fwd}
            if _mentions(b, unfold) and set(variables(b)) == set(hv):
                return [Block(bid, name + "*", "lr", b, a, False, size(b))], {name + "*": back}
        if not hv:
            if self.grid.order.gt_ground(a, b):
                return [Block(bid, name + "*", "lr", a, b, False, size(a))], {name + "*": fwd}
            return [Block(bid, name + "*", "lr", b, a, False, size(b))], {name + "*": back}
        # a block's left side must bind every variable of the hypothesis
        a_ok = not isinstance(a, str) and set(variables(a)) == set(hv)
        b_ok = not isinstance(b, str) and set(variables(b)) == set(hv)
        if a_ok and self.grid.order.gt_vars(a, b):
            return [Block(bid, name + "*", "lr", a, b, False, size(a))], {name + "*": fwd}
        if b_ok and self.grid.order.gt_vars(b, a):
            return [Block(bid, name + "*", "lr", b, a, False, size(b))], {name + "*": back}
        if not (a_ok and b_ok):
            return None
        return ([Block(bid, name + "*", "lr", a, b, True, size(a)),
                 Block(bid, name + "*r", "lr", b, a, True, size(b))],
                {name + "*": fwd, name + "*r": back})

    def _gens(self, nvars: int) -> tuple[bool, ...]:
        """Which hypotheses to try: generalised first, then fixed; discovery (which tries
        thousands of candidates) only the generalised one, which subsumes the fixed one
        but for its orientation."""
        if nvars < 2 or not self.config.generalize:
            return (False,)
        return (True,) if self._discovering else (True, False)

    def _induction_order(self, lhs: Term, rhs: Term, sorts: dict[str, str]) -> list[str]:
        """Variables to induct on: those in recursive (last) argument positions first."""
        counts: dict[str, int] = {}

        def walk(t: Term) -> None:
            if isinstance(t, str):
                return
            if len(t) > 2 and isinstance(t[-1], str):
                counts[t[-1]] = counts.get(t[-1], 0) + 1
            for a in t[1:]:
                walk(a)

        walk(lhs)
        walk(rhs)
        vs = variables(rhs, variables(lhs))
        return sorted(
            (v for v in vs if sorts.get(v) in self.theory.inductions),
            key=lambda v: (-counts.get(v, 0), vs.index(v)),
        )

    def prove_equation(self, lhs: Term, rhs: Term, sorts: dict[str, str]) -> dict | None:
        """A proof (JSON) of ``lhs = rhs`` for all values of its variables, or None."""
        try:
            return self._prove_equation(lhs, rhs, sorts)
        except RecursionError:
            # terms nested deeper than Python's stack (numerals like 5! in unary): this
            # equation is not proved, the run goes on with the next
            return None

    def _prove_equation(self, lhs: Term, rhs: Term, sorts: dict[str, str]) -> dict | None:
        gl, gr = _skolem(lhs), _skolem(rhs)
        vs = variables(rhs, variables(lhs))
        scope = {v: sorts[v] for v in vs}
        p = self._case_proof(gl, gr, [], self.rules, scope)
        if p is not None:
            return p
        if self.config.recursion_induction:
            p = self._recursion_proof(lhs, rhs, scope)
            if p is not None:
                return p
        # generalised hypotheses first (other variables universally quantified), then fixed
        gens = self._gens(len(vs))
        for v in self._induction_order(lhs, rhs, sorts):
            ind = self.theory.inductions[sorts[v]]
            taken = set(vs)
            n = next(f"n{i}" if i else "n" for i in range(100) if (f"n{i}" if i else "n")
                     not in taken)
            base = self._case_proof(*(_skolem(substitute(t, {v: (ind.base,)}))
                                      for t in (lhs, rhs)), [], self.rules, scope)
            if base is None:
                continue
            sn = {v: (ind.step, (n,))}
            stl, str_ = (_skolem(substitute(t, sn)) for t in (lhs, rhs))
            for gen in gens:
                fixed = {n} if gen else {*vs, n}
                hl, hr = (_fix(substitute(t, {v: n}), fixed) for t in (lhs, rhs))
                rules = {**self.rules, "IH": (hl, hr)}
                step = self._case_proof(stl, str_, [("IH", hl, hr, -1, None)], rules,
                                        {**scope, n: sorts[v]})
                if step is None:
                    continue
                return {
                    "method": "induction",
                    "var": v,
                    "sort": sorts[v],
                    "fresh": n,
                    "generalize": gen,
                    "base": base,
                    "step": step,
                    "hypothesis": {"lhs": to_json(hl), "rhs": to_json(hr)},
                }
        return self._structural_proof(lhs, rhs, sorts)

    def _structural_proof(self, lhs: Term, rhs: Term, sorts: dict[str, str]) -> dict | None:
        """Structural induction over an ``(induction S (cases ...))`` datatype.

        One case per constructor ``c`` of the variable's sort: ``E[v:=c(n0, ..)]``, proved by
        rewriting (and case splits) with one hypothesis ``IHi: E[v:=ni]`` per argument ``ni``
        of sort S: first generalised (the other variables of E universally quantified in
        the hypothesis), then with them fixed.
        """
        vs = variables(rhs, variables(lhs))
        gens = self._gens(len(vs))
        for v in vs:
            sort = sorts.get(v)
            if sort not in self.theory.structural:
                continue
            taken = set(vs)
            cases = []
            for c in self.theory.structural[sort]:
                arg_sorts = self.functions[c][0] if c in self.functions else ()
                fresh = []
                for _ in arg_sorts:
                    k = 0
                    while f"n{k}" in taken:
                        k += 1
                    taken.add(f"n{k}")
                    fresh.append(f"n{k}")
                value = (c, *fresh)
                goal = tuple(_skolem(substitute(t, {v: value})) for t in (lhs, rhs))
                scope = {**{x: sorts[x] for x in vs},
                         **dict(zip(fresh, arg_sorts, strict=True))}
                recursive = [i for i, s_ in enumerate(arg_sorts) if s_ == sort]
                proof = None
                for gen in gens if recursive else (False,):
                    fixed = set(fresh) if gen else {*vs, *fresh}
                    rules = dict(self.rules)
                    hyps = {}
                    ih = []
                    for i in recursive:
                        name = f"IH{i}"
                        hl, hr = (_fix(substitute(t, {v: fresh[i]}), fixed) for t in (lhs, rhs))
                        rules[name] = (hl, hr)
                        hyps[name] = {"lhs": to_json(hl), "rhs": to_json(hr)}
                        ih.append((name, hl, hr, -1 - i, None))
                    proof = self._case_proof(goal[0], goal[1], ih, rules, scope)
                    if proof is not None:
                        break
                if proof is None:
                    break
                cases.append({"constructor": c, "fresh": fresh, "hypotheses": hyps,
                              "generalize": gen, "proof": proof})
            else:
                return {"method": "structural", "var": v, "sort": sort, "cases": cases}
        return None

    def _recursion_proof(self, lhs: Term, rhs: Term, sorts: dict[str, str]) -> dict | None:
        """Recursion induction along a call's function (``recursion.py``): each of its
        rules a case, with a hypothesis per recursive call the measure shows smaller;
        generalised hypotheses first (the goal's other variables quantified), then fixed.
        A case stuck is not helped by fertilisation lemmas (``_recursion_cases``).
        """
        for scheme in self._recursion.schemes(lhs, rhs, sorts):
            others = set(sorts) - set(scheme.variables)
            cases = []
            for case in scheme.cases:
                goal = [_skolem(substitute(t, dict(zip(scheme.variables, case.pattern,
                                                       strict=True)))) for t in (lhs, rhs)]
                scope = {**sorts, **case.pattern_sorts}
                proof = None
                for gen in self._gens(len(sorts)) if case.hypotheses and others else (False,):
                    fixed = set() if gen else others
                    rules = dict(self.rules)
                    ih = []
                    for j, args in enumerate(case.hypotheses):
                        at = dict(zip(scheme.variables, map(_skolem, args), strict=True))
                        hl, hr = (_fix(substitute(t, at), fixed) for t in (lhs, rhs))
                        rules[f"IH{j}"] = (hl, hr)
                        ih.append((f"IH{j}", hl, hr, -1 - j, scheme.function))
                    self._recursion_cases += 1
                    try:
                        proof = self._case_proof(*goal, ih, rules, scope)
                    finally:
                        self._recursion_cases -= 1
                    if proof is not None:
                        break
                if proof is None:
                    break
                cases.append({"pattern": [to_json(p) for p in case.pattern],
                              "generalize": gen,
                              "hypotheses": [[to_json(a) for a in args]
                                             for args in case.hypotheses],
                              "proof": proof})
            else:
                return {"method": "recursion", "function": scheme.function,
                        "vars": list(scheme.variables),
                        "measure": {"kind": scheme.measure,
                                    "positions": list(range(len(scheme.variables)))},
                        "cases": cases}
        return None

    def add_theorem(self, lhs: Term, rhs: Term, sorts: dict[str, str], proof: dict,
                    name: str | None = None) -> Theorem:
        tid = theorem_id(lhs, rhs)
        if tid in self.rules:
            # proved already, up to renaming (a lemma generalised from this one's own stuck
            # step): one proof per statement, since a document's theorems are keyed by id
            # and a second copy's dependencies would not be followed into it
            return next(t for t in self.theorems if t.tid == tid)
        deps = sorted(_rules_used(proof) - {"IH"})
        law = law_name(lhs, rhs)
        nm = name or law or f"lemma_{sum(1 for t in self.theorems if t.law is None) + 1}"
        srt = tuple((v, sorts[v]) for v in variables(rhs, variables(lhs)))
        eq = Equation(lhs, rhs, srt)
        th = Theorem(tid, nm, lhs, rhs, srt, proof, deps, law,
                     equation_to_mpl(self.theory, nm, eq))
        self.theorems.append(th)
        self.rules[tid] = (lhs, rhs)
        self.grid.add_equation(tid, lhs, rhs)
        cond = premises(lhs, self._imp_head) if self._imp_head and rhs == TRUE else None
        if cond is not None:
            self._cond_lemmas.append((tid, *cond))
        return th

    # -- discovery --------------------------------------------------------------------------
    def _models(self) -> dict[str, Fingerprinter]:
        defs = [(e.lhs, e.rhs) for e in self.axioms.values()]
        out = {}
        for sort, ind in self.theory.inductions.items():
            model = PrefixModel(ind.base, ind.step, defs, self.config.model_cap)
            names = [v for v in _VAR_NAMES if v not in self.precedence and v not in
                     self.theory.relations][: self.config.vars_per_sort]
            out[sort] = Fingerprinter(model, names, self.config.max_value)
        return out

    def _models_over(self, signature: set[str], sorts: set[str]
                     ) -> dict[str, PointFingerprinter]:
        """Fingerprinters over ground constructor terms of every sort in ``sorts`` (and the
        sorts the ``signature``'s functions map between), sharing one set of sampled points.
        """
        wanted = set(sorts)
        for f in signature:
            if f in self.functions:
                wanted |= {*self.functions[f][0], self.functions[f][1]}
            elif f in self.theory.constants:
                wanted.add(self.theory.constants[f])
        ctors = self._ctor_fields
        model = self._term_model()
        taken = set(self.precedence) | set(self.theory.relations) | set(self.theory.constants)
        names: dict[str, list[str]] = {}
        for i, sort in enumerate(sorted(wanted)):
            suffix = "" if i == 0 else str(i)
            names[sort] = [v + suffix for v in _VAR_NAMES if v + suffix not in taken][
                : self.config.vars_per_sort]
        var_sort = {v: s for s, vs in names.items() for v in vs}
        points = sample_points(var_sort, ctors, self.config.points, seed=0)
        return {s: PointFingerprinter(model, names[s], points) for s in sorted(wanted)}

    def discover(
        self,
        on_theorem: Callable[[Theorem], bool] | None = None,
        deadline: float | None = None,
        signature: set[str] | None = None,
        sorts: set[str] | None = None,
    ) -> ProofRun:
        """Enumerate, filter and prove equations (see the module docstring).

        ``on_theorem`` is called after each new theorem; returning True stops the run.
        With a ``signature`` (function and constant names) discovery enumerates terms over
        those symbols only, over every sort in ``sorts`` plus the signature's, and filters
        them on ground constructor terms of any datatype (``models.TermModel``); without
        one it needs exactly one naturals-shaped sort and filters on its numerals.
        """
        if signature is not None:
            return self._discover(on_theorem, deadline, self._models_over(signature,
                                                                          sorts or set()),
                                  signature)
        if not self.theory.inductions:
            raise DataError(
                f"theory {self.theory.source!r} declares no (induction SORT (base c) (step f)): "
                f"discovery needs one to build its counterexample model and inductive proofs"
            )
        if len(self.theory.inductions) > 1:
            raise DataError(
                f"theory {self.theory.source!r} declares induction for sorts "
                f"{sorted(self.theory.inductions)}: discovery handles one inductive sort; "
                f"prove a list of theorems with --targets instead"
            )
        return self._discover(on_theorem, deadline, self._models(), None)

    def _discover(self, on_theorem, deadline, fps: dict, signature: set[str] | None
                  ) -> ProofRun:
        cfg = self.config
        t0 = time.perf_counter()
        if deadline is None:
            self._start_budget(t0 + cfg.budget_s)
        else:
            self._deadline = deadline
        run = ProofRun()
        self._signature = signature
        sorts = list(fps)
        var_sort = {v: s for s in sorts for v in fps[s].variables}
        # terms[sort][n]: normal-form terms of size n; fp[term]: fingerprint
        terms: dict[str, dict[int, list[Term]]] = {s: {} for s in sorts}
        fp: dict[Term, tuple] = {}
        classes: dict[tuple, Term] = {}
        others: dict[tuple, list[Term]] = {}  # later members of each class, oldest first
        attempted: set = set()
        deferred: list[tuple[int, Term, Term, str]] = []
        stop = False

        def try_prove(t: Term, rep: Term, sort: str) -> bool | None:
            """True proved, False unproved, None redundant or already tried."""
            nonlocal stop
            if self.grid.normal_form(t) == self.grid.normal_form(rep):
                return None
            key = canonical_equation(t, rep)
            if key in attempted:
                return None
            attempted.add(key)
            run.attempts += 1
            lhs, rhs = _rename_sorted(t, rep, var_sort, {s: fps[s].variables for s in sorts})
            sv = {v: var_sort.get(v, sort) for v in variables(rhs, variables(lhs))}
            # discovery tries thousands of candidates: shallower splits, only on Bool-like
            # terms (an ite condition) and, if configured, variables
            self._split_depth, self._discovering = cfg.discovery_split_depth, True
            try:
                proof = self.prove_equation(lhs, rhs, sv)
            finally:
                self._split_depth, self._discovering = cfg.max_split_depth, False
            if proof is None:
                return False
            th = self.add_theorem(lhs, rhs, sv, proof)
            if on_theorem is not None and on_theorem(th):
                stop = True
            return True

        def retry_deferred(end: int) -> int:
            """Retry ``deferred[:end]`` in order; returns how many left the list.

            After a success at position i the entries before i (smaller, older equations)
            are retried first, since the new theorem may be the lemma they were waiting for.
            """
            removed = 0
            i = 0
            while i < end and i < len(deferred) and not stop:
                _, t, rep, sort = deferred[i]
                attempted.discard(canonical_equation(t, rep))
                r = try_prove(t, rep, sort)
                if r is False:
                    i += 1
                    continue
                deferred.pop(i)
                end -= 1
                removed += 1
                if r is True:
                    k = retry_deferred(i)
                    i -= k
                    end -= k
                    removed += k
            return removed

        try:
            for n in range(1, cfg.max_term_size + 1):
                if stop:
                    break
                for s in sorts:  # drop terms that became reducible
                    for m in terms[s]:
                        terms[s][m] = [
                            t for t in terms[s][m] if self.grid.normal_form(t, True) == t
                        ]
                cands: list[tuple[Term, Term, str]] = []
                for sort, t in self._new_terms(n, terms, fps):
                    self._check_budget()
                    if isinstance(t, str) or len(t) == 1:
                        f = fps[sort].leaf(t)
                    else:
                        f = fps[sort].combine(t[0], [fp[a] for a in t[1:]])
                    fp[t] = f
                    terms[sort].setdefault(n, []).append(t)
                    if all(v is None for v in f):
                        continue  # undefined everywhere in the model: no evidence either way
                    key = (sort, f)
                    rep = classes.get(key)
                    if rep is None:
                        classes[key] = t
                        others[key] = []
                    else:
                        cands.append((t, rep, sort))
                        # also against the class's latest members: the representative
                        # can be the wrong partner (add3acc(0, x, S y) = S(add3acc(0, x,
                        # y)) is provable, the pair with add3acc(x, y, 0) only after it)
                        if cfg.class_pairs:
                            near = others[key]
                            vt = set(variables(t))
                            same = (m for m in reversed(near) if set(variables(m)) == vt)
                            cands.extend((t, m, sort)
                                         for m in itertools.islice(same, cfg.class_pairs))
                            near.append(t)
                run.candidates += len(cands)
                cands.sort(key=_candidate_order)  # regrouping first, then the most general
                for t, rep, sort in cands:
                    if stop:
                        break
                    r = try_prove(t, rep, sort)
                    if r is False:
                        deferred.append((n, t, rep, sort))
                    elif r is True:
                        # a smaller law waiting for this lemma goes first: it then makes
                        # the remaining candidates of this level redundant
                        retry_deferred(sum(1 for d in deferred if d[0] < n))
                retry_deferred(len(deferred))
        except _OutOfBudget:
            run.budget_exhausted = True
        except MemoryError:  # the allocator gave up before the RSS check saw it coming
            run.budget_exhausted, self._exhausted_by = True, "memory"
        if run.budget_exhausted:
            run.exhausted_by = self._exhausted_by
        run.theorems = list(self.theorems)
        run.seconds = time.perf_counter() - t0
        run.stats = self.stats.as_dict()
        self.book()
        return run

    def _new_terms(self, n: int, terms: dict, fps: dict) -> list[tuple[str, Term]]:
        """Terms of size ``n`` whose arguments are known normal forms, in a fixed order."""
        out: list[tuple[str, Term]] = []
        if n == 1:
            for sort, f in fps.items():
                out.extend((sort, v) for v in f.variables)
            for c, sort in self.theory.constants.items():
                if sort in fps and (self._signature is None or c in self._signature):
                    out.append((sort, (c,)))
            return out
        for fname, (arg_sorts, res) in self.functions.items():
            if res not in fps or any(a not in fps for a in arg_sorts):
                continue
            if self._signature is not None and fname not in self._signature:
                continue
            for sizes in _compositions(n - 1, len(arg_sorts)):
                pools = [terms[s].get(k, []) for s, k in zip(arg_sorts, sizes, strict=True)]
                if any(not p for p in pools):
                    continue
                for k, args in enumerate(_product(pools)):
                    if k % 512 == 0:
                        self._check_budget()
                    t = (fname, *args)
                    if self.grid.rewrite_root(t, (), True) is None:
                        out.append((res, t))
        return out

    # -- targets ----------------------------------------------------------------------------
    def _accumulator_lemmas(self, signature: set[str] | None
                            ) -> list[tuple[Term, Term, dict[str, str]]]:
        """``accumulators.accumulator_conjectures`` over this theory that hold at every
        sampled point of the model, smallest first."""
        constants = {c: s for c, s in self.theory.constants.items() if c in self._ctor_sort}
        found = accumulator_conjectures(self._definitions, self.functions, constants,
                                        signature)
        kept = [c for c in found if self._survives(c[0], c[2], c[1])]
        return sorted(kept, key=lambda c: size(c[0]) + size(c[1]))

    def _drop_refuted(self, pending: list, unproved: list[dict]) -> list:
        """Targets false in the standard model's prefix are reported with a counterexample."""
        defs = [(e.lhs, e.rhs) for e in self.axioms.values()]
        keep = []
        for name, eq in pending:
            sorts = {s for _, s in eq.sorts}
            if len(sorts) == 1 and next(iter(sorts)) in self.theory.inductions:
                ind = self.theory.inductions[next(iter(sorts))]
                model = PrefixModel(ind.base, ind.step, defs, self.config.model_cap)
                vs = [v for v, _ in eq.sorts]
                cex = refutes(model, eq.lhs, eq.rhs, vs, self.config.max_value)
                if cex is not None:
                    unproved.append({"name": name, "text": fmt_eq(eq.lhs, eq.rhs),
                                     "reason": f"false: counterexample {cex} in the standard "
                                     f"model"})
                    continue
            keep.append((name, eq))
        return keep

    def prove_targets(self, targets: list[tuple[str, object]],
                      signature: set[str] | None = None,
                      required: set[str] | None = None) -> ProofRun:
        """Prove each named target statement, discovering lemmas only while some remain.

        With a ``signature`` discovery runs over those symbols and every datatype (see
        ``discover``); without one only over a single naturals-shaped sort, if any. With
        ``required`` the run ends once those targets are proved (the others, tried first in
        each round, are lemmas worth having, not needed).
        """
        t0 = time.perf_counter()
        self._start_budget(t0 + self.config.budget_s)
        pending: list[tuple[str, Equation]] = []
        unproved: list[dict] = []
        for name, formula in targets:
            try:
                pending.append((name, statement_equation(self.theory, formula)))
            except NotEquational as e:
                unproved.append({"name": name, "reason": f"unsupported statement: {e}"})
        pending = self._drop_refuted(pending, unproved)
        proved: dict[str, Theorem] = {}
        tids = {name: theorem_id(eq.lhs, eq.rhs) for name, eq in pending}
        share = self.config.accumulator_share
        # accumulator lemmas not proved yet: [lhs, rhs, sorts, theorems at the last attempt]
        extra = [[*c, -1] for c in self._accumulator_lemmas(signature)] if share else []

        def try_extra() -> bool:
            """An attempt at each accumulator lemma not proved yet and not tried since the
            last new theorem; True if one was proved."""
            found = False
            for entry in list(extra):
                lhs, rhs, sorts, seen = entry
                if seen == len(self.theorems):
                    continue
                entry[3] = len(self.theorems)
                # by structural induction where a variable allows it (the function's matched
                # arguments): prove_equation tries induction on naturals-shaped variables
                # first (count's element), which on TIP's tree sort over Int took most of the
                # run, and ends with this same structural attempt
                structural = any(s in self.theory.structural for s in sorts.values())
                proof = self._within(
                    share * self.config.budget_s,
                    lambda lhs=lhs, rhs=rhs, sorts=sorts, structural=structural:
                    self._structural_proof(lhs, rhs, sorts) if structural
                    else self.prove_equation(lhs, rhs, sorts))
                if proof is not None:
                    extra.remove(entry)
                    self.add_theorem(lhs, rhs, sorts, proof)
                    found = True
            return found

        def all_required() -> bool:
            return all(name in proved for name, _ in pending
                       if required is None or name in required)

        def adopt() -> bool:
            """Name as targets the theorems discovery proved first (up to renaming): no
            proof search, so it is made after every theorem, whatever ``goal_share``."""
            found = False
            for name, _ in pending:
                if name in proved or tids[name] not in self.rules:
                    continue  # self.rules is keyed by every theorem's id: a cheap test
                same = next(t for t in self.theorems if t.tid == tids[name])
                same.name = name
                same.statement = equation_to_mpl(
                    self.theory, name, Equation(same.lhs, same.rhs, same.sorts))
                proved[name] = same
                found = True
            return found

        def attempt() -> bool:
            progress = True
            while progress:
                progress = adopt()
                for name, eq in pending:
                    if name in proved:
                        continue
                    self._check_budget()
                    proof = self.prove_equation(eq.lhs, eq.rhs, eq.var_sorts)
                    if proof is not None:
                        if tids[name] in self.rules:
                            progress = True  # proved meanwhile as a conjecture: named
                            continue  # as this target in the next round
                        proved[name] = self.add_theorem(eq.lhs, eq.rhs, eq.var_sorts, proof, name)
                        progress = True
                progress |= not all_required() and try_extra()
            return all_required()

        spent = {"s": 0.0, "skipped": False}

        def by_rewriting() -> bool:
            """The targets the theorems so far prove by rewriting alone (no search)."""
            for name, eq in pending:
                if name not in proved:
                    proof = self._rewrite_proof(_skolem(eq.lhs), _skolem(eq.rhs))
                    if proof is not None:
                        proved[name] = self.add_theorem(eq.lhs, eq.rhs, eq.var_sorts, proof,
                                                        name)
            return all_required()

        def on_theorem(th: Theorem) -> bool:
            """Retry the targets after a new theorem unless that would make the time spent
            on them more than ``goal_share`` of the time so far (a hard goal's attempt can
            cost more than discovering the next lemma); a skipped retry is made at the next
            theorem or when discovery ends. Rewriting alone is tried after every theorem."""
            if adopt() and all_required():
                return True
            now = time.perf_counter()
            if spent["s"] > self.config.goal_share * (now - t0):
                spent["skipped"] = True
                return by_rewriting()
            spent["skipped"] = False
            try:
                return attempt()
            finally:
                spent["s"] += time.perf_counter() - now

        run = ProofRun()
        try:
            done = attempt()
            if not done and signature is not None:
                goal_sorts = {s for _, eq in pending for _, s in eq.sorts}
                run = self.discover(on_theorem=on_theorem, deadline=self._deadline,
                                    signature=signature, sorts=goal_sorts)
            elif not done and self.theory.inductions:
                run = self.discover(on_theorem=on_theorem, deadline=self._deadline)
            if spent["skipped"] and not run.budget_exhausted:
                attempt()
        except _OutOfBudget:
            run.budget_exhausted = True
        except MemoryError:
            run.budget_exhausted, self._exhausted_by = True, "memory"
        adopt()  # a lemma proved last (a conjecture's, a fertilisation's) may be a target
        if run.budget_exhausted:
            run.exhausted_by = self._exhausted_by
        for name, eq in pending:
            if name not in proved:
                sorts = {s for _, s in eq.sorts}
                why = (f"not proved within budget ({run.exhausted_by} limit reached)"
                       if run.budget_exhausted else "not proved")
                missing = sorted(s for s in sorts if s not in self.theory.inductions
                                 and s not in self.theory.structural)
                if missing:
                    why += (f" (an inductive proof is impossible: the theory declares no "
                            f"induction for sort {', '.join(missing)})")
                unproved.append({"name": name, "text": fmt_eq(eq.lhs, eq.rhs), "reason": why})
        run.unproved = unproved
        run.theorems = _closure([proved[n] for n, _ in pending if n in proved], self.theorems)
        run.seconds = time.perf_counter() - t0
        run.stats = self.stats.as_dict()
        self.book()
        return run


def _reverse(steps: list[Step]) -> list[Step]:
    flip = {"lr": "rl", "rl": "lr"}
    return [Step(s.pos, s.rule, flip[s.direction], s.subst) for s in reversed(steps)]


def _expand(steps: list[Step], table: dict[str, list[Step]]) -> list[Step]:
    """Replace each use of a derived block (``IH*``) by the basic steps that justify it."""
    out: list[Step] = []
    for s in steps:
        if s.rule in table:
            # a generalised hypothesis's block fired at an instance: instantiate its steps
            sigma = dict(s.subst)
            out.extend(Step((*s.pos, *t.pos), t.rule, t.direction,
                            tuple((k, substitute(v, sigma)) for k, v in t.subst))
                       for t in table[s.rule])
        else:
            out.append(s)
    return out


def _rules_used(proof: dict) -> set[str]:
    out: set[str] = set()
    for key in ("lhs", "rhs"):
        if key in proof and isinstance(proof[key], dict) and "steps" in proof[key]:
            out |= {s["rule"] for s in proof[key]["steps"]}
    for key in ("base", "step"):
        if key in proof:
            out |= _rules_used(proof[key])
    for case in proof.get("cases", []):
        h = case.get("hypotheses", ())
        # structural cases name their hypotheses; recursion cases list them as IH0, IH1, ...
        hyps = {f"IH{j}" for j in range(len(h))} if isinstance(h, list) else set(h)
        hyps.add(case.get("hyp"))
        out |= _rules_used(case["proof"]) - hyps
    return out


def _closure(roots: list[Theorem], all_theorems: list[Theorem]) -> list[Theorem]:
    by_id = {t.tid: t for t in all_theorems}
    need: set[str] = set()
    stack = [t.tid for t in roots]
    while stack:
        tid = stack.pop()
        if tid in need or tid not in by_id:
            continue
        need.add(tid)
        stack.extend(by_id[tid].deps)
    return [t for t in all_theorems if t.tid in need]


def _rename_sorted(t: Term, rep: Term, var_sort: dict[str, str],
                   names: dict[str, list[str]]) -> tuple[Term, Term]:
    """Rename variables to their sort's x, y, z ... in order of appearance (bigger side
    first)."""
    m: dict[str, str] = {}
    used: dict[str, int] = {}
    for v in variables(rep, variables(t)):
        s = var_sort[v]
        m[v] = names[s][used.get(s, 0)]
        used[s] = used.get(s, 0) + 1
    return substitute(t, m), substitute(rep, m)


def _candidate_order(candidate: tuple[Term, Term, str]) -> tuple[int, int]:
    """Discovery's order within one level (a stable sort; generation order next).

    Regrouping equations before permuting ones (``_disorder``): once commutativity is
    known, a permuted variant of a proved regrouping follows by ordered rewriting, while the
    converse does not hold. Among those, the ones over more distinct variables first: once
    ``x*(y+z) = x*y + x*z`` is proved, its instances such as ``x*(x+x) = x*x + x*x`` have
    one normal form and are skipped, while proved first each costs a proof and leaves the
    general law to the end of the level (TIP 2015's alt_mul associativity waits for it).
    """
    lhs, rhs, _ = candidate
    return _disorder(lhs, rhs), -len(set(variables(lhs)) | set(variables(rhs)))


def _disorder(a: Term, b: Term) -> int:
    """Pairs of variables whose order of first appearance differs between the two sides."""
    va, vb = variables(a), variables(b)
    common = [v for v in va if v in vb]
    pos = {v: i for i, v in enumerate(vb)}
    return sum(
        1
        for i in range(len(common))
        for j in range(i + 1, len(common))
        if pos[common[i]] > pos[common[j]]
    )


def _compositions(total: int, parts: int) -> list[tuple[int, ...]]:
    if parts == 0:
        return [()] if total == 0 else []
    if parts == 1:
        return [(total,)] if total >= 1 else []
    out = []
    for first in range(1, total - parts + 2):
        out.extend((first, *rest) for rest in _compositions(total - first, parts - 1))
    return out


def _product(pools: list[list[Term]]):
    return itertools.product(*pools)

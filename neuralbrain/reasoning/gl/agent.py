"""Agent API: facts and rules in MPL, queries answered with proof trees, booked as energy.

``Reasoner`` holds the ground facts of the current scene and the Horn rules of an MPL theory
(``(rule NAME (forall (...) (implies (and LITERAL ...) ATOM)))``, literals being atoms or
``(not ATOM)``). Each rule is a Logic Block: facts are *messages* routed to the blocks whose
body mentions their relation, each join attempt of a body literal against a fact is a
*unification*, and one round of the fixpoint (every block working on the facts of the
previous round in parallel) costs ``1 + longest body`` cycles on the critical path. The
consequences are computed bottom-up, stratum by stratum (negation as failure is allowed only
on relations of lower strata, checked when rules are added), so a query's answer does not
depend on rule order. Every derived fact keeps its provenance: the rule, the facts it used
and the negated atoms that were checked absent, which is what ``explain`` returns as JSON.

The work is charged on a ``neuralbrain.hardware`` backend as its ``message``, ``unify`` and
``block_cycle`` actions and booked into a ``Ledger`` (``blocks.GridStats.book``); a reasoner
without a backend books nothing. ``run`` stops with ``BudgetExceeded`` when the step or time
budget is spent; it never returns a partial fixpoint as if it were complete.

With the DigitPick theory (``digitpick_reasoner``; ``theories/digitpick.mpl``) a skill call
(``pick(cube_1)``, ``place(tray)``) is itself an atom, true when the skill can run now
(``neuralbrain.reasoning.affordances.GLJudge`` asks it).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from neuralbrain.energy import Ledger
from neuralbrain.errors import BudgetExceeded, ConfigError, UnknownNameError
from neuralbrain.hardware.base import Backend
from neuralbrain.reasoning.gl.blocks import GridStats, check_grid_backend
from neuralbrain.reasoning.gl.mpl import (
    And,
    Atom,
    Forall,
    Implies,
    Not,
    Theory,
    _is_int,
    load_theory,
    parse_theory,
    theories_dir,
)

Fact = tuple[str, ...]  # (relation, arg, ...)


@dataclass(frozen=True)
class ReasonerConfig:
    """Budgets of one fixpoint computation."""

    max_steps: int = 200_000  # unification attempts
    max_seconds: float = 2.0

    def __post_init__(self) -> None:
        if not (isinstance(self.max_steps, int) and self.max_steps > 0):
            raise ConfigError(f"ReasonerConfig.max_steps={self.max_steps!r}: expected an int > 0")
        if not (isinstance(self.max_seconds, int | float) and self.max_seconds > 0):
            raise ConfigError(f"ReasonerConfig.max_seconds={self.max_seconds!r}: expected > 0")


@dataclass(frozen=True)
class Clause:
    name: str
    head: Atom
    positive: tuple[Atom, ...]
    negative: tuple[Atom, ...]
    variables: frozenset[str]


def _clause(theory: Theory, name: str, formula) -> Clause:
    bound: dict[str, str] = {}
    f = formula
    while isinstance(f, Forall):
        bound.update(dict(f.variables))
        f = f.body
    bad = ConfigError(
        f"rule {name!r}: expected (forall (...) (implies (and LITERAL ...) ATOM)) with "
        f"literals ATOM or (not ATOM)"
    )
    if isinstance(f, Atom):
        body: list = []
        head = f
    elif isinstance(f, Implies) and isinstance(f.conclusion, Atom):
        head = f.conclusion
        body = list(f.premise.parts) if isinstance(f.premise, And) else [f.premise]
    else:
        raise bad
    pos, neg = [], []
    for lit in body:
        if isinstance(lit, Atom):
            pos.append(lit)
        elif isinstance(lit, Not) and isinstance(lit.body, Atom):
            neg.append(lit.body)
        else:
            raise bad
    if head.rel == "=":
        raise ConfigError(f"rule {name!r}: the head cannot be (= ...)")
    safe = {a for lit in pos for a in lit.args if a in bound}
    unsafe = sorted(
        {a for lit in (head, *neg) for a in lit.args if a in bound} - safe
    )
    if unsafe:
        raise ConfigError(
            f"rule {name!r}: variables {unsafe} of the head or of a negated literal must "
            f"occur in a positive premise (range restriction)"
        )
    return Clause(name, head, tuple(pos), tuple(neg), frozenset(bound))


_FACT_RE = re.compile(r"^\s*([^\s(),]+)\s*\((.*)\)\s*$")


class Reasoner:
    """Facts + Horn rules of an MPL theory; queries with proof trees (module docstring)."""

    def __init__(
        self,
        theory: Theory | str | Path,
        backend: Backend | None = None,
        ledger: Ledger | None = None,
        config: ReasonerConfig | None = None,
    ):
        check_grid_backend(backend)
        self.theory = theory if isinstance(theory, Theory) else load_theory(theory)
        self.backend = backend
        self.ledger = ledger if ledger is not None else Ledger()
        self.config = config or ReasonerConfig()
        self.clauses: list[Clause] = []
        for st in self.theory.of_kind("rule"):
            self.clauses.append(_clause(self.theory, st.name, st.formula))
        self._strata = self._stratify(self.clauses)
        self.constants: dict[str, str] = dict(self.theory.constants)
        self.base: set[Fact] = set()
        for a in self.theory.facts:
            self.base.add((a.rel, *a.args))
        self._derived: dict[Fact, dict] = {}
        self._dirty = True
        self.stats = GridStats()

    # -- facts and rules --------------------------------------------------------------------
    def parse_fact(self, fact: str | Iterable[str]) -> Fact:
        """``"on(cube_2, cube_1)"``, ``"(on cube_2 cube_1)"`` or ``("on", "cube_2", "cube_1")``."""
        if isinstance(fact, str):
            s = fact.strip()
            if s.startswith("("):
                parts = s.strip("()").split()
            else:
                m = _FACT_RE.match(s)
                if m is None:
                    raise ConfigError(f"fact {fact!r}: expected 'rel(arg, ...)' or '(rel arg ...)'")
                parts = [m.group(1)] + [a.strip() for a in m.group(2).split(",") if a.strip()]
        else:
            parts = [str(p) for p in fact]
        if not parts:
            raise ConfigError(f"fact {fact!r} is empty")
        rel, args = parts[0], parts[1:]
        r = self.theory.relations.get(rel)
        if r is None:
            raise UnknownNameError("relation", rel, self.theory.relations)
        if len(args) != len(r.sorts):
            raise ConfigError(
                f"fact {fact!r}: relation {rel!r} takes {len(r.sorts)} arguments {r.sorts}, "
                f"got {len(args)}"
            )
        for a, sort in zip(args, r.sorts, strict=True):
            self._check_constant(a, sort, fact)
        return (rel, *args)

    def _check_constant(self, a: str, sort: str, fact) -> None:
        if a.startswith("?"):
            return
        rng = self.theory.sorts[sort].int_range
        if rng is not None:
            # ASCII and int64-sized only: "²".isdigit() holds but int("²") fails
            if not _is_int(a) or not rng[0] <= int(a) <= rng[1]:
                raise ConfigError(
                    f"fact {fact!r}: {a!r} is not a {sort} (an integer in [{rng[0]}, {rng[1]}])"
                )
            return
        known = self.constants.get(a)
        if known is None:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", a):
                raise ConfigError(f"fact {fact!r}: {a!r} is not a valid constant name")
            self.constants[a] = sort  # a new individual of the scene, e.g. cube_3
        elif known != sort:
            raise ConfigError(f"ill-typed fact {fact!r}: {a!r} is a {known}, expected a {sort}")

    def assert_fact(self, fact: str | Iterable[str]) -> Fact:
        f = self.parse_fact(fact)
        if any(a.startswith("?") for a in f[1:]):
            raise ConfigError(f"fact {fact!r} has a variable: facts must be ground")
        if f not in self.base:
            self.base.add(f)
            self._dirty = True
        return f

    def retract_fact(self, fact: str | Iterable[str]) -> bool:
        """Remove a base fact (derived facts go with it at the next run); True if present."""
        f = self.parse_fact(fact)
        if f in self.base:
            self.base.discard(f)
            self._dirty = True
            return True
        return False

    def add_rule(self, mpl: str) -> str:
        """Add ``(rule NAME FORMULA)`` (MPL text, checked against the theory); returns NAME."""
        ext = parse_theory(mpl, "<rule>", base=self.theory)
        new = ext.statements[len(self.theory.statements):]
        if len(new) != 1 or new[0].kind != "rule":
            raise ConfigError(f"add_rule: expected exactly one (rule NAME FORMULA), got {mpl!r}")
        clause = _clause(ext, new[0].name, new[0].formula)
        strata = self._stratify([*self.clauses, clause])
        self.theory = ext
        self.clauses.append(clause)
        self._strata = strata
        self._dirty = True
        return clause.name

    @staticmethod
    def _stratify(clauses: list[Clause]) -> dict[str, int]:
        level: dict[str, int] = {}
        rels = {c.head.rel for c in clauses} | {a.rel for c in clauses for a in c.positive}
        rels |= {a.rel for c in clauses for a in c.negative}
        for _ in range(len(rels) + 2):
            changed = False
            for c in clauses:
                need = max(
                    [level.get(a.rel, 0) for a in c.positive]
                    + [level.get(a.rel, 0) + 1 for a in c.negative]
                    + [0]
                )
                if level.get(c.head.rel, 0) < need:
                    level[c.head.rel] = need
                    changed = True
            if not changed:
                return level
        raise ConfigError(
            "rules are not stratified: a relation depends on its own negation "
            f"(rules {[c.name for c in clauses]})"
        )

    # -- fixpoint ---------------------------------------------------------------------------
    def run(self, max_steps: int | None = None, max_seconds: float | None = None) -> dict:
        """Compute every consequence of the facts; ``BudgetExceeded`` if the budget runs out."""
        steps_cap = max_steps if max_steps is not None else self.config.max_steps
        deadline = time.perf_counter() + (
            max_seconds if max_seconds is not None else self.config.max_seconds
        )
        before = GridStats(**self.stats.as_dict())
        facts: dict[Fact, dict] = {f: {"fact": _show(f), "given": True} for f in sorted(self.base)}
        by_rel: dict[str, list[Fact]] = {}
        for f in facts:
            by_rel.setdefault(f[0], []).append(f)
        rounds = 0
        steps = 0
        order = sorted(self.clauses, key=lambda c: self._strata.get(c.head.rel, 0))
        for level in sorted({self._strata.get(c.head.rel, 0) for c in order}):
            layer = [c for c in order if self._strata.get(c.head.rel, 0) == level]
            changed = True
            while changed:
                changed = False
                rounds += 1
                self.stats.cycles += 1 + max((len(c.positive) + len(c.negative) for c in layer),
                                             default=0)
                new: list[tuple[Fact, dict]] = []
                for c in layer:
                    for sigma, used, tries in self._join(c, list(c.positive), {}, by_rel):
                        steps += tries
                        if steps > steps_cap or time.perf_counter() > deadline:
                            self._book(before)
                            raise BudgetExceeded(
                                f"reasoner budget exhausted after {steps} unifications "
                                f"(max_steps={steps_cap}) or the time limit; result unknown"
                            )
                        if sigma is None:
                            continue
                        absent = [_ground(a, sigma) for a in c.negative]
                        self.stats.unify += len(absent)
                        if any(a in facts for a in absent):
                            continue
                        head = _ground(c.head, sigma)
                        if head in facts or any(head == h for h, _ in new):
                            continue
                        new.append((head, {
                            "fact": _show(head),
                            "rule": c.name,
                            "premises": [_show(u) for u in used],
                            "absent": [_show(a) for a in absent],
                        }))
                for head, prov in new:
                    facts[head] = prov
                    by_rel.setdefault(head[0], []).append(head)
                    self.stats.messages += sum(
                        1 for c in self.clauses for a in (*c.positive, *c.negative)
                        if a.rel == head[0]
                    )
                    changed = True
        self._derived = facts
        self._dirty = False
        self._book(before)
        return {"facts": len(facts), "rounds": rounds, "unifications": steps}

    def _join(self, c: Clause, lits: list[Atom], sigma: dict, by_rel):
        """Yield (binding or None, facts used, unification attempts) for the positive body."""
        if not lits:
            yield dict(sigma), [], 0
            return
        first, rest = lits[0], lits[1:]
        for f in list(by_rel.get(first.rel, ())):
            self.stats.unify += 1
            self.stats.messages += 1
            s2 = _unify(first, f, sigma, c.variables)
            if s2 is None:
                yield None, [], 1
                continue
            for s3, used, tries in self._join(c, rest, s2, by_rel):
                yield s3, [f, *used], tries + 1

    def _book(self, before: GridStats) -> None:
        s = self.stats
        delta = GridStats(s.messages - before.messages, s.unify - before.unify,
                          s.rewrites - before.rewrites, s.cycles - before.cycles)
        delta.book(self.backend, self.ledger, "gl_agent")

    def facts(self) -> list[str]:
        """Every fact known after the fixpoint (base and derived), sorted."""
        if self._dirty:
            self.run()
        return sorted(_show(f) for f in self._derived)

    # -- queries ----------------------------------------------------------------------------
    def query(self, atom: str | Iterable[str]) -> dict:
        """``{"query", "holds", "answers": [{"bindings", "proof"}]}``; ``?x`` are variables."""
        q = self.parse_fact(atom)
        if self._dirty:
            self.run()
        answers = []
        for f in sorted(self._derived):
            if f[0] != q[0] or len(f) != len(q):
                continue
            sigma: dict[str, str] = {}
            ok = True
            for qa, fa in zip(q[1:], f[1:], strict=True):
                if qa.startswith("?"):
                    if sigma.setdefault(qa, fa) != fa:
                        ok = False
                        break
                elif qa != fa:
                    ok = False
                    break
            if ok:
                answers.append({"bindings": sigma, "proof": self.proof_tree(f)})
        return {"query": _show(q), "holds": bool(answers), "answers": answers}

    def proof_tree(self, f: Fact, depth: int = 0) -> dict:
        prov = self._derived[f]
        if prov.get("given") or depth > 64:
            return {"fact": prov["fact"], "given": True}
        kids = [self.proof_tree(self.parse_fact(p), depth + 1) for p in prov["premises"]]
        return {"fact": prov["fact"], "rule": prov["rule"], "premises": kids,
                "absent": prov["absent"]}

    def explain(self, atom: str | Iterable[str]) -> dict:
        """Why ``atom`` holds (its proof tree) or why not (the premise each rule misses)."""
        res = self.query(atom)
        if res["holds"]:
            return {"query": res["query"], "holds": True, "proof": res["answers"][0]["proof"]}
        q = self.parse_fact(atom)
        why = []
        for c in self.clauses:
            if c.head.rel != q[0]:
                continue
            sigma = _unify(c.head, q, {}, c.variables)
            if sigma is None:
                continue
            why.append({"rule": c.name, "fails": self._first_failure(c, sigma)})
        if not why:
            why.append({"rule": None, "fails": f"{res['query']} is not a given fact and no rule "
                        f"concludes {q[0]}"})
        return {"query": res["query"], "holds": False, "why_not": why}

    def _first_failure(self, c: Clause, sigma: dict) -> str:
        by_rel: dict[str, list[Fact]] = {}
        for f in self._derived:
            by_rel.setdefault(f[0], []).append(f)
        best: tuple[int, str] = (-1, "")
        # Find the binding that satisfies the longest prefix of the body, and report the
        # literal that stops it.
        lits = list(c.positive)

        def walk(i: int, s: dict) -> None:
            nonlocal best
            if i == len(lits):
                for a in c.negative:
                    g = _ground(a, s)
                    if g in self._derived:
                        why = self.proof_tree(g)
                        msg = f"(not {_show(g)}) fails: {_show(g)} holds"
                        if "rule" in why:
                            used = ", ".join(p["fact"] for p in why["premises"])
                            msg += f" by rule {why['rule']} from {used}"
                        if best[0] < i + 1:
                            best = (i + 1, msg)
                        return
                return
            a = lits[i]
            found = False
            for f in by_rel.get(a.rel, ()):
                s2 = _unify(a, f, s, c.variables)
                if s2 is not None:
                    found = True
                    walk(i + 1, s2)
            if not found and best[0] < i:
                shown = "(" + " ".join([a.rel, *[s.get(x, x) if x in c.variables else x
                                                 for x in a.args]]) + ")"
                best = (i, f"no fact matches {shown}")

        walk(0, dict(sigma))
        return best[1] or "every premise holds"


def _unify(a: Atom, f: Fact, sigma: dict, variables: frozenset[str]) -> dict | None:
    if a.rel != f[0] or len(a.args) != len(f) - 1:
        return None
    s = dict(sigma)
    for x, v in zip(a.args, f[1:], strict=True):
        if x in variables:
            if s.setdefault(x, v) != v:
                return None
        elif x != v:
            return None
    return s


def _ground(a: Atom, sigma: dict) -> Fact:
    return (a.rel, *(sigma.get(x, x) for x in a.args))


def _show(f: Fact) -> str:
    return f"{f[0]}({', '.join(f[1:])})"


# -- DigitPick ------------------------------------------------------------------------------

def digitpick_reasoner(
    backend: Backend | None = None, ledger: Ledger | None = None
) -> Reasoner:
    """A reasoner loaded with ``theories/digitpick.mpl``."""
    return Reasoner(theories_dir() / "digitpick.mpl", backend, ledger)


"""Prove one TIP problem with the GL machinery; what ``neuralbrain prove FILE.smt2`` runs.

``tip_to_mpl`` writes the problem (``tip.py``) as an MPL theory: each ground sort a
``(sort ...)``, each nullary constructor a ``(constant ...)``, each other constructor and
each defined function a ``functional`` relation, each rewrite rule an axiom, and the goal a
``(theorem goal ...)``. Nullary defined functions are inlined. Variables are renamed
``%v0, %v1, ...`` so they cannot clash with a TIP symbol, and a constructor or function
whose name MPL reserves (``sort``, ``and``, ...) gets a prime. The goal's first variable sort
shaped like the naturals (one constant, one unary self-recursive constructor) gets the
``(induction S (base c) (step f))`` declaration; every other datatype gets structural
induction, ``(induction S (cases C ...))``. Lemma discovery enumerates terms over the
goal's functions (``discovery_signature``) and filters them on small ground values of
every datatype (``models.TermModel``). The prover tries induction hypotheses generalised
over the goal's other variables first, and case-splits on a sub-term that blocks rewriting
(an ``ite`` condition, a variable a function matches on).

The file's lemma hints (``(assert ...)``) that the reader expresses become theorems
``hint1, hint2, ...`` before the goal: targets to prove, used only once proved.

``prove_tip`` then runs ``Prover.prove_targets`` (lemma discovery included; the run ends when
the goal is proved, whatever is left of the hints), builds the proof document and hands it to
the independent checker: the problem is ``proved`` only when the checker accepts every theorem
of the document, the goal among them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import time
from pathlib import Path

from neuralbrain.energy import Ledger
from neuralbrain.errors import Error
from neuralbrain.hardware import make_backend
from neuralbrain.reasoning.gl.checker import check_document
from neuralbrain.reasoning.gl.equations import Equation, equation_to_mpl
from neuralbrain.reasoning.gl.export import proof_document
from neuralbrain.reasoning.gl.mpl import Theory, parse_theory
from neuralbrain.reasoning.gl.prover import ProofRun, Prover, ProverConfig
from neuralbrain.reasoning.gl.run import peak_mb
from neuralbrain.reasoning.gl.terms import Term, substitute, variables
from neuralbrain.reasoning.gl.tip import (
    Constructor,
    Function,
    TipProblem,
    UnsupportedError,
    load_tip,
)
from neuralbrain.reasoning.gl.tip_ints import int_functions

GOAL = "goal"
HINT = "hint"  # the file's lemma hints, hint1, hint2, ...: proved before use, never assumed
INT_FUNCTIONS = set(int_functions())


def _inline_constants(p: TipProblem) -> dict[str, Term]:
    """Nullary defined functions -> their (closed) definition, inlined transitively."""
    consts = {f.name: f.rules[0][1] for f in p.functions.values() if not f.args and f.rules}

    def expand(t: Term, depth: int = 0) -> Term:
        if isinstance(t, str):
            return t
        if len(t) == 1 and t[0] in consts and depth < 50:
            return expand(consts[t[0]], depth + 1)
        return (t[0], *(expand(a, depth) for a in t[1:]))

    return {k: expand(v) for k, v in consts.items()}


def _expand(t: Term, consts: dict[str, Term]) -> Term:
    if isinstance(t, str):
        return t
    if len(t) == 1 and t[0] in consts:
        return consts[t[0]]
    return (t[0], *(_expand(a, consts) for a in t[1:]))


def _sorts_of(t: Term, sig: dict[str, tuple[tuple[str, ...], str]], out: dict[str, str]) -> None:
    if isinstance(t, str):
        return
    args = sig[t[0]][0]
    for a, s in zip(t[1:], args, strict=True):
        if isinstance(a, str):
            out[a] = s
        else:
            _sorts_of(a, sig, out)


def nat_sort(p: TipProblem) -> tuple[str, str, str] | None:
    """``(sort, base, step)`` of the goal's first naturals-shaped variable sort, if any."""
    for _, s in p.goal_vars:
        cs = p.datatype(s)
        if len(cs) != 2:
            continue
        base = [c for c in cs if not c.fields]
        step = [c for c in cs if len(c.fields) == 1 and c.fields[0][1] == s]
        if len(base) == 1 and len(step) == 1:
            return s, base[0].name, step[0].name
    return None


_MPL_RESERVED = {"sort", "constant", "relation", "axiom", "rule", "theorem", "fact",
                 "induction", "and", "implies", "not", "forall", "=", "functional", "base",
                 "step", "cases", "integers"}


def _mpl_safe(p: TipProblem) -> TipProblem:
    """Rename constructors/functions whose TIP name MPL reserves (``sort``, ``and``, a
    numeral, a sort's name) to ``NAME'`` (primes added until unique); same problem else."""
    taken = {*p.sorts, *p.constructors, *p.functions}
    ren: dict[str, str] = {}
    for n in [*p.constructors, *p.functions]:
        if n in _MPL_RESERVED or n in p.sorts or n.lstrip("-").isdigit():
            new = n + "'"
            while new in taken:
                new += "'"
            taken.add(new)
            ren[n] = new
    if not ren:
        return p

    def r(t: Term) -> Term:
        if isinstance(t, str):
            return t
        return (ren.get(t[0], t[0]), *(r(a) for a in t[1:]))

    q = TipProblem(source=p.source, sorts=list(p.sorts), uninterpreted=list(p.uninterpreted),
                   goal_lhs=r(p.goal_lhs), goal_rhs=r(p.goal_rhs), goal_vars=p.goal_vars,
                   hints=p.hints,
                   hint_goals=[(r(lhs), r(rhs), vs) for lhs, rhs, vs in p.hint_goals])
    for c in p.constructors.values():
        q.constructors[ren.get(c.name, c.name)] = Constructor(ren.get(c.name, c.name),
                                                              c.fields, c.sort)
    for f in p.functions.values():
        q.functions[ren.get(f.name, f.name)] = Function(
            ren.get(f.name, f.name), f.args, f.result,
            tuple((r(lhs), r(rhs)) for lhs, rhs in f.rules))
    return q


def tip_to_mpl(p: TipProblem) -> tuple[str, str, str | None]:
    """``(theory text, goal theorem text, induction sort or None)``."""
    p = _mpl_safe(p)
    consts = _inline_constants(p)
    sig: dict[str, tuple[tuple[str, ...], str]] = {}
    lines = [f"; from {p.source}"]
    lines += [f"(sort {s})" for s in p.sorts]
    for c in p.constructors.values():
        if c.fields:
            sig[c.name] = (tuple(s for _, s in c.fields), c.sort)
            lines.append(f"(relation {c.name} ({' '.join([*sig[c.name][0], c.sort])}) functional)")
        else:
            sig[c.name] = ((), c.sort)
            lines.append(f"(constant {c.name} {c.sort})")
    for f in p.functions.values():
        if f.args:
            sig[f.name] = (f.args, f.result)
            lines.append(f"(relation {f.name} ({' '.join([*f.args, f.result])}) functional)")
        elif not f.rules:  # a closed lambda: a constant of its function sort
            sig[f.name] = ((), f.result)
            lines.append(f"(constant {f.name} {f.result})")
    nat = nat_sort(p)
    if nat is not None:
        lines.append(f"(induction {nat[0]} (base {nat[1]}) (step {nat[2]}))")
    for s in p.sorts:
        cs = p.datatype(s)
        if cs and (nat is None or s != nat[0]):
            lines.append(f"(induction {s} (cases {' '.join(c.name for c in cs)}))")
    decls = "\n".join(lines) + "\n"
    theory = parse_theory(decls, p.source)

    def eq_text(kind: str, name: str, lhs: Term, rhs: Term, sorts: dict[str, str]) -> str:
        vs = variables(rhs, variables(lhs))
        ren = {v: f"%v{i}" for i, v in enumerate(vs)}
        eq = Equation(substitute(lhs, ren), substitute(rhs, ren),
                      tuple((ren[v], sorts[v]) for v in vs))
        return equation_to_mpl(theory, name, eq, kind)

    axioms = []
    for f in p.functions.values():
        if not f.args:
            continue
        for k, (lhs, rhs) in enumerate(f.rules):
            lhs, rhs = _expand(lhs, consts), _expand(rhs, consts)
            srt: dict[str, str] = {}
            _sorts_of(lhs, sig, srt)
            axioms.append(eq_text("axiom", f"{f.name}.{k}", lhs, rhs, srt))
    goals = [eq_text("theorem", f"{HINT}{k}", _expand(lhs, consts), _expand(rhs, consts),
                     dict(vs)) for k, (lhs, rhs, vs) in enumerate(p.hint_goals, 1)]
    goals.append(eq_text("theorem", GOAL, _expand(p.goal_lhs, consts),
                         _expand(p.goal_rhs, consts), dict(p.goal_vars)))
    return decls + "\n".join(axioms) + "\n", "\n".join(goals) + "\n", nat[0] if nat else None


def discovery_signature(p: TipProblem) -> set[str]:
    """What lemma discovery enumerates terms over: the goal's functions and every function
    their definitions call, transitively, and the constructors of every sort they touch.
    Selectors and the reader's auxiliary functions (``ite%``, ``case%1``, ...) are left
    out: a lemma about them is a lemma about the function that uses them. Equality inside
    a term (``equal%[S]``) stays: ``x = x`` is a lemma conditional goals need; so do the
    goal's closures (``lam%k``): ``map fst (select x ys) = map fst ys`` is about one; and
    so does ``Int``'s arithmetic (``plus%``, ``le%``, ...), which stands for TIP's own."""
    p = _mpl_safe(p)
    selectors = {sel for c in p.constructors.values() for sel, _ in c.fields}
    # an auxiliary's mark is in its base name: ``count[int%]`` is ``count`` at TIP's Int
    keep = {f for f, fn in p.functions.items() if fn.args and f not in selectors and
            ("%" not in f.split("[")[0] or f.startswith(("equal%", "lam%"))
             or f in INT_FUNCTIONS)}

    def heads(t: Term, out: set[str]) -> set[str]:
        if not isinstance(t, str):
            out.add(t[0])
            for a in t[1:]:
                heads(a, out)
        return out

    todo = list(heads(p.goal_rhs, heads(p.goal_lhs, set())))
    seen: set[str] = set()
    while todo:
        f = todo.pop()
        if f in seen or f not in p.functions:
            continue
        seen.add(f)
        for _, rhs in p.functions[f].rules:
            todo.extend(heads(rhs, set()) - seen)
    funcs = seen & keep
    sorts = {s for _, s in p.goal_vars}
    for f in funcs:
        sorts |= {*p.functions[f].args, p.functions[f].result}
    ctors = {c.name for c in p.constructors.values() if c.sort in sorts}
    return funcs | ctors


# Proof search for TIP problems, set over any ``ProverConfig`` given to ``prove_tip``: case
# splits (up to 3 nested in a goal's proof, 1 in discovery, on variables too: TIP functions
# match on several arguments, max, <=, zip); discovery pairs each term with up to 8 more
# members of its class (accumulator definitions such as add3acc need the right partner);
# at most half the time goes to retrying the goal after discovered lemmas; definitions
# rewrite as written (the reader showed them terminating); accumulator lemmas are tried
# with 10% of the budget each (sort_nat_TSortCount's is proved in 10 s then, with 2% not)
TIP_SEARCH = {"max_split_depth": 3, "discovery_split_depth": 1, "discovery_split_vars": True,
              "class_pairs": 8, "goal_share": 0.5, "definitions_as_written": True,
              "accumulator_share": 0.1}


@dataclasses.dataclass
class TipSearch:
    """What ``search_tip`` leaves: the prover (every theorem it proved, not only the goal's
    closure), the run, and the MPL theory with its text and induction sort."""

    prover: Prover
    run: ProofRun
    theory: Theory
    text: str
    induction_sort: str | None


def search_tip(problem: TipProblem, source: str, config: ProverConfig | None = None,
               search: dict | None = None) -> TipSearch:
    """The proof search ``prove_tip`` runs, before the checker: ``config`` with ``TIP_SEARCH``
    (updated by ``search``) set over it, the file's hints and the goal as targets, lemma
    discovery over ``discovery_signature``; the run ends once the goal is proved."""
    text, goal, ind = tip_to_mpl(problem)
    theory = parse_theory(text, source)
    extended = parse_theory(goal, source, base=theory)
    target = extended.statements[len(theory.statements):]
    config = dataclasses.replace(config or ProverConfig(), **{**TIP_SEARCH, **(search or {})})
    prover = Prover(theory, config, make_backend("logic_grid"), Ledger())
    run = prover.prove_targets([(s.name, s.formula) for s in target],
                               signature=discovery_signature(problem), required={GOAL})
    return TipSearch(prover, run, theory, text, ind)


def prove_tip(path: str | Path, config: ProverConfig | None = None,
              search: dict | None = None) -> dict:
    """One problem -> ``{"problem", "status", "seconds", "peak_mb", "lemmas", "reason"}``.

    The proof search is ``search_tip``'s (``config`` with ``TIP_SEARCH`` updated by
    ``search`` set over it), every proof then replayed by the checker.

    ``status`` is ``proved`` (the checker accepted the goal's proof and every lemma it rests
    on), ``unproved`` or ``unsupported`` (``UnsupportedError`` from the reader).
    """
    t0 = time.perf_counter()
    out = {"problem": str(path), "status": "unproved", "seconds": 0.0, "peak_mb": 0.0,
           "lemmas": [], "reason": ""}
    try:
        problem = load_tip(path)
    except UnsupportedError as e:
        out.update(status="unsupported", reason=str(e), construct=e.construct)
        out.update(seconds=round(time.perf_counter() - t0, 3), peak_mb=round(peak_mb(), 1))
        return out
    found = search_tip(problem, str(path), config, search)
    run, text = found.run, found.text
    doc = proof_document(found.theory, hashlib.sha256(text.encode()).hexdigest(), run)
    report = check_document(doc, text)
    goal_thm = next((t for t in run.theorems if t.name == GOAL), None)
    if goal_thm is not None and report.ok and goal_thm.tid in report.accepted:
        out["status"] = "proved"
        out["lemmas"] = [t.statement for t in run.theorems if t.tid != goal_thm.tid]
    else:
        why = "; ".join(u.get("reason", "") for u in run.unproved) or "not proved"
        if report.rejected:
            why = f"checker rejected: {report.rejected[0]['reason']}"
        out["reason"] = why
    out.update(seconds=round(time.perf_counter() - t0, 3), peak_mb=round(peak_mb(), 1),
               induction_sort=found.induction_sort, budget_exhausted=run.budget_exhausted)
    return out


def _limit_memory(mb: float) -> None:  # runs in the child before exec
    import resource

    cap = int((mb + 2048) * 2**20)  # the prover's own RSS cap is mb; this is the backstop
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def prove_child(path: str | Path, budget_s: float, max_memory_mb: float) -> dict:
    """``prove_tip`` in a child process killed after ``budget_s`` + 5 s, its address space
    capped, so one problem cannot stop a folder run."""
    import subprocess

    cmd = [sys.executable, "-m", "neuralbrain.reasoning.gl.tip_prove", str(path),
           str(budget_s), str(max_memory_mb)]
    t0 = time.perf_counter()
    base = {"problem": str(path), "status": "unproved", "lemmas": [], "peak_mb": None}
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=budget_s + 5.0,
                           preexec_fn=lambda: _limit_memory(max_memory_mb))
    except subprocess.TimeoutExpired:
        return {**base, "seconds": round(time.perf_counter() - t0, 3),
                "reason": f"killed at the time limit ({budget_s} s + 5 s)"}
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (r.stderr.strip().splitlines() or ["no output"])[-1][:300]
        return {**base, "seconds": round(time.perf_counter() - t0, 3),
                "reason": f"child exited {r.returncode} (memory limit or crash): {tail}"}


def prove_folder(folder: str | Path, budget_s: float, max_memory_mb: float,
                 plot_dir: str | Path | None = None) -> dict:
    """Every ``*.smt2`` under ``folder`` (sorted), each in its own child process."""
    files = sorted(Path(folder).rglob("*.smt2"))
    results = [prove_child(f, budget_s, max_memory_mb) for f in files]
    count = {k: sum(1 for r in results if r["status"] == k)
             for k in ("proved", "unproved", "unsupported", "error")}
    out = {"problems": len(results), "proved": count["proved"], "unproved": count["unproved"],
           "unsupported": count["unsupported"], "errors": count["error"],
           "budget_s": budget_s, "results": results}
    if plot_dir is not None:
        out["plot"] = str(cactus_plot({"GL (ours)": results}, plot_dir))
    return out


def cactus_plot(runs: dict[str, list[dict]], plot_dir: str | Path) -> Path:
    """Problems solved (y) within time t (x): one line per prover; ``cactus.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = Path(plot_dir)
    d.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, results in runs.items():
        ts = sorted(r["seconds"] for r in results if r["status"] == "proved")
        ax.step([0.0, *ts], range(len(ts) + 1), where="post", label=f"{label}: {len(ts)}")
    ax.set_xlabel("time per problem (s)")
    ax.set_ylabel("problems proved (GL: checker-accepted; cvc5: unsat)")
    ax.set_title("TIP benchmarks: cactus plot")
    ax.legend()
    fig.tight_layout()
    out = d / "cactus.png"
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    """Child-process entry: ``python -m neuralbrain.reasoning.gl.tip_prove FILE BUDGET MB``."""
    args = sys.argv[1:] if argv is None else argv
    path, budget, mem = args[0], float(args[1]), float(args[2])
    try:
        res = prove_tip(path, ProverConfig(budget_s=budget, max_memory_mb=mem))
    except Error as e:
        res = {"problem": path, "status": "error", "seconds": 0.0, "peak_mb": round(peak_mb(), 1),
               "lemmas": [], "reason": str(e)}
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

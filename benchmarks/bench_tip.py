"""TIP benchmarks: the GL reasoner against cvc5 (with its induction options), same run.

Both provers get the same problems, the same monomorphised theory and the same per-problem
time limit:

- *ours*: ``neuralbrain.reasoning.gl.tip_prove.prove_child`` (the GL prover with lemma
  discovery, every proof re-checked by the independent checker; a child process per
  problem, killed at the budget + 5 s);
- *cvc5* (``pip install cvc5``, Python API, ``--quant-ind --conjecture-gen``: structural
  induction on the negated conjecture's Skolem constants and conjecture generation, the
  options named in "Induction and Conjecture Generation in cvc5", cvc5 blog, 2024-10-17,
  https://cvc5.github.io/blog/2024/10/17/induction-and-conjecture-generation-in-cvc5.html):
  the theory ``tip.py`` reads, written as SMT-LIB: every ground datatype instance declared
  (``par`` type parameters instantiated with the fresh sort ``sk``, as for ours), every
  function declared and defined by its rewrite rules as universally quantified equations,
  the goal as ``(assert (not φ))``; ``unsat`` counts as proved. ``Int``, which our prover
  reads as the naturals where that proves the same goal (``tip_ints``), is cvc5's own
  integer arithmetic (``+``, ``*``, ``<=``, ``<``, numerals), as the problem states it; an
  abstract sort our prover reads as an infinite datatype for its ``=`` (``tip.py``) stays
  abstract for cvc5, with its own ``=``. ``tlimit-per`` is the
  budget; the child process is killed at budget + 5 s.

TIP's ``(assert ...)`` lemma hints (those the reader can express, ``tip.py``): ours proves
each before using it (a target like the goal; an unproved hint is never used); cvc5 gets
them as axioms, assumed, as the problem file states them: more than ours gets. A problem
the TIP reader refuses
(``UnsupportedError``: Int arithmetic, higher-order functions, non-structural recursion ...)
is counted unsupported for both: it is not translated for cvc5 either.

Prints per set: problems, unsupported, solved and total seconds for each prover side by side,
the problems each solves that the other does not, then one line of JSON. Run::

    OMP_NUM_THREADS=1 nice python benchmarks/bench_tip.py --budget-s 10 [--sets isaplanner]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from neuralbrain.reasoning.gl.terms import Term, variables  # noqa: E402
from neuralbrain.reasoning.gl.tip import BOOL, TipProblem, UnsupportedError, load_tip  # noqa: E402
from neuralbrain.reasoning.gl.tip_ints import INT, LE, LT, PLUS, SUCC, TIMES, ZERO  # noqa: E402
from neuralbrain.reasoning.gl.tip_prove import cactus_plot, prove_child  # noqa: E402

CVC5_OPTIONS = {"quant-ind": "true", "conjecture-gen": "true"}
# Int, which our prover reads as the naturals (tip_ints), is cvc5's own integer arithmetic:
# the TIP problem as written, not our reading of it
NATIVE_INT = {PLUS: ("+", False), TIMES: ("*", False), LE: ("<=", True), LT: ("<", True),
              f"equal%[{INT}]": ("=", True)}


def _q(name: str) -> str:
    return f"|{name.replace('|', '')}|"  # TIP quoted symbols (|-2|) keep their bars


def to_smtlib(p: TipProblem) -> str:
    """The problem's monomorphised first-order theory and negated goal, as SMT-LIB 2.6."""
    bool_name = {"true": "true%", "false": "false%"}

    def sym(n: str) -> str:
        return _q(bool_name.get(n, n))

    def srt(s: str) -> str:
        return "Int" if s == INT else _q("Bool%" if s == BOOL else s)

    sig: dict[str, tuple[tuple[str, ...], str]] = {}
    # likewise an abstract sort our prover reads as an infinite datatype for its = (tip.py,
    # infinite_model) stays abstract, with cvc5's own =
    native = {**NATIVE_INT, **{f"equal%[{s}]": ("=", True) for s in p.equality_sorts}}
    out = ["(set-logic ALL)"]
    for s in [*p.uninterpreted, *p.equality_sorts]:
        out.append(f"(declare-sort {srt(s)} 0)")
    dts = [s for s in p.sorts if s not in p.uninterpreted and s != INT and
           s not in p.equality_sorts]
    sig.update({ZERO: ((), INT), SUCC: ((INT,), INT)})
    if dts:
        decls = " ".join(f"({srt(s)} 0)" for s in dts)
        bodies = []
        for s in dts:
            cs = []
            for c in p.datatype(s):
                sig[c.name] = (tuple(fs for _, fs in c.fields), c.sort)
                fields = " ".join(f"({_q('sel%' + c.name + '%' + str(i))} {srt(fs)})"
                                  for i, (_, fs) in enumerate(c.fields))
                cs.append(f"({sym(c.name)}{' ' + fields if fields else ''})")
            bodies.append(f"({' '.join(cs)})")
        out.append(f"(declare-datatypes ({decls}) ({' '.join(bodies)}))")
    for f in p.functions.values():
        sig[f.name] = (f.args, f.result)
        if f.name in native:
            continue
        out.append(f"(declare-fun {sym(f.name)} ({' '.join(srt(a) for a in f.args)}) "
                   f"{srt(f.result)})")

    def term(t: Term) -> str:
        if isinstance(t, str):
            return _q("v%" + t)
        if t[0] in (ZERO, SUCC):  # a numeral (or 1 + t): Int as cvc5's own integers
            n = 0
            while not isinstance(t, str) and t[0] == SUCC:
                n, t = n + 1, t[1]
            return str(n) if t == (ZERO,) else f"(+ {n} {term(t)})"
        if t[0] in native:
            op, boolean = native[t[0]]
            app = f"({op} {' '.join(term(a) for a in t[1:])})"
            return f"(ite {app} {sym('true')} {sym('false')})" if boolean else app
        if len(t) == 1:
            return sym(t[0])
        return f"({sym(t[0])} {' '.join(term(a) for a in t[1:])})"

    def sorts_of(t: Term, acc: dict[str, str]) -> dict[str, str]:
        if not isinstance(t, str):
            for a, s in zip(t[1:], sig[t[0]][0], strict=True):
                if isinstance(a, str):
                    acc[a] = s
                else:
                    sorts_of(a, acc)
        return acc

    def equation(vs: list[tuple[str, str]], lhs: Term, rhs: Term) -> str:
        """``lhs = rhs`` for all ``vs``."""
        body = f"(= {term(lhs)} {term(rhs)})"
        if not vs:
            return body
        return f"(forall ({' '.join(f'({term(v)} {srt(s)})' for v, s in vs)}) {body})"

    for f in p.functions.values():
        if f.name in native:
            continue
        for lhs, rhs in f.rules:
            ss = sorts_of(lhs, {})
            vs = [(v, ss[v]) for v in variables(lhs)]
            out.append(f"(assert {equation(vs, lhs, rhs)})")
    for lhs, rhs, vs in p.hint_goals:
        out.append(f"(assert {equation(list(vs), lhs, rhs)})")
    out.append(f"(assert (not {equation(list(p.goal_vars), p.goal_lhs, p.goal_rhs)}))")
    out.append("(check-sat)")
    return "\n".join(out) + "\n"


def cvc5_child(smt_path: str, budget_s: float) -> None:
    """Child entry: solve one SMT-LIB file with the cvc5 Python API; print the answer."""
    import cvc5

    tm = cvc5.TermManager()
    solver = cvc5.Solver(tm)
    for k, v in CVC5_OPTIONS.items():
        solver.setOption(k, v)
    solver.setOption("tlimit-per", str(int(budget_s * 1000)))
    sm = cvc5.SymbolManager(tm)
    parser = cvc5.InputParser(solver, sm)
    parser.setFileInput(cvc5.InputLanguage.SMT_LIB_2_6, smt_path)
    answer = "unknown"
    while True:
        cmd = parser.nextCommand()
        if cmd.isNull():
            break
        r = cmd.invoke(solver, sm)
        if r.strip():
            answer = r.strip()
    print(answer)


def run_cvc5(p: TipProblem, budget_s: float, tmp: Path) -> dict:
    smt = tmp / (Path(p.source).stem + ".smt2")
    smt.write_text(to_smtlib(p))
    t0 = time.perf_counter()
    try:
        r = subprocess.run([sys.executable, __file__, "--cvc5-child", str(smt), str(budget_s)],
                           capture_output=True, text=True, timeout=budget_s + 5)
        ans = (r.stdout.strip().splitlines() or [f"error: {r.stderr.strip()[-200:]}"])[-1]
    except subprocess.TimeoutExpired:
        ans = "timeout (killed)"
    secs = round(time.perf_counter() - t0, 3)
    return {"problem": p.source, "status": "proved" if ans == "unsat" else "unproved",
            "seconds": secs, "answer": ans}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--budget-s", type=float, default=10.0)
    ap.add_argument("--max-memory-mb", type=float, default=1024.0)
    ap.add_argument("--sets", default="isaplanner,tip2015")
    ap.add_argument("--limit", type=int, default=0, help="first N problems per set (0: all)")
    ap.add_argument("--plot", help="folder for cactus plots (one per set)")
    ap.add_argument("--jobs", type=int, default=1, help="problems run at once")
    ap.add_argument("--cvc5-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.cvc5_child:
        cvc5_child(args.cvc5_child[0], float(args.cvc5_child[1]))
        return 0
    root = Path(os.environ.get("NEURALBRAIN_DATA", "../shared/data")) / "tip"
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_tip_{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    figures: dict = {"budget_s": args.budget_s, "cvc5_options": CVC5_OPTIONS}
    for name in args.sets.split(","):
        files = sorted((root / name).glob("*.smt2"))
        if args.limit:
            files = files[: args.limit]
        def both(f: Path, name: str = name) -> tuple[dict, dict]:
            try:
                p = load_tip(f)
            except UnsupportedError as e:
                return ({"problem": str(f), "status": "unsupported", "seconds": 0.0,
                         "reason": str(e)},
                        {"problem": str(f), "status": "unsupported", "seconds": 0.0})
            mine = prove_child(f, args.budget_s, args.max_memory_mb)
            theirs = run_cvc5(p, args.budget_s, tmp)
            print(f"{name}/{f.name}: ours {mine['status']} {mine['seconds']:.2f} s | "
                  f"cvc5 {theirs['status']} {theirs['seconds']:.2f} s", flush=True)
            return mine, theirs

        # each problem runs in child processes (ours, then cvc5): --jobs of them at once
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            pairs = list(pool.map(both, files))
        ours = [a for a, _ in pairs]
        peer = [b for _, b in pairs]
        unsupported = sum(r["status"] == "unsupported" for r in ours)
        po = {Path(r["problem"]).stem for r in ours if r["status"] == "proved"}
        pc = {Path(r["problem"]).stem for r in peer if r["status"] == "proved"}
        to = round(sum(r["seconds"] for r in ours), 1)
        tc = round(sum(r["seconds"] for r in peer), 1)
        print(f"\n{name}: {len(files)} problems, {unsupported} unsupported by the TIP reader "
              f"(not run for either), {args.budget_s} s each")
        print(f"  {'':10s} {'solved':>7s} {'total s':>9s}")
        print(f"  {'GL (ours)':10s} {len(po):7d} {to:9.1f}")
        print(f"  {'cvc5':10s} {len(pc):7d} {tc:9.1f}")
        print(f"  only ours: {sorted(po - pc)}")
        print(f"  only cvc5: {sorted(pc - po)}")
        figures[name] = {"problems": len(files), "unsupported": unsupported,
                         "ours_solved": len(po), "cvc5_solved": len(pc),
                         "ours_total_s": to, "cvc5_total_s": tc,
                         "only_ours": sorted(po - pc), "only_cvc5": sorted(pc - po)}
        if args.plot:
            figures[name]["plot"] = str(cactus_plot({"GL (ours)": ours, "cvc5": peer},
                                                    Path(args.plot) / name))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``neuralbrain prove THEORY.mpl [--targets FILE] [--html DIR] [--proofs FILE] [--budget-s S]``.

(and ``neuralbrain prove PROBLEM.smt2`` / ``neuralbrain prove DIR --budget-s 10 [--plot DIR]``:
TIP problems, see ``tip_prove.py``; a folder runs each problem in a child process with the
time budget and ``--max-memory-mb`` as its limits, and prints the totals
``{"problems", "proved", "unproved", "unsupported", "errors", "results"}``.)

(and ``neuralbrain check-proofs THEORY.mpl PROOFS.json``: the independent checker alone.)

Discovers and proves laws of an MPL theory (or the theorems of ``--targets``), checks every
proof with the independent checker, optionally writes the HTML pages and the JSON proof
document, and prints one JSON object with ``--json``. Exit code 0 when every proof was
accepted, nothing asked for stayed unproved and the budget sufficed, 1 otherwise; bad input raises a
``neuralbrain.errors.Error`` (the CLI prints it on one line and exits 2).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from neuralbrain.errors import ConfigError


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "prove",
        help="discover and prove laws of an MPL theory (Generative Logic reasoner)",
        description=__doc__,
    )
    p.add_argument("theory", help="MPL theory file (e.g. neuralbrain/reasoning/gl/theories/"
                   "peano.mpl), a TIP problem (.smt2) or a folder of TIP problems")
    p.add_argument("--targets", help="MPL file of (theorem NAME FORMULA) forms to prove")
    p.add_argument("--html", help="folder to write the HTML proof pages into")
    p.add_argument("--proofs", help="path of the JSON proof document to write")
    p.add_argument("--budget-s", type=float, default=30.0, help="time budget in seconds")
    p.add_argument("--max-term-size", type=int, default=7, help="discovery term size bound")
    p.add_argument("--max-memory-mb", type=float, default=1024.0,
                   help="memory cap: growth of the resident set during the run, in MiB")
    p.add_argument("--backend", default="logic_grid", help="backend that books the reasoning")
    p.add_argument("--plot", help="TIP folder: directory to write the cactus plot into")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=handle_prove)

    c = subparsers.add_parser(
        "check-proofs",
        help="replay a GL proof document against its theory with the independent checker",
    )
    c.add_argument("theory", help="the MPL theory the proofs were made for")
    c.add_argument("proofs", help="JSON proof document written by 'prove --proofs'")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.set_defaults(func=handle_check)


def handle_check(args: argparse.Namespace) -> int:
    from neuralbrain.reasoning.gl.checker import check_files

    report = check_files(args.proofs, args.theory)
    if args.json:
        print(json.dumps(report.as_json()))
    else:
        print(f"accepted {len(report.accepted)} theorems, rejected {len(report.rejected)}")
        for r in report.rejected:
            print(f"rejected: {r['id']}: {r['reason']}")
    return 0 if report.ok else 1


def handle_prove(args: argparse.Namespace) -> int:
    from neuralbrain.reasoning.gl.prover import ProverConfig
    from neuralbrain.reasoning.gl.run import prove_file

    if not args.budget_s > 0:
        raise ConfigError(f"--budget-s {args.budget_s!r}: expected a number of seconds > 0")
    if not args.max_memory_mb > 0:
        raise ConfigError(f"--max-memory-mb {args.max_memory_mb!r}: expected MiB > 0")
    path = Path(args.theory)
    if path.is_dir() or path.suffix == ".smt2":
        return _prove_tip(args, path)
    cfg = ProverConfig(budget_s=float(args.budget_s), max_term_size=args.max_term_size,
                       max_memory_mb=float(args.max_memory_mb))
    out = prove_file(args.theory, args.targets, args.html, args.proofs, cfg, args.backend)
    if args.json:
        print(json.dumps(out))
    else:
        print(f"proved {len(out['proved'])} theorems in {out['seconds']} s "
              f"(peak {out['peak_mb']} MB); laws: {', '.join(out['laws_found']) or 'none'}")
        print(f"checker: {'every proof accepted' if out['checked'] else 'REJECTED'}")
        if out["budget_exhausted"]:
            print(f"budget exhausted: the run stopped early at its {out['exhausted_by']} limit "
                  "(not proved within budget)")
        for u in out["unproved"]:
            print(f"not proved: {u.get('name')}: {u.get('reason')}")
        for r in out["rejected"]:
            print(f"rejected: {r['id']}: {r['reason']}")
    ok = out["checked"] and not out["unproved"] and not out["budget_exhausted"]
    return 0 if ok else 1


def _prove_tip(args: argparse.Namespace, path: Path) -> int:
    """A TIP problem (in this process) or a folder of them (one child process each)."""
    from neuralbrain.reasoning.gl.prover import ProverConfig
    from neuralbrain.reasoning.gl.tip_prove import prove_folder, prove_tip

    if path.is_dir():
        out = prove_folder(path, float(args.budget_s), float(args.max_memory_mb), args.plot)
        if args.json:
            print(json.dumps(out))
        else:
            for r in out["results"]:
                print(f"{r['status']:11s} {r['seconds']:7.2f} s  {Path(r['problem']).name}")
            print(f"{out['proved']} proved, {out['unproved']} unproved, {out['unsupported']} "
                  f"unsupported, {out['errors']} errors of {out['problems']} problems")
        return 0 if out["proved"] == out["problems"] else 1
    cfg = ProverConfig(budget_s=float(args.budget_s), max_term_size=args.max_term_size,
                       max_memory_mb=float(args.max_memory_mb))
    out = prove_tip(path, cfg)
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{out['status']} in {out['seconds']} s (peak {out['peak_mb']} MB)"
              + (f": {out['reason']}" if out["reason"] else ""))
        for lemma in out["lemmas"]:
            print(f"lemma: {lemma}")
    return 0 if out["status"] == "proved" else 1

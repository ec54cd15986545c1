"""Benchmark: discovery and checked proof of the Peano laws by the GL reasoner.

Runs ``neuralbrain prove`` on ``theories/peano.mpl`` (no targets), prints the time, the peak
memory, every proved theorem, and the independent checker's verdict, then one JSON line.

Peer: the reference Generative Logic implementation (C++) needs ~300 s and ~1.4 GB on this
2-core machine for its Peano batch (figures quoted from the task description; its code is
AGPL and is not run here), so ``speedup_vs_reference`` and ``memory_ratio_vs_reference``
are against those quoted figures, not a same-run measurement. The same-run figure printed
beside it is the independent checker replaying every proof, as a measure of how much of the
time is search rather than proof checking. The prover is single-threaded by design (its
output must not depend on the core count), so the 1-thread figure is the only one.

Usage: ``OMP_NUM_THREADS=1 python benchmarks/bench_gl.py [--budget-s 30]``
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

REFERENCE_S = 300.0
REFERENCE_MB = 1400.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget-s", type=float, default=30.0)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    from neuralbrain.reasoning.gl.checker import check_files
    from neuralbrain.reasoning.gl.mpl import theories_dir
    from neuralbrain.reasoning.gl.prover import ProverConfig
    from neuralbrain.reasoning.gl.run import prove_file

    theory = theories_dir() / "peano.mpl"
    with tempfile.TemporaryDirectory() as tmp:
        proofs = Path(tmp) / "proofs.json"
        out = prove_file(theory, json_path=proofs, config=ProverConfig(budget_s=args.budget_s))
        t0 = time.perf_counter()
        report = check_files(proofs, theory)
        check_s = time.perf_counter() - t0
        doc = json.loads(proofs.read_text())

    for t in doc["theorems"]:
        tag = f"  [{t['law']}]" if t["law"] else ""
        print(f"{t['name']:>10}: {t['text']}  ({t['proof']['method']}){tag}")
    print(f"theorems proved: {len(out['proved'])}; laws: {', '.join(out['laws_found'])}")
    print(f"discovery + proof + export + check: {out['seconds']:.2f} s, peak {out['peak_mb']:.0f} MB"
          f" (reference C++, quoted: {REFERENCE_S:.0f} s, {REFERENCE_MB:.0f} MB)")
    print(f"checker alone replaying every step: {check_s:.2f} s; accepted "
          f"{len(report.accepted)}/{len(doc['theorems'])}")
    print(f"grid work: {out['grid']}; energy on {out['backend']}: {out['energy_j']:.3e} J, "
          f"critical-path latency {out['latency_s']:.3e} s")
    figures = {
        "seconds": out["seconds"],
        "peak_mb": out["peak_mb"],
        "theorems": len(out["proved"]),
        "laws_found": out["laws_found"],
        "checked": out["checked"] and report.ok,
        "checker_seconds": round(check_s, 3),
        "reference_seconds_quoted": REFERENCE_S,
        "reference_mb_quoted": REFERENCE_MB,
        "speedup_vs_reference": round(REFERENCE_S / out["seconds"], 1),
        "memory_ratio_vs_reference": round(REFERENCE_MB / out["peak_mb"], 1),
        "energy_j": out["energy_j"],
        "threads": 1,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

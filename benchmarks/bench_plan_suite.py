"""The plan suite: does the LLM planner satisfy the request, against policies without one?

Seeded (request, facts) cases of every kind (``neuralbrain.reasoning.plan_suite``: the same
number per kind, seeds from ``--first-seed``, never used while developing: prompts and
``relation_pmi`` were chosen on seeds 100-999, worked examples come from 0-99). Each case runs
as ``neuralbrain plan`` runs it (``commands.plan_request``: the GL reasoner derives facts on
``logic_grid``, the LLM reads the goal, the reasoner plans for it). Policies:

- ``score-cpu``, ``score-cpu-w4a8``, ``score-lut``: PMI-scored goal items, the LLM on
  ``cpu`` (float32 activations over the dequantized weights), ``cpu`` with 8-bit activation
  blocks on the same 4-bit codes (``CpuConfig(act_bits=8)``, llama.cpp's numerics) and
  ``lut``; ``score-cpu-w4a8-logprob``: as ``score-cpu-w4a8`` with later goal items by
  log-probability instead of PMI (``PlannerConfig(pmi_items=False)``), for the choice;
  ``score-lut-copy``: as ``score-lut`` without reading lines of several items again
  (``PlannerConfig(rerank=False)``), for the choice;
- ``generate-cpu``: grammar-constrained greedy decoding of the goal line;
- ``random``: a feasible call uniformly at random each step (the reasoner's verdicts);
- ``first``: the first feasible call each step.

Prints per kind and overall the share of cases whose goal the plan satisfied and whose plan
is the oracle's call for call, the LLM's margin over ``random``, plans per second and joules
per plan of the LLM policies (including the reasoner's share), then one line of JSON.

    OMP_NUM_THREADS=1 python benchmarks/bench_plan_suite.py [--per-kind 50] [--first-seed 1000]
        [--kinds KIND ...] [--policies ...]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

# policy: (mode, backend, activation bits of the cpu backend: 0 float32, 8 W4A8, whether
# later goal items are picked by PMI: ``PlannerConfig.pmi_items``, whether lines of several
# items are read again: ``PlannerConfig.rerank``)
LLM_POLICIES = {"score-cpu": ("score", "cpu", 0, True, True),
                "score-cpu-w4a8": ("score", "cpu", 8, True, True),
                "score-cpu-w4a8-logprob": ("score", "cpu", 8, False, True),
                "score-lut": ("score", "lut", 0, True, True),
                "score-lut-copy": ("score", "lut", 0, True, False),
                "generate-cpu": ("generate", "cpu", 0, True, True)}
ALL = (*LLM_POLICIES, "random", "first")


def run_policy(policy: str, suite, kinds) -> dict:
    from neuralbrain.hardware import make_backend
    from neuralbrain.reasoning.affordances import GLJudge
    from neuralbrain.reasoning.gl.agent import digitpick_reasoner
    from neuralbrain.reasoning.gl.module import Config as ReasonerConfig
    from neuralbrain.reasoning.gl.module import SceneReasoner
    from neuralbrain.reasoning.plan_suite import baseline_plan, outcome
    from neuralbrain.reasoning.planner.commands import plan_request
    from neuralbrain.reasoning.planner.planner import LlmPlanner, PlannerConfig

    rows = []
    llm_j = gl_j = 0.0
    t0 = time.perf_counter()
    if policy in LLM_POLICIES:
        from neuralbrain.hardware.cpu import CpuConfig

        mode, backend, bits, pmi_items, rerank = LLM_POLICIES[policy]
        planner = LlmPlanner(PlannerConfig(backend=backend, mode=mode, pmi_items=pmi_items,
                                           rerank=rerank),
                             {"cpu": CpuConfig(act_bits=bits)})
        reasoner = SceneReasoner(ReasonerConfig(backend="logic_grid"))
        planner.read("put the 1 in the tray", ["shows(cube_0, 1)"])  # load, compile, prefix
        t0 = time.perf_counter()
        for case in suite:
            out = plan_request(planner, reasoner, case.task.request, list(case.facts))
            llm_j += out["reading"]["energy_j"]
            gl_j += out["reasoner_energy_j"]
            rows.append((case.task.kind, *outcome(case.task, case.facts, out["plan"])))
    else:
        judge = GLJudge(digitpick_reasoner(make_backend("logic_grid")))
        for case in suite:
            plan = baseline_plan(policy, case.facts, judge, np.random.default_rng(case.seed))
            rows.append((case.task.kind, *outcome(case.task, case.facts, plan)))
    seconds = time.perf_counter() - t0
    table = {}
    for kind in (*kinds, "all"):
        sel = [r for r in rows if kind in ("all", r[0])]
        table[kind] = {"n": len(sel), "satisfied": float(np.mean([r[1] for r in sel])),
                       "exact": float(np.mean([r[2] for r in sel]))}
    out = {"per_kind": table, "plans_per_s": len(rows) / seconds}
    if policy in LLM_POLICIES:
        out |= {"llm_j_per_plan": llm_j / len(rows), "reasoner_j_per_plan": gl_j / len(rows)}
    return out


def main() -> None:
    from threadpoolctl import threadpool_limits

    from neuralbrain.reasoning.plan_suite import cases
    from neuralbrain.reasoning.requests import KINDS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-kind", type=int, default=50)
    ap.add_argument("--first-seed", type=int, default=1000)
    ap.add_argument("--policies", nargs="+", default=list(ALL), choices=ALL)
    ap.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    seeds = range(args.first_seed, args.first_seed + args.per_kind)
    kinds = tuple(k for k in KINDS if k in args.kinds)
    suite = [c for kind in kinds for c in cases(seeds, kind)]
    print(f"{len(suite)} cases, {args.per_kind} per kind, seeds {seeds.start}-{seeds.stop - 1}")
    results = {}
    with threadpool_limits(args.threads):
        for policy in args.policies:
            results[policy] = run_policy(policy, suite, kinds)
            r = results[policy]
            extra = (f", {r['llm_j_per_plan']:.3g} J LLM + {r['reasoner_j_per_plan']:.2g} J GL "
                     "per plan" if "llm_j_per_plan" in r else "")
            print(f"{policy:>13}: satisfied {r['per_kind']['all']['satisfied']:.1%}, exact "
                  f"{r['per_kind']['all']['exact']:.1%}, {r['plans_per_s']:.2f} plans/s{extra}",
                  flush=True)
    print("\nsatisfied / exact per kind")
    print(f"{'policy':>13} " + " ".join(f"{k:>15}" for k in (*kinds, "all")))
    for policy, r in results.items():
        cells = [f"{r['per_kind'][k]['satisfied']:6.0%} / {r['per_kind'][k]['exact']:4.0%}"
                 for k in (*kinds, "all")]
        print(f"{policy:>13} " + " ".join(f"{c:>15}" for c in cells))
    if "random" in results:
        base = results["random"]["per_kind"]["all"]["satisfied"]
        for policy in results:
            if policy in LLM_POLICIES:
                margin = results[policy]["per_kind"]["all"]["satisfied"] - base
                print(f"{policy} over random: {100 * margin:+.1f} points")
    print(json.dumps({"cases": len(suite), "first_seed": args.first_seed, "results": results}))


if __name__ == "__main__":
    main()

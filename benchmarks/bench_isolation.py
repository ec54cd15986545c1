"""Per-step overhead of process isolation: the Neural Brain agent's modules in sandboxed
workers (``isolation = "process"`` on every module) against the same agent in process.

Both arms run the same seeded full episodes through ``neuralbrain.runner.run`` (env steps,
ledger draining and trace rows included; nothing written). Each arm first plays one
warm-up episode (numba kernels compile in every fresh worker, the LLM loads lazily), then
the arms alternate ``--repeats`` times and the best of each is kept, to damp noise from
other processes. Beside the whole-episode figure, each module's ``step`` is timed (for an
isolated module that includes the pickling and the pipe both ways), so the overhead per
module per step is printed too. The two arms' traces are checked equal.

    python benchmarks/bench_isolation.py --checkpoint CK [--config neural_brain_debug]
        [--episodes 3] [--repeats 2]

(``CK`` from ``neuralbrain train agents/configs/neural_brain_debug.toml --out CK``.) Runs at
one thread (``OMP_NUM_THREADS=1``): isolated modules run one at a time, so a second core
would not change the comparison. Ends with one JSON line: seconds per step in process and
isolated, the overhead ratio, and each module's overhead in microseconds per step.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

from neuralbrain.config import AgentConfig, load_config  # noqa: E402
from neuralbrain.core import Agent  # noqa: E402
from neuralbrain.runner import load_agent, run  # noqa: E402


def timed(agent: Agent) -> dict[str, list[float]]:
    """Wrap each module's ``step`` to record its wall time; returns the lists it fills."""
    times: dict[str, list[float]] = defaultdict(list)

    def wrap(name: str, step: Callable[..., Any]) -> Callable[..., Any]:
        def inner(inputs: Any) -> Any:
            start = time.perf_counter()
            try:
                return step(inputs)
            finally:
                times[name].append(time.perf_counter() - start)
        return inner

    for name, module in agent.modules.items():
        module.step = wrap(name, module.step)  # type: ignore[method-assign]
    return times


def arm(agent: Agent, times: dict[str, list[float]], episodes: int, seed: int
        ) -> tuple[float, int, dict[str, float], Any]:
    for values in times.values():
        values.clear()
    start = time.perf_counter()
    result = run(agent, episodes, seed=seed, progress=False)
    elapsed = time.perf_counter() - start
    steps = sum(result.episodes.column("steps").to_pylist())
    errors = [e for e in result.episodes.column("error").to_pylist() if e is not None]
    if errors:
        raise SystemExit(f"bench_isolation: an episode failed: {errors[0]}")
    return elapsed, steps, {n: sum(v) for n, v in times.items()}, result.trace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="neural_brain_debug")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cfg = load_config(args.config, kind=AgentConfig)
    sets = [f"{name}.isolation=process" for name in cfg.modules]
    here = load_agent(args.config, args.checkpoint)
    there = load_agent(args.config, args.checkpoint, sets)
    arms = {"in_process": (here, timed(here)), "isolated": (there, timed(there))}
    for agent, times in arms.values():  # warm-up: compile, load, fill caches
        arm(agent, times, 1, args.seed + 10_000)
    best: dict[str, tuple[float, int, dict[str, float]]] = {}
    traces: dict[str, Any] = {}
    for _ in range(args.repeats):
        for label, (agent, times) in arms.items():
            elapsed, steps, per_module, trace = arm(agent, times, args.episodes, args.seed)
            traces[label] = trace
            if label not in best or elapsed < best[label][0]:
                best[label] = (elapsed, steps, per_module)
    equal = traces["in_process"].equals(traces["isolated"])
    (t0, n0, m0), (t1, n1, m1) = best["in_process"], best["isolated"]
    per_step = {"in_process": t0 / n0, "isolated": t1 / n1}
    overhead = per_step["isolated"] / per_step["in_process"] - 1
    modules = {name: (m1[name] / n1 - m0[name] / n0) * 1e6 for name in m0}
    print(f"{args.config}: {args.episodes} episodes, {n0} steps, best of {args.repeats}")
    print(f"  in process  {per_step['in_process'] * 1e3:9.2f} ms/step")
    print(f"  isolated    {per_step['isolated'] * 1e3:9.2f} ms/step   overhead "
          f"{overhead * 100:+.1f}%   traces equal: {equal}")
    for name in m0:
        print(f"    {name:12s} {m0[name] / n0 * 1e3:9.3f} -> {m1[name] / n1 * 1e3:9.3f} ms/step "
              f"({modules[name]:+.0f} us)")
    print(json.dumps({"config": args.config, "steps": n0,
                      "in_process_s_per_step": per_step["in_process"],
                      "isolated_s_per_step": per_step["isolated"],
                      "overhead": overhead, "traces_equal": equal,
                      "module_overhead_us_per_step": modules}))
    for module in there.modules.values():
        module.close()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()

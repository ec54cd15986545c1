"""Runtime overhead: DigitPick steps/s with random actions, bare env vs through the runtime.

Both arms run the same seeded episodes with the same random actions. The bare arm is a
plain Gymnasium loop; the runtime arm is ``neuralbrain.runner.run`` with the random agent
(``agents/configs/random.toml``) writing its run directory, so it includes the agent graph,
ledger booking, trace rows and the Parquet writes after every episode (the final energy plot
is timed separately: it is a once-per-run cost). Arms alternate and the best of
``--repeats`` is kept for each, to damp noise from other processes.

    python benchmarks/bench_runtime.py [--episodes 4] [--steps 150] [--repeats 3]

Prints a table and ends with one JSON line: bare and runtime steps/s and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium  # noqa: E402

from neuralbrain.runner import load_agent, run  # noqa: E402

ENV_ID = "neuralbrain/DigitPick-v0"


def bare(episodes: int, steps: int, seed: int) -> tuple[float, int]:
    env = gymnasium.make(ENV_ID, max_episode_steps=steps)
    env.action_space.seed(seed)
    n = 0
    start = time.perf_counter()
    for ep in range(episodes):
        env.reset(seed=seed + ep)
        env.action_space.seed(seed + ep)
        done = False
        while not done:
            _, _, term, trunc, _ = env.step(env.action_space.sample())
            n += 1
            done = term or trunc
    elapsed = time.perf_counter() - start
    env.close()
    return elapsed, n


def runtime(episodes: int, steps: int, seed: int) -> tuple[float, int, float]:
    agent = load_agent("random", overrides=[f"env.id={ENV_ID}", f"env.max_episode_steps={steps}"])
    import neuralbrain.runner as runner

    plot_time = [0.0]
    real_plot = runner.plot_energy

    def timed_plot(*args, **kwargs):
        t0 = time.perf_counter()
        real_plot(*args, **kwargs)
        plot_time[0] = time.perf_counter() - t0

    runner.plot_energy = timed_plot
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = run(agent, episodes, out=Path(tmp) / "run", seed=seed, progress=False)
        elapsed = time.perf_counter() - start - plot_time[0]
        import pyarrow.parquet as pq

        n = sum(pq.read_table(Path(tmp) / "run" / "episodes.parquet")["steps"].to_pylist())
    runner.plot_energy = real_plot
    assert result.summary()["episodes"] == episodes
    return elapsed, n, plot_time[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=4)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    best_bare = best_rt = float("inf")
    plot = 0.0
    for _ in range(args.repeats):
        t, n_bare = bare(args.episodes, args.steps, args.seed)
        best_bare = min(best_bare, t)
        t, n_rt, plot = runtime(args.episodes, args.steps, args.seed)
        best_rt = min(best_rt, t)
    if n_bare != n_rt:
        raise SystemExit(f"arms ran different step counts: bare {n_bare}, runtime {n_rt}")
    bare_sps, rt_sps = n_bare / best_bare, n_rt / best_rt
    overhead = best_rt / best_bare - 1
    print(f"DigitPick, random actions, {n_bare} steps per arm, best of {args.repeats}, 1 thread")
    print(f"  bare env      {bare_sps:8.1f} steps/s")
    print(f"  runtime       {rt_sps:8.1f} steps/s   (ledger + trace + Parquet per episode)")
    print(f"  overhead      {overhead:+.1%}   (goal <= +5%); energy plot once per run: {plot:.2f} s")
    print(json.dumps({
        "bare_steps_per_s": round(bare_sps, 1),
        "runtime_steps_per_s": round(rt_sps, 1),
        "ratio": round(rt_sps / bare_sps, 4),
        "overhead": round(overhead, 4),
        "plot_s": round(plot, 3),
        "steps": n_bare,
    }))


if __name__ == "__main__":
    main()

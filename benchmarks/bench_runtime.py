"""Runtime overhead: DigitPick steps/s with random actions, bare env vs through the runtime.

Both arms run the same seeded episodes with the same random actions. The bare arm is a
plain Gymnasium loop; the runtime arm is ``neuralbrain.runner.run`` with the random agent
(``agents/configs/random.toml``) writing its run directory, so it includes the agent graph,
ledger booking, trace rows and the Parquet writes after every episode (the final energy plot
is timed separately: it is a once-per-run cost). Arms alternate and the best of
``--repeats`` is kept for each, to damp noise from other processes.

Trace writes: a ``TraceRecorder`` fed synthetic bookings (3 modules, ``--write-steps`` steps
per episode) writes after every episode, as a run does, up to ``--write-episodes`` episodes;
the mean cost of one episode's write (one part per dataset) is printed over episodes 1-10 and
over the last 10, so a flat cost shows the writes grow linearly. Beside it, what the old
layout cost: one rewrite of the whole single-file trace as it stands after 10 and after
``--write-episodes`` episodes.

    python benchmarks/bench_runtime.py [--episodes 4] [--steps 150] [--repeats 3]
        [--write-episodes 10000] [--write-steps 20]

Prints a table and ends with one JSON line: bare and runtime steps/s and their ratio, and the
per-episode write costs.
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

from neuralbrain.runner import load_agent, read_run, run  # noqa: E402

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
        n = sum(read_run(Path(tmp) / "run").episodes["steps"].to_pylist())
    runner.plot_energy = real_plot
    assert result.summary()["episodes"] == episodes
    return elapsed, n, plot_time[0]


def write_costs(n_episodes: int, steps: int) -> dict[str, float]:
    """Seconds per episode write at both ends of an ``n_episodes`` run, and the old whole-file
    rewrite at the same two sizes."""
    import pyarrow.parquet as pq

    from neuralbrain.energy import Cost, Ledger
    from neuralbrain.trace import TraceRecorder

    modules = ("perception", "planner", "control")
    ledgers = {m: Ledger() for m in modules}
    backends = dict.fromkeys(modules, "cpu")
    recorder = TraceRecorder(modules, {"neuralbrain.seed": "0"})
    costs: list[float] = []
    old: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        for episode in range(n_episodes):
            for step in range(steps):
                ledgers["perception"].book("conv", Cost(1e-6 * (step + 1), 1e-4, 10, 64), backend="cpu")
                ledgers["planner"].book("mpgemm", Cost(0.3, 2e-2, 1000, 4096), backend="cpu")
                recorder.record_step(episode, step, 0.05 * step, ledgers, backends)
            recorder.finish_episode(episode, episode, steps, 0.0, False, None)
            t0 = time.perf_counter()
            recorder.write(out)
            costs.append(time.perf_counter() - t0)
            if episode + 1 in (10, n_episodes):  # the old layout: rewrite everything so far
                t0 = time.perf_counter()
                pq.write_table(recorder.finished_trace(), Path(tmp) / "old_trace.parquet")
                pq.write_table(recorder.episodes_table(), Path(tmp) / "old_episodes.parquet")
                old[episode + 1] = time.perf_counter() - t0
    return {
        "first10_s": sum(costs[:10]) / 10,
        "last10_s": sum(costs[-10:]) / 10,
        "old_at_10_s": old[10],
        "old_at_n_s": old[n_episodes],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=4)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write-episodes", type=int, default=10_000)
    parser.add_argument("--write-steps", type=int, default=20)
    args = parser.parse_args()
    if args.write_episodes < 10:
        raise SystemExit(f"--write-episodes {args.write_episodes}: expected >= 10")
    best_bare = best_rt = float("inf")
    plot = 0.0
    for _ in range(args.repeats):
        t, n_bare = bare(args.episodes, args.steps, args.seed)
        best_bare = min(best_bare, t)
        t, n_rt, plot = runtime(args.episodes, args.steps, args.seed)
        best_rt = min(best_rt, t)
    if n_bare != n_rt:  # the random agent's actions are not action_space.sample()'s
        print(f"note: the arms ran different step counts (bare {n_bare}, runtime {n_rt}): "
              "steps/s compare per step, not the same episodes")
    bare_sps, rt_sps = n_bare / best_bare, n_rt / best_rt
    overhead = best_rt / best_bare - 1
    print(f"DigitPick, random actions, {n_bare} steps per arm, best of {args.repeats}, 1 thread")
    print(f"  bare env      {bare_sps:8.1f} steps/s")
    print(f"  runtime       {rt_sps:8.1f} steps/s   (ledger + trace + one Parquet part per episode)")
    print(f"  overhead      {overhead:+.1%}   (goal <= +5%); energy plot once per run: {plot:.2f} s")
    w = write_costs(args.write_episodes, args.write_steps)
    n = args.write_episodes
    print(f"trace write per episode ({args.write_steps} steps, 3 modules): episodes 1-10 "
          f"{w['first10_s'] * 1e3:.2f} ms, episodes {n - 9}-{n} {w['last10_s'] * 1e3:.2f} ms "
          f"(ratio {w['last10_s'] / w['first10_s']:.2f})")
    print(f"  old single-file layout, one rewrite after 10 episodes {w['old_at_10_s'] * 1e3:.2f} ms, "
          f"after {n} {w['old_at_n_s'] * 1e3:.1f} ms")
    print(json.dumps({
        "write_ms_per_episode_first10": round(w["first10_s"] * 1e3, 3),
        f"write_ms_per_episode_last10_of_{n}": round(w["last10_s"] * 1e3, 3),
        "write_cost_ratio": round(w["last10_s"] / w["first10_s"], 3),
        "old_rewrite_ms_at_10": round(w["old_at_10_s"] * 1e3, 3),
        f"old_rewrite_ms_at_{n}": round(w["old_at_n_s"] * 1e3, 3),
        "bare_steps_per_s": round(bare_sps, 1),
        "runtime_steps_per_s": round(rt_sps, 1),
        "ratio": round(rt_sps / bare_sps, 4),
        "overhead": round(overhead, 4),
        "plot_s": round(plot, 3),
        "steps": n_bare,
    }))


if __name__ == "__main__":
    main()

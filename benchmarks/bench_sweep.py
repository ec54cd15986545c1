"""Sweep throughput: runs per minute of one small grid on one worker, the local pool with 2
workers and Ray with 2 CPUs, measured in the same process one after the other.

The grid: the scripted picker's debug twin (``--config``), planner and control each on
``cpu`` or ``t3`` (2 x 2 assignments) over ``--seeds``, one episode per run. Every arm writes
its own sweep directory and the three ``sweep.parquet`` tables must be equal (the bench stops
if not). Goals local 2 workers >= 1.7x one worker, Ray >= 0.9x local.

Each arm's clock times one ``sweep()`` call; each engine is started before any clock, the
same way for both, as a running machine or cluster would be: the local engine's fork server
(a process that has imported ``neuralbrain.runner``, from which workers are forked) and Ray's
local instance with its idle worker processes, each started by running one no-op task through
the engine (the start-up times are printed, not timed). Inside the clocks: forking the local
workers, or leasing Ray's (whose first task imports neuralbrain, which the fork server did
before the clock), every run, and writing the sweep's outputs.

On this shared 2-core machine the 2-worker figures fall whenever another process holds a
core: the load average is printed with them. With the kernel's autogroup scheduling on
(``/proc/sys/kernel/sched_autogroup_enabled``), CPU time under contention is shared per
session: the local pool's workers stay in the caller's session and share one portion, while
Ray starts its worker processes in sessions of their own, each with a portion; the bench then
says so beside the figures, since on a busy machine this, not the engines, sets the ratio.

    python benchmarks/bench_sweep.py [--config scripted_picker_debug] [--seeds 0-9] [--trace]
                                     [--ray-job-env]

``--trace`` runs each run through a wrapper that times it in its worker and prints, per arm,
when the first run began, how many worker processes ran the runs, the wall and CPU time per
run and the idle time between two runs of one process. ``--ray-job-env`` starts Ray as the
Ray engine once did, under a job runtime_env setting OMP_NUM_THREADS: Ray prestarts idle
workers only for jobs without one, so that job's workers boot inside its clock.

Ends with one JSON line: runs/min per arm, the speed-ups and the engines' start-up times.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pyarrow.parquet as pq  # noqa: E402

from neuralbrain.engines import local_outcomes, ray_outcomes  # noqa: E402
from neuralbrain.sweep import parse_seeds, run_task, sweep  # noqa: E402

GRID = {"planner.backend": ["cpu", "t3"], "control.backend": ["cpu", "t3"]}
TIMINGS = "timings.jsonl"


def _nothing(_state: object, _task: object) -> None:
    """A task that does nothing: runs an engine's start-up alone."""


def start_engine(engine: str, job_env: bool = False) -> float:
    """Start ``engine`` ("local" or "ray") by running no-op tasks through it; the seconds it
    took. The local fork server stays up for the rest of the process; Ray stays initialized
    (2 CPUs) until ``ray.shutdown()``, with ``job_env`` under a job runtime_env that sets
    OMP_NUM_THREADS (for which Ray prestarts no workers)."""
    start = time.perf_counter()
    if engine == "local":
        list(local_outcomes(_nothing, [None], 1))
    else:
        import ray

        env = {"env_vars": {"OMP_NUM_THREADS": os.environ["OMP_NUM_THREADS"]}} if job_env else None
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
                 runtime_env=env)
        if not job_env:  # a no-op task would start the job's workers before the clock
            list(ray_outcomes(_nothing, [None, None], None, 2))
    return time.perf_counter() - start


def _traced(state: object, task: tuple) -> dict:
    """``run_task``, then one line (process id, start and end time, CPU seconds of the run)
    appended to the sweep directory's ``timings.jsonl`` (``--trace``)."""
    start, cpu = time.time(), time.process_time()
    result = run_task(state, task)
    line = json.dumps({"pid": os.getpid(), "start": start, "end": time.time(),
                       "cpu": time.process_time() - cpu})
    with open(Path(task[1]) / TIMINGS, "a") as f:  # one short write per run: lines stay whole
        f.write(line + "\n")
    return result


def trace_summary(out: Path, clock_start: float) -> str:
    """Where an arm's time went, from its ``timings.jsonl``: when the first run began after the
    clock started, how many worker processes ran the runs, and per run the wall and CPU time
    (a process's first run apart: it pays the lazy imports) and the idle time between two runs
    of one process."""
    rows = [json.loads(line) for line in (out / TIMINGS).read_text().splitlines()]
    by_pid: dict[int, list[dict]] = {}
    for row in sorted(rows, key=lambda r: r["start"]):
        by_pid.setdefault(row["pid"], []).append(row)
    firsts = [runs[0] for runs in by_pid.values()]
    rest = [r for runs in by_pid.values() for r in runs[1:]]
    gaps = [b["start"] - a["end"] for runs in by_pid.values()
            for a, b in zip(runs, runs[1:], strict=False)]

    def mean(values: list[float]) -> float:
        return sum(values) / max(len(values), 1)

    def wall(runs: list[dict]) -> float:
        return mean([r["end"] - r["start"] for r in runs])

    def cpu(runs: list[dict]) -> float:
        return mean([r["cpu"] for r in runs])

    return (f"first run began {min(r['start'] for r in rows) - clock_start:.2f} s into the clock; "
            f"worker processes: {len(by_pid)}; a process's first run {wall(firsts):.2f} s wall, "
            f"{cpu(firsts):.2f} s CPU; later runs {wall(rest):.3f} s wall, {cpu(rest):.3f} s CPU; "
            f"{1000 * mean(gaps):.1f} ms between two runs of a process")


def timed(config: str, seeds: list[int], out: Path, trace: bool = False,
          **kwargs) -> tuple[float, int, str | None]:
    """One timed ``sweep()``: seconds, runs, and with ``trace`` where its time went."""
    wall = time.time()
    start = time.perf_counter()
    table = sweep(config, GRID, seeds, out=out, **kwargs, **({"task_fn": _traced} if trace else {}))
    elapsed = time.perf_counter() - start
    failed = [r for r in table.to_pylist() if r["status"] != "ok"]
    if failed:
        raise SystemExit(f"{len(failed)} runs failed, e.g. {failed[0]['run']}: {failed[0]['error']}")
    return elapsed, table.num_rows, trace_summary(out, wall) if trace else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="scripted_picker_debug")
    parser.add_argument("--seeds", default="0-9")
    parser.add_argument("--trace", action="store_true",
                        help="also print where each arm's time went (each run timed in its worker)")
    parser.add_argument("--ray-job-env", action="store_true",
                        help="start Ray under a job runtime_env (OMP_NUM_THREADS), as the Ray "
                             "engine once did: Ray then boots the job's workers on its clock")
    args = parser.parse_args()
    seeds = parse_seeds(args.seeds)
    figures: dict[str, float] = {}
    loads: dict[str, float] = {}
    traces: dict[str, str | None] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        local_start = start_engine("local")
        t, n, traces["one_worker"] = timed(args.config, seeds, root / "one", args.trace, workers=1)
        figures["one_worker"], loads["one_worker"] = 60 * n / t, os.getloadavg()[0]
        t, n, traces["local_2_workers"] = timed(args.config, seeds, root / "local2", args.trace,
                                                workers=2)
        figures["local_2_workers"], loads["local_2_workers"] = 60 * n / t, os.getloadavg()[0]
        import ray

        try:
            ray_start = start_engine("ray", args.ray_job_env)
            t, n, traces["ray_2_cpus"] = timed(args.config, seeds, root / "ray2", args.trace,
                                               engine="ray", workers=2)
        finally:
            ray.shutdown()
        figures["ray_2_cpus"], loads["ray_2_cpus"] = 60 * n / t, os.getloadavg()[0]
        tables = [pq.read_table(root / name / "sweep.parquet") for name in ("one", "local2", "ray2")]
        if not all(t.equals(tables[0]) for t in tables[1:]):
            raise SystemExit("the three arms wrote different sweep.parquet tables")
    local_x = figures["local_2_workers"] / figures["one_worker"]
    ray_x = figures["ray_2_cpus"] / figures["one_worker"]
    ray_vs_local = figures["ray_2_cpus"] / figures["local_2_workers"]
    print(f"{args.config}, grid 2 x 2 (planner, control on cpu/t3) x {len(seeds)} seeds = {n} runs, "
          f"1 episode each, {os.cpu_count()} cores")
    for name, label in (("one_worker", "one worker"), ("local_2_workers", "local, 2 workers"),
                        ("ray_2_cpus", "ray, 2 CPUs")):
        print(f"  {label:<18}{figures[name]:8.1f} runs/min   (load average {loads[name]:.1f})")
        if traces[name]:
            print(f"    {traces[name]}")
    print(f"  speed-up: local 2 workers {local_x:.2f}x one worker (goal >= 1.7x), ray {ray_x:.2f}x "
          f"one worker = {ray_vs_local:.2f}x local (goal >= 0.9x)")
    ray_what = ("instance (its job's workers boot on the clock: --ray-job-env)" if args.ray_job_env
                else "instance and its workers")
    print(f"  engine start-up, before the clocks: local fork server {local_start:.1f} s, ray "
          f"{ray_what} {ray_start:.1f} s")
    autogroup = Path("/proc/sys/kernel/sched_autogroup_enabled")
    if autogroup.is_file() and autogroup.read_text().strip() == "1" and max(loads.values()) > 2:
        print("  note: autogroup scheduling is on and the machine is busy: the local pool's "
              "workers share their caller's session's CPU portion, Ray's run in sessions of "
              "their own")
    print(json.dumps({
        "runs": n,
        "one_worker_runs_per_min": round(figures["one_worker"], 2),
        "local_2_workers_runs_per_min": round(figures["local_2_workers"], 2),
        "ray_2_cpus_runs_per_min": round(figures["ray_2_cpus"], 2),
        "local_2_speedup": round(local_x, 3),
        "ray_2_speedup": round(ray_x, 3),
        "ray_vs_local": round(ray_vs_local, 3),
        "local_start_s": round(local_start, 2),
        "ray_start_s": round(ray_start, 2),
        "ray_job_env": args.ray_job_env,
        "load_average": round(max(loads.values()), 2),
    }))


if __name__ == "__main__":
    main()

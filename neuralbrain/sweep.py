"""Sweeps: every (assignment of grid values, seed) pair as its own run, merged into one table.

``sweep(config, grid, seeds, out=DIR)`` expands ``grid`` (``{"planner.backend": ["cpu",
"t3"], ...}``, each value as a ``--set`` value) into its assignments, checks every one loads
(a key not in the config or a value of the wrong type is a one-line ``ConfigError`` naming the
``--grid`` item), and runs each (assignment, seed) pair as a run of ``episodes`` episodes
(episode ``i`` with seed ``seed + i``, as ``neuralbrain run``) into
``DIR/runs/<assignment>/seed=<seed>/`` (a run directory ``neuralbrain report`` reads).

Engines (``neuralbrain.engines``): ``local``, a pool of ``workers`` processes (the default),
or ``ray``, each run a Ray task on the cluster at ``address`` / ``$RAY_ADDRESS`` or on a
local Ray instance with ``workers`` CPUs. A Ray worker writes its run directory itself when it
sees ``DIR`` (shared storage: it finds the sweep's token file there); otherwise it runs in a
scratch folder and returns its tables, which the driver writes. A worker reuses the agent it
built for the previous run when the assignment is the same (runs are in assignment order);
an episode depends only on its seed, so this changes no row.

When a run finishes, the driver writes its row to ``<run dir>/row.json`` (atomically): that
file marks the run finished. A run that raised, or whose worker died, gets a row with
``status = "failed"`` and the error text, and the other runs go on. ``DIR/sweep.parquet`` has
one row per run, sorted by assignment (grid order) then seed: the grid keys, ``seed``,
``status``, ``error``, ``episodes``, success rate, mean return and steps, energy per episode
in total, per module (``energy_j_<module>``) and per backend (``energy_j_backend_<backend>``,
0 for a backend the run did not use), latency per episode and per step. No wall-clock figure
goes in it, so the same seeds give the same file under either engine. ``DIR/pareto.png``
plots each assignment's mean energy per episode against its success rate with the Pareto front
(least energy for the success) marked, and ``DIR/index.html`` shows both. ``resume=True``
skips the runs that already have an ``ok`` row (failed runs are run again); without it a
``DIR`` that holds a sweep is an error.
"""

from __future__ import annotations

import base64
import html
import itertools
import json
import math
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from neuralbrain.atomic import atomic_path, atomic_write_text
from neuralbrain.config import AgentConfig, load_config, parse_override
from neuralbrain.errors import ConfigError, DataError

SWEEP_FILE = "sweep.json"
TOKEN_FILE = ".sweep-token"
ENGINES = ("local", "ray")


def parse_grid(items: Sequence[str]) -> dict[str, list[str]]:
    """``["planner.backend=cpu,t3", ...]`` -> ``{"planner.backend": ["cpu", "t3"]}`` (values as
    text, each parsed later like a ``--set`` value). An item without ``=``, an empty value, a
    repeated value or key, or no item at all is a ``ConfigError``."""
    if not items:
        raise ConfigError("empty grid: expected at least one --grid KEY=V1,V2")
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--grid {item!r}: expected KEY=V1,V2,... (e.g. planner.backend=cpu,t3)")
        vals = [v.strip() for v in values.split(",")]
        if not values.strip() or any(not v for v in vals):
            raise ConfigError(f"--grid {item!r}: empty value: expected KEY=V1,V2,... with no empty V")
        if len(set(vals)) != len(vals):
            raise ConfigError(f"--grid {item!r}: a value is repeated: expected distinct values")
        if key in grid:
            raise ConfigError(f"--grid {key}: given twice: expected each key once")
        grid[key] = vals
    return grid


def parse_seeds(text: str) -> list[int]:
    """``"0-99"``, ``"3"`` or ``"0,5,7-9"`` -> sorted distinct seeds (``ConfigError`` else)."""
    seeds: set[int] = set()
    for part in str(text).split(","):
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if m is None or (m.group(2) is not None and int(m.group(2)) < int(m.group(1))):
            raise ConfigError(f"--seeds {text!r}: expected N, A-B (A <= B) or a comma list of them")
        lo = int(m.group(1))
        seeds.update(range(lo, (int(m.group(2)) if m.group(2) is not None else lo) + 1))
    return sorted(seeds)


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: the config with ``overrides + assignment`` applied, ``seed``,
    ``episodes``, and its folder under the sweep directory (``run``, relative)."""

    index: int
    run: str
    assignment: tuple[tuple[str, str], ...]
    seed: int
    episodes: int
    config: str
    overrides: tuple[str, ...]
    checkpoint: str | None


def _slug(assignment: Sequence[tuple[str, str]]) -> str:
    text = "__".join(f"{k}={v}" for k, v in assignment)
    return re.sub(r"[^A-Za-z0-9._=+-]", "_", text)


def plan(config: str | Path, grid: Mapping[str, Sequence[str]], seeds: Sequence[int],
         episodes: int = 1, overrides: Sequence[str] = (),
         checkpoint: str | Path | None = None) -> list[RunSpec]:
    """Every (assignment, seed) run, assignment-major, each assignment checked by loading it."""
    if episodes < 1:
        raise ConfigError(f"episodes = {episodes}: expected >= 1")
    if not seeds:
        raise ConfigError("no seeds: expected --seeds N, A-B or a list")
    if not grid:
        raise ConfigError("empty grid: expected at least one --grid KEY=V1,V2")
    keys = list(grid)
    specs: list[RunSpec] = []
    for values in itertools.product(*(grid[k] for k in keys)):
        assignment = tuple(zip(keys, values, strict=True))
        for key, value in assignment:  # each value alone first, to name the culprit
            try:
                load_config(config, [*overrides, f"{key}={value}"], kind=AgentConfig)
            except ConfigError as err:
                raise ConfigError(f"--grid {key}={value}: {err}") from None
        load_config(config, [*overrides, *(f"{k}={v}" for k, v in assignment)], kind=AgentConfig)
        for seed in seeds:
            specs.append(RunSpec(len(specs), f"runs/{_slug(assignment)}/seed={seed}", assignment,
                                 int(seed), episodes, str(config), tuple(overrides),
                                 None if checkpoint is None else str(checkpoint)))
    return specs


# -- one run, in a worker -----------------------------------------------------------------------
_AGENT_CACHE: dict[tuple, Any] = {}


def _agent_for(spec: RunSpec) -> Any:
    from neuralbrain.runner import load_agent

    key = (spec.config, spec.overrides, spec.assignment, spec.checkpoint)
    if key not in _AGENT_CACHE:
        _AGENT_CACHE.clear()  # one agent at a time: runs come in assignment order
        _AGENT_CACHE[key] = load_agent(spec.config, spec.checkpoint,
                                       [*spec.overrides, *(f"{k}={v}" for k, v in spec.assignment)])
    return _AGENT_CACHE[key]


def run_task(_state: Any, task: tuple[RunSpec, str, str]) -> dict[str, Any]:
    """Play one run (``task = (spec, sweep dir, token)``); return its figures, and its tables
    as Arrow IPC bytes when the sweep dir is not visible here (no matching token file)."""
    from neuralbrain.runner import run

    spec, out, token = task
    token_file = Path(out) / TOKEN_FILE
    shared = token_file.is_file() and token_file.read_text().strip() == token
    agent = _agent_for(spec)
    if shared:
        result = run(agent, spec.episodes, out=Path(out) / spec.run, seed=spec.seed,
                     progress=False, plot=False)
        return {"figures": run_figures(result.episodes, result.trace)}
    with tempfile.TemporaryDirectory() as tmp:
        result = run(agent, spec.episodes, out=Path(tmp) / "run", seed=spec.seed, progress=False,
                     plot=False)
        files = {p.name: p.read_bytes() for p in (Path(tmp) / "run").iterdir() if p.is_file()}
    return {"figures": run_figures(result.episodes, result.trace),
            "tables": {"episodes": _ipc(result.episodes), "trace": _ipc(result.trace)},
            "files": files}


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _from_ipc(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(data).read_all()


def run_figures(episodes: pa.Table, trace: pa.Table) -> dict[str, Any]:
    """A run's row figures (means per episode; sums are ``math.fsum``, so exact and
    order-free)."""
    eps = episodes.to_pylist()
    n = len(eps)
    steps = sum(e["steps"] for e in eps)
    energy = trace["energy_j"].to_pylist()
    modules = [c.removeprefix("energy_j_") for c in episodes.column_names if c.startswith("energy_j_")]
    by_backend: dict[str, list[float]] = {}
    for backend, e in zip(trace["backend"].to_pylist(), energy, strict=True):
        by_backend.setdefault(backend, []).append(e)
    return {
        "episodes": n,
        "episode_errors": sum(e["error"] is not None for e in eps),
        "success_rate": sum(e["success"] for e in eps) / n,
        "mean_return": math.fsum(e["return"] for e in eps) / n,
        "mean_steps": steps / n,
        "energy_j": math.fsum(e["energy_j"] for e in eps) / n,
        "latency_s": math.fsum(e["latency_s"] for e in eps) / n,
        "latency_s_per_step": math.fsum(e["latency_s"] for e in eps) / max(steps, 1),
        "energy_j_module": {m: math.fsum(e[f"energy_j_{m}"] for e in eps) / n for m in modules},
        "energy_j_backend": {b: math.fsum(v) / n for b, v in sorted(by_backend.items())},
    }


# -- the driver ---------------------------------------------------------------------------------
def _write_returned_run(result: Mapping[str, Any], folder: Path) -> None:
    """Write a run directory from the tables a worker that could not see it returned."""
    from neuralbrain.trace import TraceRecorder

    episodes = _from_ipc(result["tables"]["episodes"])
    trace = _from_ipc(result["tables"]["trace"])
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in result["files"].items():
        with atomic_path(folder / name) as tmp:
            tmp.write_bytes(data)
    meta = {k.decode(): v.decode() for k, v in (trace.schema.metadata or {}).items()
            if not k.startswith(b"neuralbrain.schema")}
    modules = tuple(c.removeprefix("energy_j_") for c in episodes.column_names
                    if c.startswith("energy_j_"))
    recorder = TraceRecorder(modules, meta)
    for name, values in trace.to_pydict().items():
        recorder.columns[name].extend(values)
    for row in episodes.to_pylist():
        recorder.finish_episode(row["episode"], row["seed"], row["steps"], row["return"],
                                row["success"], row["error"], row["task"])
    recorder.write(folder)


def _row(spec: RunSpec, status: str, error: str | None, figures: Mapping[str, Any] | None) -> dict:
    row: dict[str, Any] = {"run": spec.run, "assignment": [list(a) for a in spec.assignment],
                           "seed": spec.seed, "status": status, "error": error,
                           "episodes": spec.episodes}
    row["figures"] = dict(figures) if figures is not None else None
    return row


def sweep(
    config: str | Path,
    grid: Mapping[str, Sequence[str]],
    seeds: Sequence[int],
    *,
    out: str | Path,
    engine: str = "local",
    workers: int = 2,
    address: str | None = None,
    resume: bool = False,
    episodes: int = 1,
    overrides: Sequence[str] = (),
    checkpoint: str | Path | None = None,
    task_fn: Callable[[Any, Any], Any] = run_task,
) -> pa.Table:
    """Run the sweep (see the module docstring) and return ``sweep.parquet``'s table.
    ``task_fn``: what a worker runs per (spec, dir, token) task (``run_task``; tests swap in
    one that kills its worker)."""
    if engine not in ENGINES:
        raise ConfigError(f"--engine {engine!r}: expected one of {list(ENGINES)}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers = {workers!r}: expected an integer >= 1")
    if address is not None and engine != "ray":
        raise ConfigError(f"--address {address!r} is for --engine ray, not {engine!r}")
    out = Path(out)
    specs = plan(config, grid, seeds, episodes, overrides, checkpoint)
    if engine == "ray":  # before anything is written: no Ray, or no cluster at the address
        from neuralbrain.engines import check_ray_address, ray_available

        ray_available()
        address = address or os.environ.get("RAY_ADDRESS") or None
        if address is not None:
            check_ray_address(address)
    header = {"config": str(config), "grid": {k: list(v) for k, v in grid.items()},
              "keys": list(grid),  # grid order (the JSON object's keys are written sorted)
              "overrides": list(overrides), "episodes": episodes,
              "checkpoint": None if checkpoint is None else str(checkpoint)}
    if (out / SWEEP_FILE).is_file():
        if not resume:
            raise ConfigError(f"--out {str(out)!r} already holds a sweep: pass --resume to finish "
                              "it, or choose another directory")
        before = json.loads((out / SWEEP_FILE).read_text())
        same = {k: before.get(k) for k in ("config", "overrides", "episodes", "checkpoint")}
        if same != {k: header[k] for k in same}:
            raise ConfigError(f"--resume {str(out)!r}: that sweep ran {same}, not "
                              f"{ {k: header[k] for k in same} }: expected the same config, "
                              "--set, --episodes and --checkpoint")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / SWEEP_FILE, json.dumps(header, indent=1, sort_keys=True))
    token_file = out / TOKEN_FILE
    if not token_file.is_file():
        atomic_write_text(token_file, secrets.token_hex(16))
    token = token_file.read_text().strip()

    rows: dict[int, dict] = {}
    todo: list[RunSpec] = []
    for spec in specs:
        done = out / spec.run / "row.json"
        if resume and done.is_file():
            row = json.loads(done.read_text())
            if row.get("status") == "ok":
                rows[spec.index] = row
                continue
        todo.append(spec)
    tasks = [(spec, str(out), token) for spec in todo]
    if engine == "local":
        from neuralbrain.engines import local_outcomes

        outcomes = local_outcomes(task_fn, tasks, workers)
    else:
        from neuralbrain.engines import ray_outcomes

        outcomes = ray_outcomes(task_fn, tasks, address, workers) if tasks else iter(())
    try:
        for outcome in outcomes:
            spec = todo[outcome.index]
            if outcome.ok:
                if "tables" in outcome.value:
                    _write_returned_run(outcome.value, out / spec.run)
                row = _row(spec, "ok", None, outcome.value["figures"])
            else:
                err = outcome.value
                row = _row(spec, "failed", f"{type(err).__name__}: {err}", None)
            (out / spec.run).mkdir(parents=True, exist_ok=True)
            atomic_write_text(out / spec.run / "row.json", json.dumps(row, sort_keys=True))
            rows[spec.index] = row
    finally:
        table = sweep_table(specs, rows, list(grid))
        write_sweep_outputs(out, table, list(grid))
    return table


def sweep_table(specs: Sequence[RunSpec], rows: Mapping[int, dict], keys: Sequence[str]) -> pa.Table:
    """One row per finished or failed run, in plan order (see the module docstring)."""
    done = [rows[s.index] for s in specs if s.index in rows]
    modules = sorted({m for r in done if r["figures"] for m in r["figures"]["energy_j_module"]})
    backends = sorted({b for r in done if r["figures"] for b in r["figures"]["energy_j_backend"]})
    scalar = ("episode_errors", "success_rate", "mean_return", "mean_steps", "energy_j",
              "latency_s", "latency_s_per_step")
    cols: dict[str, list] = {k: [] for k in keys}
    cols.update({"run": [], "seed": [], "status": [], "error": [], "episodes": []})
    cols.update({k: [] for k in scalar})
    cols.update({f"energy_j_{m}": [] for m in modules})
    cols.update({f"energy_j_backend_{b}": [] for b in backends})
    for r in done:
        assignment = dict(r["assignment"])
        for k in keys:
            cols[k].append(parse_override(f"v={assignment[k]}")[1])
        for k in ("run", "seed", "status", "error", "episodes"):
            cols[k].append(r[k])
        f = r["figures"]
        for k in scalar:
            cols[k].append(None if f is None else f[k])
        for m in modules:
            cols[f"energy_j_{m}"].append(None if f is None else f["energy_j_module"].get(m))
        for b in backends:
            cols[f"energy_j_backend_{b}"].append(None if f is None else f["energy_j_backend"].get(b, 0.0))
    types = {"seed": pa.int64(), "episodes": pa.int32(), "episode_errors": pa.int32(),
             "status": pa.string(), "error": pa.string(), "run": pa.string()}
    arrays = {}
    for name, values in cols.items():
        typ = types.get(name, pa.float64() if name not in keys else None)
        arrays[name] = pa.array(values, type=typ)
    return pa.table(arrays)


def assignment_summary(table: pa.Table, keys: Sequence[str]) -> list[dict[str, Any]]:
    """Per assignment (grid order): runs, failed runs, mean success rate and energy per
    episode over its ok runs, and whether it is on the Pareto front (no other assignment has
    at most its energy and at least its success, one of them strictly)."""
    groups: dict[tuple, list[dict]] = {}
    for row in table.to_pylist():
        groups.setdefault(tuple(row[k] for k in keys), []).append(row)
    out = []
    for values, runs in groups.items():
        ok = [r for r in runs if r["status"] == "ok"]
        out.append({
            "assignment": dict(zip(keys, values, strict=True)),
            "runs": len(runs),
            "failed": len(runs) - len(ok),
            "success_rate": math.fsum(r["success_rate"] for r in ok) / len(ok) if ok else None,
            "energy_j": math.fsum(r["energy_j"] for r in ok) / len(ok) if ok else None,
            "latency_s_per_step": (math.fsum(r["latency_s_per_step"] for r in ok) / len(ok)
                                   if ok else None),
        })
    mark_pareto(out)
    return out


def mark_pareto(points: Sequence[dict[str, Any]]) -> None:
    """Set ``point["pareto"]``: no other point has at most its ``energy_j`` and at least its
    ``success_rate``, one of them strictly (points without figures are never on it)."""
    scored = [a for a in points if a.get("energy_j") is not None]
    for a in points:
        a["pareto"] = a.get("energy_j") is not None and not any(
            b["energy_j"] <= a["energy_j"] and b["success_rate"] >= a["success_rate"]
            and (b["energy_j"] < a["energy_j"] or b["success_rate"] > a["success_rate"])
            for b in scored)


def pareto_figure(summary: Sequence[Mapping[str, Any]], title: str | None = None) -> Any:
    """Energy per episode against success rate, one numbered point per assignment (or per
    ``label``led point) named in the key below the axes, the Pareto front joined and ringed.
    The energy axis is logarithmic when the energies span more than a factor of 100."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scored = [a for a in summary if a["energy_j"] is not None]
    fig, ax = plt.subplots(figsize=(8, 4.6 + 0.2 * len(scored)))
    for i, a in enumerate(scored, 1):
        label = a.get("label") or ", ".join(f"{k}={v}" for k, v in a["assignment"].items())
        ax.scatter(a["energy_j"], a["success_rate"], s=30, zorder=3, label=f"{i}: {label}")
        ax.annotate(str(i), (a["energy_j"], a["success_rate"]), xytext=(4, 4 + 7 * (i % 3)),
                    textcoords="offset points", fontsize="x-small")
    front = sorted((a for a in scored if a["pareto"]), key=lambda a: a["energy_j"])
    if front:
        ax.plot([a["energy_j"] for a in front], [a["success_rate"] for a in front], "-",
                color="tab:red", zorder=2, label="Pareto front")
        ax.scatter([a["energy_j"] for a in front], [a["success_rate"] for a in front], s=120,
                   facecolors="none", edgecolors="tab:red", zorder=4)
    energies = [a["energy_j"] for a in scored]
    if energies and min(energies) > 0 and max(energies) / min(energies) > 100:
        ax.set_xscale("log")
    ax.set_xlabel("energy per episode (J)")
    ax.set_ylabel("success rate")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(title or "energy against success, one point per assignment (mean over seeds)",
                 fontsize="medium")
    if scored:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize="x-small", ncol=1,
                  frameon=False)
    fig.tight_layout()
    return fig


def write_sweep_outputs(out: Path, table: pa.Table, keys: Sequence[str]) -> None:
    """``sweep.parquet``, ``pareto.png`` and ``index.html`` under ``out``, each atomically."""
    import io

    import matplotlib.pyplot as plt
    import pyarrow.parquet as pq

    from neuralbrain.report import STYLE, _table

    with atomic_path(out / "sweep.parquet") as tmp:
        pq.write_table(table, tmp)
    summary = assignment_summary(table, keys)
    fig = pareto_figure(summary)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    with atomic_path(out / "pareto.png") as tmp:
        tmp.write_bytes(buf.getvalue())

    def fmt(x: Any, spec: str) -> str:
        return "-" if x is None else format(x, spec)

    rows = [(*(str(a["assignment"][k]) for k in keys), a["runs"], a["failed"],
             fmt(a["success_rate"], ".1%"), fmt(a["energy_j"], ".4g"),
             fmt(a["latency_s_per_step"], ".4g"), "yes" if a["pareto"] else "")
            for a in summary]
    failed = [(r["run"], r["error"]) for r in table.to_pylist() if r["status"] != "ok"]
    png = base64.b64encode(buf.getvalue()).decode("ascii")
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>sweep {html.escape(out.name)}</title>
<style>{STYLE}</style></head><body><h1>Sweep {html.escape(str(out))}</h1>
<p>{table.num_rows} runs, {len(failed)} failed.</p>
<img alt="Pareto plot" src="data:image/png;base64,{png}">
{_table(rows, (*keys, "runs", "failed", "success rate", "energy per episode (J)",
               "latency per step (s)", "Pareto"))}
{_table(failed, ("failed run", "error")) if failed else ""}
</body></html>
"""
    atomic_write_text(out / "index.html", page)


def read_sweep(folder: str | Path) -> tuple[pa.Table, list[str]]:
    """A sweep directory's table and its grid keys (``DataError`` if it is not one)."""
    import pyarrow.parquet as pq

    folder = Path(folder)
    if not (folder / "sweep.parquet").is_file() or not (folder / SWEEP_FILE).is_file():
        raise DataError(f"{folder}: no sweep.parquet and {SWEEP_FILE}: expected a sweep directory "
                        "written by `neuralbrain sweep`")
    header = json.loads((folder / SWEEP_FILE).read_text())
    return pq.read_table(folder / "sweep.parquet"), list(header.get("keys", header["grid"]))


def is_sweep(folder: str | Path) -> bool:
    return (Path(folder) / SWEEP_FILE).is_file()


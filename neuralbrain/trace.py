"""Energy traces: per-step ledger rows -> ``trace.parquet`` and ``episodes.parquet``.

``trace.parquet`` has one row per (episode, step, module, op, backend) with the columns of
``TRACE_SCHEMA``: ``backend`` is the backend that did that work, as the booking says (a
module may book on several: the in-pixel layer of perception on ``in_sensor``, the rest on
its main backend). A module that booked nothing in a step still gets one row with op ``""``,
its main backend and zero cost, so every module appears at every step. ``episodes.parquet`` has one row per
episode (``EPISODE_COLUMNS`` plus ``energy_j_<module>`` per module). Episode totals are the
correctly rounded sums (``math.fsum``) of the episode's trace rows, so summing the trace
reproduces them exactly whatever the order.

Layout on disk (schema version 2): ``trace.parquet`` and ``episodes.parquet`` are folders,
each a Parquet dataset of numbered parts ``part-<first episode, 8 digits>.parquet`` plus a
``_common_metadata`` file (the schema and the run's metadata: ``SCHEMA_VERSION_KEY``, config
hash, package version, seed, backends per module). ``TraceRecorder.write`` appends one part
to each folder for the episodes finished since its last call and never touches a part
already written, so writing N episodes costs O(N). Each part is written atomically, the
trace part before the episodes part: an episodes part is the commit mark of its trace part,
and an interrupted run (Ctrl-C, kill -9) leaves every finished episode readable. pyarrow
(``pq.read_table(run / "trace.parquet")``), polars and DuckDB (``run/trace.parquet/*.parquet``)
read a folder as one table in episode order; ``read_run_tables`` also reads the single-file
layout of schema version 1 and drops a trace part whose episodes part was never written.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from neuralbrain.atomic import atomic_path
from neuralbrain.energy import Ledger
from neuralbrain.errors import DataError

TRACE_SCHEMA = pa.schema(
    [
        ("episode", pa.int32()),
        ("step", pa.int32()),
        ("sim_time_s", pa.float64()),
        ("module", pa.string()),
        ("backend", pa.string()),
        ("op", pa.string()),
        ("energy_j", pa.float64()),
        ("latency_s", pa.float64()),
        ("ops", pa.int64()),
        ("bytes_moved", pa.int64()),
    ]
)
EPISODE_COLUMNS = (
    "episode", "seed", "steps", "return", "success", "energy_j", "latency_s", "error", "task",
)
SCHEMA_VERSION = 2
SCHEMA_VERSION_KEY = "neuralbrain.schema_version"
TRACE_NAME, EPISODES_NAME = "trace.parquet", "episodes.parquet"
COMMON_METADATA = "_common_metadata"


def part_name(first_episode: int) -> str:
    """The file name of the part whose first episode is ``first_episode`` (zero-padded, so
    names sort in episode order)."""
    return f"part-{first_episode:08d}.parquet"


def episodes_schema(modules: tuple[str, ...] | list[str]) -> pa.Schema:
    """The schema of ``episodes.parquet`` for an agent with these modules."""
    fields = [
        ("episode", pa.int32()),
        ("seed", pa.int64()),
        ("steps", pa.int32()),
        ("return", pa.float64()),
        ("success", pa.bool_()),
        ("energy_j", pa.float64()),
        ("latency_s", pa.float64()),
        ("error", pa.string()),
        ("task", pa.string()),
    ] + [(f"energy_j_{m}", pa.float64()) for m in modules]
    return pa.schema(fields)


@dataclass
class TraceRecorder:
    """Collects trace rows step by step and appends them to the two Parquet datasets.

    ``metadata``: the run's key-value metadata (str -> str), stored with the schema version in
    every part and in ``_common_metadata``.
    """

    modules: tuple[str, ...]
    metadata: Mapping[str, str] = field(default_factory=dict)
    columns: dict[str, list] = field(default_factory=lambda: {f.name: [] for f in TRACE_SCHEMA})
    episodes: list[dict] = field(default_factory=list)
    _episode_start: int = 0
    _written_rows: int = 0  # trace rows already in parts
    _written_episodes: int = 0  # episode rows already in parts
    _prepared: Path | None = None  # the run directory whose folders this recorder set up

    def record_step(
        self,
        episode: int,
        step: int,
        sim_time_s: float,
        ledgers: Mapping[str, Ledger],
        backends: Mapping[str, str],
    ) -> None:
        """Drain every module's ledger into rows for this step (``backends``: each module's
        main backend, for the row of a module that booked nothing)."""
        cols = self.columns
        for module in self.modules:
            bookings = ledgers[module].drain()
            if not bookings:
                rows = [("", backends[module], 0.0, 0.0, 0, 0)]
            else:
                rows = [(b.op, b.backend, b.cost.energy_j, b.cost.latency_s, b.cost.ops,
                         b.cost.bytes_moved) for b in bookings]
            for op, backend, energy, latency, ops, moved in rows:
                cols["episode"].append(episode)
                cols["step"].append(step)
                cols["sim_time_s"].append(sim_time_s)
                cols["module"].append(module)
                cols["backend"].append(backend)
                cols["op"].append(op)
                cols["energy_j"].append(energy)
                cols["latency_s"].append(latency)
                cols["ops"].append(ops)
                cols["bytes_moved"].append(moved)

    def finish_episode(
        self, episode: int, seed: int, steps: int, ret: float, success: bool, error: str | None,
        task: str | None = None,
    ) -> dict:
        """Close the episode: its totals are the fsum of its own trace rows; ``task``: the
        kind of task the env drew (None when it draws none)."""
        start, end = self._episode_start, len(self.columns["episode"])
        energy = self.columns["energy_j"][start:end]
        latency = self.columns["latency_s"][start:end]
        module_col = self.columns["module"][start:end]
        row = {
            "episode": episode,
            "seed": seed,
            "steps": steps,
            "return": float(ret),
            "success": bool(success),
            "energy_j": math.fsum(energy),
            "latency_s": math.fsum(latency),
            "error": error,
            "task": task,
        }
        for module in self.modules:
            row[f"energy_j_{module}"] = math.fsum(
                e for e, m in zip(energy, module_col, strict=True) if m == module
            )
        self.episodes.append(row)
        self._episode_start = end
        return row

    def _schema(self, schema: pa.Schema) -> pa.Schema:
        return schema.with_metadata(
            {SCHEMA_VERSION_KEY: str(SCHEMA_VERSION), **{str(k): str(v) for k, v in self.metadata.items()}})

    def trace_table(self, start: int = 0, end: int | None = None) -> pa.Table:
        """Trace rows ``start:end`` (all recorded rows by default, unfinished ones included)."""
        cols = {name: values[start:end] for name, values in self.columns.items()}
        return pa.table(cols, schema=self._schema(TRACE_SCHEMA))

    def finished_trace(self) -> pa.Table:
        """The rows of finished episodes only (what ``write`` writes)."""
        return self.trace_table(0, self._episode_start)

    def episodes_table(self, start: int = 0, end: int | None = None) -> pa.Table:
        """Episode rows ``start:end`` (all finished episodes by default)."""
        schema = self._schema(episodes_schema(self.modules))
        rows = self.episodes[start:end]
        return pa.table({name: [row[name] for row in rows] for name in schema.names}, schema=schema)

    def prepare(self, out: Path) -> None:
        """Set up ``out/trace.parquet/`` and ``out/episodes.parquet/`` for a new run: remove
        what an earlier run left there (either layout), write each ``_common_metadata``."""
        out = Path(out)
        for name in (TRACE_NAME, EPISODES_NAME):
            path = out / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
            path.mkdir(parents=True)
        self.adopt(out)
        write_common_metadata(self._schema(TRACE_SCHEMA), out / TRACE_NAME)
        write_common_metadata(self._schema(episodes_schema(self.modules)), out / EPISODES_NAME)

    def adopt(self, out: Path) -> None:
        """Append to folders another recorder prepared (a worker of a parallel run)."""
        self._prepared = Path(out)

    def write(self, out: Path) -> None:
        """Append one part to each dataset under ``out`` holding the episodes finished since
        the last call (nothing when there are none); ``prepare`` it first if this recorder
        has not. Parts are atomic, the trace part first; no part is ever rewritten."""
        out = Path(out)
        if self._prepared != out:
            self.prepare(out)
        if self._written_episodes == len(self.episodes):
            return
        name = part_name(self.episodes[self._written_episodes]["episode"])
        write_parquet(self.trace_table(self._written_rows, self._episode_start),
                      out / TRACE_NAME / name)
        write_parquet(self.episodes_table(self._written_episodes), out / EPISODES_NAME / name)
        self._written_rows, self._written_episodes = self._episode_start, len(self.episodes)


def write_parquet(table: pa.Table, path: Path) -> None:
    """``table`` to ``path`` atomically (temp file + rename)."""
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def write_common_metadata(schema: pa.Schema, folder: Path) -> None:
    """The dataset's ``_common_metadata`` (schema and key-value metadata), atomically."""
    with atomic_path(folder / COMMON_METADATA) as tmp:
        pq.write_metadata(schema, tmp)


def _parts(folder: Path) -> dict[str, Path]:
    return {p.name: p for p in folder.glob("part-*.parquet")}


def _read_dataset(files: list[Path], folder: Path) -> pa.Table:
    common = folder / COMMON_METADATA
    schema = pq.read_schema(common) if common.is_file() else None
    if not files:
        if schema is None:
            raise DataError(f"{folder}: no parts and no {COMMON_METADATA}: expected a dataset "
                            "written by `neuralbrain run`")
        return schema.empty_table()
    table = ds.dataset([str(f) for f in files], format="parquet", schema=schema).to_table()
    return table if schema is None else table.replace_schema_metadata(schema.metadata)


def read_run_tables(run: Path) -> tuple[pa.Table, pa.Table]:
    """``(episodes, trace)`` of a run directory, in episode order, in either layout: the
    folders of schema version 2 (only episodes whose episodes part exists: a trace part left
    by a run killed between its two writes is ignored) or the single files of version 1."""
    run = Path(run)
    ep_path, tr_path = run / EPISODES_NAME, run / TRACE_NAME
    for path in (ep_path, tr_path):
        if not path.exists():
            raise DataError(f"{run}: no {path.name}: expected a run directory written by "
                            "`neuralbrain run`")
    if ep_path.is_file() and tr_path.is_file():
        return pq.read_table(ep_path), pq.read_table(tr_path)
    if not (ep_path.is_dir() and tr_path.is_dir()):
        raise DataError(f"{run}: {EPISODES_NAME} and {TRACE_NAME} must both be files (schema 1) "
                        "or both folders (schema 2)")
    episode_parts, trace_parts = _parts(ep_path), _parts(tr_path)
    names = sorted(n for n in episode_parts if n in trace_parts)
    episodes = _read_dataset([episode_parts[n] for n in names], ep_path)
    trace = _read_dataset([trace_parts[n] for n in names], tr_path)
    return episodes, trace


def read_run_metadata(run: Path) -> dict[str, str]:
    """The run's key-value metadata (schema version, config hash, ...); for a version-1 run
    without any, ``{SCHEMA_VERSION_KEY: "1"}``."""
    path = Path(run) / TRACE_NAME
    source = path / COMMON_METADATA if path.is_dir() else path
    if not source.is_file():
        raise DataError(f"{run}: no {TRACE_NAME}: expected a run directory written by "
                        "`neuralbrain run`")
    raw = pq.read_schema(source).metadata or {}
    meta = {k.decode(): v.decode() for k, v in raw.items() if not k.startswith(b"ARROW:")}
    meta.setdefault(SCHEMA_VERSION_KEY, "1")
    return meta


def run_metadata(config_toml: str, seed: int, backends: Mapping[str, str]) -> dict[str, str]:
    """The metadata a run writes with its traces: config hash (sha256 of the resolved TOML),
    package version, first seed and each module's main backend (JSON)."""
    from neuralbrain.resumable import config_sha256, package_version

    return {
        "neuralbrain.config_sha256": config_sha256(config_toml),
        "neuralbrain.version": package_version(),
        "neuralbrain.seed": str(seed),
        "neuralbrain.backends": json.dumps(dict(backends), sort_keys=True),
    }


def energy_breakdown(trace: pa.Table) -> tuple[dict[str, float], dict[str, float], int]:
    """Mean energy per episode (J) by module and by backend, and the number of episodes."""
    import numpy as np

    n_episodes = max(1, len(set(trace["episode"].to_pylist())))
    energy = trace["energy_j"].to_numpy()
    out = []
    for column in ("module", "backend"):
        names = np.asarray(trace[column].to_pylist())
        out.append({name: math.fsum(energy[names == name]) / n_episodes
                    for name in sorted(set(names.tolist()))})
    return out[0], out[1], n_episodes


def breakdown_figure(trace: pa.Table):
    """Two bar charts on a log scale: mean energy per episode by module and by backend (a
    log scale because the planner spends 10^4-10^9 times what the other modules do)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_module, by_backend, n_episodes = energy_breakdown(trace)
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.4 * max(len(by_module), len(by_backend), 3) + 1.4))
    for ax, values, what in ((axes[0], by_module, "module"), (axes[1], by_backend, "backend")):
        names = [n for n in values if values[n] > 0]
        spent = [values[n] for n in names]
        ax.barh(names, spent, color="tab:blue" if what == "module" else "tab:orange")
        ax.set_xscale("log")
        if spent:  # bars start a decade below the smallest; room on the right for the labels
            ax.set_xlim(min(spent) / 10, max(spent) * 30)
        ax.invert_yaxis()
        ax.set_xlabel("energy per episode (J, log scale)")
        ax.set_title(f"by {what}")
        for y, n in enumerate(names):
            ax.annotate(f"{values[n]:.3g} J", (values[n], y), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize="small")
    fig.suptitle(f"energy per episode, mean of {n_episodes} episode(s)")
    fig.tight_layout()
    return fig


def plot_energy(trace: pa.Table, out_png: Path) -> None:
    """``breakdown_figure`` of a run's trace, written atomically."""
    import matplotlib.pyplot as plt

    fig = breakdown_figure(trace)
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)

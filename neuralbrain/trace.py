"""Energy traces: per-step ledger rows -> ``trace.parquet`` and ``episodes.parquet``.

``trace.parquet`` has one row per (episode, step, module, op) with the columns of
``TRACE_SCHEMA``; a module that booked nothing in a step still gets one row with op ``""``
and zero cost, so every module appears at every step. ``episodes.parquet`` has one row per
episode (``EPISODE_COLUMNS`` plus ``energy_j_<module>`` per module). Episode totals are the
correctly rounded sums (``math.fsum``) of the episode's trace rows, so summing the trace
reproduces them exactly whatever the order. Both files are rewritten atomically after every
episode, so an interrupted run leaves complete files for the episodes that finished.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from neuralbrain.atomic import atomic_path
from neuralbrain.energy import Ledger

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
    "episode", "seed", "steps", "return", "success", "energy_j", "latency_s", "error",
)


@dataclass
class TraceRecorder:
    """Collects trace rows step by step and writes the two Parquet files."""

    modules: tuple[str, ...]
    columns: dict[str, list] = field(default_factory=lambda: {f.name: [] for f in TRACE_SCHEMA})
    episodes: list[dict] = field(default_factory=list)
    _episode_start: int = 0

    def record_step(
        self,
        episode: int,
        step: int,
        sim_time_s: float,
        ledgers: Mapping[str, Ledger],
        backends: Mapping[str, str],
    ) -> None:
        """Drain every module's ledger into rows for this step."""
        cols = self.columns
        for module in self.modules:
            bookings = ledgers[module].drain()
            if not bookings:
                bookings_iter = [("", 0.0, 0.0, 0, 0)]
            else:
                bookings_iter = [
                    (b.op, b.cost.energy_j, b.cost.latency_s, b.cost.ops, b.cost.bytes_moved)
                    for b in bookings
                ]
            for op, energy, latency, ops, moved in bookings_iter:
                cols["episode"].append(episode)
                cols["step"].append(step)
                cols["sim_time_s"].append(sim_time_s)
                cols["module"].append(module)
                cols["backend"].append(backends[module])
                cols["op"].append(op)
                cols["energy_j"].append(energy)
                cols["latency_s"].append(latency)
                cols["ops"].append(ops)
                cols["bytes_moved"].append(moved)

    def finish_episode(
        self, episode: int, seed: int, steps: int, ret: float, success: bool, error: str | None
    ) -> dict:
        """Close the episode: its totals are the fsum of its own trace rows."""
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
        }
        for module in self.modules:
            row[f"energy_j_{module}"] = math.fsum(
                e for e, m in zip(energy, module_col, strict=True) if m == module
            )
        self.episodes.append(row)
        self._episode_start = end
        return row

    def trace_table(self) -> pa.Table:
        return pa.table(self.columns, schema=TRACE_SCHEMA)

    def episodes_table(self) -> pa.Table:
        fields = [
            ("episode", pa.int32()),
            ("seed", pa.int64()),
            ("steps", pa.int32()),
            ("return", pa.float64()),
            ("success", pa.bool_()),
            ("energy_j", pa.float64()),
            ("latency_s", pa.float64()),
            ("error", pa.string()),
        ] + [(f"energy_j_{m}", pa.float64()) for m in self.modules]
        schema = pa.schema(fields)
        data = {name: [row[name] for row in self.episodes] for name in schema.names}
        return pa.table(data, schema=schema)

    def write(self, out: Path) -> None:
        """Write ``trace.parquet`` and ``episodes.parquet`` under ``out``, atomically each.

        Only rows of finished episodes are written, so both files always agree.
        """
        trace = self.trace_table().slice(0, self._episode_start)
        write_parquet(trace, out / "trace.parquet")
        write_parquet(self.episodes_table(), out / "episodes.parquet")


def write_parquet(table: pa.Table, path: Path) -> None:
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def plot_energy(trace_path: Path, out_png: Path) -> None:
    """Stacked energy per module over steps (mean over episodes), written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    table = pq.read_table(trace_path, columns=["episode", "step", "module", "energy_j"])
    steps = table["step"].to_numpy()
    modules = sorted(set(table["module"].to_pylist()))
    module_col = np.asarray(table["module"].to_pylist())
    energy = table["energy_j"].to_numpy()
    n_episodes = max(1, len(set(table["episode"].to_pylist())))
    n_steps = int(steps.max()) + 1 if len(steps) else 1
    stacks = []
    for module in modules:
        mask = module_col == module
        per_step = np.bincount(steps[mask], weights=energy[mask], minlength=n_steps)
        stacks.append(per_step / n_episodes)
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    ax.stackplot(np.arange(n_steps), np.asarray(stacks) * 1e6, labels=modules, step="post")
    ax.set_xlabel("step")
    ax.set_ylabel("energy per step (uJ, mean over episodes)")
    ax.set_title(f"energy by module ({n_episodes} episode(s))")
    ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)

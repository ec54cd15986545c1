"""Energy traces: per-step ledger rows -> ``trace.parquet`` and ``episodes.parquet``.

``trace.parquet`` has one row per (episode, step, module, op, backend) with the columns of
``TRACE_SCHEMA``: ``backend`` is the backend that did that work, as the booking says (a
module may book on several: the in-pixel layer of perception on ``in_sensor``, the rest on
its main backend). A module that booked nothing in a step still gets one row with op ``""``,
its main backend and zero cost, so every module appears at every step. ``episodes.parquet`` has one row per
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
    "episode", "seed", "steps", "return", "success", "energy_j", "latency_s", "error", "task",
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

    def trace_table(self) -> pa.Table:
        return pa.table(self.columns, schema=TRACE_SCHEMA)

    def finished_trace(self) -> pa.Table:
        """The rows of finished episodes only (what ``write`` writes)."""
        return self.trace_table().slice(0, self._episode_start)

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
            ("task", pa.string()),
        ] + [(f"energy_j_{m}", pa.float64()) for m in self.modules]
        schema = pa.schema(fields)
        data = {name: [row[name] for row in self.episodes] for name in schema.names}
        return pa.table(data, schema=schema)

    def write(self, out: Path) -> None:
        """Write ``trace.parquet`` and ``episodes.parquet`` under ``out``, atomically each.

        Only rows of finished episodes are written, so both files always agree.
        """
        write_parquet(self.finished_trace(), out / "trace.parquet")
        write_parquet(self.episodes_table(), out / "episodes.parquet")


def write_parquet(table: pa.Table, path: Path) -> None:
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


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

"""Run reports: one self-contained HTML page per run, and a side-by-side comparison.

``write_report(run)`` reads a run directory (``episodes.parquet``, ``trace.parquet``,
``config.toml``) and writes ``run/report.html``: success rate and return, energy per episode by
module and by backend (log scale: the planner would hide everything else on a linear one),
mean latency per module per step, the per-step energy of each module in one episode, the
backends each module's work ran on and the resolved config. Figures are PNGs embedded as
base64 so the page opens anywhere, offline. ``compare_runs(a, b)`` answers the usual question
(what did moving a module to another backend do to energy and success?) as a dict, and
``write_comparison`` renders it as HTML. ``compare_many(paths)`` puts any number of runs and
sweep directories (one entry per sweep assignment) side by side with the Pareto front of
energy against success marked; ``write_comparison_many`` plots it (and writes a page).
Every reader here takes both trace layouts (``neuralbrain.trace.read_run_tables``).
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from neuralbrain.atomic import atomic_path, atomic_write_text
from neuralbrain.errors import DataError
from neuralbrain.trace import read_run_tables


def _read_run(run: Path) -> tuple[list[dict], Any, str]:
    episodes_table, trace = read_run_tables(run)  # either trace layout
    episodes = episodes_table.to_pylist()
    if not episodes:
        raise DataError(f"{run}/episodes.parquet has no episodes")
    config = (run / "config.toml").read_text() if (run / "config.toml").is_file() else ""
    return episodes, trace, config


def summarize(run: Path) -> dict[str, Any]:
    """Per-run figures: success, return, energy and latency per module, backends."""
    episodes, trace, _ = _read_run(run)
    modules = sorted(set(trace["module"].to_pylist()))
    module_col = np.asarray(trace["module"].to_pylist())
    backend_col = np.asarray(trace["backend"].to_pylist())
    energy = trace["energy_j"].to_numpy()
    latency = trace["latency_s"].to_numpy()
    steps = sum(e["steps"] for e in episodes)
    n = len(episodes)
    by_module_backend: dict[str, dict[str, float]] = {}
    for m in modules:
        mine = module_col == m
        by_module_backend[m] = {b: math.fsum(energy[mine & (backend_col == b)]) / n
                                for b in sorted(set(backend_col[mine].tolist()))}
    return {
        "run": str(run),
        "episodes": n,
        "success_rate": sum(e["success"] for e in episodes) / n,
        "mean_return": math.fsum(e["return"] for e in episodes) / n,
        "mean_steps": steps / n,
        "errors": sum(e.get("error") is not None for e in episodes),
        "energy_j_per_episode": math.fsum(e["energy_j"] for e in episodes) / n,
        "energy_j_per_episode_by_module": {
            m: math.fsum(energy[module_col == m]) / n for m in modules
        },
        "energy_j_per_episode_by_backend": {
            b: math.fsum(energy[backend_col == b]) / n for b in sorted(set(backend_col.tolist()))
        },
        "energy_j_per_episode_by_module_backend": by_module_backend,
        "latency_s_per_step_by_module": {
            m: math.fsum(latency[module_col == m]) / max(steps, 1) for m in modules
        },
        "backends": {m: "+".join(b) for m, b in by_module_backend.items()},
        "success_rate_by_task": _by_task(episodes),
    }


def _by_task(episodes: list[dict]) -> dict[str, dict[str, float]]:
    """Success per kind of task (episodes of envs that draw one; empty otherwise)."""
    kinds = sorted({e["task"] for e in episodes if e.get("task") is not None})
    out = {}
    for kind in kinds:
        mine = [e["success"] for e in episodes if e.get("task") == kind]
        out[kind] = {"episodes": len(mine), "success_rate": sum(mine) / len(mine)}
    return out


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figures(episodes: list[dict], trace: Any, modules: list[str]) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neuralbrain.trace import breakdown_figure

    figs = {"breakdown": _png(breakdown_figure(trace))}
    module_col = np.asarray(trace["module"].to_pylist())
    latency = trace["latency_s"].to_numpy()
    steps = max(sum(e["steps"] for e in episodes), 1)
    per_step = {m: math.fsum(latency[module_col == m]) / steps for m in modules}
    shown = [m for m in modules if per_step[m] > 0]
    fig, ax = plt.subplots(figsize=(8, 0.35 * max(len(shown), 3) + 1.2))
    ax.barh(shown, [per_step[m] for m in shown])
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("mean latency per step (s, log scale)")
    ax.set_title("latency per module")
    fig.tight_layout()
    figs["latency"] = _png(fig)

    first = episodes[0]["episode"]
    mask = trace["episode"].to_numpy() == first
    step_col = trace["step"].to_numpy()[mask]
    energy = trace["energy_j"].to_numpy()[mask]
    sub_modules = module_col[mask]
    n_steps = int(step_col.max()) + 1 if len(step_col) else 1
    fig, ax = plt.subplots(figsize=(8, 3.4))
    for m in modules:
        per = np.bincount(step_col[sub_modules == m], energy[sub_modules == m], n_steps)
        spent = per > 0
        if spent.any():
            ax.plot(np.arange(n_steps)[spent], per[spent], ".", label=m, markersize=4)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("energy (J, log scale)")
    ax.set_title(f"energy per step and module, episode {first}")
    ax.legend(fontsize="small", ncol=4)
    fig.tight_layout()
    figs["timeline"] = _png(fig)
    return figs


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


STYLE = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;"
    "text-align:left}pre{background:#f6f6f6;padding:1em;overflow:auto}img{max-width:100%}"
)


def write_report(run: Path) -> Path:
    """Write ``run/report.html`` (self-contained) and return its path."""
    episodes, trace, config = _read_run(run)
    s = summarize(run)
    modules = sorted(s["energy_j_per_episode_by_module"])
    figs = _figures(episodes, trace, modules)
    top = max(modules, key=lambda m: s["energy_j_per_episode_by_module"][m])
    rows = [
        (m, ", ".join(f"{b} {j:.3g} J" for b, j in s["energy_j_per_episode_by_module_backend"][m].items()),
         f"{s['energy_j_per_episode_by_module'][m]:.4g}",
         f"{s['latency_s_per_step_by_module'][m]:.4g}")
        for m in modules
    ]
    backend_rows = [(b, f"{j:.4g}") for b, j in s["energy_j_per_episode_by_backend"].items()]
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>neuralbrain run {html.escape(run.name)}</title><style>{STYLE}</style></head><body>
<h1>Run {html.escape(str(run))}</h1>
<p>{s['episodes']} episodes, success rate <b>{s['success_rate']:.1%}</b>, mean return
{s['mean_return']:.3g}, mean {s['mean_steps']:.1f} steps, {s['errors']} episode(s) failed with
errors. Energy per episode <b>{s['energy_j_per_episode']:.4g} J</b>; the module spending the
most is <b>{html.escape(top)}</b>.</p>
<h2>Energy per episode by module and by backend</h2>
<img alt="energy by module and backend" src="{figs['breakdown']}">
<h2>Modules</h2>
{_table(rows, ("module", "work per backend (per episode)", "energy per episode (J)",
               "latency per step (s)"))}
<h2>Backends</h2>
{_table(backend_rows, ("backend", "energy per episode (J)"))}
<h2>Latency per module</h2><img alt="latency" src="{figs['latency']}">
<h2>Energy timeline of one episode</h2><img alt="timeline" src="{figs['timeline']}">
<h2>Episodes</h2>
{_table([(e['episode'], e['seed'], e['steps'], f"{e['return']:.3g}", e['success'],
          f"{e['energy_j']:.4g}", e.get('error') or '') for e in episodes],
        ("episode", "seed", "steps", "return", "success", "energy (J)", "error"))}
<h2>Resolved config</h2><pre>{html.escape(config)}</pre>
</body></html>
"""
    out = run / "report.html"
    atomic_write_text(out, page)
    return out


def compare_runs(a: Path, b: Path) -> dict[str, Any]:
    """Side-by-side figures of two runs and the per-module energy ratios b / a."""
    sa, sb = summarize(a), summarize(b)
    modules = sorted(set(sa["energy_j_per_episode_by_module"]) | set(sb["energy_j_per_episode_by_module"]))
    backends = sorted(set(sa["energy_j_per_episode_by_backend"])
                      | set(sb["energy_j_per_episode_by_backend"]))

    def ratio(x: float, y: float) -> float | None:
        return y / x if x > 0 else None

    return {
        "a": sa,
        "b": sb,
        "success_rate_delta": sb["success_rate"] - sa["success_rate"],
        "energy_ratio": ratio(sa["energy_j_per_episode"], sb["energy_j_per_episode"]),
        "energy_ratio_by_module": {
            m: ratio(sa["energy_j_per_episode_by_module"].get(m, 0.0),
                     sb["energy_j_per_episode_by_module"].get(m, 0.0))
            for m in modules
        },
        "energy_ratio_by_backend": {
            b: ratio(sa["energy_j_per_episode_by_backend"].get(b, 0.0),
                     sb["energy_j_per_episode_by_backend"].get(b, 0.0))
            for b in backends
        },
    }


def write_comparison(a: Path, b: Path, out: Path) -> Path:
    """Render ``compare_runs`` as one HTML page at ``out``."""
    c = compare_runs(a, b)
    modules = sorted(c["energy_ratio_by_module"])

    def fmt(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.4g}"

    rows = [("success rate", f"{c['a']['success_rate']:.1%}", f"{c['b']['success_rate']:.1%}", ""),
            ("energy per episode (J)", fmt(c["a"]["energy_j_per_episode"]),
             fmt(c["b"]["energy_j_per_episode"]), fmt(c["energy_ratio"]))]
    for m in modules:
        rows.append((
            f"{m} [{c['a']['backends'].get(m, '-')} -> {c['b']['backends'].get(m, '-')}]",
            fmt(c["a"]["energy_j_per_episode_by_module"].get(m)),
            fmt(c["b"]["energy_j_per_episode_by_module"].get(m)),
            fmt(c["energy_ratio_by_module"][m]),
        ))
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>compare</title>
<style>{STYLE}</style></head><body><h1>A: {html.escape(str(a))}<br>B: {html.escape(str(b))}</h1>
{_table(rows, ("", "A", "B", "B / A"))}</body></html>
"""
    atomic_write_text(out, page)
    return out


def compare_many(paths: list[Path]) -> dict[str, Any]:
    """Any number of runs and sweep directories side by side: one entry per run (its
    ``summarize`` figures) and per assignment of each sweep (means over its ok runs), with
    ``pareto`` marking the entries no other entry beats on both energy and success."""
    from neuralbrain.sweep import assignment_summary, is_sweep, mark_pareto, read_sweep

    if not paths:
        raise DataError("compare: no runs: expected run or sweep directories")
    entries: list[dict[str, Any]] = []
    for path in paths:
        if is_sweep(path):
            table, keys = read_sweep(path)
            rows = table.to_pylist()
            modules = sorted(c.removeprefix("energy_j_") for c in table.column_names
                             if c.startswith("energy_j_") and not c.startswith("energy_j_backend_"))
            backends = sorted(c.removeprefix("energy_j_backend_") for c in table.column_names
                              if c.startswith("energy_j_backend_"))
            for a in assignment_summary(table, keys):
                ok = [r for r in rows if r["status"] == "ok"
                      and all(r[k] == v for k, v in a["assignment"].items())]

                def mean(column: str, ok: list[dict] = ok) -> float | None:
                    return math.fsum(r[column] for r in ok) / len(ok) if ok else None

                label = f"{path.name}: " + ", ".join(f"{k}={v}" for k, v in a["assignment"].items())
                entries.append({
                    "label": label, "source": str(path), "kind": "sweep",
                    "runs": a["runs"], "failed": a["failed"],
                    "episodes": sum(r["episodes"] for r in ok),
                    "success_rate": a["success_rate"], "energy_j": a["energy_j"],
                    "energy_j_by_module": {m: mean(f"energy_j_{m}") for m in modules},
                    "energy_j_by_backend": {b: mean(f"energy_j_backend_{b}") for b in backends},
                })
        else:
            s = summarize(path)
            entries.append({
                "label": str(path), "source": str(path), "kind": "run", "runs": 1, "failed": 0,
                "episodes": s["episodes"], "success_rate": s["success_rate"],
                "energy_j": s["energy_j_per_episode"],
                "energy_j_by_module": s["energy_j_per_episode_by_module"],
                "energy_j_by_backend": s["energy_j_per_episode_by_backend"],
            })
    mark_pareto(entries)
    modules = sorted({m for e in entries for m in e["energy_j_by_module"]})
    return {"entries": entries, "modules": modules}


def write_comparison_many(result: dict[str, Any], png: Path, html_out: Path | None = None) -> None:
    """The energy-against-success plot of ``compare_many`` at ``png`` (and an HTML page with
    the table and the plot at ``html_out``), atomically."""
    import matplotlib.pyplot as plt

    from neuralbrain.sweep import pareto_figure

    fig = pareto_figure(result["entries"], "energy against success (runs and sweep assignments)")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    with atomic_path(png) as tmp:
        tmp.write_bytes(buf.getvalue())
    if html_out is None:
        return

    def fmt(x: float | None, spec: str) -> str:
        return "-" if x is None else format(x, spec)

    rows = [(e["label"], e["runs"], e["episodes"], fmt(e["success_rate"], ".1%"),
             fmt(e["energy_j"], ".4g"),
             *(fmt(e["energy_j_by_module"].get(m), ".4g") for m in result["modules"]),
             "yes" if e["pareto"] else "") for e in result["entries"]]
    src = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>compare</title>
<style>{STYLE}</style></head><body><h1>Compare {len(result['entries'])} runs and assignments</h1>
<img alt="energy against success" src="{src}">
{_table(rows, ("run / assignment", "runs", "episodes", "success rate", "energy per episode (J)",
               *(f"{m} (J)" for m in result["modules"]), "Pareto"))}</body></html>
"""
    atomic_write_text(html_out, page)

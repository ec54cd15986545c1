"""``neuralbrain``: run, train and evaluate agents; list what is registered.

Every error a user can cause is a ``neuralbrain.errors.Error``: it is printed on one line
(``neuralbrain: error: ...``) with exit code 2, never as a traceback. Commands that report
take ``--json`` and print one JSON object. Area commands (``data``, ``prove``, ``plan``,
``insensor``, ...) live beside their code and are added from ``COMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from neuralbrain.errors import ConfigError, Error

# Each module defines ``add_commands(subparsers)``; heavy imports stay inside the handlers.
COMMAND_MODULES: tuple[str, ...] = (
    "neuralbrain.sensing.commands",
    "neuralbrain.sensing.insensor_commands",
    "neuralbrain.reasoning.gl.commands",
    "neuralbrain.reasoning.planner.commands",
    "neuralbrain.hardware.t3_commands",
    "neuralbrain.hardware.fpga_commands",
    "neuralbrain.nir_commands",
)


def _add_config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="agent or task TOML: a path, or a config name "
                        "(neural_brain) of the installed configs")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config value, e.g. --set planner.backend=lut (repeatable)",
    )


def _add_data_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-root", type=Path, default=None,
        help="dataset root for this call (replaces $NEURALBRAIN_DATA)",
    )


def _use_data_root(root: Path | None) -> Path | None:
    if root is None:
        env = os.environ.get("NEURALBRAIN_DATA")
        return Path(env) if env else None
    if not root.is_dir():
        raise ConfigError(f"--data-root {str(root)!r} is not a directory: expected a dataset root")
    os.environ["NEURALBRAIN_DATA"] = str(root)
    return root


def _print_json(obj: object) -> None:
    print(json.dumps(obj, sort_keys=True, default=str))


def cmd_run(args: argparse.Namespace) -> int:
    from neuralbrain.runner import load_agent, run

    agent = load_agent(args.config, args.checkpoint, args.overrides)
    out = args.out or Path("runs") / Path(args.config).stem
    result = run(agent, args.episodes, out=out, progress=False if args.json else None,
                 workers=args.workers)
    summary = result.summary()
    if args.json:
        _print_json(summary)
    else:
        print(
            f"{summary['episodes']} episodes, success {summary['success_rate']:.0%}, "
            f"mean return {summary['mean_return']:.3g}, energy {summary['energy_j']:.4g} J"
            + (f", {summary['errors']} failed with errors" if summary["errors"] else "")
        )
        print(f"run directory: {summary['out']}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from neuralbrain.assemble import train_agent
    from neuralbrain.config import AgentConfig, load_config
    from neuralbrain.tasks import TASKS

    cfg = load_config(args.config, args.overrides)
    data_root = _use_data_root(args.data_root)
    if isinstance(cfg, AgentConfig):
        result = train_agent(cfg, args.out, data_root, args.resume)
    else:
        result = TASKS.get(cfg.task).train(cfg, args.out, data_root, args.resume)
    if args.json:
        _print_json(result)
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
        print(f"checkpoint: {args.out}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from neuralbrain.config import AgentConfig, load_config
    from neuralbrain.tasks import TASKS

    cfg = load_config(args.config, args.overrides)
    if isinstance(cfg, AgentConfig):
        raise ConfigError(f"{args.config} is an agent: evaluate it in its env with `neuralbrain "
                          "run`; `eval` takes a task config (its modules' tasks are named in "
                          "their task = ... keys)")
    data_root = _use_data_root(args.data_root)
    result = TASKS.get(cfg.task).evaluate(cfg, args.checkpoint, data_root, args.split)
    if args.json:
        _print_json(result)
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0


def cmd_modules(args: argparse.Namespace) -> int:
    from neuralbrain.modules import MODULES

    rows = []
    for name in MODULES:
        cls = MODULES.get(name)
        rows.append({
            "type": name,
            "inputs": {p: t.__name__ for p, t in cls.inputs.items()},
            "outputs": {p: t.__name__ for p, t in cls.outputs.items()},
            "trained_by": list(cls.tasks),
            "about": MODULES.describe(name),
        })
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            ports = f"{','.join(row['inputs']) or '-'} -> {','.join(row['outputs'])}"
            print(f"{row['type']:<20} {ports:<48} {row['about']}")
    return 0


def cmd_tasks(args: argparse.Namespace) -> int:
    from neuralbrain.tasks import TASKS

    rows = [{"task": name, "about": TASKS.describe(name)} for name in TASKS]
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            print(f"{row['task']:<20} {row['about']}")
    return 0


def cmd_backends(args: argparse.Namespace) -> int:
    from neuralbrain.hardware import BACKENDS

    rows = []
    for name in BACKENDS:
        cls = BACKENDS.get(name)
        rows.append({
            "name": name,
            "capabilities": sorted(cls.capabilities),
            "tags": list(BACKENDS.tags(name)),
            "energy_source": cls.energy_table.source,
            "about": BACKENDS.describe(name),
        })
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            caps = ",".join(row["capabilities"]) or "-"
            print(f"{row['name']:<14} {caps:<22} {row['about']}")
    return 0


def cmd_envs(args: argparse.Namespace) -> int:
    import gymnasium

    from neuralbrain.runner import registered_envs

    rows = []
    for env_id in registered_envs():
        spec = gymnasium.spec(env_id)
        rows.append({"id": env_id, "entry_point": str(spec.entry_point),
                     "max_episode_steps": spec.max_episode_steps})
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            print(f"{row['id']:<34} max_episode_steps={row['max_episode_steps']}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from neuralbrain.report import summarize, write_report

    path = write_report(args.run)
    if args.json:
        _print_json({**summarize(args.run), "report": str(path)})
    else:
        print(f"report: {path}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from neuralbrain.report import compare_many, compare_runs, write_comparison, write_comparison_many
    from neuralbrain.sweep import is_sweep

    if len(args.runs) != 2 or any(is_sweep(r) for r in args.runs) or args.plot is not None:
        return _compare_many(args, compare_many, write_comparison_many)
    run_a, run_b = args.runs
    result = compare_runs(run_a, run_b)
    if args.out is not None:
        result["report"] = str(write_comparison(run_a, run_b, args.out))
    if args.json:
        _print_json(result)
    else:
        a, b = result["a"], result["b"]
        print(f"{'':<28}{'A':>12}{'B':>12}{'B/A':>10}")
        print(f"{'success rate':<28}{a['success_rate']:>12.1%}{b['success_rate']:>12.1%}")
        ratio = result["energy_ratio"]
        print(f"{'energy per episode (J)':<28}{a['energy_j_per_episode']:>12.4g}"
              f"{b['energy_j_per_episode']:>12.4g}{ratio if ratio is None else f'{ratio:10.3g}'}")
        for m, r in result["energy_ratio_by_module"].items():
            label = f"{m} [{a['backends'].get(m, '-')}->{b['backends'].get(m, '-')}]"
            ea = a["energy_j_per_episode_by_module"].get(m, 0.0)
            eb = b["energy_j_per_episode_by_module"].get(m, 0.0)
            print(f"{label:<28}{ea:>12.4g}{eb:>12.4g}{'' if r is None else f'{r:10.3g}'}")
        if "report" in result:
            print(f"report: {result['report']}")
    return 0


def _compare_many(args: argparse.Namespace, compare_many, write_comparison_many) -> int:
    """Any number of runs and sweeps: the table, the plot (``--plot``, else ``--out`` with
    ``.png``, else ``compare.png``) and, with ``--out``, the HTML page."""
    result = compare_many(list(args.runs))
    png = args.plot or (args.out.with_suffix(".png") if args.out is not None else Path("compare.png"))
    write_comparison_many(result, png, args.out)
    result["plot"] = str(png)
    if args.out is not None:
        result["report"] = str(args.out)
    if args.json:
        _print_json(result)
        return 0
    width = max(len(e["label"]) for e in result["entries"]) + 2
    print(f"{'run / assignment':<{width}}{'runs':>6}{'success':>9}{'J/episode':>12}  Pareto")
    for e in result["entries"]:
        success = "-" if e["success_rate"] is None else f"{e['success_rate']:.1%}"
        energy = "-" if e["energy_j"] is None else f"{e['energy_j']:.4g}"
        print(f"{e['label']:<{width}}{e['runs']:>6}{success:>9}{energy:>12}  "
              f"{'*' if e['pareto'] else ''}")
    print(f"plot: {png}" + (f"\nreport: {args.out}" if args.out is not None else ""))
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from neuralbrain.sweep import assignment_summary, parse_grid, parse_seeds, sweep

    grid = parse_grid(args.grid)
    table = sweep(args.config, grid, parse_seeds(args.seeds), out=args.out, engine=args.engine,
                  workers=args.workers, address=args.address, resume=args.resume,
                  episodes=args.episodes, overrides=args.overrides, checkpoint=args.checkpoint)
    summary = assignment_summary(table, list(grid))
    failed = sum(s != "ok" for s in table["status"].to_pylist())
    paths = {name: str(args.out / name) for name in ("sweep.parquet", "pareto.png", "index.html")}
    if args.json:
        _print_json({"runs": table.num_rows, "failed": failed, **paths, "assignments": summary})
        return 0
    keys = list(grid)
    widths = [max(len(k), *(len(str(a["assignment"][k])) for a in summary)) + 2 for k in keys]
    print("".join(f"{k:<{w}}" for k, w in zip(keys, widths, strict=True))
          + f"{'runs':>5}{'failed':>7}{'success':>9}{'J/episode':>12}  Pareto")
    for a in summary:
        success = "-" if a["success_rate"] is None else f"{a['success_rate']:.1%}"
        energy = "-" if a["energy_j"] is None else f"{a['energy_j']:.4g}"
        print("".join(f"{str(a['assignment'][k]):<{w}}" for k, w in zip(keys, widths, strict=True))
              + f"{a['runs']:>5}{a['failed']:>7}{success:>9}{energy:>12}  {'*' if a['pareto'] else ''}")
    print(f"{table.num_rows} runs, {failed} failed; " + ", ".join(paths.values()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neuralbrain", description="Neuromorphic and embodied agents on simulated hardware."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="evaluate an agent for N episodes and write its traces")
    _add_config_args(p)
    p.add_argument("--episodes", type=int, default=None, help="number of episodes ([run].episodes)")
    p.add_argument("--out", type=Path, default=None, help="run directory (default runs/<config>)")
    p.add_argument("--checkpoint", type=Path, default=None, help="trained checkpoint directory")
    p.add_argument("--workers", type=int, default=1,
                   help="processes to spread the episodes over (same traces as 1; default 1)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("train", help="train a task, or every trained module of an agent")
    _add_config_args(p)
    p.add_argument("--out", type=Path, required=True, help="checkpoint directory")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    _add_data_root(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="evaluate a trained task offline (accuracy etc.)")
    _add_config_args(p)
    p.add_argument("--checkpoint", type=Path, default=None, help="trained checkpoint directory")
    p.add_argument("--split", choices=("train", "validation", "test", "all"), default="test",
                   help="validation: the split settings are chosen on; test: scored once")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _add_data_root(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("report", help="write a self-contained HTML report of a run")
    p.add_argument("run", type=Path, help="run directory")
    p.add_argument("--json", action="store_true", help="print the run's figures as JSON")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("compare", help="put runs and sweeps side by side (energy and success)")
    p.add_argument("runs", type=Path, nargs="+", metavar="RUN_OR_SWEEP",
                   help="run directories and sweep directories (two runs: ratios B/A)")
    p.add_argument("--out", type=Path, default=None, help="also write an HTML comparison here")
    p.add_argument("--plot", type=Path, default=None,
                   help="energy-against-success plot (default: --out with .png, or compare.png; "
                   "not written for exactly two runs unless given)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("sweep", help="run every (grid assignment, seed) pair; merge the results")
    _add_config_args(p)
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                   help="a config key and its values, e.g. planner.backend=cpu,t3 (repeatable)")
    p.add_argument("--seeds", default="0", help="seeds: N, A-B or a comma list (default 0)")
    p.add_argument("--episodes", type=int, default=1, help="episodes per run (seeds s, s+1, ...)")
    p.add_argument("--engine", default="local", help="local (process pool, default) or ray")
    p.add_argument("--address", default=None,
                   help="Ray cluster address HOST:PORT (default $RAY_ADDRESS, else a local Ray)")
    p.add_argument("--workers", type=int, default=2,
                   help="local processes, or CPUs of a local Ray instance (default 2)")
    p.add_argument("--out", type=Path, required=True, help="sweep directory")
    p.add_argument("--resume", action="store_true", help="skip the runs --out already finished")
    p.add_argument("--checkpoint", type=Path, default=None, help="trained checkpoint directory")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("backends", help="list the registered hardware backends")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_backends)

    p = sub.add_parser("envs", help="list the registered environments")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_envs)

    p = sub.add_parser("modules", help="list the registered module types and their ports")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_modules)

    p = sub.add_parser("tasks", help="list the registered offline tasks")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tasks)

    for module in COMMAND_MODULES:
        importlib.import_module(module).add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except Error as err:
        print(f"neuralbrain: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("neuralbrain: interrupted; finished episodes are saved", file=sys.stderr)
        return 130
    except OSError as err:  # a path the user gave cannot be read or written: one line
        where = f" {str(err.filename)!r}" if err.filename else ""
        print(f"neuralbrain: error:{where} {err.strerror or err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

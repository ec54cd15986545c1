"""``neuralbrain export CONFIG --checkpoint CK --nir OUT.nir``: a trained spiking model as NIR.

CONFIG is a task config or an agent config (then the module to export is the only spiking
one, or ``--module NAME``, and its checkpoint is ``CK/NAME`` as ``neuralbrain train`` lays it
out). The models and the module that writes each graph (node semantics in their docstrings
and in ``neuralbrain.nir_lif``):

=================  =======================================  ===================================
task               model                                    graph
=================  =======================================  ===================================
insensor_nmnist    the in-sensor SNN (``snn.npz``)          ``sensing/snn/nir_io.py``
lsm_nmnist,        the LSM reservoir and its readout        ``memory/lsm_nir.py``
lsm_fsdd           (``lsm.npz``; reservoir from the seed)
es_cartpole        the CartPole spiking policy              ``control/snn_policy_nir.py``
                   (``snn_cartpole.npz``)
=================  =======================================  ===================================

Reset by subtraction (the SNN, the policy) is written as standard NIR nodes by default
(``--reset-form graph``: exact) or as ``LIF`` nodes with ``metadata["reset"] = "subtract"``
(``--reset-form lif``: a documented deviation, for toolchains that map ``LIF`` nodes onto
hardware); see ``neuralbrain.nir_lif``. The file is written atomically. ``--json`` prints one
object: the path, the model, the nodes with their NIR types, the deviations from NIR the
graph documents and notes on running it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from neuralbrain.errors import CheckpointError, ConfigError

EXPORTERS = ("insensor_nmnist", "lsm_nmnist", "lsm_fsdd", "es_cartpole")
LIF_RESET = ("reset by subtraction: NIR 1.0 LIF resets to v_reset; the LIF nodes carry "
             "metadata reset = 'subtract' (a consumer reading only the fields resets to zero)")
DEVIATIONS = {
    "insensor_nmnist": [],
    "lsm_nmnist": [
        "readout (log1p of windowed spike counts, then linear) is in metadata: NIR has no "
        "windowing or logarithm",
    ],
    "es_cartpole": [],
}
NOTES = {  # how to run the graph as the model runs, beyond the node semantics
    "es_cartpole": [
        "one env step = bins_per_env_step bins, run continuously: the score of env step k is "
        "count[end k] - count[end k-1] + v_out[end k]/threshold from the output [count, "
        "v_out/threshold]",
    ],
}
DEVIATIONS["lsm_fsdd"] = DEVIATIONS["lsm_nmnist"]


def _deviations(task: str, reset_form: str) -> list[str]:
    lif = reset_form == "lif" and task in ("insensor_nmnist", "es_cartpole")
    return ([LIF_RESET] if lif else []) + DEVIATIONS[task]


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export", help="write a trained spiking model as a NIR graph (--nir OUT.nir)")
    p.add_argument("config", help="task or agent TOML: a path or an installed config name")
    p.add_argument("--checkpoint", type=Path, required=True,
                   help="the --out folder of `neuralbrain train CONFIG`")
    p.add_argument("--nir", type=Path, required=True, help="the .nir file to write")
    p.add_argument("--reset-form", choices=("graph", "lif"), default="graph",
                   help="reset by subtraction (SNN, policy) as standard NIR nodes (graph: LI, "
                   "Threshold, Scale on a cycle; exact) or as LIF nodes with metadata reset = "
                   "'subtract' (lif: what LIF-mapping toolchains take; NIR's own LIF resets to "
                   "0)")
    p.add_argument("--check", type=int, default=0, metavar="N",
                   help="then run the written file in snnTorch beside our simulator on N inputs "
                   "and report the spike agreement (needs the [interop] extra; see "
                   "neuralbrain.nir_check)")
    p.add_argument("--data-root", type=Path, default=None,
                   help="dataset root for --check (default: $NEURALBRAIN_DATA)")
    p.add_argument("--module", default=None,
                   help="agent configs: the module to export (default: the only spiking one)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value (repeatable)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_export)


def _task_of(cfg: Any, checkpoint: Path, module: str | None) -> tuple[Any, Path]:
    """The task config and checkpoint folder to export (agents: one of their modules)."""
    from neuralbrain.config import AgentConfig

    if not isinstance(cfg, AgentConfig):
        if module is not None:
            raise ConfigError(f"--module {module!r} is for agent configs: this is a "
                              f"{cfg.task!r} task config")
        return cfg, checkpoint
    spiking = {name: cfg.task_of(name) for name in cfg.modules
               if cfg.task_of(name) is not None and cfg.task_of(name).task in EXPORTERS}
    if module is None:
        if len(spiking) != 1:
            raise ConfigError(f"agent has spiking modules {sorted(spiking)}: expected --module "
                              "NAME naming one" if spiking else
                              "agent has no module trained by an exportable task: expected one "
                              f"trained by {list(EXPORTERS)}")
        module = next(iter(spiking))
    if module not in spiking:
        raise ConfigError(f"--module {module!r}: expected one of {sorted(spiking)}")
    return spiking[module], checkpoint / module


def export_graph(cfg: Any, checkpoint: Path, reset_form: str = "graph") -> tuple[Any, Any]:
    """The NIR graph of a task config's model trained into ``checkpoint``, and the model
    (SNN parameters, None for the LSM, the policy module) for ``--check``."""

    if cfg.task not in EXPORTERS:
        raise ConfigError(f"task {cfg.task!r} has no spiking model to export: expected one of "
                          f"{list(EXPORTERS)}")
    if not Path(checkpoint).exists():
        raise CheckpointError(f"checkpoint {str(checkpoint)!r} does not exist (train first)")
    if cfg.task == "insensor_nmnist":
        from neuralbrain.npz import read_npz
        from neuralbrain.sensing.snn.nir_io import to_nir
        from neuralbrain.sensing.snn.task import CHECKPOINT

        file = checkpoint / CHECKPOINT if checkpoint.is_dir() else checkpoint
        if not file.is_file():
            raise CheckpointError(f"checkpoint {str(checkpoint)!r}: no {CHECKPOINT} (train first)")
        params = read_npz(file)
        return to_nir(params, cfg.params.perception.snn, reset_form=reset_form), params
    if cfg.task in ("lsm_nmnist", "lsm_fsdd"):
        from neuralbrain.memory import lsm_nir, lsm_tasks

        arrays, _ = lsm_tasks.load_checkpoint(checkpoint, cfg)
        res = lsm_tasks.make_reservoir(cfg, "reservoir")
        audio = getattr(cfg.params, "audio", None) if cfg.task == "lsm_fsdd" else None
        span = None if audio is None else {"threshold": audio.span_threshold,
                                           "smooth_steps": audio.span_smooth_steps}
        return lsm_nir.to_nir(res.w_in, res.w_rec, res.config, cfg.params.readout,
                              lsm_tasks.unprefixed("readout", arrays), span=span), None
    # es_cartpole: the trained module, built through the module registry (no agents import)
    from neuralbrain.control import snn_policy_nir
    from neuralbrain.core import Trained
    from neuralbrain.modules import MODULES

    cls = MODULES.get("snn_cartpole_policy")
    policy = cls(cls.Config(), cfg.hardware, Trained(cfg, Path(checkpoint)))
    graph = snn_policy_nir.to_nir(policy.params, policy.config, n_steps=policy.code.n_steps,
                                  reset_form=reset_form)
    return graph, policy


def _check(task: Any, graph: Any, model: Any, args: argparse.Namespace) -> dict[str, Any]:
    import os

    from neuralbrain import nir_check

    root = args.data_root
    if root is None and os.environ.get("NEURALBRAIN_DATA"):
        root = Path(os.environ["NEURALBRAIN_DATA"])
    if task.task == "insensor_nmnist":
        return nir_check.check_snn(graph, model, task, root, args.check)
    if task.task == "es_cartpole":
        return nir_check.check_policy(graph, model, task, args.check)
    return nir_check.check_lsm(graph, task, root, args.check)


def cmd_export(args: argparse.Namespace) -> int:
    from neuralbrain.config import load_config
    from neuralbrain.nir_lif import read_graph, write_graph

    if args.nir.suffix != ".nir":
        raise ConfigError(f"--nir {str(args.nir)!r}: expected a file name ending in .nir")
    if args.check < 0:
        raise ConfigError(f"--check {args.check}: expected a number of inputs >= 0")
    if args.data_root is not None and not args.data_root.is_dir():
        raise ConfigError(f"--data-root {str(args.data_root)!r} is not a directory")
    cfg = load_config(args.config, args.overrides)
    task, checkpoint = _task_of(cfg, Path(args.checkpoint), args.module)
    graph, model = export_graph(task, checkpoint, args.reset_form)
    path = write_graph(graph, args.nir)
    summary = {
        "nir": str(path), "task": task.task, "model": graph.metadata.get("model"),
        "dt_s": graph.metadata.get("dt_s"),
        "nodes": {name: type(node).__name__ for name, node in graph.nodes.items()},
        "edges": [list(e) for e in graph.edges], "deviations": _deviations(task.task, args.reset_form),
        "notes": NOTES.get(task.task, []),
    }
    if args.check:
        summary["check"] = _check(task, read_graph(path), model, args)
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        chain = ", ".join(f"{k} ({v})" for k, v in summary["nodes"].items())
        print(f"{task.task}: wrote {path}\nnodes: {chain}")
        for dev in summary["deviations"]:
            print(f"deviation: {dev}")
        for note in summary["notes"]:
            print(f"note: {note}")
        if "check" in summary:
            figures = ", ".join(f"{k} {v:.6g}" for k, v in summary["check"].items())
            print(f"agreement run in snnTorch + nirtorch: {figures}")
    return 0

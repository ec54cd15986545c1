"""Agents from their configs: build the module graph, train the modules that learn.

``build_agent(cfg, checkpoint)`` instantiates every ``[modules.NAME]`` of an ``AgentConfig``
from the module registry, gives each trained module its task config and its checkpoint
folder ``checkpoint/NAME`` (when that folder exists), and wires the edges. ``train_agent``
trains every module that names a task into ``out/NAME``: the layout ``build_agent`` reads.
A task that needs data is skipped without a data root, and its module runs untrained (it
says what is missing if it is asked to do what training gives it). A module whose table says
``isolation = "process"`` is built in a sandboxed worker process behind a proxy with the same
ports and ledger (``neuralbrain.isolation``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neuralbrain.config import AgentConfig
from neuralbrain.core import Agent, Module, Trained
from neuralbrain.modules import MODULES
from neuralbrain.tasks import TASKS


def build_agent(cfg: AgentConfig, checkpoint: str | Path | None = None) -> Agent:
    """The agent ``cfg`` describes, trained modules loaded from ``checkpoint`` (a folder
    written by ``train_agent``; None: untrained)."""
    modules: dict[str, Module] = {}
    for name, spec in cfg.modules.items():
        cls = MODULES.get(spec.type)
        task = cfg.task_of(name)
        args: tuple[Any, ...] = (spec.config, cfg.hardware)
        if task is not None:
            folder = Path(checkpoint) / name if checkpoint is not None else None
            args += (Trained(task, folder if folder is not None and folder.is_dir() else None),)
        if spec.isolation == "process":  # the module is built in its worker, not here
            from neuralbrain.isolation import isolated

            modules[name] = isolated(cls)(name, args, spec.limits)
        else:
            modules[name] = cls(*args)
    return Agent(modules, cfg.edges, cfg)


def train_agent(cfg: AgentConfig, out: str | Path, data_root: Path | None,
                resume: bool = False) -> dict[str, Any]:
    """Train each module's task into ``out/NAME``; returns each task's report (None for a
    task skipped for want of data)."""
    report: dict[str, Any] = {}
    for name in cfg.modules:
        task = cfg.task_of(name)
        if task is None:
            continue
        cls = TASKS.get(task.task)
        if data_root is None and cls.needs_data:
            print(f"no data root: module {name!r} is not trained ({task.task} needs data)",
                  flush=True)
            report[name] = None
            continue
        report[name] = cls.train(task, Path(out) / name, data_root, resume)
    return report

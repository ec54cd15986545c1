"""The ``Module``, ``Agent`` and ``Task`` contracts.

Module
    One stage of the Neural Brain pipeline (sensing, memory, reasoning, planning, action),
    registered by type name in ``neuralbrain.modules.MODULES``. It owns its state, its
    ``Ledger`` and its ``Backend`` (named by ``config.backend``; swap it with
    ``module.to("rram")``). Semantics:

    - ``__init__(config, hardware)``: ``config`` is the module's own frozen ``Config``,
      ``hardware`` the ``[hardware.<backend>]`` device configs. A module trained offline
      (``tasks`` names the task types that can train it) also gets ``trained``: the task's
      config and the folder its checkpoint was written to (or None: not trained).
    - ``reset(seed)`` clears exactly this module's episodic state and reseeds its generator
      and its backend; learned parameters survive a reset.
    - ``step(inputs) -> outputs`` is called once per environment step with a dict holding one
      value per input port and returns a dict with one value per output port. Every backend
      op it runs goes through ``self.run(op, ...)`` (or ``self.charge``) so its cost is booked
      in ``self.ledger``, with the backend that did it; the runner drains the ledger after
      each step.
    - ``inputs`` / ``outputs`` map port names to types (``neuralbrain.payloads`` or plain
      Python types); ``optional`` names inputs that may be left unwired (they receive
      ``None``). Any port may carry ``None``: nothing at this step.
    - ``requires`` says what it needs of each backend it is given (ops and priced actions);
      ``bind_spaces`` receives the env's spaces before the first episode.

Agent
    Named modules wired by ``(src, dst)`` edges between ports written ``"module.port"``. The
    pseudo-module ``env`` provides the ports ``obs`` and ``info``; ``action`` is the sink.
    A source written ``"module.port@prev"`` is a recurrent edge: it delivers what that port
    gave at the previous step (``None`` at the first step of an episode), so feedback such as
    "the skill finished, replan" needs no cycle; recurrent edges are left out of the order.
    ``check_graph`` runs when an agent config is loaded (on the module classes) and when an
    agent is built: unknown modules or ports, a type mismatch, an input fed twice or not at
    all, and cycles all raise a ``ConfigError`` naming the failing edge. ``act(obs, info)``
    runs the modules in topological order and returns the action. Module seeds derive from
    the agent seed and the module name, so adding a module never changes another module's
    random stream. An agent is data: a TOML file (``neuralbrain.config.AgentConfig``) built by
    ``neuralbrain.assemble.build_agent``.

Task
    An offline job with its own registry (``neuralbrain.tasks.TASKS``): train on a dataset
    into a checkpoint folder, evaluate a checkpoint. Trainable modules name the task that
    trains them (``task = "..."`` in their TOML table); ``neuralbrain train AGENT`` runs each.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from neuralbrain.energy import ACTIONS, Cost, Ledger
from neuralbrain.errors import ConfigError
from neuralbrain.hardware import make_backend
from neuralbrain.hardware.base import Backend

if TYPE_CHECKING:
    from neuralbrain.config import AgentConfig, TaskConfig

ENV_PORTS: Mapping[str, type] = {"obs": object, "info": dict}


@dataclass(frozen=True)
class Needs:
    """What a module asks of one of its backends: ops (capabilities, ``hardware.base.OPS``)
    and the priced actions it books (``neuralbrain.energy.ACTIONS``)."""

    ops: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        from neuralbrain.hardware.base import OPS

        object.__setattr__(self, "ops", frozenset(self.ops))
        object.__setattr__(self, "actions", frozenset(self.actions))
        bad = sorted(self.ops - set(OPS)) + sorted(self.actions - set(ACTIONS))
        if bad:
            raise ConfigError(f"Needs names {bad}: expected ops of {list(OPS)} and actions of "
                              "neuralbrain.energy.ACTIONS")


class Module:
    """Base of every pipeline stage (see the module docstring for the semantics)."""

    Config: ClassVar[type]
    inputs: ClassVar[Mapping[str, type]] = {}
    outputs: ClassVar[Mapping[str, type]] = {}
    optional: ClassVar[frozenset[str]] = frozenset()  # inputs that may be left unwired
    # config field naming a backend -> what this module needs of it
    requires: ClassVar[Mapping[str, Needs]] = {}
    tasks: ClassVar[tuple[str, ...]] = ()  # task types whose checkpoints this module loads

    def __init__(self, config: Any, hardware: Mapping[str, Any] | None = None) -> None:
        backend = getattr(config, "backend", None)
        if not isinstance(backend, str):
            raise ConfigError(f"{type(self).__name__} config needs a string field 'backend'")
        check_requirements(type(self).__name__, type(self), config)
        self.config = config
        self.hardware = dict(hardware or {})
        self.ledger = Ledger()
        self.backend: Backend = make_backend(backend, self.hardware.get(backend))
        self.rng = np.random.default_rng(0)

    @classmethod
    def requirements(cls, config: Any) -> Mapping[str, Needs]:
        """``requires`` for this config (override when the needs depend on it)."""
        return cls.requires

    def to(self, backend: str) -> Module:
        """Move this module onto the backend registered as ``backend``; returns ``self``."""
        check_requirements(type(self).__name__, type(self),
                           dataclasses.replace(self.config, backend=backend))
        self.backend = make_backend(backend, self.hardware.get(backend))
        self.on_backend_change()
        return self

    def on_backend_change(self) -> None:
        """Hook: re-place weights on the new backend (modules holding weights override it)."""

    def bind_spaces(self, observation_space: Any, action_space: Any) -> None:
        """Hook: the env's spaces, once, before the first episode (check or adopt them)."""

    def devices(self) -> list[Backend]:
        """Every backend instance this module books work on (modules using more than their
        main ``backend`` override it); each one's ``spent`` is its own count of that work."""
        return [self.backend]

    def reset(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.backend.reset(seed)

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    # -- booking ------------------------------------------------------------------------
    def run(self, op: str, *args: Any) -> Any:
        """Run backend op ``op`` (e.g. ``"matmul"``), book its cost, return its result."""
        result, cost = getattr(self.backend, op)(*args)
        self.ledger.book(op, cost, backend=self.backend.name)
        return result

    def charge(self, action: str, count: float = 1, op: str | None = None) -> Cost:
        """Book ``count`` primitive ``action``s of the backend's table under ``op``."""
        return self.ledger.book(op or action, self.backend.charge(action, count),
                                backend=self.backend.name)


def check_requirements(name: str, cls: type[Module], config: Any) -> None:
    """Raise ``CapabilityError`` (one line: module, backend, what is missing, who has it) if
    a backend named in ``config`` lacks an op or an action module ``name`` needs. A backend
    field holding ``""`` means the module's main ``backend``."""
    from neuralbrain.hardware import BACKENDS, check_backend

    for field, needs in cls.requirements(config).items():
        backend = BACKENDS.get(getattr(config, field, None) or config.backend)
        check_backend(backend, f"module {name!r}", needs.ops, needs.actions, field)


@dataclass(frozen=True)
class Trained:
    """What a trainable module is built from: the config of the task that trains it and
    the folder that task's checkpoint is in (None when it has not been trained)."""

    task: TaskConfig
    checkpoint: Path | None


Ports = Mapping[str, Mapping[str, type]]


def _split_port(ref: str, edge: str) -> tuple[str, str]:
    module, dot, port = ref.partition(".")
    if not dot or not module or not port:
        raise ConfigError(f"edge {edge}: {ref!r} is not of the form 'module.port'")
    return module, port


@dataclass(frozen=True)
class Graph:
    """A checked wiring: per module, which source feeds each input; the action's source;
    the recurrent sources; the order to run the modules in."""

    feeds: Mapping[str, Mapping[str, str]]
    action: str
    recurrent: frozenset[str]
    order: tuple[str, ...]


def check_graph(
    inputs: Ports, outputs: Ports, edges: Sequence[tuple[str, str]],
    optional: Mapping[str, frozenset[str]] | None = None,
) -> Graph:
    """Check ``edges`` between modules with these port types (see the module docstring)."""
    optional = optional or {}
    modules = sorted(inputs)
    for edge in edges:
        if not (isinstance(edge, tuple | list) and len(edge) == 2
                and all(isinstance(end, str) for end in edge)):
            raise ConfigError(f"edge {edge!r}: expected a pair ('module.port', 'module.port')")
    feeds: dict[str, dict[str, str]] = {name: {} for name in modules}
    deps: dict[str, set[str]] = {name: set() for name in modules}
    recurrent: set[str] = set()
    action: str | None = None
    for src, dst in edges:
        edge = f"{src} -> {dst}"
        delayed = src.endswith("@prev")
        s_mod, s_port = _split_port(src.removesuffix("@prev"), edge)
        if delayed:
            if s_mod == "env":
                raise ConfigError(f"edge {edge}: env ports cannot be delayed")
            recurrent.add(src.removesuffix("@prev"))
        if s_mod == "env":
            if s_port not in ENV_PORTS:
                raise ConfigError(f"edge {edge}: env has no port {s_port!r} ({sorted(ENV_PORTS)})")
            s_type = ENV_PORTS[s_port]
        elif s_mod in outputs:
            if s_port not in outputs[s_mod]:
                raise ConfigError(
                    f"edge {edge}: {s_mod} has no output {s_port!r} ({sorted(outputs[s_mod])})")
            s_type = outputs[s_mod][s_port]
        else:
            raise ConfigError(f"edge {edge}: unknown module {s_mod!r} ({modules})")
        if dst == "action":
            if action is not None:
                raise ConfigError(f"edge {edge}: the action is already fed by {action}")
            action = src
            continue
        d_mod, d_port = _split_port(dst, edge)
        if d_mod not in inputs:
            raise ConfigError(f"edge {edge}: unknown module {d_mod!r} ({modules})")
        if d_port not in inputs[d_mod]:
            raise ConfigError(
                f"edge {edge}: {d_mod} has no input {d_port!r} ({sorted(inputs[d_mod])})")
        d_type = inputs[d_mod][d_port]
        if not (d_type is object or s_type is object or issubclass(s_type, d_type)):
            raise ConfigError(
                f"edge {edge}: type mismatch, {src} gives {s_type.__name__} "
                f"but {dst} expects {d_type.__name__}"
            )
        if d_port in feeds[d_mod]:
            raise ConfigError(f"edge {edge}: {dst} is already fed by {feeds[d_mod][d_port]}")
        feeds[d_mod][d_port] = src
        if s_mod != "env" and not delayed:
            deps[d_mod].add(s_mod)
    for name in modules:
        unfed = sorted(set(inputs[name]) - set(feeds[name]) - set(optional.get(name, ())))
        if unfed:
            raise ConfigError(f"module {name!r}: input(s) {unfed} have no edge feeding them")
    if action is None:
        raise ConfigError("no edge feeds 'action'")
    return Graph(feeds, action, frozenset(recurrent), tuple(_topological(deps)))


class Agent:
    """Named modules wired as a checked graph (see the module docstring)."""

    def __init__(self, modules: Mapping[str, Module], edges: Sequence[tuple[str, str]],
                 config: AgentConfig | None = None) -> None:
        self.modules = dict(modules)
        self.config = config  # what it was built from (the runner takes env, seed, run from it)
        self.edges = [tuple(e) for e in edges]
        classes = {name: type(m) for name, m in self.modules.items()}
        self.graph = check_graph(
            {n: c.inputs for n, c in classes.items()}, {n: c.outputs for n, c in classes.items()},
            self.edges, {n: c.optional for n, c in classes.items()})
        self.order = list(self.graph.order)
        self._previous: dict[str, Any] = {f"{ref}@prev": None for ref in self.graph.recurrent}

    def reset(self, seed: int = 0) -> None:
        for name, module in self.modules.items():
            module.reset(module_seed(seed, name))
            module.ledger.reset()
        self._previous = {f"{ref}@prev": None for ref in self.graph.recurrent}

    def act(self, obs: Any, info: Mapping[str, Any]) -> Any:
        values: dict[str, Any] = {"env.obs": obs, "env.info": info, **self._previous}
        for name in self.order:
            module = self.modules[name]
            feeds = self.graph.feeds[name]
            out = module.step({port: values[feeds[port]] if port in feeds else None
                               for port in type(module).inputs})
            for port in type(module).outputs:
                if port not in out:
                    raise RuntimeError(f"module {name!r} did not return its output {port!r}")
                values[f"{name}.{port}"] = out[port]
        self._previous = {f"{ref}@prev": values[ref] for ref in self.graph.recurrent}
        return values[self.graph.action]

    @property
    def ledgers(self) -> dict[str, Ledger]:
        return {name: module.ledger for name, module in self.modules.items()}

    def backends(self) -> dict[str, str]:
        """Each module's main backend (a module may book work on others too)."""
        return {name: module.backend.name for name, module in self.modules.items()}

    def bind_spaces(self, observation_space: Any, action_space: Any) -> None:
        """Hand the env's spaces to every module (the runner calls this once)."""
        for module in self.modules.values():
            module.bind_spaces(observation_space, action_space)


class Task:
    """An offline training and evaluation job (see the module docstring). ``needs_data``:
    it cannot train without a data root (a module it trains is then left untrained)."""

    Config: ClassVar[type]
    needs_data: ClassVar[bool] = True

    @classmethod
    def train(cls, cfg: TaskConfig, out: Path, data_root: Path | None, resume: bool) -> dict:
        raise ConfigError(f"task {cfg.task!r} has nothing to train")

    @classmethod
    def evaluate(
        cls, cfg: TaskConfig, checkpoint: Path | None, data_root: Path | None, split: str
    ) -> dict:
        raise ConfigError(f"task {cfg.task!r} has no offline evaluation")


def module_seed(seed: int, name: str) -> int:
    """A stable per-module seed: the agent seed mixed with a hash of the module's name."""
    return int(np.random.SeedSequence([seed, zlib.crc32(name.encode())]).generate_state(1)[0])


def _topological(deps: Mapping[str, set[str]]) -> list[str]:
    order: list[str] = []
    done: set[str] = set()
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            cycle = visiting[visiting.index(name):] + [name]
            raise ConfigError(f"the module graph has a cycle: {' -> '.join(cycle)}")
        visiting.append(name)
        for dep in sorted(deps[name]):
            visit(dep)
        visiting.pop()
        done.add(name)
        order.append(name)

    for name in sorted(deps):
        visit(name)
    return order


"""The ``Module`` and ``Agent`` contracts, and the registry of agent assemblies.

Module
    One stage of the Neural Brain pipeline (sensing, memory, reasoning, planning, action).
    It owns its state, its ``Ledger`` and its ``Backend`` (named by ``config.backend``; swap
    it with ``module.to("rram")``). Semantics:

    - ``reset(seed)`` clears exactly this module's episodic state and reseeds its generator
      and its backend; learned parameters survive a reset.
    - ``step(inputs) -> outputs`` is called once per environment step with a dict holding one
      value per declared input port and returns a dict with one value per output port.
      Every backend op it runs goes through ``self.run(op, ...)`` (or ``self.charge``) so its
      cost is booked in ``self.ledger``; the runner drains the ledger after each step.
    - ``inputs`` / ``outputs`` map port names to Python types; the agent checks each edge.

Agent
    Named modules wired by ``(src, dst)`` edges between ports written ``"module.port"``. The
    pseudo-module ``env`` provides the ports ``obs`` and ``info``; ``action`` is the sink.
    A source written ``"module.port@prev"`` is a recurrent edge: it delivers what that port
    gave at the previous step (``None`` at the first step of an episode), so feedback such as
    "the skill finished, replan" needs no cycle; recurrent edges are left out of the order.
    The graph is checked when built: unknown modules or ports, a type mismatch, an input fed
    twice or not at all, and cycles all raise a ``ConfigError`` naming the failing edge.
    ``act(obs, info)`` runs the modules in topological order and returns the action.
    Module seeds derive from the agent seed and the module name, so adding a module never
    changes another module's random stream.

Agent assemblies (``agents/*.py``) subclass ``Agent``, carry a frozen ``Config`` dataclass
whose fields are the TOML tables of their modules, and are registered in ``AGENTS`` by a
lazy line in ``agents/__init__.py``. An assembly provides ``from_config(cfg, checkpoint)``
to build itself for ``neuralbrain run``; trainable ones also provide ``train`` and
``evaluate`` (classmethods), used by ``neuralbrain train`` and ``neuralbrain eval``.
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
from neuralbrain.errors import CapabilityError, ConfigError
from neuralbrain.hardware import make_backend
from neuralbrain.hardware.base import Backend
from neuralbrain.registry import Registry

if TYPE_CHECKING:
    from neuralbrain.config import ExperimentConfig

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
    # config field naming a backend -> what this module needs of it
    requires: ClassVar[Mapping[str, Needs]] = {}

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
    from neuralbrain.hardware import BACKENDS, backends_pricing, backends_with

    for field, needs in cls.requirements(config).items():
        backend = getattr(config, field, None) or config.backend
        caps = BACKENDS.get(backend)
        for op in sorted(needs.ops - caps.capabilities):
            raise CapabilityError(
                f"module {name!r}: {field} = {backend!r} cannot run op {op!r}, which the module "
                f"needs; backends that can: {backends_with(op)}")
        for action in sorted(needs.actions - set(caps.energy_table.energy_j)):
            raise CapabilityError(
                f"module {name!r}: {field} = {backend!r} does not price action {action!r}, which "
                f"the module books; backends that do: {backends_pricing(action)}")


def _split_port(ref: str, edge: str) -> tuple[str, str]:
    module, dot, port = ref.partition(".")
    if not dot or not module or not port:
        raise ConfigError(f"edge {edge}: {ref!r} is not of the form 'module.port'")
    return module, port


class Agent:
    """Named modules wired as a checked graph (see the module docstring)."""

    Config: ClassVar[type]

    def __init__(self, modules: Mapping[str, Module], edges: Sequence[tuple[str, str]]) -> None:
        self.modules = dict(modules)
        for edge in edges:
            if not (isinstance(edge, tuple | list) and len(edge) == 2
                    and all(isinstance(end, str) for end in edge)):
                raise ConfigError(f"edge {edge!r}: expected a pair ('module.port', 'module.port')")
        self.edges = [tuple(e) for e in edges]
        self._feeds: dict[str, dict[str, str]] = {name: {} for name in self.modules}
        self._action_src: str | None = None
        deps: dict[str, set[str]] = {name: set() for name in self.modules}
        self._recurrent: set[str] = set()
        for src, dst in self.edges:
            edge = f"{src} -> {dst}"
            delayed = src.endswith("@prev")
            s_mod, s_port = _split_port(src.removesuffix("@prev"), edge)
            if delayed:
                if s_mod == "env":
                    raise ConfigError(f"edge {edge}: env ports cannot be delayed")
                self._recurrent.add(src.removesuffix("@prev"))
            if s_mod == "env":
                if s_port not in ENV_PORTS:
                    raise ConfigError(f"edge {edge}: env has no port {s_port!r} ({sorted(ENV_PORTS)})")
                s_type = ENV_PORTS[s_port]
            elif s_mod in self.modules:
                outs = type(self.modules[s_mod]).outputs
                if s_port not in outs:
                    raise ConfigError(f"edge {edge}: {s_mod} has no output {s_port!r} ({sorted(outs)})")
                s_type = outs[s_port]
            else:
                raise ConfigError(f"edge {edge}: unknown module {s_mod!r} ({sorted(self.modules)})")
            if dst == "action":
                if self._action_src is not None:
                    raise ConfigError(f"edge {edge}: the action is already fed by {self._action_src}")
                self._action_src = src
                continue
            d_mod, d_port = _split_port(dst, edge)
            if d_mod not in self.modules:
                raise ConfigError(f"edge {edge}: unknown module {d_mod!r} ({sorted(self.modules)})")
            ins = type(self.modules[d_mod]).inputs
            if d_port not in ins:
                raise ConfigError(f"edge {edge}: {d_mod} has no input {d_port!r} ({sorted(ins)})")
            d_type = ins[d_port]
            if not (d_type is object or s_type is object or issubclass(s_type, d_type)):
                raise ConfigError(
                    f"edge {edge}: type mismatch, {src} gives {s_type.__name__} "
                    f"but {dst} expects {d_type.__name__}"
                )
            if d_port in self._feeds[d_mod]:
                raise ConfigError(f"edge {edge}: {dst} is already fed by {self._feeds[d_mod][d_port]}")
            self._feeds[d_mod][d_port] = src
            if s_mod != "env" and not delayed:
                deps[d_mod].add(s_mod)
        for name, module in self.modules.items():
            unfed = sorted(set(type(module).inputs) - set(self._feeds[name]))
            if unfed:
                raise ConfigError(f"module {name!r}: input(s) {unfed} have no edge feeding them")
        if self._action_src is None:
            raise ConfigError("no edge feeds 'action'")
        self.order = _topological(deps)
        self._previous = {f"{ref}@prev": None for ref in self._recurrent}

    def reset(self, seed: int = 0) -> None:
        for name, module in self.modules.items():
            module.reset(module_seed(seed, name))
            module.ledger.reset()
        self._previous: dict[str, Any] = {f"{ref}@prev": None for ref in self._recurrent}

    def act(self, obs: Any, info: Mapping[str, Any]) -> Any:
        values: dict[str, Any] = {"env.obs": obs, "env.info": info, **self._previous}
        for name in self.order:
            module = self.modules[name]
            out = module.step({port: values[src] for port, src in self._feeds[name].items()})
            for port in type(module).outputs:
                if port not in out:
                    raise RuntimeError(f"module {name!r} did not return its output {port!r}")
                values[f"{name}.{port}"] = out[port]
        self._previous = {f"{ref}@prev": values[ref] for ref in self._recurrent}
        return values[self._action_src]

    @property
    def ledgers(self) -> dict[str, Ledger]:
        return {name: module.ledger for name, module in self.modules.items()}

    def backends(self) -> dict[str, str]:
        return {name: module.backend.name for name, module in self.modules.items()}

    def bind_spaces(self, observation_space: Any, action_space: Any) -> None:
        """Hook: called once by the runner with the env's spaces before the first episode."""

    # -- assembly hooks (overridden by agents/*.py) -----------------------------------------
    @classmethod
    def from_config(cls, cfg: ExperimentConfig, checkpoint: Path | None = None) -> Agent:
        raise ConfigError(f"agent {cfg.agent!r} cannot act in an environment")

    @classmethod
    def train(cls, cfg: ExperimentConfig, out: Path, data_root: Path | None, resume: bool) -> dict:
        raise ConfigError(f"agent {cfg.agent!r} has nothing to train")

    @classmethod
    def evaluate(
        cls, cfg: ExperimentConfig, checkpoint: Path | None, data_root: Path | None, split: str
    ) -> dict:
        raise ConfigError(f"agent {cfg.agent!r} has no offline evaluation; use `neuralbrain run`")


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


AGENTS: Registry[type[Agent]] = Registry("agent")


def agent_class(name: str) -> type[Agent]:
    """The agent assembly registered as ``name`` (registrations live in ``agents/``)."""
    import neuralbrain_agents  # noqa: F401  (its __init__ registers the assemblies)

    return AGENTS.get(name)

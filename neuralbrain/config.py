"""Strict TOML configs loaded into frozen dataclass trees.

Every component owns a frozen ``Config`` dataclass validated in its ``__post_init__``; this
module only moves values from TOML into those dataclasses, strictly:

- a key that is not a field is an error listing the fields (``ConfigError``);
- a value of the wrong type is an error naming the key path, the value and the type;
- ``--set a.b=c`` overrides are applied to the raw TOML before validation, so they get the
  same checks (the value is parsed as a TOML value, falling back to a bare string);
- the resolved config (defaults filled in) is written next to every run as ``config.toml``.

Two kinds of file: an *agent* (``[modules.NAME]`` tables, each with a registered ``type``
and the module's own keys, plus ``edges``, ``[env]``, ``[run]``, ``[hardware.<backend>]``)
and a *task* (``task = "<type>"`` and the task's own tables). A config is named by its path
or, when installed, by its file stem (``neuralbrain run neural_brain``).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import json
import math
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from neuralbrain.errors import ConfigError, UnknownNameError

T = TypeVar("T")


# -- reading ---------------------------------------------------------------------------------
MAX_TOML_BYTES = 4 * 2**20  # a config is a few kB; anything this big is not one


def load_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file; every way it can be bad is a one-line ``ConfigError``.

    Refused: a missing file, a file over ``MAX_TOML_BYTES`` (checked before reading), bytes
    that are not UTF-8, invalid TOML, and nesting so deep that ``tomllib`` would recurse
    past Python's stack limit (``[[[[...`` thousands deep).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist: expected a TOML file")
    size = path.stat().st_size
    if size > MAX_TOML_BYTES:
        raise ConfigError(
            f"{path}: {size} bytes, expected a TOML config of at most {MAX_TOML_BYTES} bytes"
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path}: byte {err.start} is not UTF-8 (0x{err.object[err.start]:02x}); expected "
            "UTF-8 TOML text"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None
    except RecursionError:
        raise ConfigError(
            f"{path}: arrays or inline tables nested too deeply to parse; expected a config "
            "nested a few levels"
        ) from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"a.b=3"`` -> (["a", "b"], 3). Values are TOML values; bare words are strings."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip() or any(not part for part in key.strip().split(".")):
        raise ConfigError(f"override {text!r}: expected the form section.key=value")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key.strip().split("."), value


def apply_overrides(data: Mapping[str, Any], overrides: list[str]) -> dict[str, Any]:
    """A deep copy of ``data`` with every ``key.path=value`` override set."""
    out = copy.deepcopy(dict(data))
    for text in overrides:
        keys, value = parse_override(text)
        node = out
        for key in keys[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {text!r}: {key!r} is a value, not a table")
            node = child
        node[keys[-1]] = value
    return out


# -- building dataclasses -------------------------------------------------------------------
def build(cls: type[T], data: Any, where: str = "") -> T:
    """Instantiate dataclass ``cls`` from ``data`` strictly (unknown keys and bad types fail)."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    label = where or cls.__name__
    if not isinstance(data, Mapping):
        raise ConfigError(f"[{label}] = {data!r}: expected a table")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"[{label}] has unknown key(s) {unknown}: expected some of {sorted(fields)}"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(hints[name], value, f"{where}.{name}" if where else name)
    missing = [
        n
        for n, f in fields.items()
        if n not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"[{label}] is missing required key(s) {missing}")
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as err:
        raise ConfigError(f"[{label}]: {err}") from None


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(tp: Any, value: Any, where: str) -> Any:
    origin, args = get_origin(tp), get_args(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(arg, value, where)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(f"{where} = {value!r}: expected {_type_name(tp)}")
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{where} = {value!r}: expected one of {list(args)}")
        return value
    if dataclasses.is_dataclass(tp):
        return build(tp, value, where)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} = {value!r}: expected true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} = {value!r}: expected an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} = {value!r}: expected a number")
        if not math.isfinite(value):
            raise ConfigError(f"{where} = {value!r}: expected a finite number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} = {value!r}: expected a string")
        return value
    if tp is Path:
        if not isinstance(value, str):
            raise ConfigError(f"{where} = {value!r}: expected a path string")
        return Path(value)
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where} = {value!r}: expected an array")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{where} = {value!r}: expected {len(args)} items")
            items = [_coerce(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True))]
        else:
            item_tp = args[0] if args else Any
            items = [_coerce(item_tp, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} = {value!r}: expected a table")
        value_tp = args[1] if len(args) == 2 else Any
        return {str(k): _coerce(value_tp, v, f"{where}.{k}") for k, v in value.items()}
    raise ConfigError(f"{where}: unsupported config type {_type_name(tp)}")


def to_dict(obj: Any) -> Any:
    """A dataclass tree as plain dicts/lists (Paths as strings, tuples as lists)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): to_dict(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_dict(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


# -- writing TOML ----------------------------------------------------------------------------
_INT64 = (-(2**63), 2**63 - 1)


def dumps_toml(data: Mapping[str, Any]) -> str:
    """Serialize nested mappings of TOML-able values with ``tomli_w`` (valid TOML 1.0).

    Accepted: str (any Unicode, control characters escaped), bool, int in the 64-bit range
    TOML allows, float (``nan``/``inf`` included), ``Path`` (as a string), date/time values,
    lists/tuples of these and nested mappings with string keys (any Unicode). A key whose
    value is ``None`` is left out (TOML has no null; absent means "the default", which is
    ``None`` wherever a config field may be ``None``). ``None`` inside a list cannot be
    written without changing the list, so it is a ``ConfigError`` naming its key path, as is
    any other value TOML cannot hold. Whatever this returns, ``tomllib.loads`` reads back.
    """
    import tomli_w

    return tomli_w.dumps(_toml_table(data, ""))


def _toml_table(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise ConfigError(
                f"cannot write key {key!r} ({type(key).__name__}) at {where or 'top level'} "
                "to TOML: expected a string key"
            )
        if value is None:
            continue
        out[key] = _toml_value(value, _key_path(where, key))
    return out


def _key_path(where: str, key: str) -> str:
    """``a.b`` for bare keys, else the key JSON-quoted (control characters stay escaped)."""
    part = key if key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key) \
        else json.dumps(key)
    return f"{where}.{part}" if where else part


def _toml_value(value: Any, where: str) -> Any:
    if isinstance(value, Mapping):
        return _toml_table(value, where)
    if isinstance(value, bool | float | str | datetime.date | datetime.time):
        return value
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise ConfigError(
                f"cannot write {where} = {value} to TOML: expected an integer in the 64-bit "
                f"range [{_INT64[0]}, {_INT64[1]}]"
            )
        return value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple):
        items = []
        for i, v in enumerate(value):
            if v is None:
                raise ConfigError(
                    f"cannot write {where}[{i}] = None to TOML: TOML has no null; expected a "
                    "list without None"
                )
            items.append(_toml_value(v, f"{where}[{i}]"))
        return items
    raise ConfigError(
        f"cannot write {where} = {value!r} ({type(value).__name__}) to TOML: expected a str, "
        "bool, int, float, date/time, Path, list or table"
    )


# -- experiments -----------------------------------------------------------------------------
@dataclass(frozen=True)
class EnvConfig:
    """``[env]``: a Gymnasium id, its step limit, and keyword arguments for its constructor."""

    id: str
    max_episode_steps: int | None = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.max_episode_steps is not None and self.max_episode_steps < 1:
            raise ConfigError(f"env.max_episode_steps = {self.max_episode_steps}: expected >= 1")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "max_episode_steps": self.max_episode_steps, **to_dict(self.kwargs)}


@dataclass(frozen=True)
class RunConfig:
    """``[run]``: how ``neuralbrain run`` evaluates episodes."""

    episodes: int = 3
    progress: bool = True

    def __post_init__(self) -> None:
        if self.episodes < 1:
            raise ConfigError(f"run.episodes = {self.episodes}: expected >= 1")


@dataclass(frozen=True)
class TaskConfig:
    """An offline task: its registered type, seed, its own tables (``params``, validated by
    the task's ``Config``), an optional env and device configs."""

    task: str
    seed: int
    params: Any
    env: EnvConfig | None = None
    hardware: Mapping[str, Any] = field(default_factory=dict)
    source: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"task": self.task, "seed": self.seed}
        if self.env is not None:
            out["env"] = self.env.to_dict()
        if self.hardware:
            out["hardware"] = to_dict(self.hardware)
        return {**out, **to_dict(self.params)}

    def replace_params(self, **changes: Any) -> TaskConfig:
        return dataclasses.replace(self, params=dataclasses.replace(self.params, **changes))


@dataclass(frozen=True)
class ModuleSpec:
    """``[modules.NAME]``: the registered ``type``, the module's own ``config``, and for a
    trained module the ``task`` config that trains it (a config name or path) with
    ``task_set`` overrides applied to it. ``isolation = "process"`` runs the module in a
    sandboxed worker process (``neuralbrain.isolation``) under ``limits``
    (``[modules.NAME.limits]``, allowed only then); ``"none"`` (the default) runs it in process."""

    type: str
    config: Any
    task: str = ""
    task_set: tuple[str, ...] = ()
    isolation: str = "none"
    limits: Limits | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.task:
            out["task"] = self.task
        if self.task_set:
            out["task_set"] = list(self.task_set)
        if self.isolation != "none":
            out["isolation"] = self.isolation
            out["limits"] = to_dict(self.limits or Limits())
        return {**out, **to_dict(self.config)}


ISOLATION = ("none", "process")


@dataclass(frozen=True)
class Limits:
    """``[modules.NAME.limits]`` of a module run with ``isolation = "process"``: the worker's
    address space (``RLIMIT_AS``, MB), its CPU seconds per episode (``RLIMIT_CPU``, re-armed
    at each reset), the wall-clock deadline of each reset and step and of starting the worker
    (seconds; the worker is killed past it). All must be > 0."""

    address_space_mb: int = 8192
    cpu_s: float = 600.0
    step_deadline_s: float = 60.0
    start_deadline_s: float = 120.0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"limits.{f.name} = {value!r}: expected a number > 0")


@dataclass(frozen=True)
class AgentConfig:
    """An agent: named modules (``[modules.NAME]``), the ``edges`` between their ports, the
    env, the run and device configs. Loading it checks the graph and every module's
    backends (see ``load_config``)."""

    seed: int
    modules: Mapping[str, ModuleSpec]
    edges: tuple[tuple[str, str], ...]
    env: EnvConfig | None = None
    run: RunConfig = field(default_factory=RunConfig)
    hardware: Mapping[str, Any] = field(default_factory=dict)
    source: Path | None = None
    # each trained module's task config, resolved once on loading (derived from ``modules``)
    tasks: Mapping[str, TaskConfig] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"seed": self.seed,
                               "edges": [f"{src} -> {dst}" for src, dst in self.edges]}
        if self.env is not None:
            out["env"] = self.env.to_dict()
        out["run"] = to_dict(self.run)
        if self.hardware:
            out["hardware"] = to_dict(self.hardware)
        out["modules"] = {name: spec.to_dict() for name, spec in self.modules.items()}
        return out

    def to_toml(self) -> str:
        return dumps_toml(self.to_dict())

    def task_of(self, name: str) -> TaskConfig | None:
        """The task config that trains module ``name`` (None for an untrained module)."""
        return self.tasks.get(name)


AGENT_KEYS = ("seed", "edges", "env", "run", "hardware", "modules")
TASK_KEYS = ("task", "seed", "env", "hardware")
SPEC_KEYS = ("type", "task", "task_set", "isolation", "limits")


def config_dirs() -> list[Path]:
    """Folders of agent and task TOML files registered through ``neuralbrain.agents``."""
    from neuralbrain.plugins import entry_points

    return [Path(ep.load()) for ep in entry_points("neuralbrain.agents")]


def resolve_config(ref: str | Path, relative_to: Path | None = None) -> Path:
    """The TOML file ``ref`` names: a path (as given, else beside ``relative_to``, the file
    that names it) or a config name (``neural_brain``) looked up beside ``relative_to`` and in
    the registered config folders."""
    ref = str(ref)
    candidates = [Path(ref)]
    if relative_to is not None:
        candidates.append(Path(relative_to).parent / ref)
    is_name = "/" not in ref and "\\" not in ref and not ref.endswith(".toml")
    if is_name:
        folders = ([Path(relative_to).parent] if relative_to is not None else []) + config_dirs()
        candidates += [folder / f"{ref}.toml" for folder in folders]
    for path in candidates:
        if path.is_file():
            return path
    known = sorted({p.stem for folder in config_dirs() for p in folder.glob("*.toml")})
    if is_name:
        raise UnknownNameError("config", ref, known)
    raise ConfigError(f"config file {ref!r} does not exist: expected a TOML file or one of {known}")


def load_config(
    ref: str | Path, overrides: list[str] | tuple[str, ...] = (), kind: type | None = None
) -> AgentConfig | TaskConfig:
    """Load an agent or task TOML (a path or a registered config name) with ``--set``
    overrides, strictly. ``kind`` (``AgentConfig`` or ``TaskConfig``) insists on one.

    For an agent, ``--set NAME.key=value`` is short for ``--set modules.NAME.key=value``.
    Loading an agent checks, before anything is built: every module type exists, every key
    is a field of its config, the edges (ports, types, each input fed once, no cycle), and
    that each backend a module names runs the ops and prices the actions the module needs.
    """
    path = resolve_config(ref)
    raw = load_toml(path)
    if "modules" in raw and "task" not in raw:
        overrides = [_module_override(o, raw) for o in overrides]
    raw = apply_overrides(raw, list(overrides))
    cfg = config_from_dict(raw, source=path)
    if kind is not None and not isinstance(cfg, kind):
        expected = "an agent (a [modules] table)" if kind is AgentConfig else "a task"
        raise ConfigError(f"{path} is not {expected} config")
    return cfg


def _module_override(text: str, raw: Mapping[str, Any]) -> str:
    key = text.partition("=")[0].strip()
    head = key.split(".")[0]
    modules = raw.get("modules")
    if head not in AGENT_KEYS and isinstance(modules, Mapping) and head in modules:
        return f"modules.{text.strip()}"
    return text


def _env_config(raw: Any) -> EnvConfig:
    env_raw = dict(_coerce(dict, raw, "env"))
    if "id" not in env_raw:
        raise ConfigError("[env] is missing required key 'id' (a Gymnasium env id)")
    return EnvConfig(
        id=_coerce(str, env_raw.pop("id"), "env.id"),
        max_episode_steps=_coerce(
            int | None, env_raw.pop("max_episode_steps", None), "env.max_episode_steps"),
        kwargs=env_raw,
    )


def hardware_configs(raw: Any) -> dict[str, Any]:
    """``[hardware.<backend>]`` tables -> each backend's ``Config`` (unknown keys are errors)."""
    from neuralbrain.hardware import BACKENDS

    return {backend: build(BACKENDS.get(backend).Config, table, f"hardware.{backend}")
            for backend, table in _coerce(dict, raw, "hardware").items()}


def _edge(text: Any, where: str) -> tuple[str, str]:
    src, arrow, dst = str(text).partition("->") if isinstance(text, str) else ("", "", "")
    if not arrow or not src.strip() or not dst.strip():
        raise ConfigError(f"{where} = {text!r}: expected 'module.port -> module.port'")
    return src.strip(), dst.strip()


def config_from_dict(raw: Mapping[str, Any], source: Path | None = None) -> AgentConfig | TaskConfig:
    """An ``AgentConfig`` (the file has ``[modules]``) or ``TaskConfig`` (``task = ...``)."""
    label = source or "config"
    if "task" in raw:
        return _task_config(raw, source)
    if "modules" not in raw:
        raise ConfigError(f"{label}: expected an agent ([modules.NAME] tables and edges) or a "
                          "task (a top-level 'task' naming its type)")
    unknown = sorted(set(raw) - set(AGENT_KEYS))
    if unknown:
        raise ConfigError(f"{label} has unknown top-level key(s) {unknown}: expected some of "
                          f"{list(AGENT_KEYS)} (module settings go in [modules.NAME])")
    modules = {name: _module_spec(name, table)
               for name, table in _coerce(dict, raw["modules"], "modules").items()}
    if not modules:
        raise ConfigError(f"{label}: [modules] is empty: expected at least one module")
    edges = tuple(_edge(e, f"edges[{i}]")
                  for i, e in enumerate(_coerce(list[str], raw.get("edges", []), "edges")))
    tasks = {name: _task_of(name, spec, source) for name, spec in modules.items() if spec.task}
    cfg = AgentConfig(
        seed=_coerce(int, raw.get("seed", 0), "seed"),
        modules=modules,
        edges=edges,
        env=_env_config(raw["env"]) if "env" in raw else None,
        run=build(RunConfig, raw.get("run", {}), "run"),
        hardware=hardware_configs(raw.get("hardware", {})),
        source=source,
        tasks=tasks,
    )
    check_agent(cfg)
    return cfg


def _task_of(name: str, spec: ModuleSpec, source: Path | None) -> TaskConfig:
    try:
        return load_config(resolve_config(spec.task, source), spec.task_set, kind=TaskConfig)
    except ConfigError as err:  # say which module named it
        raise ConfigError(f"[modules.{name}] task = {spec.task!r}: {err}") from None


def _module_spec(name: str, table: Any) -> ModuleSpec:
    from neuralbrain.modules import MODULES

    if name in AGENT_KEYS or name in ("env", "action") or not name.isidentifier():
        raise ConfigError(f"[modules.{name}]: a module name must be an identifier other than "
                          f"{sorted({*AGENT_KEYS, 'env', 'action'})}")
    table = dict(_coerce(dict, table, f"modules.{name}"))
    if "type" not in table:
        raise ConfigError(f"[modules.{name}] is missing 'type': expected one of {MODULES.names()}")
    type_name = _coerce(str, table.pop("type"), f"modules.{name}.type")
    cls = MODULES.get(type_name)
    clash = sorted({f.name for f in dataclasses.fields(cls.Config)} & set(SPEC_KEYS))
    if clash:  # a plugin's module whose own keys would be read as the table's
        raise ConfigError(f"module type {type_name!r}: its Config fields {clash} are reserved "
                          f"for every [modules.NAME] table ({list(SPEC_KEYS)})")
    task = _coerce(str, table.pop("task", ""), f"modules.{name}.task")
    task_set = tuple(_coerce(list[str], table.pop("task_set", []), f"modules.{name}.task_set"))
    if cls.tasks and not task:
        raise ConfigError(f"[modules.{name}] ({type_name}) is trained: expected task = a config "
                          f"of type {list(cls.tasks)}")
    if task and not cls.tasks:
        raise ConfigError(f"[modules.{name}] ({type_name}) has nothing to train: remove "
                          f"task = {task!r}")
    isolation = _coerce(str, table.pop("isolation", "none"), f"modules.{name}.isolation")
    if isolation not in ISOLATION:
        raise ConfigError(f"[modules.{name}] isolation = {isolation!r}: expected one of "
                          f"{list(ISOLATION)}")
    limits = None
    if "limits" in table:
        if isolation != "process":
            raise ConfigError(f"[modules.{name}.limits] is given but isolation = {isolation!r}: "
                              "limits apply only with isolation = \"process\"")
        limits = build(Limits, table.pop("limits"), f"modules.{name}.limits")
    elif isolation == "process":
        limits = Limits()
    return ModuleSpec(type_name, build(cls.Config, table, f"modules.{name}"), task, task_set,
                      isolation, limits)


def check_agent(cfg: AgentConfig) -> None:
    """The graph and every module's backends (see ``load_config``); each task config a
    module names exists and has a type the module accepts."""
    from neuralbrain.core import check_graph, check_requirements
    from neuralbrain.modules import MODULES

    classes = {name: MODULES.get(spec.type) for name, spec in cfg.modules.items()}
    for name, spec in cfg.modules.items():
        check_requirements(name, classes[name], spec.config)
        task = cfg.task_of(name)
        if task is not None and task.task not in classes[name].tasks:
            raise ConfigError(
                f"[modules.{name}] task = {spec.task!r} is a {task.task!r} task: module type "
                f"{spec.type!r} is trained by {list(classes[name].tasks)}")
    check_graph({n: c.inputs for n, c in classes.items()},
                {n: c.outputs for n, c in classes.items()}, cfg.edges,
                {n: c.optional for n, c in classes.items()})


def _task_config(raw: Mapping[str, Any], source: Path | None) -> TaskConfig:
    from neuralbrain.tasks import TASKS

    name = _coerce(str, raw["task"], "task")
    cls = TASKS.get(name)
    params = build(cls.Config, {k: v for k, v in raw.items() if k not in TASK_KEYS}, "")
    return TaskConfig(
        task=name,
        seed=_coerce(int, raw.get("seed", 0), "seed"),
        params=params,
        env=_env_config(raw["env"]) if "env" in raw else None,
        hardware=hardware_configs(raw.get("hardware", {})),
        source=source,
    )

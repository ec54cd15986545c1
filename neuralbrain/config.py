"""Strict TOML configs loaded into frozen dataclass trees.

Every component owns a frozen ``Config`` dataclass validated in its ``__post_init__``; this
module only moves values from TOML into those dataclasses, strictly:

- a key that is not a field is an error listing the fields (``ConfigError``);
- a value of the wrong type is an error naming the key path, the value and the type;
- ``--set a.b=c`` overrides are applied to the raw TOML before validation, so they get the
  same checks (the value is parsed as a TOML value, falling back to a bare string);
- the resolved config (defaults filled in) is written next to every run as ``config.toml``.

An experiment file has a few top-level keys of its own (``agent``, ``seed``, ``[env]``,
``[run]``, ``[hardware.<backend>]``); every other table belongs to the agent named by
``agent`` and is validated by that agent's ``Config`` dataclass.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from neuralbrain.errors import ConfigError

T = TypeVar("T")


# -- reading ---------------------------------------------------------------------------------
def load_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file, turning a missing file or a syntax error into a ``ConfigError``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist: expected a TOML file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None


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
def dumps_toml(data: Mapping[str, Any]) -> str:
    """Serialize nested dicts of TOML-able values (``None`` values are left out)."""
    lines: list[str] = []
    _dump_table(data, [], lines)
    return "\n".join(lines).strip() + "\n"


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping)


def _dump_table(data: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    scalars = [(k, v) for k, v in data.items() if not _is_table(v) and v is not None]
    tables = [(k, v) for k, v in data.items() if _is_table(v)]
    if path and (scalars or not tables):
        lines.append("")
        lines.append("[" + ".".join(_key(p) for p in path) + "]")
    for key, value in scalars:
        lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in tables:
        _dump_table(value, [*path, key], lines)


def _key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum()
    return key if bare else '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return repr(value)
    if isinstance(value, str | Path):
        text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{text}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value if v is not None) + "]"
    raise ConfigError(f"cannot write {value!r} ({type(value).__name__}) to TOML")


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


@dataclass(frozen=True)
class RunConfig:
    """``[run]``: how ``neuralbrain run`` evaluates episodes."""

    episodes: int = 3
    progress: bool = True

    def __post_init__(self) -> None:
        if self.episodes < 1:
            raise ConfigError(f"run.episodes = {self.episodes}: expected >= 1")


RESERVED = ("agent", "seed", "env", "run", "hardware")


@dataclass(frozen=True)
class ExperimentConfig:
    """A whole experiment: which agent, its module configs, the env, the run, the hardware."""

    agent: str
    seed: int
    modules: Any
    env: EnvConfig | None = None
    run: RunConfig = field(default_factory=RunConfig)
    hardware: Mapping[str, Any] = field(default_factory=dict)
    source: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"agent": self.agent, "seed": self.seed}
        if self.env is not None:
            env = {"id": self.env.id, "max_episode_steps": self.env.max_episode_steps}
            out["env"] = {**env, **to_dict(self.env.kwargs)}
        out["run"] = to_dict(self.run)
        if self.hardware:
            out["hardware"] = to_dict(self.hardware)
        out.update(to_dict(self.modules))
        return out

    def to_toml(self) -> str:
        return dumps_toml(self.to_dict())

    def replace_modules(self, **changes: Any) -> ExperimentConfig:
        return dataclasses.replace(self, modules=dataclasses.replace(self.modules, **changes))


def resolve_config_path(cfg: ExperimentConfig, path: str | Path) -> Path:
    """A config path named inside ``cfg``: as given if it exists, else relative to the project
    root of ``cfg``'s own file (``<root>/agents/configs/x.toml``)."""
    path = Path(path)
    if path.is_absolute() or path.exists() or cfg.source is None:
        return path
    return Path(cfg.source).resolve().parent.parent.parent / path


def load_task(cfg: ExperimentConfig, key: str, agents: tuple[str, ...]) -> ExperimentConfig:
    """The experiment config that ``cfg``'s module key ``key`` names (a path, see
    ``resolve_config_path``); its agent must be one of ``agents``."""
    path = getattr(cfg.modules, key)
    task = load_experiment(resolve_config_path(cfg, path))
    if task.agent not in agents:
        raise ConfigError(f"{key} = {path!r} is an {task.agent!r} config: expected one of "
                          f"{list(agents)}")
    return task


def load_experiment(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> ExperimentConfig:
    """Load an experiment TOML with ``--set`` overrides, strictly, into an ``ExperimentConfig``."""
    raw = apply_overrides(load_toml(path), list(overrides))
    return experiment_from_dict(raw, source=Path(path))


def experiment_from_dict(raw: Mapping[str, Any], source: Path | None = None) -> ExperimentConfig:
    from neuralbrain.core import agent_class
    from neuralbrain.hardware import BACKENDS

    if "agent" not in raw:
        raise ConfigError(f"{source or 'config'}: missing top-level key 'agent' (the agent to build)")
    name = _coerce(str, raw["agent"], "agent")
    cls = agent_class(name)
    seed = _coerce(int, raw.get("seed", 0), "seed")
    env = None
    if "env" in raw:
        env_raw = dict(_coerce(dict, raw["env"], "env"))
        if "id" not in env_raw:
            raise ConfigError("[env] is missing required key 'id' (a Gymnasium env id)")
        env = EnvConfig(
            id=_coerce(str, env_raw.pop("id"), "env.id"),
            max_episode_steps=_coerce(
                int | None, env_raw.pop("max_episode_steps", None), "env.max_episode_steps"
            ),
            kwargs=env_raw,
        )
    run = build(RunConfig, raw.get("run", {}), "run")
    hardware = {}
    for backend, table in _coerce(dict, raw.get("hardware", {}), "hardware").items():
        hardware[backend] = build(BACKENDS.get(backend).Config, table, f"hardware.{backend}")
    module_raw = {k: v for k, v in raw.items() if k not in RESERVED}
    modules = build(cls.Config, module_raw, "")
    return ExperimentConfig(name, seed, modules, env, run, hardware, source)

"""Name -> class registries with lazy entry points and "did you mean" errors.

``Registry[T]`` maps a name to either a class or a lazy ``"package.module:Attr"`` string that
is imported on first ``get``. Heavy optional dependencies (Brian2, numba kernels, PyBullet)
are therefore only imported when the named entry is used. Registration is explicit (a
decorator or one ``register`` line), never by scanning the file system. A registry with a
``group`` also takes the installed entry points of that group (``neuralbrain.plugins``), read
the first time it is looked up, so another package can add entries without touching this one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from neuralbrain.errors import ConfigError, UnknownNameError

T = TypeVar("T")


@dataclass
class _Entry:
    target: object  # a class, or a "pkg.mod:Attr" string until first loaded
    tags: tuple[str, ...] = ()
    doc: str = ""


@dataclass
class Registry(Generic[T]):
    """A named collection of classes of one kind (``kind`` is used in error messages)."""

    kind: str
    group: str | None = None  # entry-point group read on first lookup
    _entries: dict[str, _Entry] = field(default_factory=dict)
    _plugins_loaded: bool = False

    def _load_plugins(self) -> None:
        if self._plugins_loaded or self.group is None:
            return
        self._plugins_loaded = True
        from neuralbrain.plugins import entry_points

        for ep in entry_points(self.group):
            if ep.name in self._entries:
                dist = ep.dist.name if ep.dist is not None else "an installed package"
                raise ConfigError(f"{dist} registers {self.kind} {ep.name!r} (entry point group "
                                  f"{self.group!r}), which is already registered")
            self.register(ep.name, ep.value)

    def register(
        self, name: str, target: str | T | None = None, *, tags: tuple[str, ...] = (), doc: str = ""
    ) -> Callable[[T], T] | None:
        """Register ``target`` under ``name``; without ``target``, act as a class decorator.

        ``target`` may be a lazy ``"package.module:Attr"`` string.
        """
        if name in self._entries:
            raise ConfigError(f"{self.kind} {name!r} is registered twice")
        if isinstance(target, str) and ":" not in target:
            raise ConfigError(f"lazy {self.kind} entry {target!r}: expected 'package.module:Attr'")
        if target is not None:
            self._entries[name] = _Entry(target, tuple(tags), doc)
            return None

        def decorate(obj: T) -> T:
            self._entries[name] = _Entry(obj, tuple(tags), doc)
            return obj

        return decorate

    def get(self, name: str) -> T:
        """The class registered as ``name`` (importing it if it was registered lazily)."""
        self._load_plugins()
        entry = self._entries.get(name)
        if entry is None:
            raise UnknownNameError(self.kind, name, self._entries)
        if isinstance(entry.target, str):
            module_name, attr = entry.target.split(":", 1)
            entry.target = getattr(importlib.import_module(module_name), attr)
        return entry.target  # type: ignore[return-value]

    def tags(self, name: str) -> tuple[str, ...]:
        self._load_plugins()
        if name not in self._entries:
            raise UnknownNameError(self.kind, name, self._entries)
        return self._entries[name].tags

    def describe(self, name: str) -> str:
        """One-line description: the registered doc, else the first docstring line."""
        entry = self._entries[name]
        if entry.doc:
            return entry.doc
        doc = (getattr(self.get(name), "__doc__", None) or "").strip()
        return doc.splitlines()[0] if doc else ""

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._load_plugins()
        return len(self._entries)

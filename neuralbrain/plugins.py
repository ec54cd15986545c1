"""Entry points: how other packages (and this repository's envs and agents) plug in.

Groups read here:

- ``neuralbrain.backends``, ``neuralbrain.modules``, ``neuralbrain.tasks``: name ->
  ``"package.module:Class"``; each ``Registry`` with a ``group`` adds them on first use, so a
  third-party package adds a backend, module or task by declaring an entry point;
- ``neuralbrain.agents``: name -> ``"package.module:ATTR"``, a folder of agent and task TOML
  files, found by ``neuralbrain.config.resolve_config`` when a command names a config by stem;
- ``gymnasium.envs``: a function registering Gymnasium ids. Gymnasium before 1.0 called these
  itself on import; 1.0 dropped plugins, so ``install_gymnasium_hook`` (run at interpreter
  start by the ``neuralbrain-gymnasium.pth`` file the install puts in ``site-packages``)
  calls neuralbrain's own right after ``gymnasium`` is imported. Only this distribution's
  entry points are called: other packages' old plugins stay as Gymnasium treats them.

This module imports nothing heavy: the ``.pth`` line runs at every interpreter start.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib.machinery import ModuleSpec

DISTRIBUTION = "neuralbrain"
GYMNASIUM_GROUP = "gymnasium.envs"


def entry_points(group: str) -> list:
    """The installed entry points of ``group`` (``importlib.metadata.EntryPoint``)."""
    from importlib.metadata import entry_points as installed

    return list(installed(group=group))


def register_gymnasium_envs() -> None:
    """Call neuralbrain's ``gymnasium.envs`` entry points (registers the ``neuralbrain/*`` ids)."""
    for ep in entry_points(GYMNASIUM_GROUP):
        if ep.dist is not None and ep.dist.name == DISTRIBUTION:
            ep.load()()


class _AfterImport:
    """A one-shot ``sys.meta_path`` finder: runs ``callback`` right after module ``name`` has
    been executed (the module is found and loaded by the usual finders)."""

    def __init__(self, name: str, callback: Callable[[], None]) -> None:
        self.name, self.callback = name, callback

    def find_spec(self, fullname: str, path=None, target=None) -> ModuleSpec | None:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        import importlib.util

        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module, callback = spec.loader.exec_module, self.callback

        def exec_then_register(module) -> None:
            exec_module(module)
            try:
                callback()
            except Exception as err:  # never break `import gymnasium` for a user
                print(f"neuralbrain: could not register its Gymnasium envs: {err}",
                      file=sys.stderr)

        spec.loader.exec_module = exec_then_register
        return spec

    def find_module(self, fullname, path=None):  # pragma: no cover - legacy protocol
        return None


def install_gymnasium_hook() -> None:
    """Register the ``neuralbrain/*`` Gymnasium ids as soon as ``gymnasium`` is imported."""
    if "gymnasium" in sys.modules:
        register_gymnasium_envs()
    elif not any(isinstance(f, _AfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport("gymnasium", register_gymnasium_envs))

"""neuralbrain: a runtime for neuromorphic and embodied agents on simulated hardware.

For notebooks::

    import neuralbrain as nb
    agent = nb.load_agent("agents/configs/neural_brain.toml", checkpoint="CK")
    res = nb.run(agent, episodes=10)   # res.episodes, res.trace: pyarrow tables
    res.trace.to_pandas().groupby("backend").energy_j.sum()
    res = nb.read_run("runs/demo")     # a run directory read back (either trace layout)

Nothing is imported until used (this package is also imported at interpreter start by the
Gymnasium registration hook, ``neuralbrain.plugins``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_agent", "load_config", "read_run", "run", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("load_agent", "read_run", "run"):
        from neuralbrain import runner

        return getattr(runner, name)
    if name == "load_config":
        from neuralbrain.config import load_config

        return load_config
    if name == "__version__":
        from importlib.metadata import version

        return version("neuralbrain")
    raise AttributeError(f"module 'neuralbrain' has no attribute {name!r}")

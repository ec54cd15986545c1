"""Simulated hardware backends. One file per backend, one registry line each (below).

Another package adds a backend without touching this one: a ``Backend`` subclass and an
entry point in its ``pyproject.toml``::

    [project.entry-points."neuralbrain.backends"]
    my_chip = "my_package.my_chip:MyChipBackend"
"""

from __future__ import annotations

from collections.abc import Iterable

from neuralbrain.errors import CapabilityError
from neuralbrain.hardware.base import Backend
from neuralbrain.registry import Registry

BACKENDS: Registry[type[Backend]] = Registry("backend", group="neuralbrain.backends")

BACKENDS.register("cpu", "neuralbrain.hardware.cpu:CpuBackend", tags=("digital", "reference"))
BACKENDS.register(
    "neuromorphic", "neuralbrain.hardware.neuromorphic:NeuromorphicBackend", tags=("spiking",)
)
BACKENDS.register("in_sensor", "neuralbrain.hardware.in_sensor:InSensorBackend", tags=("analog",))
BACKENDS.register("lut", "neuralbrain.hardware.lut:LutBackend", tags=("digital", "mpgemm"))
BACKENDS.register("t3", "neuralbrain.hardware.t3:T3Backend", tags=("digital", "parallel"))
BACKENDS.register("rram", "neuralbrain.hardware.rram:RramBackend", tags=("analog",))
BACKENDS.register(
    "brian2", "neuralbrain.hardware.brian2_backend:Brian2Backend", tags=("simulator",)
)
BACKENDS.register(
    "logic_grid", "neuralbrain.hardware.logic_grid:LogicGridBackend", tags=("logic",)
)
BACKENDS.register("fpga", "neuralbrain.hardware.fpga:FpgaBackend", tags=("digital", "fixed-point"))


def backends_with(op: str) -> list[str]:
    """Names of the registered backends whose capabilities include ``op``."""
    return [name for name in BACKENDS if op in BACKENDS.get(name).capabilities]


def backends_pricing(action: str) -> list[str]:
    """Names of the registered backends whose energy table prices ``action``."""
    return [name for name in BACKENDS if action in BACKENDS.get(name).energy_table.energy_j]


def check_backend(backend: type[Backend] | Backend, who: str, ops: Iterable[str] = (),
                  actions: Iterable[str] = (), field: str = "backend") -> None:
    """Raise ``CapabilityError`` (one line) unless ``backend`` (a class or an instance, given
    as ``field`` of ``who``) runs every op of ``ops`` and prices every action of ``actions``
    that ``who`` needs, naming what is missing and the backends that have it."""
    for op in sorted(set(ops) - backend.capabilities):
        raise CapabilityError(f"{who}: {field} = {backend.name!r} cannot run op {op!r}, which "
                              f"it needs; backends that can: {backends_with(op)}")
    for action in sorted(set(actions) - set(backend.energy_table.energy_j)):
        raise CapabilityError(f"{who}: {field} = {backend.name!r} does not price action "
                              f"{action!r}, which it books; backends that do: "
                              f"{backends_pricing(action)}")


def make_backend(name: str, config: object = None, seed: int = 0) -> Backend:
    """An instance of the backend registered as ``name``."""
    return BACKENDS.get(name)(config, seed)

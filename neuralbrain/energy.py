"""Energy accounting: ``Cost`` of one op, ``EnergyTable`` of unit prices, ``Ledger`` per module.

Units are joules and seconds everywhere inside; tables may be written in pJ/nJ but are
converted once, when the table is built. Energy flows out through one path only: a backend
op returns its ``Cost``; the module's ``Ledger`` books it under an op name; the runner drains
the ledgers once per environment step into trace rows. Nothing else creates energy figures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from neuralbrain.errors import ConfigError

PJ = 1e-12
NJ = 1e-9


@dataclass(frozen=True, slots=True)
class Cost:
    """What one op cost: energy (J), latency (s), primitive operations, bytes moved."""

    energy_j: float = 0.0
    latency_s: float = 0.0
    ops: int = 0
    bytes_moved: int = 0

    def __post_init__(self) -> None:
        for name in ("energy_j", "latency_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"Cost.{name}={value!r}: expected a finite number >= 0")
        if self.ops < 0 or self.bytes_moved < 0:
            raise ConfigError(f"Cost(ops={self.ops}, bytes_moved={self.bytes_moved}): expected >= 0")

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.energy_j + other.energy_j,
            self.latency_s + other.latency_s,
            self.ops + other.ops,
            self.bytes_moved + other.bytes_moved,
        )

    def scaled(self, factor: float) -> Cost:
        """The cost of doing the same op ``factor`` times in sequence."""
        return Cost(
            self.energy_j * factor,
            self.latency_s * factor,
            int(round(self.ops * factor)),
            int(round(self.bytes_moved * factor)),
        )


ZERO = Cost()


@dataclass(frozen=True)
class EnergyTable:
    """Unit energies of a backend's primitive actions, in joules, with where they come from.

    ``energy_j`` maps an action name (``"mac"``, ``"dram_byte"``, ...) to joules per action;
    ``source`` cites the paper or datasheet; ``notes`` states any assumption the source does
    not cover.
    """

    energy_j: Mapping[str, float]
    source: str
    notes: str = ""
    latency_s: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.source.strip():
            raise ConfigError("EnergyTable.source is empty: every energy figure needs a citation")
        for action, joules in {**self.energy_j, **self.latency_s}.items():
            if not (math.isfinite(joules) and joules >= 0):
                raise ConfigError(f"EnergyTable[{action!r}]={joules!r}: expected a finite number >= 0")

    def __getitem__(self, action: str) -> float:
        try:
            return self.energy_j[action]
        except KeyError:
            raise ConfigError(
                f"energy table has no action {action!r}: expected one of {sorted(self.energy_j)}"
            ) from None

    def cost(
        self, latency_s: float = 0.0, bytes_moved: int = 0, ops: int | None = None, **counts: float
    ) -> Cost:
        """Price ``counts`` of actions, e.g. ``table.cost(mac=1e6, dram_byte=4e3, ops=1e6)``.

        ``ops`` is the number of primitive operations to report; by default the sum of the
        counts (pass it explicitly when some counts are bytes rather than operations).
        """
        energy = sum(self[action] * n for action, n in counts.items())
        n_ops = int(sum(counts.values())) if ops is None else int(ops)
        return Cost(energy, latency_s, n_ops, int(bytes_moved))


@dataclass(frozen=True, slots=True)
class Booking:
    """One ledger line: an op name and its cost."""

    op: str
    cost: Cost


class Ledger:
    """The costs one module has booked since the last ``drain``.

    A module books every backend op it runs (``ledger.book("mvm", cost)``). The runner calls
    ``drain()`` once per environment step and writes one trace row per op name, so the
    bookings of a step are summed per op; ``total`` keeps the running total since ``reset``.
    """

    def __init__(self) -> None:
        self._pending: dict[str, Cost] = {}
        self.total: Cost = ZERO

    def book(self, op: str, cost: Cost) -> Cost:
        """Record ``cost`` under ``op`` and hand it back (so calls can be chained)."""
        self._pending[op] = self._pending.get(op, ZERO) + cost
        self.total = self.total + cost
        return cost

    def pending(self) -> Cost:
        """The sum of what was booked since the last drain."""
        return sum(self._pending.values(), ZERO)

    def drain(self) -> list[Booking]:
        """Return and forget the bookings since the last drain, one per op, sorted by op."""
        out = [Booking(op, cost) for op, cost in sorted(self._pending.items())]
        self._pending = {}
        return out

    def reset(self) -> None:
        self._pending = {}
        self.total = ZERO

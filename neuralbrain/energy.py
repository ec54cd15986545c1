"""Energy accounting: the pricing vocabulary, ``Cost`` of one op, ``EnergyTable`` of unit
prices, ``Ledger`` per module.

Units are joules and seconds everywhere inside; tables may be written in pJ/nJ but are
converted once, when the table is built. Energy flows out through one path only: a backend
op returns its ``Cost``; the module's ``Ledger`` books it under an op name *and the name of
the backend that did the work*; the runner drains the ledgers once per environment step into
trace rows. Nothing else creates energy figures.

``ACTIONS`` is the one vocabulary of primitive actions. Every backend's ``EnergyTable`` prices
the actions it supports under these names (a table naming anything else is an error), each
with its source; a module names the actions it books in its ``requires`` and is checked
against its backend when the agent is built. The same work therefore has the same name on
every backend, and a backend that cannot price it is refused up front instead of being
priced as something else.
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
    """What one op cost: energy (J), latency (s), primitive operations, bytes moved.

    ``parts`` optionally splits the cost of one op into named sub-ops, for a backend whose op
    is several kinds of work (a tensor-parallel product: ``gemm``, ``reduce_scatter``,
    ``all_gather``); they add up to the whole (latencies as their shares of the critical
    path), and ``Ledger.book`` books each under its own name. Sums of costs drop the split,
    and two costs with the same totals are equal however they are split.
    """

    energy_j: float = 0.0
    latency_s: float = 0.0
    ops: int = 0
    bytes_moved: int = 0
    parts: tuple[tuple[str, Cost], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        for name in ("energy_j", "latency_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"Cost.{name}={value!r}: expected a finite number >= 0")
        if self.ops < 0 or self.bytes_moved < 0:
            raise ConfigError(f"Cost(ops={self.ops}, bytes_moved={self.bytes_moved}): expected >= 0")
        if self.parts:
            whole = sum((part for _, part in self.parts), ZERO)
            if not (math.isclose(whole.energy_j, self.energy_j, rel_tol=1e-9, abs_tol=1e-30)
                    and math.isclose(whole.latency_s, self.latency_s, rel_tol=1e-9, abs_tol=1e-30)
                    and (whole.ops, whole.bytes_moved) == (self.ops, self.bytes_moved)):
                raise ConfigError(f"Cost parts {[name for name, _ in self.parts]} add up to "
                                  f"{whole}: expected the whole {self.without_parts()}")

    @classmethod
    def of_parts(cls, parts: dict[str, Cost]) -> Cost:
        """The cost made of the named ``parts`` (their sum, keeping the split)."""
        whole = sum(parts.values(), ZERO)
        return cls(whole.energy_j, whole.latency_s, whole.ops, whole.bytes_moved,
                   tuple(parts.items()))

    def without_parts(self) -> Cost:
        return Cost(self.energy_j, self.latency_s, self.ops, self.bytes_moved)

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
class Action:
    """A primitive action a backend can price: its name, the unit counted, what it is."""

    name: str
    unit: str
    meaning: str


ACTIONS: Mapping[str, Action] = {a.name: a for a in (
    # digital arithmetic (Horowitz, ISSCC 2014, gives 45 nm figures for each)
    Action("mult_fp32", "op", "one 32-bit floating-point multiply"),
    Action("add_fp32", "op", "one 32-bit floating-point add"),
    Action("mac_fp32", "op", "one 32-bit floating-point multiply-accumulate"),
    Action("mac_int8", "op", "one 8-bit integer multiply with a 32-bit accumulate"),
    Action("add_int32", "op", "one 32-bit integer add"),
    Action("alu_op", "op", "one 32-bit integer ALU instruction (add, compare, move, branch)"),
    Action("lookup_fp32", "lookup", "one read of a 32-bit entry from a small lookup table"),
    Action("lookup_int8", "lookup", "one read of an 8-bit entry from a small lookup table"),
    # memory and links
    Action("sram_read_byte", "byte", "one byte read from on-chip SRAM"),
    Action("dram_read_byte", "byte", "one byte read from off-chip DRAM"),
    Action("weight_write", "weight", "one stored weight written (a cell programmed, a word stored)"),
    Action("link_bit", "bit", "one bit sent over a link (sensor to processor, device to device)"),
    # spiking hardware
    Action("spike_event", "event", "one address-event received and decoded by a processor"),
    Action("synop", "op", "one synaptic accumulate triggered by a spike"),
    Action("neuron_update", "op", "one neuron's membrane update for one time step"),
    Action("time_step", "step", "one time step of a clocked spiking chip (its static power)"),
    # analog crossbars
    Action("adc_conversion", "conversion", "one analog-to-digital conversion of a column"),
    Action("dac_conversion", "conversion", "one digital-to-analog conversion of a row input"),
    # processing in pixel (the P2M pixel array)
    Action("conv_pixel", "pixel", "one pixel of a conventional frame sensed and read out"),
    Action("conv_adc", "conversion", "one pixel value converted by a column ADC"),
    Action("output_sense", "output", "one in-pixel layer output sensed"),
    Action("output_convert", "conversion", "one in-pixel layer output converted to a value"),
    Action("spike_convert", "comparison", "one in-pixel output compared with its threshold"),
    Action("mac_event", "op", "one event's charge added to an in-pixel output line"),
    # logic blocks (Generative Logic)
    Action("message", "message", "one term routed to a logic block"),
    Action("unify", "attempt", "one match attempt of a block's pattern against a term"),
    Action("block_cycle", "cycle", "one cycle on the logic grid's critical path"),
)}


@dataclass(frozen=True)
class EnergyTable:
    """Unit energies of a backend's primitive actions, in joules, with where they come from.

    ``energy_j`` maps an action of ``ACTIONS`` (``"mac_fp32"``, ``"dram_read_byte"``, ...) to
    joules per action (any other name is refused); ``latency_s`` gives seconds per action for
    some of them (0 for the others); ``source`` cites the paper or datasheet; ``notes`` states
    any assumption the source does not cover.
    """

    energy_j: Mapping[str, float]
    source: str
    notes: str = ""
    latency_s: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.source.strip():
            raise ConfigError("EnergyTable.source is empty: every energy figure needs a citation")
        unknown = sorted(set(self.energy_j) - set(ACTIONS))
        if unknown:
            raise ConfigError(
                f"energy table prices {unknown}, which are not priced actions of "
                f"neuralbrain.energy.ACTIONS: expected some of {sorted(ACTIONS)}")
        unpriced = sorted(set(self.latency_s) - set(self.energy_j))
        if unpriced:
            raise ConfigError(f"energy table gives a latency for {unpriced} but no energy: "
                              "expected latencies of priced actions only")
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
        """Price ``counts`` of actions, e.g. ``table.cost(mac_fp32=1e6, dram_read_byte=4e3, ops=1e6)``.

        ``ops`` is the number of primitive operations to report; by default the sum of the
        counts (pass it explicitly when some counts are bytes rather than operations).
        """
        energy = sum(self[action] * n for action, n in counts.items())
        n_ops = int(sum(counts.values())) if ops is None else int(ops)
        return Cost(energy, latency_s, n_ops, int(bytes_moved))


@dataclass(frozen=True, slots=True)
class Booking:
    """One ledger line: an op name, the backend that did the work, and its cost."""

    op: str
    backend: str
    cost: Cost


class Ledger:
    """The costs one module has booked since the last ``drain``.

    A module books every backend op it runs (``ledger.book("mvm", cost, backend="rram")``),
    naming the backend that did it: a module may use several (the in-pixel layer of the
    perception SNN books to ``in_sensor``, the rest to its main backend). The runner calls
    ``drain()`` once per environment step and writes one trace row per (op, backend), so the
    bookings of a step are summed per pair; ``total`` keeps the running total since ``reset``.
    """

    def __init__(self) -> None:
        self._pending: dict[tuple[str, str], Cost] = {}
        self.total: Cost = ZERO

    def book(self, op: str, cost: Cost, *, backend: str) -> Cost:
        """Record ``cost`` under ``op`` on ``backend`` and hand it back (calls can be chained);
        a cost split into ``parts`` is booked part by part, each under its own name."""
        for name, part in cost.parts or ((op, cost),):
            key = (name, backend)
            self._pending[key] = self._pending.get(key, ZERO) + part
        self.total = self.total + cost
        return cost

    def pending(self) -> Cost:
        """The sum of what was booked since the last drain."""
        return sum(self._pending.values(), ZERO)

    def drain(self) -> list[Booking]:
        """Return and forget the bookings since the last drain, one per (op, backend), sorted."""
        out = [Booking(op, backend, cost) for (op, backend), cost in sorted(self._pending.items())]
        self._pending = {}
        return out

    def reset(self) -> None:
        self._pending = {}
        self.total = ZERO

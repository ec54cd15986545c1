"""``neuromorphic``: an event-driven digital SNN core (synaptic accumulates, no multiplies).

Functional model: synaptic weights are stored as signed ``weight_bits`` fixed-point integers
with one scale per weight matrix (symmetric, round to nearest), as on digital neuromorphic
chips (Loihi stores 1-9 bit synaptic weights, Davies et al., IEEE Micro 38(1), 2018). The
synaptic input of a layer is then the exact sum of the dequantized weights of the active
inputs, ``I_j = sum_i s_i * q(w_ij)``, computed only over active inputs (``s_i != 0``).

Energy model (per inference)::

    E = n_synop * e_ac + n_neuron_update * e_update + P_static * t_active

- ``e_ac`` = 0.9 pJ per synaptic operation: one fp32 add at 45 nm (Horowitz, "Computing's
  energy problem", ISSCC 2014), the figure SNN papers use against 4.6 pJ per fp32 MAC
  (e.g. Datta et al., ICASSP 2023; Rathi & Roy, 2020).
- ``e_update`` = 4.6 pJ per LIF neuron update: one multiply (the leak) plus one add and a
  compare, priced as one fp32 MAC at 45 nm (Horowitz 2014); an assumption, the source prices
  the arithmetic only.
- ``P_static`` (``static_power_w``, default 50 uW): leakage of the cores that hold a network
  of a few thousand neurons. ASSUMPTION, not from a source: chips report static power for a
  whole die (Loihi: tens of mW for 128 cores); we scale down to the few cores a small SNN
  occupies. It is booked per time step as ``P_static * time_step_s`` by ``charge("time_step",
  T)``, which is also how a module books the latency of its time steps.
- ``e_spike_in`` = 0.9 pJ per input event routed onto the chip (``spike_event``: one AER
  packet written to a core's input buffer, priced like one accumulate; assumption).

Latency model: the cores run synchronously, one ``time_step_s`` (default 1 us) per SNN time
step; within a step, accumulates are spread over ``n_cores`` cores each doing one synaptic
op per ns (assumption), so ``accumulate`` reports ``n_synop / (n_cores * 1e9)`` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from neuralbrain.energy import PJ, Cost, EnergyTable
from neuralbrain.errors import ConfigError
from neuralbrain.hardware.base import Backend, as_matrix, check_operand

SOURCE = (
    "M. Horowitz, Computing's energy problem, ISSCC 2014 (45 nm): fp32 add 0.9 pJ (one "
    "synaptic accumulate), fp32 mult 3.7 pJ + add 0.9 pJ (one neuron update); static power "
    "and time step are stated assumptions (see notes)"
)


@dataclass(frozen=True)
class QuantizedWeights:
    """Weights as signed fixed-point codes and one scale: ``w ~= codes * scale``."""

    codes: np.ndarray  # int32 (k, n)
    scale: float
    bits: int

    def dequantize(self) -> np.ndarray:
        return (self.codes.astype(np.float32) * np.float32(self.scale)).astype(np.float32)

    @property
    def shape(self) -> tuple[int, int]:
        return self.codes.shape  # type: ignore[return-value]


def quantize_symmetric(w: np.ndarray, bits: int) -> QuantizedWeights:
    """Round ``w`` to ``bits``-bit signed codes with scale ``max|w| / (2**(bits-1) - 1)``."""
    w = as_matrix(w, "w")
    levels = 2 ** (bits - 1) - 1
    peak = float(np.abs(w).max()) if w.size else 0.0
    scale = peak / levels if peak > 0 else 1.0
    codes = np.clip(np.rint(w / scale), -levels, levels).astype(np.int32)
    return QuantizedWeights(codes, scale, bits)


@dataclass(frozen=True)
class NeuromorphicConfig:
    """Device parameters of the ``neuromorphic`` backend (units in the names)."""

    weight_bits: int = 8
    e_ac_pj: float = 0.9
    e_update_pj: float = 4.6
    e_spike_in_pj: float = 0.9
    static_power_w: float = 50e-6
    time_step_s: float = 1e-6
    n_cores: int = 4

    def __post_init__(self) -> None:
        if not 2 <= self.weight_bits <= 16:
            raise ConfigError(f"neuromorphic.weight_bits = {self.weight_bits}: expected 2..16")
        for name in ("e_ac_pj", "e_update_pj", "e_spike_in_pj", "static_power_w"):
            value = getattr(self, name)
            if not value >= 0:
                raise ConfigError(f"neuromorphic.{name} = {value!r}: expected a number >= 0")
        if not self.time_step_s > 0:
            raise ConfigError(f"neuromorphic.time_step_s = {self.time_step_s!r}: expected > 0")
        if self.n_cores < 1:
            raise ConfigError(f"neuromorphic.n_cores = {self.n_cores}: expected >= 1")


def _table(cfg: NeuromorphicConfig) -> EnergyTable:
    return EnergyTable(
        energy_j={
            "synop": cfg.e_ac_pj * PJ,
            "neuron_update": cfg.e_update_pj * PJ,
            "spike_event": cfg.e_spike_in_pj * PJ,
            "time_step": cfg.static_power_w * cfg.time_step_s,
        },
        latency_s={"time_step": cfg.time_step_s},
        source=SOURCE,
        notes=f"static power {cfg.static_power_w} W and time step {cfg.time_step_s} s are "
        f"assumptions; {cfg.n_cores} cores at 1 synaptic op per ns each; weights "
        f"{cfg.weight_bits}-bit fixed point",
    )


class NeuromorphicBackend(Backend):
    """Event-driven accumulates with fixed-point weights (see the module docstring)."""

    name = "neuromorphic"
    capabilities = frozenset({"accumulate"})
    Config = NeuromorphicConfig
    energy_table = _table(NeuromorphicConfig())
    # 8-bit symmetric weights: the max error of a sum of active weights is at most
    # n_active * scale / 2; for the weight spreads SNN layers have it stays under 2 % of the
    # largest output (the contract test measures max |error| / max |exact|).
    rel_tolerance = 0.02

    def __init__(self, config: NeuromorphicConfig | None = None, seed: int = 0) -> None:
        super().__init__(config, seed)
        if not isinstance(self.config, NeuromorphicConfig):
            raise ConfigError(
                f"neuromorphic backend config is {type(self.config).__name__}: "
                "expected NeuromorphicConfig"
            )
        self.energy_table = _table(self.config)

    def place(self, w: np.ndarray) -> tuple[QuantizedWeights, Cost]:
        """Quantize and store ``w``; writing synapse memory is free in this model."""
        if isinstance(w, QuantizedWeights):
            return w, Cost()
        return quantize_symmetric(w, self.config.weight_bits), Cost()

    def _placed(self, w: Any) -> QuantizedWeights:
        if isinstance(w, QuantizedWeights) and w.bits == self.config.weight_bits:
            return w
        if isinstance(w, QuantizedWeights):
            w = w.dequantize()
        return quantize_symmetric(w, self.config.weight_bits)

    def accumulate(self, spikes: np.ndarray, w: Any) -> tuple[np.ndarray, Cost]:
        q = self._placed(w)
        s = check_operand(spikes, q.shape[0], "spikes")
        # Integer accumulate of the codes, one scale at the end: what a fixed-point core does.
        y = (s @ q.codes.astype(np.float32)) * np.float32(q.scale)
        # One synaptic op per (active input, fan-out) pair; a count > 1 is that many events.
        synops = int(np.abs(s).sum()) * q.shape[1]
        return y.astype(np.float32), Cost(
            energy_j=synops * self.energy_table["synop"],
            latency_s=synops / (self.config.n_cores * 1e9),
            ops=synops,
            bytes_moved=int(np.count_nonzero(s)) * 4,
        )

"""``rram``: resistive-memory crossbars computing matrix-vector products in the analog domain.

Device model (after Lin et al., Nature Computational Science 2025, and the 1T1R crossbar
literature cited per constant below). A weight matrix ``W`` (k, n) lives in two crossbars of
conductances, a differential pair per weight, read with voltages on the k rows::

    W  ~  (G+ - G-) / g_unit,     I_j = sum_i V_i (G+_ij - G-_ij),   y = I / (g_unit * v_unit)

Functional effects, each switchable in ``Config``:

- **stochastic dielectric breakdown** (forming): a pristine cell (~10 MOhm) breaks down when
  the applied voltage exceeds its breakdown voltage ``V_bd ~ N(mean, std)``, so a forming pulse
  of ``v_prog_v`` breaks a fraction ``Phi((v_prog - mean) / std)`` of the cells, each landing at
  a random conductance ``N(g_bd_mean_s, g_bd_std_s)``. With ``weights = "breakdown"`` the
  device's own random matrix is used (the paper's zero-cost random reservoir weights; ``place``
  then keeps only the shape and rms scale of ``w``); with ``weights = "program"`` (default) the
  target ``w`` is written into the formed cells of the sign's array, its partner left pristine;
- **programming noise**: a programmed conductance misses its target by
  ``N(0, prog_noise * g_max_s)``;
- **read noise** on every access: each cell's conductance fluctuates by a relative
  ``N(0, read_noise)`` per read (sampled exactly at the column output: the sum of independent
  Gaussians has variance ``read_noise^2 * sum_i V_i^2 (G+_ij^2 + G-_ij^2)``);
- **conductance drift**: ``G(t) = G0 * (1 + t / 1 s)^-nu``, with ``nu ~ N(drift_nu,
  drift_nu_std)`` per cell and ``t = age_s``, the time since programming;
- **DAC** of ``dac_bits`` on the inputs (integer counts within range pass exactly) and **ADC**
  of ``adc_bits`` on the column currents, ranged per access to the largest current (an
  idealized auto-ranging ADC).

Energy and latency per MVM (constants and their sources in ``RRAM_TABLE``): the read energy
``sum_ij V_i^2 G_ij t_pulse`` over both arrays, one DAC conversion per active row, one ADC
conversion per column; latency = one read pulse plus the columns' conversions on the shared
ADCs. ``place`` costs one forming/programming pulse per cell it writes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from neuralbrain.energy import PJ, Cost, EnergyTable
from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.hardware.base import Backend, as_matrix, check_lif_operands, check_operand

RRAM_TABLE = EnergyTable(
    energy_j={
        "adc_conversion": 2.0 * PJ,
        "dac_conversion": 0.15 * PJ,
        "weight_write": 20.0 * PJ,
        "neuron_update": 0.03 * PJ,
    },
    latency_s={"adc_conversion": 10e-9, "neuron_update": 1e-9},
    source="ADC: B. Murmann, ADC Performance Survey 1997-2024 (8-bit SAR near Walden FOM "
    "10 fJ/conv-step -> ~2.5 pJ, taken as 2 pJ at 8 bits, doubling per extra bit); cell "
    "programming: a 2 V, 100 uA compliance, 100 ns forming/SET pulse = 20 pJ (P. Yao et al., "
    "Nature 577, 641 (2020) use 100 uA-range compliance); neuron update: an 8-bit add, "
    "0.03 pJ (M. Horowitz, ISSCC 2014, 45 nm)",
    notes="weight_write is one cell programmed; the read energy of an access, sum V^2 G t over "
    "the driven cells, is not a unit price: _mvm computes it from the device parameters in "
    "RramBackend.Config (read voltage, conductances, pulse width); DAC energy (0.15 pJ per "
    "conversion) and the ADC sharing (one ADC per 8 columns, 10 ns per conversion) are "
    "assumptions; read pulse width and read voltage are config values (defaults 10 ns and "
    "0.2 V, the read voltage used by Yao et al. 2020)",
)


@dataclass(frozen=True)
class Config:
    """``[hardware.rram]``: device parameters of the resistive-memory crossbars."""

    weights: Literal["program", "breakdown"] = "program"
    g_pristine_s: float = 1e-7  # ~10 MOhm before forming (Lin et al. 2025)
    g_max_s: float = 100e-6  # largest programmed conductance (10 kOhm)
    v_bd_mean_v: float = 3.0  # breakdown voltage distribution (roughly normal)
    v_bd_std_v: float = 0.3
    v_prog_v: float = 3.3  # forming voltage: sets the fraction of broken-down cells
    g_bd_mean_s: float = 50e-6  # conductance after breakdown
    g_bd_std_s: float = 15e-6
    prog_noise: float = 0.01  # programming error, fraction of g_max_s
    read_noise: float = 0.005  # relative conductance fluctuation per read
    drift_nu: float = 0.005
    drift_nu_std: float = 0.002
    age_s: float = 0.0  # time since programming
    dac_bits: int = 8
    adc_bits: int = 10
    v_read_v: float = 0.2
    pulse_s: float = 10e-9
    columns_per_adc: int = 8

    def __post_init__(self) -> None:
        positive = ("g_pristine_s", "g_max_s", "v_bd_std_v", "g_bd_mean_s", "v_read_v",
                    "pulse_s")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ConfigError(f"hardware.rram.{name} = {getattr(self, name)}: expected > 0")
        nonneg = ("g_bd_std_s", "prog_noise", "read_noise", "drift_nu", "drift_nu_std", "age_s")
        for name in nonneg:
            if not getattr(self, name) >= 0:
                raise ConfigError(f"hardware.rram.{name} = {getattr(self, name)}: expected >= 0")
        if self.g_pristine_s >= self.g_max_s:
            raise ConfigError(
                f"hardware.rram.g_pristine_s = {self.g_pristine_s}: expected below g_max_s "
                f"= {self.g_max_s}"
            )
        for name in ("dac_bits", "adc_bits"):
            if not 1 <= getattr(self, name) <= 24:
                raise ConfigError(f"hardware.rram.{name} = {getattr(self, name)}: expected 1..24")
        if self.columns_per_adc < 1:
            raise ConfigError(
                f"hardware.rram.columns_per_adc = {self.columns_per_adc}: expected >= 1"
            )


def breakdown_fraction(cfg: Config) -> float:
    """Fraction of cells a forming pulse of ``v_prog_v`` breaks down: ``Phi((V - mu) / s)``."""
    z = (cfg.v_prog_v - cfg.v_bd_mean_v) / cfg.v_bd_std_v
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def breakdown_conductances(
    shape: tuple[int, ...], cfg: Config, rng: np.random.Generator
) -> np.ndarray:
    """Conductances (S) of pristine cells after one forming pulse of ``cfg.v_prog_v``."""
    v_bd = rng.normal(cfg.v_bd_mean_v, cfg.v_bd_std_v, shape)
    formed = v_bd < cfg.v_prog_v
    g_formed = np.clip(rng.normal(cfg.g_bd_mean_s, cfg.g_bd_std_s, shape), cfg.g_pristine_s,
                       cfg.g_max_s)
    return np.where(formed, g_formed, cfg.g_pristine_s)


@dataclass(frozen=True)
class Crossbar:
    """A placed matrix: the two conductance arrays (k, n) and the scale back to weights."""

    g_pos: np.ndarray
    g_neg: np.ndarray
    g_unit: float  # siemens per unit weight

    @property
    def shape(self) -> tuple[int, int]:
        return self.g_pos.shape

    @property
    def g_diff(self) -> np.ndarray:
        """``G+ - G-``: the two column currents are subtracted before the ADC."""
        return self._cached("g_diff", lambda: self.g_pos - self.g_neg)

    @property
    def g_sq(self) -> np.ndarray:
        """``G+^2 + G-^2``: per-cell read-noise variances summed over the pair."""
        return self._cached("g_sq", lambda: self.g_pos**2 + self.g_neg**2)

    @property
    def g_row(self) -> np.ndarray:
        """Total conductance on each row (read energy per row is ``V^2 * g_row * t``)."""
        return self._cached("g_row", lambda: (self.g_pos + self.g_neg).sum(axis=1))

    def _cached(self, name: str, make: Any) -> np.ndarray:
        cache = self.__dict__.setdefault("_cache", {})
        if name not in cache:
            cache[name] = make()
        return cache[name]

    def weights(self) -> np.ndarray:
        """The weights these conductances represent (noise-free read)."""
        return ((self.g_pos - self.g_neg) / self.g_unit).astype(np.float32)


class RramBackend(Backend):
    """Analog crossbar MVMs on resistive memory (see the module docstring for the model)."""

    name = "rram"
    capabilities = frozenset({"matmul", "accumulate", "lif_reservoir"})
    energy_table = RRAM_TABLE
    # Measured worst case of max|y - x@w| / max|x@w| over 200 seeds of the contract test's
    # operands with the default Config: 0.066 (programming noise dominates); 0.1 with margin.
    rel_tolerance = 0.1
    Config = Config

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self.cells_programmed = 0

    # -- programming -----------------------------------------------------------------------
    def place(self, w: Any) -> tuple[Crossbar, Cost]:
        w = as_matrix(w, "w").astype(np.float64)
        cfg, rng = self.config, self.rng
        if cfg.weights == "breakdown":
            g_pos = breakdown_conductances(w.shape, cfg, rng)
            g_neg = breakdown_conductances(w.shape, cfg, rng)
            diff = g_pos - g_neg
            rms_w = float(np.sqrt(np.mean(w**2))) or 1.0
            g_unit = float(np.sqrt(np.mean(diff**2))) / rms_w or 1.0
            written = w.size * 2
        else:
            w_max = float(np.abs(w).max()) or 1.0
            g_unit = (cfg.g_max_s - cfg.g_pristine_s) / w_max
            target = np.abs(w) * g_unit
            noise = rng.normal(0.0, cfg.prog_noise * cfg.g_max_s, w.shape)
            g_prog = np.clip(cfg.g_pristine_s + target + noise, cfg.g_pristine_s, cfg.g_max_s)
            active = w != 0
            g_pos = np.where(active & (w > 0), g_prog, cfg.g_pristine_s)
            g_neg = np.where(active & (w < 0), g_prog, cfg.g_pristine_s)
            written = int(np.count_nonzero(active))
        if cfg.age_s > 0 and (cfg.drift_nu > 0 or cfg.drift_nu_std > 0):
            for g in (g_pos, g_neg):
                nu = rng.normal(cfg.drift_nu, cfg.drift_nu_std, g.shape)
                g *= (1.0 + cfg.age_s) ** -nu
        self.cells_programmed += written
        cost = self.energy_table.cost(
            latency_s=written * 100e-9 / max(w.shape[1], 1),  # one row of cells per pulse
            bytes_moved=w.nbytes,
            ops=written,
            weight_write=written,
        )
        return Crossbar(g_pos, g_neg, g_unit), cost

    def _crossbar(self, w: Any) -> Crossbar:
        if isinstance(w, Crossbar):
            return w
        return self.place(w)[0]

    # -- reading ---------------------------------------------------------------------------
    def _dac(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        """Quantize inputs to ``dac_bits``; returns (levels, value of one level)."""
        bits = self.config.dac_bits
        x_max = float(np.abs(x).max()) if x.size else 0.0
        if x_max == 0.0:
            return np.zeros_like(x, np.float64), 1.0
        signed = bool((x < 0).any())
        top = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
        if np.all(x == np.round(x)) and x_max <= top:
            return x.astype(np.float64), 1.0  # integer counts in range: exact levels
        step = x_max / max(top, 1)
        return np.round(x / step), step

    def _mvm(self, x: np.ndarray, xb: Crossbar) -> tuple[np.ndarray, Cost]:
        cfg = self.config
        k, n = xb.shape
        levels, step = self._dac(np.asarray(x, np.float64).reshape(-1, k))
        top = float(np.abs(levels).max()) or 1.0
        volts = levels * (cfg.v_read_v / top)  # the largest input is driven at v_read
        current = volts @ xb.g_diff
        if cfg.read_noise > 0:
            var = (volts**2) @ xb.g_sq
            current = current + self.rng.standard_normal(current.shape) * (
                cfg.read_noise * np.sqrt(var)
            )
        i_max = float(np.abs(current).max())
        if i_max > 0:
            lsb = i_max / (2 ** (cfg.adc_bits - 1) - 1)
            current = np.round(current / lsb) * lsb
        y = current * (top * step / cfg.v_read_v) / xb.g_unit
        rows = levels.shape[0]
        active = int(np.count_nonzero(levels))
        read_j = float(((volts**2) @ xb.g_row).sum()) * cfg.pulse_s
        adc_scale = 2.0 ** (cfg.adc_bits - 8)  # Walden FOM: energy doubles per extra bit
        conversions = rows * n
        groups = math.ceil(n / cfg.columns_per_adc)
        cost = Cost(
            energy_j=read_j
            + conversions * adc_scale * self.energy_table["adc_conversion"]
            + active * self.energy_table["dac_conversion"],
            latency_s=rows * (cfg.pulse_s + groups * self.energy_table.latency_s["adc_conversion"]),
            ops=rows * k * n,
            bytes_moved=levels.size + conversions,
        )
        return y.reshape(np.shape(x)[:-1] + (n,)).astype(np.float32), cost

    def matmul(self, x: np.ndarray, w: Any) -> tuple[np.ndarray, Cost]:
        xb = self._crossbar(w)
        x = check_operand(x, xb.shape[0])
        return self._mvm(x, xb)

    def accumulate(self, spikes: np.ndarray, w: Any) -> tuple[np.ndarray, Cost]:
        xb = self._crossbar(w)
        s = check_operand(spikes, xb.shape[0], "spikes")
        if not s.any():  # no active row: nothing is driven, nothing converted
            return np.zeros(s.shape[:-1] + (xb.shape[1],), np.float32), Cost()
        return self._mvm(s, xb)

    def lif_reservoir(
        self, x: np.ndarray, w_in: Any, w_rec: Any, decay: float, threshold: float
    ) -> tuple[np.ndarray, Cost]:
        """The LIF reservoir with both products on the crossbars, one access per time step.

        Rows (samples) without input or without spikes at a step skip that access.
        """
        xb_in, xb_rec = self._crossbar(w_in), self._crossbar(w_rec)
        if xb_in.shape[1] != xb_rec.shape[0]:
            raise ShapeError(f"w_rec has shape {xb_rec.shape}: expected ({xb_in.shape[1]}, ...)")
        x = check_lif_operands(x, np.empty(xb_in.shape), np.empty(xb_rec.shape), decay, threshold)
        batch, steps, _ = x.shape
        n = xb_in.shape[1]
        v = np.zeros((batch, n))
        s = np.zeros((batch, n), np.float64)
        out = np.zeros((batch, steps, n), np.uint8)
        total = Cost()
        for t in range(steps):
            cur = np.zeros((batch, n))
            xt = x[:, t]
            rows = np.flatnonzero(xt.any(axis=1))
            if rows.size:
                y, c = self._mvm(xt[rows], xb_in)
                cur[rows] += y
                total = total + c
            rows = np.flatnonzero(s.any(axis=1))
            if rows.size:
                y, c = self._mvm(s[rows], xb_rec)
                cur[rows] += y
                total = total + c
            v = decay * v + cur
            fired = v >= threshold
            out[:, t] = fired
            v[fired] = 0.0
            s = fired.astype(np.float64)
        updates = batch * steps * n
        total = total + self.energy_table.cost(
            latency_s=steps * self.energy_table.latency_s["neuron_update"], neuron_update=updates
        )
        return out, total

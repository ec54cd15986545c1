"""``in_sensor``: processing-in-pixel (P2M) -- the first conv layer computed inside the pixels.

After Datta et al., "P2M: a processing-in-pixel-in-memory paradigm for resource-constrained
TinyML applications" (Sci. Rep. 12:14396, 2022) and "In-sensor & neuromorphic computing are
all you need for energy efficient computer vision" (ICASSP 2023). Each pixel holds the weights
of the first convolution as transistor widths; the photocurrents (or, for an event pixel, the
events) of a ``k x k x c_in`` patch are summed in the analog domain on a shared column line,
one line per output channel, and a comparator turns the sum into a spike (ICASSP 2023) or a
single-slope ADC into a multi-bit activation (P2M). Only those outputs leave the sensor.

Functional model
    Weights are ``weight_bits``-bit symmetric fixed point (transistor widths come in a few
    discrete sizes); the analog sum may get Gaussian read noise of ``noise_rel`` times the
    largest possible output (default 0: off). The layer must fit the pixel circuit:
    ``kernel <= max_kernel``, ``c_in <= max_in_channels``, ``c_out <= max_out_channels``
    (``check_conv`` raises ``ConfigError`` otherwise, and ``place`` refuses a weight matrix
    with more rows or columns than that).

Energy model (per output activation, P2M's energy table as we recall it; the paper's own
column for the P2M design and for the conventional baseline, 22 nm GF FD-SOI). RECALLED, NOT
VERIFIED: the table could not be consulted offline (the stored copies of P2M -- PubMed
35999235, DOAJ, arXiv listings of 2203.04737 -- and of the ICASSP 2023 paper hold their
abstracts only), so each value below is as remembered, and the ICASSP paper's own table (it
may price the spiking pixel and the link differently) is unknown to us::

    in-sensor:     E = n_out * (e_out_sense + e_convert) + n_bits_out * e_bit
    conventional:  E = n_pixel_values * (e_pix + e_adc) + n_pixel_values * N_b * e_bit

- ``e_out_sense`` 148 pJ: sensing plus the in-pixel analog multiply-accumulate of one output
  (P2M "sensing energy" of the P2M column). Spread over the k*k*c_in = 75 products of P2M's
  5x5x3 layer, that is ``e_mac_event`` = 148/75 = 1.97 pJ per analog product, which is what
  an event pixel spends per (event, output channel) pair in ``accumulate``.
- ``e_out_convert`` 41.9 pJ per multi-bit output conversion (P2M in-pixel single-slope ADC,
  ``p2m_adc_bits`` = 8 bits), charged by ``matmul`` (P2M's multi-bit activations).
- ``e_spike_convert`` per 1-bit spike decision, charged by ``accumulate`` (the ICASSP 2023
  spiking readout): a single-slope converter spends its energy ramping through ``2**bits``
  clock steps, so a 1-bit decision costs ``41.9 pJ * 2**1 / 2**8`` = 0.33 pJ. ASSUMPTION:
  the paper does not price its comparator separately; energy proportional to ramp steps is
  our model.
- ``e_bit`` 75 pJ per bit leaving the sensor: P2M's 900 pJ communication energy per 12-bit
  pixel value, divided by 12 (ASSUMPTION: the cost is per bit of the MIPI-type link).
- ``e_pix`` 312 pJ and ``e_adc`` 86.14 pJ: the conventional sensor's sensing and 12-bit ADC
  energy per pixel value (P2M baseline column); used for the conventional reference in
  ``neuralbrain insensor report`` and booked by nothing in this backend's ops.

Latency model: the pixel array computes all outputs of a row in parallel; rows are read out
one after the other at ``row_time_s`` (default 10 us, a typical rolling-shutter row time:
ASSUMPTION), so an op over ``rows`` patch rows costs ``ceil(rows / patches_per_row)`` row
times, approximated here by ``sqrt(rows)`` rows for a square output map.

Bandwidth (P2M eq. for the bandwidth reduction, with a 1-bit spiking readout for T steps):
``BR = (N_i * (4/3) * N_b) / (N_o * b_out * T)`` where ``N_i = H*W*3`` colour values, 4/3 is
the Bayer RGGB factor (4 photosites per 3 colour values), ``N_b`` = 12 bits per conventional
value, ``N_o = (H/s)*(W/s)*c_o`` outputs of ``b_out`` bits (1 for spikes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from neuralbrain.energy import PJ, Cost, EnergyTable
from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.hardware.base import Backend, check_operand
from neuralbrain.hardware.neuromorphic import QuantizedWeights, quantize_symmetric

SOURCE = (
    "G. Datta et al., P2M: a processing-in-pixel-in-memory paradigm for resource-constrained "
    "TinyML applications, Sci. Rep. 12:14396 (2022), energy table (P2M vs baseline, 22 nm): "
    "sensing 148 / 312 pJ, ADC 41.9 / 86.14 pJ, communication 900 pJ per pixel value "
    "(recalled, not verified offline); "
    "G. Datta et al., In-sensor & neuromorphic computing are all you need for energy "
    "efficient computer vision, ICASSP 2023 (spiking in-pixel readout)"
)

BAYER_FACTOR = 4.0 / 3.0
CONVENTIONAL_BITS = 12


@dataclass(frozen=True)
class InSensorConfig:
    """Pixel-circuit limits and unit energies of the ``in_sensor`` backend."""

    max_kernel: int = 5
    max_in_channels: int = 3
    max_out_channels: int = 32
    weight_bits: int = 8
    noise_rel: float = 0.0
    e_out_sense_pj: float = 148.0
    e_out_convert_pj: float = 41.9
    p2m_adc_bits: int = 8
    e_bit_pj: float = 900.0 / 12
    e_pix_pj: float = 312.0
    e_adc_pj: float = 86.14
    p2m_macs_per_output: int = 75
    row_time_s: float = 10e-6

    def __post_init__(self) -> None:
        for name in ("max_kernel", "max_in_channels", "max_out_channels", "p2m_macs_per_output",
                     "p2m_adc_bits"):
            if getattr(self, name) < 1:
                raise ConfigError(f"in_sensor.{name} = {getattr(self, name)}: expected >= 1")
        if not 2 <= self.weight_bits <= 16:
            raise ConfigError(f"in_sensor.weight_bits = {self.weight_bits}: expected 2..16")
        if not 0 <= self.noise_rel < 1:
            raise ConfigError(f"in_sensor.noise_rel = {self.noise_rel!r}: expected 0 <= x < 1")
        for name in ("e_out_sense_pj", "e_out_convert_pj", "e_bit_pj", "e_pix_pj", "e_adc_pj"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"in_sensor.{name} = {getattr(self, name)!r}: expected >= 0")
        if not self.row_time_s > 0:
            raise ConfigError(f"in_sensor.row_time_s = {self.row_time_s!r}: expected > 0")

    @property
    def e_spike_convert_pj(self) -> float:
        """A 1-bit decision of the single-slope converter: 2 of its ``2**bits`` ramp steps."""
        return self.e_out_convert_pj * 2.0 / 2.0**self.p2m_adc_bits

    @property
    def e_mac_event_pj(self) -> float:
        """Energy of one analog product: P2M's per-output sensing energy over its fan-in."""
        return self.e_out_sense_pj / self.p2m_macs_per_output


def _table(cfg: InSensorConfig) -> EnergyTable:
    return EnergyTable(
        energy_j={
            "output_sense": cfg.e_out_sense_pj * PJ,
            "output_convert": cfg.e_out_convert_pj * PJ,
            "spike_convert": cfg.e_spike_convert_pj * PJ,
            "mac_event": cfg.e_mac_event_pj * PJ,
            "link_bit": cfg.e_bit_pj * PJ,
            "conv_pixel": cfg.e_pix_pj * PJ,
            "conv_adc": cfg.e_adc_pj * PJ,
        },
        latency_s={"output_convert": 0.0, "link_bit": 0.0},
        source=SOURCE,
        notes="per-bit link energy = 900 pJ / 12 bits and the 1-bit comparator priced as the "
        "P2M ADC are assumptions; row time 10 us is an assumption",
    )


class InSensorBackend(Backend):
    """A P2M pixel array computing one conv layer in place (see the module docstring)."""

    name = "in_sensor"
    capabilities = frozenset({"matmul", "accumulate", "check_conv"})
    Config = InSensorConfig
    energy_table = _table(InSensorConfig())
    # 8-bit transistor-width weights: max error <= n_active * scale / 2, under 2 % of the
    # largest output for the fan-ins a pixel holds (<= 5*5*3); noise is off by default.
    rel_tolerance = 0.02

    def __init__(self, config: InSensorConfig | None = None, seed: int = 0) -> None:
        super().__init__(config, seed)
        if not isinstance(self.config, InSensorConfig):
            raise ConfigError(
                f"in_sensor backend config is {type(self.config).__name__}: expected InSensorConfig"
            )
        self.energy_table = _table(self.config)

    # -- limits --------------------------------------------------------------------------
    def check_conv(self, kernel: int, in_channels: int, out_channels: int, stride: int) -> None:
        """Raise ``ConfigError`` unless a ``kernel x kernel`` conv fits the pixel circuit."""
        cfg = self.config
        for what, value, limit in (
            ("kernel", kernel, cfg.max_kernel),
            ("in_channels", in_channels, cfg.max_in_channels),
            ("out_channels", out_channels, cfg.max_out_channels),
        ):
            if not 1 <= value <= limit:
                raise ConfigError(
                    f"first layer {what} = {value} does not fit the in-sensor pixel: expected "
                    f"1..{limit} (in_sensor.max_{what})"
                )
        if stride < 1:
            raise ConfigError(f"first layer stride = {stride}: expected >= 1")

    def place(self, w: np.ndarray) -> tuple[QuantizedWeights, Cost]:
        """Quantize ``w`` (k*k*c_in, c_out) to transistor widths; fabricated, so free."""
        q = w if isinstance(w, QuantizedWeights) else quantize_symmetric(w, self.config.weight_bits)
        cfg = self.config
        max_rows = cfg.max_kernel**2 * cfg.max_in_channels
        if q.shape[0] > max_rows or q.shape[1] > cfg.max_out_channels:
            raise ConfigError(
                f"weights of shape {q.shape} do not fit the in-sensor pixel: expected at most "
                f"({max_rows}, {cfg.max_out_channels}) = (max_kernel^2 * max_in_channels, "
                "max_out_channels)"
            )
        return q, Cost()

    def _placed(self, w: Any) -> QuantizedWeights:
        if isinstance(w, QuantizedWeights) and w.bits == self.config.weight_bits:
            q = w
        else:
            q, _ = self.place(w.dequantize() if isinstance(w, QuantizedWeights) else w)
        return q

    def _analog_sum(self, x: np.ndarray, q: QuantizedWeights) -> np.ndarray:
        y = (x @ q.codes.astype(np.float32)) * np.float32(q.scale)
        if self.config.noise_rel > 0:
            full_scale = float(np.abs(q.dequantize()).sum(axis=0).max()) * max(
                float(np.abs(x).max()) if x.size else 0.0, 1.0
            )
            y = y + self.rng.normal(0.0, self.config.noise_rel * full_scale, y.shape)
        return y.astype(np.float32)

    def _latency(self, rows: int) -> float:
        return math.ceil(math.sqrt(max(rows, 1))) * self.config.row_time_s

    # -- ops -----------------------------------------------------------------------------
    def matmul(self, x: np.ndarray, w: Any) -> tuple[np.ndarray, Cost]:
        """Analog in-pixel conv of pixel values: every output is sensed and converted."""
        q = self._placed(w)
        x = check_operand(x, q.shape[0])
        y = self._analog_sum(x, q)
        rows = x.size // q.shape[0]
        outputs = rows * q.shape[1]
        table = self.energy_table
        return y, Cost(
            energy_j=outputs * (table["output_sense"] + table["output_convert"]),
            latency_s=self._latency(rows),
            ops=rows * q.shape[0] * q.shape[1],
            bytes_moved=0,
        )

    def accumulate(self, spikes: np.ndarray, w: Any) -> tuple[np.ndarray, Cost]:
        """Event pixels: each event injects charge into its ``c_out`` lines; each output is
        compared once per call (one time step)."""
        q = self._placed(w)
        s = check_operand(spikes, q.shape[0], "spikes")
        if s.size and float(s.min()) < 0:
            raise ShapeError(f"spikes must be counts >= 0 (min {float(s.min())})")
        y = self._analog_sum(s, q)
        rows = s.size // q.shape[0]
        products = int(s.sum()) * q.shape[1]
        outputs = rows * q.shape[1]
        table = self.energy_table
        return y, Cost(
            energy_j=products * table["mac_event"] + outputs * table["spike_convert"],
            latency_s=self._latency(rows),
            ops=products + outputs,
            bytes_moved=0,
        )


def bandwidth_reduction(
    height: int, width: int, stride: int, out_channels: int, time_steps: int,
    out_bits: int = 1, conventional_bits: int = CONVENTIONAL_BITS,
) -> float:
    """P2M bandwidth reduction of an in-pixel layer (see the module docstring)."""
    n_in = height * width * 3
    n_out = math.ceil(height / stride) * math.ceil(width / stride) * out_channels
    return (n_in * BAYER_FACTOR * conventional_bits) / (n_out * out_bits * time_steps)

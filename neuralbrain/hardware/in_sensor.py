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

Energy model (per output activation, GF 22 nm FD-SOI: the node of Neuromorphic-P2M's
abstract and of P2M's Fig. 3 caption)::

    in-sensor:     E = n_out * (e_out_sense + e_convert) + n_bits_out * e_bit
    event pixel:   E = n_products * e_mac_event + n_out * T * (e_spike_convert + e_leak)
    conventional:  E = n_pixel_values * (e_pix + e_adc) + n_pixel_values * N_b * e_bit

Where each constant comes from (``CONSTANTS`` holds the same, one ``Constant`` each, and
``neuralbrain insensor report`` prints it): what could be read offline of the group's papers
is their abstracts and one figure caption -- the stored copies of P2M (Sci. Rep. 12:14396,
nature.com s41598-022-17934-1 and its figure 3 page), Neuromorphic-P2M (Kaiser et al.,
Front. Neuroinform. 17:1144301, 2023, frontiersin.org and PMC10192623) and the P2M co-design
paper (Kaiser & Jaiswal, arXiv 2310.16844) stop after the abstract or the opening of the
introduction: no methods section, energy table or network table of any of them. So:

- verified: the fan-in of one analog output, ``p2m_macs_per_output`` = 75 (P2M, Fig. 3(c)
  caption: the analog convolution "when 75 pixels are activated simultaneously"), which with
  ``max_kernel`` = 5 and ``max_in_channels`` = 3 is 5*5*3 = 75 (that split of the 75 is
  our reading); the node (22 nm FD-SOI).
- ASSUMPTION (recalled from the P2M energy table, not verified), each with the range the
  report sweeps: ``e_out_sense`` 148 pJ (sensing plus in-pixel MAC of one output),
  ``e_out_convert`` 41.9 pJ (one in-pixel single-slope conversion, ``p2m_adc_bits`` = 8),
  ``e_pix`` 312 pJ and ``e_adc`` 86.14 pJ (conventional sensing and 12-bit ADC per pixel
  value), ``e_bit`` 75 pJ per bit leaving the sensor (a recalled 900 pJ per 12-bit value,
  spread per bit).
- ASSUMPTION (our model): ``e_mac_event`` = e_out_sense / 75 = 1.97 pJ per (event, output
  channel) product, the output energy spread evenly over the verified fan-in; a 1-bit spike
  decision ``e_spike_convert`` = e_out_convert * 2 / 2**p2m_adc_bits = 0.33 pJ (a
  single-slope converter's energy taken proportional to its ramp steps); leakage
  ``e_leak`` = 0 pJ per output and time step (2310.16844's abstract names the capacitor's
  limited charge retention as a limit on integration time, i.e. a functional limit; its
  energy is not known to us and is swept from 0 to one spike decision).

Latency model: the pixel array computes all outputs of a row in parallel; rows are read out
one after the other at ``row_time_s`` (default 10 us, a typical rolling-shutter row time:
ASSUMPTION), so an op over ``rows`` patch rows costs ``ceil(rows / patches_per_row)`` row
times, approximated here by ``sqrt(rows)`` rows for a square output map.

Bandwidth (the bandwidth reduction as we recall P2M's equation -- ASSUMPTION, not verified --
with a 1-bit spiking readout for T steps):
``BR = (N_i * (4/3) * N_b) / (N_o * b_out * T)`` where ``N_i = H*W*3`` colour values, 4/3 is
the Bayer RGGB factor (4 photosites per 3 colour values), ``N_b`` = 12 bits per conventional
value, ``N_o = (H/s)*(W/s)*c_o`` outputs of ``b_out`` bits (1 for spikes). ``N_b`` and the
Bayer factor are listed in ``CONSTANTS`` as assumptions (module constants: not swept).
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

P2M = (
    "G. Datta et al., P2M: a processing-in-pixel-in-memory paradigm for resource-constrained "
    "TinyML applications, Sci. Rep. 12:14396 (2022)"
)
P2M_FIG3 = (
    f"{P2M}, Fig. 3(c) caption, https://www.nature.com/articles/s41598-022-17934-1/figures/3: "
    "analog convolution 'when 75 pixels are activated simultaneously'"
)
NEUROMORPHIC_P2M = (
    "M. A.-A. Kaiser et al., Neuromorphic-P2M: processing-in-pixel-in-memory paradigm for "
    "neuromorphic image sensors, Front. Neuroinform. 17:1144301 (2023), abstract"
)
P2M_CODESIGN = (
    "M. A.-A. Kaiser, A. R. Jaiswal, Hardware-algorithm co-design enabling P2M for "
    "neuromorphic vision sensors, arXiv:2310.16844, abstract"
)
RECALLED = (
    "ASSUMPTION: recalled from the P2M energy table (Sci. Rep. 12:14396), not verified: the "
    "offline copies of P2M, Neuromorphic-P2M and arXiv:2310.16844 hold abstracts only"
)
SOURCE = (
    f"{P2M} (energy table values recalled, not verified offline; fan-in 75 from Fig. 3(c)); "
    "G. Datta et al., In-sensor & neuromorphic computing are all you need for energy "
    "efficient computer vision, ICASSP 2023 (spiking in-pixel readout); every constant with "
    "its source or its assumption range in neuralbrain.hardware.in_sensor.CONSTANTS"
)


@dataclass(frozen=True)
class Constant:
    """One constant of the in-sensor cost model with where it comes from.

    Either ``assumption`` is False and ``source`` names the paper, section, table or figure
    it was read from, or ``assumption`` is True and ``low <= value <= high`` is the range
    over which the report sweeps it (``source`` then says what the assumption rests on).
    """

    name: str
    value: float
    unit: str
    source: str
    assumption: bool
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        if not self.source.strip():
            raise ConfigError(f"constant {self.name}: empty source, expected a citation or "
                              "the reason for its assumption")
        bounded = self.low is not None and self.high is not None
        if self.assumption and not (bounded and self.low <= self.value <= self.high):
            raise ConfigError(
                f"constant {self.name} = {self.value!r} is an assumption: expected a "
                f"sensitivity range low <= value <= high (got {self.low!r}..{self.high!r})"
            )

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit, "source": self.source,
                "assumption": self.assumption, "range": [self.low, self.high]
                if self.assumption else None}


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
    e_leak_pj: float = 0.0
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
        for name in ("e_out_sense_pj", "e_out_convert_pj", "e_bit_pj", "e_pix_pj", "e_adc_pj",
                     "e_leak_pj"):
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


# An unverified recalled value is swept over a factor of 2 each way (ASSUMPTION: a bracket
# wide enough for a misremembered table entry or another design point of the same circuit).
RECALL_FACTOR = 2.0


def constants(cfg: InSensorConfig | None = None) -> dict[str, Constant]:
    """Every constant of ``cfg``'s cost model with its source, or its assumption and range."""
    cfg = cfg or InSensorConfig()
    f = RECALL_FACTOR

    def recalled(name: str, value: float, unit: str, what: str) -> Constant:
        return Constant(name, value, unit, f"{RECALLED}; {what}", True, value / f, value * f)

    return {c.name: c for c in (
        Constant("p2m_macs_per_output", cfg.p2m_macs_per_output, "products", P2M_FIG3, False),
        Constant("technology_node_nm", 22.0, "nm",
                 f"{NEUROMORPHIC_P2M} (GF22nm FD-SOI); {P2M_FIG3} (GlobalFoundries 22 nm FD-SOI)",
                 False),
        Constant("conventional_bits", CONVENTIONAL_BITS, "bits/pixel value",
                 f"{RECALLED}; the conventional sensor's ADC resolution (a module constant: "
                 "not swept by the report)", True, 10, 14),
        Constant("bayer_factor", BAYER_FACTOR, "photosites/colour value",
                 "ASSUMPTION (our model of P2M's bandwidth equation, recalled): an RGGB Bayer "
                 "mosaic reads 4 photosites for every 3 colour values; 1 if the sensor sent "
                 "one value per colour (a module constant: not swept by the report)",
                 True, 1.0, BAYER_FACTOR),
        recalled("e_out_sense_pj", cfg.e_out_sense_pj, "pJ/output",
                 "sensing plus the in-pixel analog MAC of one output"),
        recalled("e_out_convert_pj", cfg.e_out_convert_pj, "pJ/conversion",
                 "one in-pixel single-slope ADC conversion"),
        Constant("p2m_adc_bits", cfg.p2m_adc_bits, "bits",
                 f"{RECALLED}; resolution of the in-pixel single-slope ADC", True, 6, 10),
        recalled("e_pix_pj", cfg.e_pix_pj, "pJ/pixel value",
                 "conventional sensor: sensing one pixel value"),
        recalled("e_adc_pj", cfg.e_adc_pj, "pJ/conversion",
                 "conventional sensor: one 12-bit column ADC conversion"),
        Constant("e_bit_pj", cfg.e_bit_pj, "pJ/bit",
                 f"{RECALLED}; a recalled 900 pJ per 12-bit pixel value sent off the sensor, "
                 "spread per bit (ASSUMPTION: the link costs the same per bit whatever it "
                 "carries); swept from a tenth (a short on-package link) to twice that",
                 True, cfg.e_bit_pj / 10, cfg.e_bit_pj * f),
        Constant("e_mac_event_pj", cfg.e_mac_event_pj, "pJ/product",
                 "ASSUMPTION (our model): e_out_sense_pj spread evenly over the verified fan-in "
                 "p2m_macs_per_output; range follows e_out_sense_pj",
                 True, cfg.e_mac_event_pj / f, cfg.e_mac_event_pj * f),
        Constant("e_spike_convert_pj", cfg.e_spike_convert_pj, "pJ/comparison",
                 "ASSUMPTION (our model): a 1-bit decision is 2 of the 2**p2m_adc_bits ramp "
                 "steps of the in-pixel single-slope ADC; range: p2m_adc_bits 6..10 and "
                 "e_out_convert_pj x/ 2",
                 True, cfg.e_spike_convert_pj * 2**cfg.p2m_adc_bits / 2**10 / f,
                 cfg.e_spike_convert_pj * 2**cfg.p2m_adc_bits / 2**6 * f),
        Constant("e_leak_pj", cfg.e_leak_pj, "pJ/output/step",
                 f"ASSUMPTION: not priced (0). {P2M_CODESIGN} states the MAC capacitor's "
                 "limited charge retention bounds the integration time (a functional limit); "
                 "its energy is unknown to us and swept from 0 to one spike decision",
                 True, 0.0, max(cfg.e_leak_pj, cfg.e_spike_convert_pj)),
        Constant("row_time_s", cfg.row_time_s, "s",
                 "ASSUMPTION: a typical rolling-shutter row time (latency only, no energy)",
                 True, cfg.row_time_s / 10, cfg.row_time_s * 10),
    )}


def _table(cfg: InSensorConfig) -> EnergyTable:
    return EnergyTable(
        energy_j={
            "output_sense": cfg.e_out_sense_pj * PJ,
            "output_convert": cfg.e_out_convert_pj * PJ,
            # leakage over one time step is paid per output, like the comparison
            "spike_convert": (cfg.e_spike_convert_pj + cfg.e_leak_pj) * PJ,
            "mac_event": cfg.e_mac_event_pj * PJ,
            "link_bit": cfg.e_bit_pj * PJ,
            "conv_pixel": cfg.e_pix_pj * PJ,
            "conv_adc": cfg.e_adc_pj * PJ,
        },
        latency_s={"output_convert": 0.0, "link_bit": 0.0},
        source=SOURCE,
        notes="every energy but the fan-in (75, P2M Fig. 3(c)) is an ASSUMPTION with a "
        "sensitivity range: see CONSTANTS and `neuralbrain insensor report`",
    )


CONSTANTS = constants()


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

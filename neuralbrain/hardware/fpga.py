"""``fpga``: an HLS fixed-point datapath on a modelled Zynq-7000, after Afifi et al. 2019.

Source: S. Afifi, H. GholamHosseini, R. Sinha, "A system on chip for melanoma detection using
FPGA-based SVM classifier", Microprocessors and Microsystems 65 (2019) 57-68, arXiv 2109.14840.
What could be read of it here is the abstract only (the offline page store returned title and
abstract, nothing of the body): an SVM on a hybrid FPGA (Zynq) built with the UltraFast
High-Level-Synthesis methodology, hardware/software co-design (the ARM extracts features, the
programmable logic classifies), **97.9% accuracy, acceleration 21x, 3% of the resources,
1.69 W**. Every design parameter below (device, clock, kernel, formats, directives, ARM
baseline) is therefore an ``ASSUMPTION`` with a stated range, listed in ``ASSUMPTIONS``; none
was tuned to the three reported outputs.

Functional model (real effects): every operand is an ``ap_fixed<W, I>`` (``Fixed``): a signed
integer ``q`` scaled by ``2**-(W - I)``, representable range ``[-2**(I-1), 2**(I-1) - 2**-F]``
with ``F = W - I``. Quantization of a real ``v`` (AMD/Xilinx Vitis HLS user guide UG1399,
"Fixed-Point Identifier Summary", "Quantization Modes", "Overflow Modes": AP_TRN "truncation to
minus infinity (default)", AP_RND "round to plus infinity", e.g. ``ap_fixed<3,2,AP_RND,AP_SAT>``
of 1.25 gives 1.5 and of -1.25 gives -1.0; AP_SAT to the maximum / negative maximum, e.g.
``ap_fixed<4,4,AP_RND,AP_SAT>`` of 19 gives 7 and of -19 gives -8; wrap-around is the default
overflow mode, UG1498 "Additional Details")::

    AP_TRN: q = floor(v * 2**F)        AP_RND: q = floor(v * 2**F + 1/2)
    AP_SAT: q = clip(q, -2**(W-1), 2**(W-1) - 1)
    AP_WRAP: q = ((q + 2**(W-1)) mod 2**W) - 2**(W-1)

Weights / support vectors that do not fit their format raise ``FixedOverflowError`` naming the
operand and the integer bits needed (silently wrapping a stored model is never what a designer
wants); an accumulator that overflows at run time raises the same error.

The RBF kernel ``K(x, s) = exp(-gamma * ||x - s||^2)`` is computed as the HLS datapath would:
squared distance in the accumulator format, ``z = gamma * d2`` quantized, then ``exp(-z)`` read
from a ROM (BRAM) of ``2**exp_addr_bits`` entries over ``[0, exp_z_max)`` (entries quantized to
the kernel format, ``exp(-z) = 0`` beyond ``exp_z_max``), index = ``floor(z / step)``.
``exp_table_error`` gives its maximum absolute error.

Cost model (``FpgaConfig``, all ASSUMPTION): one SVM decision streams the support vectors
through a loop pipelined at initiation interval ``ii``; the feature loop is unrolled by
``unroll`` (array-partitioned cyclic by the same factor)::

    cycles = axi_setup + ceil(d / axi_words_per_cycle) + n_sv * ceil(d / unroll) * ii + depth
    latency_s = cycles / clock_hz

``depth`` is the sum of the stage latencies (subtract 1, multiply ``mult_latency``, adder tree
``ceil(log2 unroll)``, gamma multiply, exp ROM ``bram_latency``, coefficient multiply,
accumulate 1). Resources: one DSP48E1 per parallel multiplier per 25x18 tile; LUT/FF per adder
bit; BRAM18 for the support-vector memories (one per partition, ``ceil(bits / 18 Kb)``) and the
exp ROM. Power: Zynq PS (ARM running) + PL static + per-resource dynamic at the clock scaled
from 100 MHz. The ARM model runs the same float SVM in software: ``cycles = n_sv * (d *
arm_cycles_per_mac + arm_cycles_per_exp)`` at ``arm_clock_hz``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from neuralbrain.energy import Cost, EnergyTable
from neuralbrain.errors import ConfigError, Error, ShapeError
from neuralbrain.hardware.base import Backend, as_matrix, check_operand

QUANT_MODES = ("AP_TRN", "AP_RND")
OVERFLOW_MODES = ("AP_WRAP", "AP_SAT")


class FixedOverflowError(Error):
    """A value does not fit its ``ap_fixed`` format (names the operand and the width needed)."""


@dataclass(frozen=True)
class Fixed:
    """An ``ap_fixed<width, integer, quant, overflow>`` format (UG902 semantics)."""

    width: int = 16
    integer: int = 6
    quant: str = "AP_TRN"
    overflow: str = "AP_WRAP"

    def __post_init__(self) -> None:
        if not (isinstance(self.width, int) and 2 <= self.width <= 64):
            raise ConfigError(f"Fixed.width={self.width!r}: expected an int in 2..64")
        if not (isinstance(self.integer, int) and 1 <= self.integer <= self.width):
            raise ConfigError(f"Fixed.integer={self.integer!r}: expected an int in 1..width "
                              f"({self.width})")
        if self.quant not in QUANT_MODES:
            raise ConfigError(f"Fixed.quant={self.quant!r}: expected one of {QUANT_MODES}")
        if self.overflow not in OVERFLOW_MODES:
            raise ConfigError(f"Fixed.overflow={self.overflow!r}: expected one of {OVERFLOW_MODES}")

    @property
    def frac(self) -> int:
        return self.width - self.integer

    @property
    def lsb(self) -> float:
        return 2.0 ** -self.frac

    @property
    def max(self) -> float:
        return (2 ** (self.width - 1) - 1) * self.lsb

    @property
    def min(self) -> float:
        return -(2 ** (self.width - 1)) * self.lsb

    def with_width(self, width: int) -> Fixed:
        """The same format with ``width`` bits and the same integer bits (clamped)."""
        return Fixed(width, min(self.integer, width), self.quant, self.overflow)

    def __str__(self) -> str:
        return f"ap_fixed<{self.width},{self.integer},{self.quant},{self.overflow}>"


def integer_bits_needed(max_abs: float) -> int:
    """Integer bits (sign included) a signed format needs to hold ``+-max_abs``."""
    if max_abs <= 0:
        return 1
    return max(1, math.floor(math.log2(max_abs)) + 2)


def quantize(v: Any, fmt: Fixed) -> np.ndarray:
    """``v`` cast to ``fmt`` exactly as ``ap_fixed`` does; returns the real values (float64)."""
    x = np.asarray(v, dtype=np.float64) * 2.0 ** fmt.frac
    q = np.floor(x + 0.5) if fmt.quant == "AP_RND" else np.floor(x)
    lo, hi = -(2 ** (fmt.width - 1)), 2 ** (fmt.width - 1) - 1
    if fmt.overflow == "AP_SAT":
        q = np.clip(q, lo, hi)
    else:
        q = np.mod(q - lo, 2.0 ** fmt.width) + lo
    return q * fmt.lsb


def check_fits(v: Any, fmt: Fixed, operand: str) -> None:
    """Raise ``FixedOverflowError`` unless every value of ``v`` fits ``fmt`` without overflow."""
    arr = np.asarray(v, dtype=np.float64)
    if arr.size == 0:
        return
    hi, lo = float(arr.max()), float(arr.min())
    if hi > fmt.max + fmt.lsb / 2 or lo < fmt.min:
        need = integer_bits_needed(max(abs(hi), abs(lo)))
        raise FixedOverflowError(
            f"{operand}: values in [{lo:.4g}, {hi:.4g}] overflow {fmt} (range [{fmt.min:.4g}, "
            f"{fmt.max:.4g}]): needs at least {need} integer bits, i.e. ap_fixed<"
            f"{need + fmt.frac},{need}> at this precision")


def exp_table(fmt: Fixed, addr_bits: int, z_max: float) -> tuple[np.ndarray, float]:
    """The exp(-z) ROM: ``2**addr_bits`` entries over ``[0, z_max)`` in ``fmt``, and its step."""
    n = 2 ** addr_bits
    step = z_max / n
    return quantize(np.exp(-np.arange(n) * step), fmt), step


def exp_lookup(z: np.ndarray, table: np.ndarray, step: float) -> np.ndarray:
    """``exp(-z)`` for ``z >= 0`` read from ``table`` (0 beyond the table)."""
    idx = np.floor(np.maximum(z, 0.0) / step).astype(np.int64)
    out = np.zeros_like(z, dtype=np.float64)
    ok = idx < table.size
    out[ok] = table[idx[ok]]
    return out


def exp_table_error(fmt: Fixed, addr_bits: int, z_max: float, samples: int = 20001) -> float:
    """Maximum |exp(-z) - ROM(z)| over ``z`` in ``[0, 2 * z_max]``."""
    table, step = exp_table(fmt, addr_bits, z_max)
    z = np.linspace(0.0, 2 * z_max, samples)
    return float(np.max(np.abs(np.exp(-z) - exp_lookup(z, table, step))))


# --- the device, the clock, the ARM core, power: every figure an assumption with its range ----
ASSUMPTIONS: dict[str, str] = {
    "device": "Zynq-7000 XC7Z020 (ZedBoard/ZC702 class). ASSUMPTION: the abstract says only "
    "'Zynq'; range XC7Z010..XC7Z045. LUT total 53,200 (Zynq 7020 PL, stated by the "
    "vivado-risc-v maintainer, github.com/eugene-tarassov/vivado-risc-v/issues/196); FF "
    "106,400, DSP48E1 220, BRAM18 280: ASSUMPTION (7z020 product table, not read here)",
    "clock_hz": "100 MHz PL clock. ASSUMPTION (the Vivado HLS default 10 ns target); range "
    "100-200 MHz",
    "arm": "Cortex-A9 at 666.667 MHz (the Linux zynq-7000.dtsi operating point 666667 kHz); "
    "software SVM in fp32: 4 cycles per MAC (load, load, VFP multiply-add, loop; ASSUMPTION, "
    "range 2-10) and 80 cycles per expf (ASSUMPTION, range 40-200)",
    "kernel": "RBF, binary (one decision per two classes). ASSUMPTION: the abstract names no "
    "kernel; the linear kernel is also modelled",
    "formats": "inputs and support vectors ap_fixed<16,6>, coefficients ap_fixed<16,8>, "
    "accumulator ap_fixed<32,16>, kernel value ap_fixed<16,2>, AP_RND + AP_SAT. ASSUMPTION: "
    "range 8-24 bits (swept by --widths)",
    "directives": "support-vector loop PIPELINE II=1; feature loop UNROLL complete with "
    "ARRAY_PARTITION complete on the feature dimension. ASSUMPTION: the paper names "
    "pipelining, unrolling and array partitioning but their factors were not readable",
    "exp": "exp(-z) from a 1024-entry BRAM ROM over z in [0, 16). ASSUMPTION (range 256-4096 "
    "entries); table vs piecewise not readable",
    "interface": "features sent over AXI: 100 cycles of driver/handshake setup + 1 word per "
    "cycle. ASSUMPTION, range 20-500 setup cycles",
    "pipeline": "stage latencies: DSP multiply 3 cycles, BRAM read 2, add 1. ASSUMPTION "
    "(typical DSP48E1/BRAM pipelining at 100 MHz)",
    "power": "PS (ARM + DDR active) 1.5 W (ASSUMPTION, range 1.2-1.8 W); PL static 0.12 W "
    "(ASSUMPTION, range 0.08-0.2 W); dynamic at 100 MHz: 1.0 mW per DSP, 2.0 mW per BRAM18, "
    "10 uW per LUT, 3 uW per FF (ASSUMPTION, ranges x0.5-x2), scaled linearly with the clock",
    "workload": "the melanoma model (its feature count and support vectors) is not available; "
    "the report runs the design on the SVM trained here on Wisconsin breast cancer (30 "
    "features, its own support vectors)",
}


@dataclass(frozen=True)
class FpgaConfig:
    """The fixed-point formats, the HLS directives and the device / power model (ASSUMPTIONS)."""

    input_fmt: Fixed = Fixed(16, 6, "AP_RND", "AP_SAT")
    weight_fmt: Fixed = Fixed(16, 6, "AP_RND", "AP_SAT")
    coef_fmt: Fixed = Fixed(16, 8, "AP_RND", "AP_SAT")
    acc_fmt: Fixed = Fixed(32, 16, "AP_RND", "AP_SAT")
    kernel_fmt: Fixed = Fixed(16, 2, "AP_RND", "AP_SAT")
    exp_addr_bits: int = 10
    exp_z_max: float = 16.0
    clock_hz: float = 100e6
    ii: int = 1
    unroll: int = 0  # 0: complete (the whole feature loop)
    mult_latency: int = 3
    bram_latency: int = 2
    axi_setup_cycles: int = 100
    axi_words_per_cycle: float = 1.0
    # device totals (XC7Z020)
    lut_total: int = 53200
    ff_total: int = 106400
    dsp_total: int = 220
    bram18_total: int = 280
    # power
    ps_power_w: float = 1.5
    pl_static_w: float = 0.12
    dsp_dyn_w: float = 1.0e-3
    bram_dyn_w: float = 2.0e-3
    lut_dyn_w: float = 10e-6
    ff_dyn_w: float = 3e-6
    # ARM Cortex-A9 software baseline
    arm_clock_hz: float = 666.667e6
    arm_cycles_per_mac: float = 4.0
    arm_cycles_per_exp: float = 80.0

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name.endswith("_fmt"):
                if not isinstance(v, Fixed):
                    raise ConfigError(f"FpgaConfig.{f.name}={v!r}: expected a Fixed format")
            elif f.name == "unroll":
                if not (isinstance(v, int) and v >= 0):
                    raise ConfigError(f"FpgaConfig.unroll={v!r}: expected an int >= 0 (0: full)")
            elif not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise ConfigError(f"FpgaConfig.{f.name}={v!r}: expected a finite number > 0")

    def with_width(self, width: int) -> FpgaConfig:
        """Every operand at ``width`` bits (integer bits kept; the accumulator gets 2x)."""
        from dataclasses import replace

        return replace(self, input_fmt=self.input_fmt.with_width(width),
                       weight_fmt=self.weight_fmt.with_width(width),
                       coef_fmt=self.coef_fmt.with_width(width),
                       acc_fmt=self.acc_fmt.with_width(2 * width),
                       kernel_fmt=self.kernel_fmt.with_width(width))


_CFG = FpgaConfig()
FPGA_TABLE = EnergyTable(
    energy_j={
        # one fixed-point multiply-accumulate in a DSP48E1: its dynamic power over one cycle
        "mac_int8": _CFG.dsp_dyn_w / _CFG.clock_hz,
        "add_int32": 32 * _CFG.lut_dyn_w / _CFG.clock_hz,
        "sram_read_byte": _CFG.bram_dyn_w / _CFG.clock_hz / 2,  # an 18-bit BRAM port ~2 B
        "lookup_int8": _CFG.bram_dyn_w / _CFG.clock_hz,
        "weight_write": _CFG.bram_dyn_w / _CFG.clock_hz,
    },
    latency_s={"mac_int8": 1 / _CFG.clock_hz, "add_int32": 1 / _CFG.clock_hz,
               "lookup_int8": _CFG.bram_latency / _CFG.clock_hz,
               "weight_write": 1 / _CFG.clock_hz},
    source="Afifi, GholamHosseini, Sinha, Microprocessors and Microsystems 65 (2019), arXiv "
    "2109.14840 (abstract: Zynq, HLS, 1.69 W); per-resource dynamic powers are ASSUMPTIONS "
    "(see neuralbrain.hardware.fpga.ASSUMPTIONS['power'])",
    notes="energy per action = per-resource dynamic power x one 10 ns cycle at 100 MHz; "
    "static power (PS + PL) is reported by the cost model (power_w), not per action",
)


@dataclass(frozen=True)
class PlacedFixed:
    """A weight matrix stored in the PL's memories in ``fmt`` (the quantized values)."""

    values: np.ndarray
    fmt: Fixed
    shape: tuple[int, int] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(self.values.shape))


@dataclass(frozen=True)
class PlacedSvm:
    """A binary-decision SVM stored on the PL: support vectors (n_sv, d), coefficients (n_sv,
    n_dec) (``alpha_i y_i``, zero where a vector does not serve a decision), intercepts."""

    kernel: str
    support: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    gamma: float


class FpgaBackend(Backend):
    """Fixed-point ``matmul`` and SVM decisions on a modelled Zynq PL (module docstring)."""

    name = "fpga"
    capabilities = frozenset({"matmul", "svm"})
    energy_table = FPGA_TABLE
    rel_tolerance = 0.01
    Config = FpgaConfig

    # -- generic ops -------------------------------------------------------------------------
    def place(self, w: Any) -> tuple[Any, Cost]:
        """Quantize ``w`` to the weight format (overflow -> ``FixedOverflowError``)."""
        if isinstance(w, PlacedFixed):
            return w, Cost()
        arr = as_matrix(w, "w")
        check_fits(arr, self.config.weight_fmt, "weight")
        q = quantize(arr, self.config.weight_fmt)
        cost = self.energy_table.cost(latency_s=arr.size / self.config.clock_hz,
                                      weight_write=arr.size)
        return PlacedFixed(q, self.config.weight_fmt), cost

    def matmul(self, x: np.ndarray, w: Any) -> tuple[np.ndarray, Cost]:
        """``x @ w`` in fixed point: inputs and weights quantized, exact products summed in the
        accumulator format (an overflow raises)."""
        placed, place_cost = self.place(w)
        k, n = placed.shape
        xf = check_operand(x, k)
        cfg = self.config
        # the accumulator must hold the worst case the input format allows (static check)
        bound = max(abs(cfg.input_fmt.min), cfg.input_fmt.max) * \
            float(np.abs(placed.values).sum(axis=0).max(initial=0.0))
        check_fits([bound], cfg.acc_fmt, "accumulator")
        xq = quantize(xf, cfg.input_fmt)  # inputs saturate / wrap as their format says
        y = quantize(xq @ placed.values, cfg.acc_fmt).astype(np.float32)
        rows = int(np.prod(xf.shape[:-1])) if xf.ndim > 1 else 1
        unroll = k if cfg.unroll == 0 else min(cfg.unroll, k)
        cycles = rows * n * math.ceil(k / unroll) * cfg.ii + cfg.mult_latency + \
            math.ceil(math.log2(max(unroll, 2))) + 1
        macs = rows * k * n
        cost = self.energy_table.cost(latency_s=cycles / cfg.clock_hz, mac_int8=macs,
                                      sram_read_byte=k * n * 2, ops=macs,
                                      bytes_moved=rows * (k + n) * 4)
        return y, cost + place_cost

    # -- the SVM datapath (the contract's ``svm`` op) -----------------------------------------
    def place_svm(self, kernel: str, support: np.ndarray, coef: np.ndarray,
                  intercept: np.ndarray, gamma: float,
                  input_max_abs: float | None = None) -> tuple[PlacedSvm, Cost]:
        """Store a trained SVM in the PL formats; overflow names the operand and width needed;
        more support-vector bits than the device's BRAM raise ``ConfigError``. Given
        ``input_max_abs`` (the largest |standardized training feature|), the integer bits of
        every operand are sized from the model at the configured widths (``sized_config``, the
        designer's job); without it the configured formats are used as they are."""
        if input_max_abs is not None:
            self.config = sized_config(self.config, self.config.input_fmt.width, kernel,
                                       np.asarray(support, np.float64),
                                       np.asarray(coef, np.float64),
                                       np.asarray(intercept, np.float64), float(input_max_abs))
        cfg = self.config
        if kernel not in ("linear", "rbf"):
            raise ConfigError(f"kernel={kernel!r}: expected 'linear' or 'rbf'")
        sv = np.asarray(support, dtype=np.float64)
        cf = np.asarray(coef, dtype=np.float64)
        if cf.ndim == 1:
            cf = cf[:, None]
        if sv.ndim != 2 or cf.shape[0] != sv.shape[0]:
            raise ShapeError(f"support {sv.shape} / coef {cf.shape}: expected (n_sv, d) and "
                             "(n_sv, n_decisions)")
        bits = sv.size * cfg.weight_fmt.width + cf.size * cfg.coef_fmt.width
        capacity = cfg.bram18_total * 18 * 1024
        if bits > capacity:
            raise ConfigError(f"{sv.shape[0]} support vectors x {sv.shape[1]} features need "
                              f"{bits} bits of BRAM: the device holds {capacity} "
                              f"({cfg.bram18_total} BRAM18)")
        check_fits(sv, cfg.weight_fmt, "support vectors")
        check_fits(cf, cfg.coef_fmt, "coefficients")
        check_fits(intercept, cfg.acc_fmt, "intercept")
        # static worst cases over every input the input format can hold
        in_max = max(abs(cfg.input_fmt.min), cfg.input_fmt.max)
        if kernel == "rbf":
            d2_max = sv.shape[1] * (in_max + float(np.abs(sv).max(initial=0.0))) ** 2
            check_fits([d2_max], cfg.acc_fmt, "accumulator (squared distance)")
            k_max = 1.0
        else:
            k_max = in_max * float(np.abs(sv).sum(axis=1).max(initial=0.0))
            check_fits([k_max], cfg.acc_fmt, "accumulator (dot product)")
        dec_max = k_max * float(np.abs(cf).sum(axis=0).max(initial=0.0)) + \
            float(np.abs(intercept).max(initial=0.0))
        check_fits([dec_max], cfg.acc_fmt, "accumulator (decision sum)")
        placed = PlacedSvm(kernel, quantize(sv, cfg.weight_fmt), quantize(cf, cfg.coef_fmt),
                           quantize(np.asarray(intercept, np.float64).ravel(), cfg.acc_fmt),
                           float(gamma))
        return placed, self.charge("weight_write", sv.size + cf.size)

    def svm_decision(self, x: np.ndarray, svm: PlacedSvm) -> tuple[np.ndarray, Cost]:
        """The decision values (batch, n_decisions) computed in fixed point as the PL would."""
        cfg = self.config
        n_sv, d = svm.support.shape
        xf = np.asarray(x, dtype=np.float64)
        if xf.ndim != 2 or xf.shape[1] != d:
            raise ShapeError(f"features have shape {xf.shape}: expected (batch, {d}) to match "
                             "the trained model")
        xq = quantize(xf, cfg.input_fmt)  # inputs saturate / wrap; accumulators checked at place
        if svm.kernel == "linear":
            k = quantize(xq @ svm.support.T, cfg.acc_fmt)  # exact products, one accumulator
        else:
            diff = xq[:, None, :] - svm.support[None]
            d2 = np.einsum("bsd,bsd->bs", diff, diff)
            z = quantize(quantize(d2, cfg.acc_fmt) * quantize(svm.gamma, cfg.coef_fmt),
                         cfg.acc_fmt)
            table, step = exp_table(cfg.kernel_fmt, cfg.exp_addr_bits, cfg.exp_z_max)
            k = exp_lookup(z, table, step)
        dec = quantize(k, cfg.kernel_fmt) if svm.kernel == "rbf" else k
        dec = dec @ svm.coef
        dec = quantize(quantize(dec, cfg.acc_fmt) + svm.intercept, cfg.acc_fmt)
        batch = xf.shape[0]
        macs = batch * n_sv * (d + svm.coef.shape[1])
        cost = self.energy_table.cost(
            latency_s=batch * svm_cycles(cfg, n_sv, d) / cfg.clock_hz,
            mac_int8=macs, lookup_int8=batch * n_sv * (svm.kernel == "rbf"),
            sram_read_byte=batch * n_sv * (d * cfg.weight_fmt.width
                                           + svm.coef.size // n_sv * cfg.coef_fmt.width) // 8,
            ops=macs, bytes_moved=batch * (d + svm.coef.shape[1]) * 4)
        return dec, cost


# --- cost model of one decision (pure functions of the config and the model's size) ----------
def _unroll(cfg: FpgaConfig, d: int) -> int:
    return d if cfg.unroll == 0 else min(cfg.unroll, d)


def pipeline_depth(cfg: FpgaConfig, d: int, kernel: str = "rbf") -> int:
    """Cycles one support vector takes through the pipeline (its latency, not its II)."""
    u = _unroll(cfg, d)
    tree = math.ceil(math.log2(max(u, 2)))
    depth = 1 + cfg.mult_latency + tree + 1  # subtract, square, adder tree, accumulate
    if kernel == "rbf":
        depth += cfg.mult_latency + cfg.bram_latency  # gamma * d2, exp ROM
    return depth + cfg.mult_latency  # coefficient multiply


def svm_cycles(cfg: FpgaConfig, n_sv: int, d: int, kernel: str = "rbf") -> float:
    """PL cycles for one decision, AXI transfer of the features included."""
    transfer = cfg.axi_setup_cycles + math.ceil(d / cfg.axi_words_per_cycle)
    loop = n_sv * math.ceil(d / _unroll(cfg, d)) * cfg.ii
    return transfer + loop + pipeline_depth(cfg, d, kernel)


def arm_seconds(cfg: FpgaConfig, n_sv: int, d: int, kernel: str = "rbf") -> float:
    """The same SVM decision in fp32 software on the Cortex-A9."""
    per_sv = d * cfg.arm_cycles_per_mac + (cfg.arm_cycles_per_exp if kernel == "rbf" else 0)
    return n_sv * per_sv / cfg.arm_clock_hz


def _dsp_per_mult(a: int, b: int) -> int:
    """DSP48E1 tiles (25 x 18 signed multiplier) for an a x b product."""
    a, b = max(a, b), min(a, b)
    return math.ceil(a / 25) * math.ceil(b / 18)


def resources(cfg: FpgaConfig, n_sv: int, d: int, kernel: str = "rbf") -> dict[str, float]:
    """DSP / LUT / FF / BRAM18 of the datapath (counts) and their fractions of the device."""
    u = _unroll(cfg, d)
    w, a, c = cfg.weight_fmt.width, cfg.acc_fmt.width, cfg.coef_fmt.width
    k = cfg.kernel_fmt.width
    mult = u * _dsp_per_mult(w + 1, w + 1) if kernel == "rbf" else u * _dsp_per_mult(w, w)
    dsp = mult + _dsp_per_mult(k, c)  # coefficient multiply
    if kernel == "rbf":
        dsp += _dsp_per_mult(a, c)  # gamma * d2
    # adders: u subtractors (w+1 bits), an adder tree of u-1 adders and one accumulator (a bits)
    add_bits = (u * (w + 1) if kernel == "rbf" else 0) + (u - 1) * a + a
    lut = add_bits + 200 + 20 * u  # + loop control / AXI-lite slave (ASSUMPTION: ~200 LUT)
    ff = 2 * add_bits + 300  # pipeline registers on every adder output, + interface
    bits_per_partition = n_sv * w * math.ceil(d / u)
    bram = u * math.ceil(bits_per_partition / (18 * 1024))
    bram += math.ceil(n_sv * c / (18 * 1024))  # coefficients
    if kernel == "rbf":
        bram += math.ceil(2 ** cfg.exp_addr_bits * k / (18 * 1024))
    frac = {"dsp": dsp / cfg.dsp_total, "lut": lut / cfg.lut_total, "ff": ff / cfg.ff_total,
            "bram18": bram / cfg.bram18_total}
    return {"dsp": dsp, "lut": lut, "ff": ff, "bram18": bram,
            **{f"{k_}_fraction": v for k_, v in frac.items()},
            "resource_fraction": max(frac.values())}


def power_w(cfg: FpgaConfig, res: dict[str, float]) -> float:
    """Static (PS + PL) plus per-resource dynamic power at the clock."""
    scale = cfg.clock_hz / 100e6
    dyn = (res["dsp"] * cfg.dsp_dyn_w + res["bram18"] * cfg.bram_dyn_w + res["lut"] * cfg.lut_dyn_w
           + res["ff"] * cfg.ff_dyn_w) * scale
    return cfg.ps_power_w + cfg.pl_static_w + dyn


def sized_config(base: FpgaConfig, width: int, kernel: str, support: np.ndarray,
                 coef: np.ndarray, intercept: np.ndarray, input_max_abs: float) -> FpgaConfig:
    """``base`` with every operand ``width`` bits wide and its integer bits sized, as an HLS
    designer would, from the model's ranges: inputs from ``input_max_abs`` (the training
    features; larger inputs saturate), support vectors and coefficients from their maxima, the
    accumulator from the static worst case of ``place_svm`` with the input fraction bits kept
    (it grows by integer bits only), the kernel value in [0, 1] (2 integer bits)."""
    from dataclasses import replace

    q, o = base.input_fmt.quant, base.input_fmt.overflow
    sv_max = float(np.abs(support).max(initial=0.0))
    i_in = min(width, integer_bits_needed(max(input_max_abs, sv_max)))
    i_cf = min(width, integer_bits_needed(float(np.abs(coef).max(initial=0.0))))
    in_fmt = Fixed(width, i_in, q, o)
    in_max = max(abs(in_fmt.min), in_fmt.max)
    cf = np.abs(np.asarray(coef, np.float64).reshape(len(support), -1)).sum(axis=0).max(initial=0.0)
    if kernel == "rbf":
        acc_max = max(support.shape[1] * (in_max + sv_max) ** 2, float(cf))
    else:
        acc_max = in_max * float(np.abs(support).sum(axis=1).max(initial=0.0)) * float(cf)
    acc_max += float(np.abs(intercept).max(initial=0.0))
    i_acc = integer_bits_needed(acc_max)
    return replace(base, input_fmt=in_fmt, weight_fmt=in_fmt,
                   coef_fmt=Fixed(width, i_cf, q, o),
                   acc_fmt=Fixed(i_acc + in_fmt.frac, i_acc, q, o),
                   kernel_fmt=Fixed(width, min(2, width), q, o))

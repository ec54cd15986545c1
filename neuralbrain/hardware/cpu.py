"""``cpu``: the reference backend, exact numpy float32, priced as a 45 nm digital core.

Energy model (Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC
2014, 45 nm, 0.9 V): fp32 multiply 3.7 pJ + fp32 add 0.9 pJ = 4.6 pJ per MAC; an fp32 add
alone (a spike accumulate) 0.9 pJ; a 32-bit integer ALU op 0.1 pJ (int32 add) for control
flow. Weights are read once per product: from a 1 MB on-chip SRAM cache when they fit
(100 pJ per 64-bit access = 12.5 pJ per byte), else from DRAM (1.3-2.6 nJ per 64-bit access,
taken as 20 pJ/bit = 160 pJ per byte).
Latency model: a single in-order core issuing one fp32 MAC per cycle at 1 GHz per lane with
8-wide SIMD (an assumption; the paper gives energies only), so 1 MAC = 0.125 ns.

Actions that are not matrix products, priced for the spiking, memory and logic modules that
book them (each an assumption stated in ``CPU_TABLE``'s notes): a neuron update is one fp32
MAC, a received spike one 32-bit address-event word read from DRAM, a stored weight one
32-bit word written to DRAM, a time step nothing (static power is not modelled), and the
logic grid's message and unification 16 and 24 ALU ops.

Quantized weights (``mpgemm``). ``place`` of a ``QWeight`` (``hardware/qmatrix.py``: a
block-quantized matrix, e.g. the planner's GGUF Q4_1/Q8_0 tensors) keeps the dequantized float32
matrix for batched products and, with ``CpuConfig.act_bits=8``, the integer codes. Two numerics:

- ``act_bits=0`` (default): ``x @ dequant(W)`` in float32 (BLAS), exact to float rounding;
  priced as fp32 MACs reading the 4-byte dequantized weights.
- ``act_bits=8`` (W4A8, what llama.cpp's CPU kernels and the LUT Tensor Core paper compute):
  each block of 32 activations becomes ``d = max|x| / 127`` (kept as fp16) and
  ``q = round_half_even(x * 127 / max|x|)`` (llama.cpp's x86 ``quantize_row_q8_0/q8_1``);
  the product is ``sum_blocks d_w d_x sum_i c_i q_i + m_w s_x`` with an exact integer inner
  sum, where for formats whose offset is not tied to the scale (Q4_1 with Q8_1 activation
  blocks) ``s_x = fp16(d * sum_i q_i)``, as ggml's ``vec_dot_q4_1_q8_1``, and for tied
  formats (Q4_0, Q8_0: ``m = -2^(bits-1) d``) the codes are used signed and the offset term
  vanishes (``vec_dot_q8_0_q8_0``). Matrix-vector products (up to ``SMALL_M`` rows: decode)
  run a numba kernel on the integer codes (``hardware/qmatrix.py``, kernel family chosen at
  ``place`` by ``qmatrix.kernel_family()`` / ``$NEURALBRAIN_KERNELS``: avx512, ggml's own
  ``vpdpbusd`` dot product, bit-exact with llama.cpp; avx2, ggml's AVX2 ``vpmaddubsw`` +
  ``vpmaddwd`` dot product, bit-identical to avx512; portable, int16 partial sums over 16
  inputs); larger batches run the same arithmetic as a float32
  BLAS product of the rounded activations plus the fp16-sum correction. Priced as run:
  the kernel as int8 MACs (Horowitz: 8-bit multiply 0.2 pJ + 32-bit add 0.1 pJ) reading the
  stored codes (one byte per weight as this backend lays them out) and 8 bytes of float32
  scale/offset per block; batched products as fp32 MACs reading the 4-byte dequantized
  weights; plus two ALU ops per activation for its quantization.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from neuralbrain.energy import PJ, Cost, EnergyTable
from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.hardware.base import Backend, as_matrix, check_lif_operands, check_operand
from neuralbrain.hardware.qmatrix import SMALL_M, QuantMatrix, QWeight, ggml_matmul, placed_matrix

MAC_PER_S = 8e9
CACHE_BYTES = 1 << 20
COST_CACHE = 512  # product shapes whose Cost a CpuBackend remembers (``CpuBackend._priced``)


def weight_read(nbytes: int, resident_bytes: int | None = None) -> dict[str, int]:
    """The energy-table counts of reading ``nbytes`` of weights, from the cache when the
    weights (``resident_bytes`` of them, default ``nbytes``) fit in it, else from DRAM."""
    fits = (nbytes if resident_bytes is None else resident_bytes) <= CACHE_BYTES
    return {"sram_read_byte" if fits else "dram_read_byte": nbytes}

def lif_cost(table: EnergyTable, x: np.ndarray, spikes: np.ndarray, w_in: np.ndarray,
             w_rec: np.ndarray) -> Cost:
    """An event-driven LIF reservoir on a CPU: one add per input event or spike per fan-out
    neuron, each reading its weight (a row of ``w_in`` or ``w_rec``; from cache if both fit),
    and one multiply-add and compare per neuron per step (the leak)."""
    n = w_in.shape[1]
    adds = (int(np.count_nonzero(x)) + int(spikes.sum())) * n
    leaks = x.shape[0] * x.shape[1] * n
    return table.cost(
        latency_s=(adds + leaks) / MAC_PER_S,
        bytes_moved=w_in.nbytes + w_rec.nbytes + x.nbytes + spikes.nbytes,
        ops=adds + leaks,
        add_fp32=adds,
        mac_fp32=leaks,
        **weight_read(adds * w_in.itemsize, w_in.nbytes + w_rec.nbytes),
    )


MAC_J = (3.7 + 0.9) * PJ
ALU_J = 0.1 * PJ
DRAM_BYTE_J = 160.0 * PJ
ALU_OPS_PER_MESSAGE = 16
ALU_OPS_PER_UNIFY = 24

CPU_TABLE = EnergyTable(
    energy_j={
        "mac_fp32": MAC_J,
        "add_fp32": 0.9 * PJ,
        "mult_fp32": 3.7 * PJ,
        "mac_int8": (0.2 + 0.1) * PJ,
        "alu_op": ALU_J,
        "dram_read_byte": DRAM_BYTE_J,
        "sram_read_byte": 12.5 * PJ,
        "neuron_update": MAC_J,
        "spike_event": 4 * DRAM_BYTE_J,
        "weight_write": 4 * DRAM_BYTE_J,
        "time_step": 0.0,
        "message": ALU_OPS_PER_MESSAGE * ALU_J,
        "unify": ALU_OPS_PER_UNIFY * ALU_J,
        "block_cycle": 0.0,
    },
    latency_s={"mac_fp32": 1 / MAC_PER_S, "add_fp32": 1 / MAC_PER_S, "mult_fp32": 1 / MAC_PER_S,
               "alu_op": 1 / MAC_PER_S, "neuron_update": 1 / MAC_PER_S,
               "message": ALU_OPS_PER_MESSAGE / MAC_PER_S, "unify": ALU_OPS_PER_UNIFY / MAC_PER_S,
               "block_cycle": 0.0},
    source="M. Horowitz, Computing's energy problem, ISSCC 2014 (45 nm): fp32 mult 3.7 pJ, "
    "fp32 add 0.9 pJ, 8-bit mult 0.2 pJ, 32-bit add 0.1 pJ, 1 MB SRAM 100 pJ and DRAM "
    "1.3-2.6 nJ per 64-bit access (~20 pJ/bit)",
    notes="latency: 8 fp32 MACs per ns (1 GHz, 8-wide SIMD), an assumption; weights are read "
    "once per product, from the 1 MB cache when they fit, else from DRAM; memory accesses add "
    "no latency (only arithmetic is timed). ASSUMPTIONS for the actions the source does not "
    "price as such: neuron_update = one fp32 MAC (the leak multiply and the input add; the "
    "threshold compare is neglected); spike_event = one 32-bit address-event word read from "
    "DRAM (4 bytes; the 32-bit AER word is an assumption); weight_write = one 32-bit word "
    "written to DRAM (4 bytes at the DRAM access energy); time_step = 0 J (Horowitz gives "
    "dynamic energy only: static power is not modelled on this backend); message = 16 alu_op "
    "(a term of ~8 nodes, two 32-bit words each, copied into a block's queue) and unify = 24 "
    "alu_op (~8 pattern nodes, each a compare, a branch and a binding store), with the "
    "latency of as many ALU ops; block_cycle = 0 J and 0 s (the core runs the grid's work one "
    "op after the other, so its latency is already the sum of its ALU ops)",
)


@dataclass(frozen=True)
class CpuConfig:
    """``act_bits``: 0 keeps float32 activations in ``mpgemm`` (exact); 8 rounds them to 8-bit
    blocks of 32 first (W4A8, llama.cpp's numerics; see the module docstring).

    ``ggml_order`` (with ``act_bits=8``): also add the float partial sums in the order of
    ggml's x86 ``vec_dot_q4_1_q8_1``/``vec_dot_q8_0_q8_0`` (eight lanes of four products,
    fused multiply-adds, the same horizontal sum) for every row count, and ``matmul``'s in
    the order of its AVX-512 tinyBLAS kernel (16 lanes of fused multiply-adds over chunks of
    16 inputs, then ``_mm512_reduce_add_ps``) or, for a single row, of ``ggml_vec_dot_f16``
    (four 16-lane accumulators over steps of 64 inputs, reduced pairwise), which reproduces
    llama.cpp's products bit for bit; slower (for the parity benchmark), same math.
    """

    act_bits: int = 0
    ggml_order: bool = False

    def __post_init__(self) -> None:
        if self.act_bits not in (0, 8):
            raise ConfigError(
                f"CpuConfig.act_bits={self.act_bits!r}: expected 0 (float activations) or 8 "
                "(8-bit activation blocks)"
            )
        if self.ggml_order not in (False, True) or (self.ggml_order and not self.act_bits):
            raise ConfigError(
                f"CpuConfig.ggml_order={self.ggml_order!r}: expected a bool, True only with "
                "act_bits=8"
            )


class CpuBackend(Backend):
    """Exact numpy float32 products on a 45 nm digital core (Horowitz 2014 energies)."""

    name = "cpu"
    capabilities = frozenset({"matmul", "accumulate", "lif_reservoir", "mpgemm"})
    energy_table = CPU_TABLE
    rel_tolerance = 1e-5
    Config = CpuConfig

    def __init__(self, config: Any = None, seed: int = 0) -> None:
        super().__init__(config, seed)
        if self.act_bits:
            # Instance-level: 8-bit activation blocks deviate by ~1% of the output range.
            self.rel_tolerance = 0.05
        # The Cost of a product follows from its shapes alone (float32 operands): priced once
        # per shape, since a decode token runs the same few shapes ~300 times and pricing
        # each anew was a measurable share of its time (see ``_priced``).
        self._costs: dict[tuple, Cost] = {}

    def _priced(self, key: tuple, price: Any) -> Cost:
        """The cost ``price()`` gives, remembered under ``key`` (the shapes and kind of a
        product, which determine it); at most ``COST_CACHE`` shapes are kept."""
        cost = self._costs.get(key)
        if cost is None:
            if len(self._costs) >= COST_CACHE:  # attention's shapes grow with the context
                self._costs.clear()
            cost = self._costs[key] = price()
        return cost

    @property
    def act_bits(self) -> int:
        """Bits of the activation blocks ``mpgemm`` rounds to (0: float32, no rounding)."""
        return int(self.config.act_bits)

    def place(self, w: Any) -> tuple[Any, Cost]:
        """A ``QWeight`` becomes a ``QuantMatrix`` (shared with an earlier placement of the
        same weights, see ``qmatrix.placed_matrix``); floats as before."""
        if not isinstance(w, QWeight):
            return super().place(w)
        return placed_matrix(w, with_codes=self.act_bits == 8), Cost()

    def mpgemm(self, x: np.ndarray, qweight: Any) -> tuple[np.ndarray, Cost]:
        """``x @ dequant(W)`` with float or 8-bit block activations (module docstring)."""
        qm = qweight if isinstance(qweight, QuantMatrix) else placed_matrix(
            qweight, with_codes=self.act_bits == 8)
        x = check_operand(x, qm.n_in)
        lead = x.shape[:-1]
        x2 = x.reshape(-1, qm.n_in)
        rows = x2.shape[0]
        # a finite sum means finite values (an inf or NaN would make it one); only a sum
        # that is not (a NaN, or finite values overflowing) needs the element-wise check
        if not math.isfinite(x2.sum()) and not np.all(np.isfinite(x2)):
            raise ShapeError("mpgemm activations contain NaN or inf: expected finite values")
        macs = rows * qm.n_in * qm.n_out
        if not self.act_bits:
            y = x2 @ qm.w
            wbytes = qm.w.nbytes
            cost = self._priced(("mpgemm", rows, qm.n_in, qm.n_out, wbytes), lambda: (
                self.energy_table.cost(
                    latency_s=macs / MAC_PER_S, bytes_moved=wbytes + x2.nbytes + y.nbytes,
                    ops=macs, mac_fp32=macs, **weight_read(wbytes))))
            return y.reshape(*lead, qm.n_out), cost
        ggml_order = bool(self.config.ggml_order)
        y = qm.product_a8(x2, ggml_order)
        # Priced as run: the integer kernel reads the codes and does int8 MACs; batched rows
        # run as fp32 MACs over the 4-byte dequantized copy.
        small = rows <= SMALL_M or ggml_order
        wbytes = qm.code_bytes if small else qm.w.nbytes
        cost = self._priced(("mpgemm_a8", rows, qm.n_in, qm.n_out, wbytes, small), lambda: (
            self.energy_table.cost(
                latency_s=macs / MAC_PER_S, bytes_moved=wbytes + x2.nbytes + y.nbytes,
                ops=macs + 2 * x2.size, alu_op=2 * x2.size,
                **{"mac_int8" if small else "mac_fp32": macs}, **weight_read(wbytes))))
        return y.reshape(*lead, qm.n_out), cost

    def matmul(self, x: np.ndarray, w: Any) -> tuple[np.ndarray, Cost]:
        w = as_matrix(w, "w")
        x = check_operand(x, w.shape[0])
        if self.config.ggml_order:
            # same product, summed like llama.cpp's f16 tinyBLAS kernel (CpuConfig.ggml_order)
            y = ggml_matmul(x.reshape(-1, w.shape[0]), w).reshape(*x.shape[:-1], w.shape[1])
        else:
            y = x @ w
        rows = x.size // w.shape[0]
        macs = rows * w.size
        return y, self._priced(("matmul", rows, *w.shape, x.itemsize, y.itemsize), lambda: (
            self.energy_table.cost(latency_s=macs / MAC_PER_S,
                                   bytes_moved=w.nbytes + x.nbytes + y.nbytes, ops=macs,
                                   mac_fp32=macs, **weight_read(w.nbytes))))

    def accumulate(self, spikes: np.ndarray, w: Any) -> tuple[np.ndarray, Cost]:
        w = as_matrix(w, "w")
        s = check_operand(spikes, w.shape[0], "spikes")
        y = s @ w
        # A digital core still does a dense product unless the code is event driven; we price
        # what an event-driven CPU loop would do: one add per active input per fan-out.
        adds = int(np.count_nonzero(s)) * w.shape[1]
        return y, self.energy_table.cost(
            latency_s=adds / MAC_PER_S,
            bytes_moved=w.nbytes + y.nbytes,
            ops=adds,
            add_fp32=adds,
            **weight_read(w.nbytes),
        )

    def lif_reservoir(
        self, x: np.ndarray, w_in: Any, w_rec: Any, decay: float, threshold: float
    ) -> tuple[np.ndarray, Cost]:
        """Event-driven LIF reservoir (numba, float64 state): only non-zero input bins and
        spiking neurons cost work, and the float64 sums are exact for weights on a dyadic
        grid, which is what lets Brian2 reproduce these spikes one for one."""
        w_in, w_rec = as_matrix(w_in, "w_in"), as_matrix(w_rec, "w_rec")
        x = check_lif_operands(x, w_in, w_rec, decay, threshold)
        spikes = np.zeros(x.shape[:2] + (w_in.shape[1],), np.uint8)
        _lif_kernel()(
            np.ascontiguousarray(x, np.float64), w_in.astype(np.float64),
            w_rec.astype(np.float64), float(decay), float(threshold), spikes,
        )
        return spikes, lif_cost(self.energy_table, x, spikes, w_in, w_rec)


_KERNEL = None


def _lif_kernel():
    """Compile (once, cached on disk) the event-driven LIF loop; numba is imported lazily."""
    global _KERNEL
    if _KERNEL is None:
        import numba

        @numba.njit(cache=True, nogil=True)
        def lif(x, w_in, w_rec, decay, threshold, out):  # pragma: no cover - compiled
            batch, steps, k = x.shape
            n = w_in.shape[1]
            v = np.zeros(n)
            cur = np.zeros(n)
            fired = np.zeros(n, np.int64)
            for b in range(batch):
                v[:] = 0.0
                n_fired = 0
                for t in range(steps):
                    cur[:] = 0.0
                    for i in range(k):
                        c = x[b, t, i]
                        if c != 0.0:
                            for j in range(n):
                                cur[j] += c * w_in[i, j]
                    for f in range(n_fired):
                        row = fired[f]
                        for j in range(n):
                            cur[j] += w_rec[row, j]
                    n_fired = 0
                    for j in range(n):
                        # two roundings (product, then sum), as in Brian2's generated code
                        v[j] = decay * v[j] + cur[j]
                        if v[j] >= threshold:
                            out[b, t, j] = 1
                            v[j] = 0.0
                            fired[n_fired] = j
                            n_fired += 1

        _KERNEL = lif
    return _KERNEL

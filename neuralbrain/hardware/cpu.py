"""``cpu``: the reference backend, exact numpy float32, priced as a 45 nm digital core.

Energy model (Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC
2014, 45 nm, 0.9 V): fp32 multiply 3.7 pJ + fp32 add 0.9 pJ = 4.6 pJ per MAC; an fp32 add
alone (a spike accumulate) 0.9 pJ; a 32-bit integer ALU op 0.1 pJ (int32 add) for control
flow. Weights are read once per product: from a 1 MB on-chip SRAM cache when they fit
(100 pJ per 64-bit access = 12.5 pJ per byte), else from DRAM (1.3-2.6 nJ per 64-bit access,
taken as 20 pJ/bit = 160 pJ per byte).
Latency model: a single in-order core issuing one fp32 MAC per cycle at 1 GHz per lane with
8-wide SIMD (an assumption; the paper gives energies only), so 1 MAC = 0.125 ns.

Quantized weights (``mpgemm``). ``place`` of a block-quantized matrix (an object with
``codes``, ``scale``, ``offset``, ``bits``, ``block``: the ``QWeight`` protocol of
``hardware/lut.py``, e.g. the planner's GGUF Q4_1/Q8_0 tensors) keeps the dequantized float32
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
  run a numba kernel on the integer codes (int16 partial sums over 16 inputs, exact for
  4-bit codes; int32 for wider codes); larger batches run the same arithmetic as a float32
  BLAS product of the rounded activations plus the fp16-sum correction. Priced as run:
  the kernel as int8 MACs (Horowitz: 8-bit multiply 0.2 pJ + 32-bit add 0.1 pJ) reading the
  stored codes (one byte per weight as this backend lays them out) and 8 bytes of float32
  scale/offset per block; batched products as fp32 MACs reading the 4-byte dequantized
  weights; plus two ALU ops per activation for its quantization.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from neuralbrain.energy import PJ, Cost, EnergyTable
from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.hardware.base import Backend, as_matrix, check_lif_operands, check_operand
from neuralbrain.hardware.lut import quantize_q4  # noqa: F401  (the QWeight maker, for mpgemm users)

MAC_PER_S = 8e9
CACHE_BYTES = 1 << 20


def weight_read(nbytes: int) -> dict[str, int]:
    """The energy-table counts of reading ``nbytes`` of weights once (cache if they fit)."""
    return {"sram_byte": nbytes} if nbytes <= CACHE_BYTES else {"dram_byte": nbytes}

CPU_TABLE = EnergyTable(
    energy_j={
        "mac": (3.7 + 0.9) * PJ,
        "add": 0.9 * PJ,
        "dram_byte": 160.0 * PJ,
        "sram_byte": 12.5 * PJ,
        "alu_op": 0.1 * PJ,
        "mac_int8": (0.2 + 0.1) * PJ,
    },
    latency_s={"mac": 1 / MAC_PER_S, "add": 1 / MAC_PER_S, "alu_op": 1 / MAC_PER_S},
    source="M. Horowitz, Computing's energy problem, ISSCC 2014 (45 nm): fp32 mult 3.7 pJ, "
    "fp32 add 0.9 pJ, 8-bit mult 0.2 pJ, 32-bit add 0.1 pJ, 1 MB SRAM 100 pJ and DRAM "
    "1.3-2.6 nJ per 64-bit access (~20 pJ/bit)",
    notes="latency: 8 fp32 MACs per ns (1 GHz, 8-wide SIMD), an assumption; weights are read "
    "once per product, from the 1 MB cache when they fit, else from DRAM",
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
    capabilities = frozenset({"matmul", "spiking", "lif", "mpgemm"})
    energy_table = CPU_TABLE
    rel_tolerance = 1e-5
    Config = CpuConfig

    def __init__(self, config: Any = None, seed: int = 0) -> None:
        super().__init__(config, seed)
        if self.act_bits:
            # Instance-level: 8-bit activation blocks deviate by ~1% of the output range.
            self.rel_tolerance = 0.05

    @property
    def act_bits(self) -> int:
        """Bits of the activation blocks ``mpgemm`` rounds to (0: float32, no rounding)."""
        return int(getattr(self.config, "act_bits", 0))

    def place(self, w: Any) -> tuple[Any, Cost]:
        """Quantized weights (``QWeight``-like) become a ``QuantMatrix``; floats as before."""
        if not hasattr(w, "codes"):
            return super().place(w)
        return QuantMatrix.from_qweight(w, with_codes=self.act_bits == 8), Cost()

    def mpgemm(self, x: np.ndarray, qweight: Any) -> tuple[np.ndarray, Cost]:
        """``x @ dequant(W)`` with float or 8-bit block activations (module docstring)."""
        qm = qweight if isinstance(qweight, QuantMatrix) else QuantMatrix.from_qweight(
            qweight, with_codes=self.act_bits == 8)
        x = check_operand(x, qm.n_in)
        lead = x.shape[:-1]
        x2 = x.reshape(-1, qm.n_in)
        rows = x2.shape[0]
        if not np.all(np.isfinite(x2)):
            raise ShapeError("mpgemm activations contain NaN or inf: expected finite values")
        macs = rows * qm.n_in * qm.n_out
        if not self.act_bits:
            y = x2 @ qm.w
            wbytes = qm.w.nbytes
            cost = self.energy_table.cost(
                latency_s=macs / MAC_PER_S, bytes_moved=wbytes + x2.nbytes + y.nbytes, ops=macs,
                mac=macs, **weight_read(wbytes))
            return y.reshape(*lead, qm.n_out), cost
        ggml_order = bool(getattr(self.config, "ggml_order", False))
        y = qm.product_a8(x2, ggml_order)
        # Priced as run: the integer kernel reads the codes and does int8 MACs; batched rows
        # run as fp32 MACs over the 4-byte dequantized copy.
        small = rows <= SMALL_M or ggml_order
        wbytes = qm.code_bytes if small else qm.w.nbytes
        cost = self.energy_table.cost(
            latency_s=macs / MAC_PER_S, bytes_moved=wbytes + x2.nbytes + y.nbytes,
            ops=macs + 2 * x2.size, alu_op=2 * x2.size, **{"mac_int8" if small else "mac": macs},
            **weight_read(wbytes))
        return y.reshape(*lead, qm.n_out), cost

    def matmul(self, x: np.ndarray, w: Any) -> tuple[np.ndarray, Cost]:
        w = as_matrix(w, "w")
        x = check_operand(x, w.shape[0])
        if getattr(self.config, "ggml_order", False):
            # same product, summed like llama.cpp's f16 tinyBLAS kernel (CpuConfig.ggml_order)
            x2 = np.ascontiguousarray(x.reshape(-1, w.shape[0]))
            y = np.empty((x2.shape[0], w.shape[1]), np.float32)
            _ggml_matmul_kernel()(x2, np.ascontiguousarray(w), y, x2.shape[0] == 1)
            y = y.reshape(*x.shape[:-1], w.shape[1])
        else:
            y = x @ w
        rows = x.size // w.shape[0]
        macs = rows * w.size
        return y, self.energy_table.cost(
            latency_s=macs / MAC_PER_S,
            bytes_moved=w.nbytes + x.nbytes + y.nbytes,
            ops=macs,
            mac=macs,
            **weight_read(w.nbytes),
        )

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
            add=adds,
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
        n = w_in.shape[1]
        adds = (int(np.count_nonzero(x)) + int(spikes.sum())) * n  # one add per event per fan-out
        leaks = x.shape[0] * x.shape[1] * n  # one multiply-add and compare per neuron per step
        return spikes, self.energy_table.cost(
            latency_s=(adds + leaks) / MAC_PER_S,
            bytes_moved=w_in.nbytes + w_rec.nbytes + x.nbytes + spikes.nbytes,
            ops=adds + leaks,
            add=adds,
            mac=leaks,
        )


SMALL_M = 4  # up to this many rows, W4A8 products run the integer kernel (decode)
TILE = 256  # output columns per tile of the integer kernel (its partial sums stay in L1)


def quantize_act_q8(x: np.ndarray, block: int = 32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """8-bit activation blocks as llama.cpp's x86 ``quantize_row_q8_1`` makes them.

    ``x`` (M, k) float32, ``k % block == 0``. Returns ``q`` int8 (M, k), the block scale
    ``d`` (M, k/block) rounded to fp16, and ``s = fp16(d * sum(q))`` with ``d`` in float32
    (Q8_1's block sum). An all-zero block gets ``d = 0`` and ``q = 0``.
    """
    m, k = x.shape
    b = x.reshape(m, k // block, block).astype(np.float32, copy=False)
    amax = np.abs(b).max(axis=2)
    d = amax / np.float32(127.0)
    inv = np.divide(np.float32(127.0), amax, out=np.zeros_like(amax), where=amax > 0)
    q = np.rint(b * inv[:, :, None]).astype(np.int8)  # rint: round half to even, as _mm256_round_ps
    s = (d * q.sum(axis=2, dtype=np.int32).astype(np.float32)).astype(np.float16)
    return q.reshape(m, k), d.astype(np.float16).astype(np.float32), s.astype(np.float32)


class QuantMatrix:
    """A block-quantized ``(n_in, n_out)`` matrix placed on the cpu backend.

    ``w``: the dequantized float32 matrix (batched products). ``codes``: the integer codes
    re-laid tile-major ``(n_tiles, n_in, TILE)`` (columns padded to a whole tile) for the
    matrix-vector kernel, signed ``c - 2^(bits-1)`` (int8) when the format's offset is tied
    to its scale (``m = -2^(bits-1) d``: Q4_0, Q8_0), else unsigned (Q4_1); ``d``, ``m``
    ``(n_blocks, n_out_padded)`` the block scale and offset (``m`` zero for tied formats).
    """

    def __init__(self, w: np.ndarray, codes: np.ndarray | None, d: np.ndarray, m: np.ndarray,
                 bits: int, block: int, tied: bool) -> None:
        self.w, self.codes, self.d, self.m = w, codes, d, m
        self.bits, self.block, self.tied = bits, block, tied
        self.n_in, self.n_out = w.shape

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_in, self.n_out)

    @property
    def code_bytes(self) -> int:
        """Bytes the integer kernel reads per product: one byte per code as laid out here,
        plus the float32 block scale and offset."""
        return self.n_in * self.n_out + self.n_out * (self.n_in // self.block) * 8

    @classmethod
    def from_qweight(cls, qw: Any, with_codes: bool) -> QuantMatrix:
        try:
            codes = np.asarray(qw.codes)
            scale = np.asarray(qw.scale, np.float32)
            offset = np.asarray(qw.offset, np.float32)
            bits, block = int(qw.bits), int(qw.block)
        except AttributeError as exc:
            raise ShapeError(
                f"mpgemm weight of type {type(qw).__name__}: expected a QWeight (codes, scale, "
                f"offset, bits, block), e.g. from neuralbrain.hardware.lut.quantize_q4 ({exc})"
            ) from None
        if codes.ndim != 2 or codes.dtype != np.uint8:
            raise ShapeError(f"QWeight.codes {codes.dtype}{codes.shape}: expected 2-D uint8 codes")
        n_out, kp = codes.shape
        if not 1 <= bits <= 8 or block <= 0 or kp % block:
            raise ShapeError(
                f"QWeight bits={bits}, block={block}, k={kp}: expected 1..8 bits and k a multiple "
                "of the block"
            )
        if scale.shape != (n_out, kp // block) or offset.shape != scale.shape:
            raise ShapeError(
                f"QWeight scale {scale.shape}/offset {offset.shape}: expected {(n_out, kp // block)}"
            )
        n_in = int(getattr(qw, "n_in", None) or kp)
        nb = kp // block
        c3 = codes.reshape(n_out, nb, block).astype(np.float32)
        w = np.ascontiguousarray(
            (c3 * scale[:, :, None] + offset[:, :, None]).reshape(n_out, kp)[:, :n_in].T)
        zero = float(1 << (bits - 1))
        tied = bool(np.array_equal(offset, np.float32(-zero) * scale))
        if not with_codes:
            return cls(w, None, scale.T, offset.T, bits, block, tied)
        if n_in != kp or block != 32:
            raise ShapeError(
                f"8-bit activation blocks need blocks of 32 inputs and no padding: got block="
                f"{block}, k={kp} for {n_in} inputs"
            )
        n_pad = -(-n_out // TILE) * TILE
        if tied:
            sc = (codes.astype(np.int16) - int(zero)).astype(np.int8)
            m = np.zeros((nb, n_pad), np.float32)
        else:
            sc = codes
            m = np.zeros((nb, n_pad), np.float32)
            m[:, :n_out] = offset.T
        tiles = np.zeros((n_pad, kp), sc.dtype)
        tiles[:n_out] = sc
        tiles = np.ascontiguousarray(tiles.reshape(n_pad // TILE, TILE, kp).transpose(0, 2, 1))
        d = np.zeros((nb, n_pad), np.float32)
        d[:, :n_out] = scale.T
        return cls(w, tiles, d, m, bits, block, tied)

    def product_a8(self, x: np.ndarray, ggml_order: bool = False) -> np.ndarray:
        """``x`` (M, n_in) float32 through 8-bit activation blocks (module docstring)."""
        q, dx, sx = quantize_act_q8(x, self.block)
        if self.codes is None:
            raise ShapeError("this QuantMatrix was placed without codes: place it on a backend "
                             "with act_bits=8")
        rows = x.shape[0]
        if ggml_order:
            out = np.empty((rows, self.d.shape[1]), np.float32)
            _ggml_kernel()(q, dx, np.zeros_like(dx) if self.tied else sx, self.codes, self.d,
                           self.m, out)
            return out[:, : self.n_out]
        if rows <= SMALL_M:
            corr_s = np.zeros_like(dx) if self.tied else sx
            out = np.empty((rows, self.d.shape[1]), np.float32)
            kern = _a8_kernel(self.bits <= 4)
            kern(q, dx, corr_s, self.codes, self.d, self.m, out)
            return out[:, : self.n_out]
        nb = self.n_in // self.block
        xq = (q.reshape(rows, nb, self.block).astype(np.float32) * dx[:, :, None]).reshape(rows, -1)
        y = xq @ self.w
        if not self.tied:
            # dequant(W) = d c + m, so the float product used m * d_x sum(q); ggml uses the
            # fp16 block sum s_x instead: add m (s_x - d_x sum q).
            qsum = q.reshape(rows, nb, self.block).sum(axis=2, dtype=np.int32).astype(np.float32)
            y += (sx - dx * qsum) @ self.m[:, : self.n_out]
        return y


_A8 = {}


def _a8_kernel(small_codes: bool):
    """Compile (once, cached on disk) the W8A8/W4A8 matrix-vector kernel; numba imported lazily.

    ``small_codes``: codes of at most 4 bits, so 16 products of an int8 activation sum
    exactly in int16 (16 * 15 * 128 < 2^15) and the compiler can use 32 lanes; otherwise
    int32 partial sums.
    """
    if small_codes not in _A8:
        import numba

        acc_t = np.int16 if small_codes else np.int32

        @numba.njit(cache=True, nogil=True, fastmath=True, boundscheck=False)
        def a8(q, dx, sx, codes, d, m, out):  # pragma: no cover - compiled
            rows = q.shape[0]
            n_tiles, k, tile = codes.shape
            nb = k // 32
            a0 = np.empty(tile, acc_t)
            a1 = np.empty(tile, acc_t)
            res = np.empty(tile, np.float32)
            for r in range(rows):
                for t in range(n_tiles):
                    o0 = t * tile
                    res[:] = 0.0
                    for b in range(nb):
                        a0[:] = 0
                        a1[:] = 0
                        for i in range(b * 32, b * 32 + 16):
                            xi = acc_t(q[r, i])
                            row = codes[t, i]
                            for o in range(tile):
                                a0[o] += acc_t(row[o]) * xi
                        for i in range(b * 32 + 16, b * 32 + 32):
                            xi = acc_t(q[r, i])
                            row = codes[t, i]
                            for o in range(tile):
                                a1[o] += acc_t(row[o]) * xi
                        db = dx[r, b]
                        sb = sx[r, b]
                        dt = d[b, o0 : o0 + tile]
                        mt = m[b, o0 : o0 + tile]
                        for o in range(tile):
                            # |a0 + a1| < 2^24: the float sum is the exact integer sum
                            isum = np.float32(a0[o]) + np.float32(a1[o])
                            res[o] += (dt[o] * db) * isum + mt[o] * sb
                    for o in range(tile):
                        out[r, o0 + o] = res[o]

        _A8[small_codes] = a8
    return _A8[small_codes]


_GGML = None


def _ggml_kernel():
    """Compile (once, cached) the W8A8/W4A8 kernel that sums like ggml's x86 ``vec_dot``.

    Per output and block: eight int32 lanes of four consecutive products (``dpbusd``),
    ``lane = fma(d_w * d_x, float(lane_sum), lane)``, the offset term ``summs = fma(m, s,
    summs)`` (GCC contracts it), and at the end ggml's ``hsum_float_8`` of the lanes plus
    ``summs``. No fastmath: the float operations stay in this order.
    """
    global _GGML
    if _GGML is None:
        import numba

        fma32 = _fma32()

        @numba.njit(cache=True, nogil=True, boundscheck=False)
        def ggml(q, dx, sx, codes, d, m, out):  # pragma: no cover - compiled
            rows = q.shape[0]
            n_tiles, k, tile = codes.shape
            nb = k // 32
            lanes = np.empty((8, tile), np.float32)
            summs = np.empty(tile, np.float32)
            acc = np.empty(tile, np.int32)
            for r in range(rows):
                for t in range(n_tiles):
                    o0 = t * tile
                    lanes[:] = 0.0
                    summs[:] = 0.0
                    for b in range(nb):
                        db = dx[r, b]
                        sb = sx[r, b]
                        for lane in range(8):
                            acc[:] = 0
                            for e in range(4):
                                i = b * 32 + 4 * lane + e
                                xi = np.int32(q[r, i])
                                row = codes[t, i]
                                for o in range(tile):
                                    acc[o] += np.int32(row[o]) * xi
                            for o in range(tile):
                                dd = d[b, o0 + o] * db
                                lanes[lane, o] = fma32(dd, np.float32(acc[o]), lanes[lane, o])
                        for o in range(tile):
                            summs[o] = fma32(m[b, o0 + o], sb, summs[o])
                    for o in range(tile):
                        r0 = lanes[4, o] + lanes[0, o]
                        r1 = lanes[5, o] + lanes[1, o]
                        r2 = lanes[6, o] + lanes[2, o]
                        r3 = lanes[7, o] + lanes[3, o]
                        out[r, o0 + o] = ((r0 + r2) + (r1 + r3)) + summs[o]

        _GGML = ggml
    return _GGML


_GGML_MM = None


def _ggml_matmul_kernel():
    """Compile (once, cached) ``x @ w`` summed like ggml's AVX-512 f16 kernels: tinyBLAS
    (batched rows) or ``ggml_vec_dot_f16`` (``single_row``; inputs zero-padded to 64)."""
    global _GGML_MM
    if _GGML_MM is None:
        import numba

        fma32 = _fma32()

        @numba.njit(cache=True, nogil=True, boundscheck=False)
        def mm(x, w, out, single_row):  # pragma: no cover - compiled
            rows, k = x.shape
            n = w.shape[1]
            lanes = np.empty(16, np.float32)
            acc = np.empty((4, 16), np.float32)
            for i in range(rows):
                for j in range(n):
                    if single_row:
                        acc[:] = 0.0
                        for c0 in range(0, k, 16):
                            a = (c0 // 16) % 4
                            for ln in range(min(16, k - c0)):
                                acc[a, ln] = fma32(x[i, c0 + ln], w[c0 + ln, j], acc[a, ln])
                        for ln in range(16):
                            lanes[ln] = (acc[0, ln] + acc[2, ln]) + (acc[1, ln] + acc[3, ln])
                    else:
                        lanes[:] = 0.0
                        for c0 in range(0, k, 16):
                            for ln in range(min(16, k - c0)):
                                lanes[ln] = fma32(x[i, c0 + ln], w[c0 + ln, j], lanes[ln])
                    h = 8
                    while h >= 1:  # _mm512_reduce_add_ps: halves added pairwise
                        for ln in range(h):
                            lanes[ln] = lanes[ln] + lanes[ln + h]
                        h //= 2
                    out[i, j] = lanes[0]

        _GGML_MM = mm
    return _GGML_MM


_FMA = None


def _fma32():
    """A numba intrinsic for the float32 fused multiply-add (``llvm.fma.f32``)."""
    global _FMA
    if _FMA is None:
        from llvmlite import ir
        from numba import types
        from numba.extending import intrinsic

        @intrinsic
        def fma32(typingctx, a, b, c):  # pragma: no cover - compiled
            sig = types.float32(types.float32, types.float32, types.float32)

            def codegen(context, builder, signature, args):
                f = ir.FloatType()
                fn = builder.module.declare_intrinsic("llvm.fma", [f], ir.FunctionType(f, [f] * 3))
                return builder.call(fn, args)

            return sig, codegen

        _FMA = fma32
    return _FMA


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

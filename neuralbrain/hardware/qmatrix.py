"""Block-quantized weights: ``QWeight`` (the one type of low-bit weights, made by
``quantize_q4`` or read from a GGUF file) and, on the ``cpu`` backend, their layouts, 8-bit
activation blocks and the numba kernels of the W4A8 / W8A8 products (the arithmetic is stated
in ``cpu.py``).

Kernels (numba, compiled once and cached on disk), in three families chosen by
``kernel_family()`` (``$NEURALBRAIN_KERNELS``: ``auto``, the default, takes the first this CPU
runs of avx512 > avx2 > portable; naming a family forces it, and one the CPU lacks is a
ConfigError):

- ``_rows_kernel``: ggml's own x86 dot product, written with LLVM intrinsics: per output and
  block of 32, eight int32 lane sums of four unsigned-code x signed-activation products, the
  lanes become floats and are fused-multiply-added into eight float accumulators with
  ``d_w * d_x``; the offset term ``m * s`` is fused-multiply-added into a scalar; the result
  is ``hsum_float_8(lanes) + summs``. Same order as ``ggml_vec_dot_q4_1_q8_1`` /
  ``vec_dot_q8_0_q8_0`` (and tinyBLAS's Q8_0 path), so it is both the fast kernel and
  bit-exact with llama.cpp. The lanes come from ``vpdpbusd`` (family avx512: AVX-512 VNNI/VL)
  or from ``vpmaddubsw`` + ``vpmaddwd`` (family avx2: AVX2 and FMA, ggml's AVX2 path); both
  are exact integer sums (``_dot_block`` shows that no int16 sum saturates), so the two
  families give bit-identical results.
- portable: ``_a8_kernel`` (int16 partial sums over 16 inputs, tile-major codes: fast,
  float sums in its own order) and ``_ggml_kernel`` (same lanes and order as ggml, slower).
- ``ggml_matmul``: a float product summed like ggml's AVX-512 f16 kernels (tinyBLAS for
  batches, ``ggml_vec_dot_f16`` for one row), for ``CpuConfig(ggml_order=True)``.
"""

from __future__ import annotations

import hashlib
import math
import os
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.hardware.base import as_matrix

SMALL_M = 4  # up to this many rows, W4A8 products run the integer kernel (decode)
TILE = 256  # output columns per tile of the fallback kernels (their partial sums stay in L1)


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


KERNELS_ENV = "NEURALBRAIN_KERNELS"
KERNEL_FAMILIES = ("avx512", "avx2", "portable")  # fastest first: what "auto" tries in turn

# The CPU features each family's W4A8 kernel needs (``vpdpbusd`` on 256-bit registers for
# avx512; ``vpmaddubsw``/``vpmaddwd`` and fused multiply-adds for avx2).
W4A8_NEEDS = {"avx512": ("avx512vnni", "avx512vl"), "avx2": ("avx2", "fma"), "portable": ()}


def target_cpu_features() -> frozenset[str]:
    """The x86 features numba compiles for: ``NUMBA_CPU_FEATURES`` when set (numba then
    targets those, not the host's), else the host CPU's as LLVM reports them; empty when LLVM
    cannot be asked (only the portable kernels are then chosen)."""
    global _HOST_FEATURES
    try:
        from numba.core import config

        if config.CPU_FEATURES is not None:
            return frozenset(f[1:] for f in config.CPU_FEATURES.split(",") if f.startswith("+"))
        if _HOST_FEATURES is None:
            from llvmlite import binding

            _HOST_FEATURES = frozenset(k for k, v in binding.get_host_cpu_features().items() if v)
        return _HOST_FEATURES
    except Exception:  # no numba/LLVM feature query: portable kernels only
        return frozenset()


_HOST_FEATURES: frozenset[str] | None = None


def features_without_avx512() -> str:
    """A ``NUMBA_CPU_FEATURES`` value for this CPU less every AVX-512 feature and GFNI (which
    the AVX2-only AMD EPYCs, Zen 1 to 3, lack too): set before numba is imported, every kernel
    is compiled (and ``auto`` chooses) as on an AVX2-only CPU of the same kind, which is how
    the avx2 families are tested and measured on an AVX-512 machine."""
    from llvmlite import binding

    feats = binding.get_host_cpu_features().flatten().split(",")
    return ",".join("-" + f[1:] if "avx512" in f or f[1:] == "gfni" else f for f in feats if f)


def usable_kernel_families(needs: dict[str, tuple[str, ...]]) -> list[str]:
    """The families of ``KERNEL_FAMILIES`` (fastest first) whose ``needs`` this CPU has."""
    feats = target_cpu_features()
    return [f for f in KERNEL_FAMILIES if all(n in feats for n in needs[f])]


def select_kernel_family(needs: dict[str, tuple[str, ...]], what: str) -> str:
    """The kernel family ``what`` runs: ``$NEURALBRAIN_KERNELS`` (``auto`` when unset: the
    first of ``KERNEL_FAMILIES`` whose ``needs`` this CPU has), or the family it names.

    Raises ConfigError for an unknown value, or a family whose instructions the CPU lacks
    (naming the family and the missing features), rather than run something else.
    """
    want = os.environ.get(KERNELS_ENV, "auto").strip().lower() or "auto"
    # asked on every product: remembered per (value, features, kernel) once found valid
    key = (want, target_cpu_features(), what)
    if key in _CHOSEN:
        return _CHOSEN[key]
    if want != "auto" and want not in KERNEL_FAMILIES:
        raise ConfigError(
            f"{KERNELS_ENV}={want!r}: unknown kernel family; expected one of auto, "
            f"{', '.join(KERNEL_FAMILIES)}"
        )
    usable = usable_kernel_families(needs)
    missing = [n for n in needs[want] if n not in key[1]] if want != "auto" else []
    if missing:
        raise ConfigError(
            f"{KERNELS_ENV}={want}: this CPU lacks {', '.join(missing)}, which the {want} "
            f"kernels of {what} need; expected one of auto, {', '.join(usable)} here"
        )
    _CHOSEN[key] = usable[0] if want == "auto" else want
    return _CHOSEN[key]


_CHOSEN: dict[tuple, str] = {}


def kernel_family() -> str:
    """The family of the cpu backend's W4A8 matrix-vector kernel placed now (``avx512``:
    ``vpdpbusd``; ``avx2``: ``vpmaddubsw`` + ``vpmaddwd``, same integers and float order, so
    bit-identical; ``portable``: plain loops in another float order); see
    ``select_kernel_family``."""
    return select_kernel_family(W4A8_NEEDS, "the cpu backend's W4A8 product")


@dataclass(frozen=True)
class QWeight:
    """Low-bit block-quantized weights: ``W[o, i] = scale[o, i//block] * codes[o, i] + offset``.

    ``codes`` uint8 ``(n_out, k_padded)`` with values in ``[0, 2**bits)``; ``scale``/``offset``
    float32 ``(n_out, k_padded // block)``; ``n_in`` is the true input count (inputs past it are
    zero padding). ``dequantize()`` returns the float32 ``(n_in, n_out)`` matrix of the
    ``matmul`` convention, so ``mpgemm(x, qw) ~= x @ qw.dequantize()``. The one type of
    quantized weights: ``place`` and ``mpgemm`` of the ``cpu`` and ``lut`` backends take it (the
    planner's GGUF tensors are read into it), ``quantize_q4`` makes one from a float matrix.
    """

    codes: np.ndarray
    scale: np.ndarray
    offset: np.ndarray
    bits: int = 4
    block: int = 32
    n_in: int | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_in or self.codes.shape[1], self.codes.shape[0])

    def dequantize(self) -> np.ndarray:
        n_out, kp = self.codes.shape
        c = self.codes.reshape(n_out, kp // self.block, self.block).astype(np.float32)
        w = (c * self.scale[:, :, None] + self.offset[:, :, None]).reshape(n_out, kp)
        return np.ascontiguousarray(w[:, : self.shape[0]].T)


def concat_out(ws: list[QWeight]) -> QWeight:
    """Stack layers that read the same input into one wider layer (outputs concatenated)."""
    bits = {w.bits for w in ws}
    if len(bits) != 1:  # mixed widths: widen to the largest so one code width holds all
        top = max(bits)
        ws = [_widen(w, top) for w in ws]
    return QWeight(
        np.concatenate([w.codes for w in ws]),
        np.concatenate([w.scale for w in ws]),
        np.concatenate([w.offset for w in ws]),
        bits=ws[0].bits,
        block=ws[0].block,
    )


def _widen(w: QWeight, bits: int) -> QWeight:
    # Same values with codes in a wider range: code stays, scale/offset unchanged.
    return QWeight(w.codes, w.scale, w.offset, bits=bits, block=w.block)


def quantize_q4(w: np.ndarray, block: int = 32) -> QWeight:
    """Asymmetric 4-bit block quantization (GGUF Q4_1 style) of a float ``(k, n)`` matrix.

    Each run of ``block`` inputs of one output column gets ``scale = (max - min) / 15`` and
    ``offset = min``; ``k`` is zero-padded up to a multiple of ``block``.
    """
    w = as_matrix(w, "w")
    if block <= 0 or block % 4:  # the lut backend reads the codes in groups of 4
        raise ConfigError(f"block={block}: expected a positive multiple of 4")
    k, n = w.shape
    kp = -(-k // block) * block
    wt = np.zeros((n, kp), np.float32)
    wt[:, :k] = w.T
    b = wt.reshape(n, kp // block, block)
    lo, hi = b.min(axis=2), b.max(axis=2)
    scale = np.where(hi > lo, (hi - lo) / 15.0, 1.0).astype(np.float32)
    codes = np.clip(np.rint((b - lo[:, :, None]) / scale[:, :, None]), 0, 15).astype(np.uint8)
    return QWeight(codes.reshape(n, kp), scale, lo.astype(np.float32), 4, block, k)


def weight_key(qw: QWeight) -> bytes:
    """A digest of everything a QWeight holds (codes, scale, offset, bits, block, n_in), for
    the backends' caches of placed weights: two QWeights with the same key are the same
    weights, whichever objects hold them (a model built twice from one GGUF makes new ones)."""
    h = hashlib.blake2b(digest_size=20)
    codes = np.asarray(qw.codes)
    h.update(repr((codes.dtype.str, codes.shape, int(qw.bits), int(qw.block), qw.n_in)).encode())
    for a in (codes, np.asarray(qw.scale, np.float32), np.asarray(qw.offset, np.float32)):
        h.update(np.ascontiguousarray(a).data)
    return h.digest()


def unpack_qweight(qw: QWeight, group: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """(codes, scale, offset, bits, block) of a QWeight, checked: 2-D uint8 codes within
    ``bits``, ``k`` a multiple of the block and the block a multiple of ``group``, one scale
    and offset per block; else a ShapeError naming what was expected."""
    if not isinstance(qw, QWeight):
        raise ShapeError(
            f"mpgemm weight of type {type(qw).__name__}: expected a QWeight, e.g. from "
            "neuralbrain.hardware.qmatrix.quantize_q4")
    codes = np.asarray(qw.codes)
    scale = np.asarray(qw.scale, np.float32)
    offset = np.asarray(qw.offset, np.float32)
    bits, block = int(qw.bits), int(qw.block)
    if codes.ndim != 2 or codes.dtype != np.uint8:
        raise ShapeError(f"QWeight.codes {codes.dtype}{codes.shape}: expected 2-D uint8 codes")
    n_out, kp = codes.shape
    if not 1 <= bits <= 8 or block <= 0 or block % group or kp % block:
        also = f", itself a multiple of {group}" if group > 1 else ""
        raise ShapeError(
            f"QWeight bits={bits}, block={block}, k={kp}: expected 1..8 bits and k a multiple of "
            f"the block{also}"
        )
    if scale.shape != (n_out, kp // block) or offset.shape != scale.shape:
        raise ShapeError(
            f"QWeight scale {scale.shape}/offset {offset.shape}: expected {(n_out, kp // block)}"
        )
    if int(codes.max(initial=0)) >> bits:
        raise ShapeError(f"QWeight codes exceed {bits} bits (max {int(codes.max())})")
    return codes, scale, offset, bits, block


class QuantMatrix:
    """A block-quantized ``(n_in, n_out)`` matrix placed on the cpu backend.

    ``w``: the dequantized float32 matrix (float and batched products); ``offset_t``
    ``(n_blocks, n_out)`` the block offsets (the fp16-sum correction of batched W4A8
    products); ``tied``: the offset is ``-2^(bits-1) * scale`` (Q4_0, Q8_0). With codes
    (``act_bits=8``), ``family`` is the kernel family chosen when it was placed
    (``kernel_family()``) and ``layout`` follows from it: ``"rows"`` for avx512 and avx2
    (ggml's dot product: unsigned codes in element order, 4-bit ones two per byte, as
    ``(n_out4, n_in)`` bytes where each 4 outputs' blocks sit side by side (block ``b`` of
    outputs ``4t..4t+3`` at row ``4t``'s bytes ``4 b B`` to ``4 (b + 1) B``, ``B`` bytes a
    block), ``d`` ``(n_out4, n_blocks)`` and ``m`` ``(n_out4 / 4, n_blocks, 4)``, the 4
    outputs' offsets of a block side by side too -- ``n_out4`` rounds ``n_out`` up to a
    multiple of 4 with zero rows --, ``m`` zero when tied, the zero point taken
    off through the activations' lane sums) or ``"tiles"`` for portable (codes
    ``(n_tiles, n_in, TILE)``, signed ``c - 2^(bits-1)`` when tied, ``d``/``m``
    ``(n_blocks, n_out_padded)``).
    """

    def __init__(self, w: np.ndarray, offset_t: np.ndarray, bits: int, block: int, tied: bool,
                 codes: np.ndarray | None = None, d: np.ndarray | None = None,
                 m: np.ndarray | None = None, layout: str = "", family: str = "") -> None:
        self.w, self.offset_t = w, offset_t
        self.bits, self.block, self.tied = bits, block, tied
        self.codes, self.d, self.m, self.layout, self.family = codes, d, m, layout, family
        self.n_in, self.n_out = w.shape
        self._rows_call: tuple | None = None  # (kernel, z, zl) of the rows layout, found once

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_in, self.n_out)

    @property
    def code_bytes(self) -> int:
        """Bytes the integer kernel reads per product: the codes as laid out here (two 4-bit
        codes per byte in the rows layout, else one byte each), plus the float32 block scale
        and offset."""
        packed = self.layout == "rows" and self.bits <= 4
        codes = self.n_in * self.n_out // (2 if packed else 1)
        return codes + self.n_out * (self.n_in // self.block) * 8

    @classmethod
    def from_qweight(cls, qw: QWeight, with_codes: bool) -> QuantMatrix:
        codes, scale, offset, bits, block = unpack_qweight(qw)
        n_out, kp = codes.shape
        n_in = int(qw.n_in or kp)
        nb = kp // block
        c3 = codes.reshape(n_out, nb, block).astype(np.float32)
        w = np.ascontiguousarray(
            (c3 * scale[:, :, None] + offset[:, :, None]).reshape(n_out, kp)[:, :n_in].T)
        zero = float(1 << (bits - 1))
        tied = bool(np.array_equal(offset, np.float32(-zero) * scale))
        base = (w, np.ascontiguousarray(offset.T), bits, block, tied)
        if not with_codes:
            return cls(*base)
        if n_in != kp or block != 32:
            raise ShapeError(
                f"8-bit activation blocks need blocks of 32 inputs and no padding: got block="
                f"{block}, k={kp} for {n_in} inputs"
            )
        family = kernel_family()
        if family != "portable":
            m = np.zeros_like(scale) if tied else offset
            if bits <= 4:  # ggml's Q4 byte layout: element j low nibble, element j + 16 high
                c3 = codes.reshape(n_out, nb, 32)
                codes = (c3[:, :, :16] | (c3[:, :, 16:] << 4)).reshape(n_out, nb * 16)
            n4 = -(-n_out // 4) * 4  # the kernel takes 4 outputs at a time: zero rows pad

            def padded(a: np.ndarray) -> np.ndarray:
                out = np.zeros((n4, a.shape[1]), a.dtype)
                out[:n_out] = a
                return out

            def quads(a: np.ndarray) -> np.ndarray:  # (n4 / 4, nb, 4, ...): 4 outputs a block
                q = padded(a.reshape(n_out, -1)).reshape(n4 // 4, 4, nb, -1).transpose(0, 2, 1, 3)
                return np.ascontiguousarray(q)

            # ... and reads their 4 blocks of codes side by side: one forward stream; their 4
            # offsets of a block too (one vector)
            codes = quads(codes).reshape(n4, -1)
            return cls(*base, codes, padded(scale), np.ascontiguousarray(quads(m)[..., 0]),
                       "rows", family)
        n_pad = -(-n_out // TILE) * TILE
        sc = (codes.astype(np.int16) - int(zero)).astype(np.int8) if tied else codes
        m = np.zeros((nb, n_pad), np.float32)
        if not tied:
            m[:, :n_out] = offset.T
        tiles = np.zeros((n_pad, kp), sc.dtype)
        tiles[:n_out] = sc
        tiles = np.ascontiguousarray(tiles.reshape(n_pad // TILE, TILE, kp).transpose(0, 2, 1))
        d = np.zeros((nb, n_pad), np.float32)
        d[:, :n_out] = scale.T
        return cls(*base, tiles, d, m, "tiles", family)

    def product_a8(self, x: np.ndarray, ggml_order: bool = False) -> np.ndarray:
        """``x`` (M, n_in) float32 through 8-bit activation blocks (``cpu.py`` docstring)."""
        if self.codes is None:
            raise ShapeError("this QuantMatrix was placed without codes: place it on a backend "
                             "with act_bits=8")
        rows = x.shape[0]
        if self.layout == "rows" and (ggml_order or rows <= SMALL_M):
            # activation quantization fused into the kernel call (same rounding as
            # quantize_act_q8): one compiled call per product
            if self._rows_call is None:  # once per matrix: decode calls it ~120 times a token
                z = (1 << (self.bits - 1)) if self.tied else 0
                packed = self.bits <= 4
                # the avx2 kernel multiplies 8-bit codes as signed c - 128 (see _dot_block),
                # so its lane sums take off (z - 128) sum(q) instead of z sum(q)
                zl = z - 128 if self.family == "avx2" and not packed else z
                self._rows_call = (_rows_kernel(packed, self.family, zl != 0, z == 0), z, zl)
            kern, z, zl = self._rows_call
            out = np.empty((rows, self.codes.shape[0]), np.float32)
            kern(np.ascontiguousarray(x, np.float32), z, zl, self.codes, self.d, self.m, out)
            return out[:, : self.n_out]
        q, dx, sx = quantize_act_q8(x, self.block)
        if self.tied:
            sx = np.zeros_like(dx)
        if ggml_order or rows <= SMALL_M:
            out = np.empty((rows, self.d.shape[1]), np.float32)
            kern = _ggml_kernel() if ggml_order else _a8_kernel(self.bits <= 4)
            kern(q, dx, sx, self.codes, self.d, self.m, out)
            return out[:, : self.n_out]
        nb = self.n_in // self.block
        xq = (q.reshape(rows, nb, self.block).astype(np.float32) * dx[:, :, None]).reshape(rows, -1)
        y = xq @ self.w
        if not self.tied:
            # dequant(W) = d c + m, so the float product used m * d_x sum(q); ggml uses the
            # fp16 block sum s_x instead: add m (s_x - d_x sum q).
            qsum = q.reshape(rows, nb, self.block).sum(axis=2, dtype=np.int32).astype(np.float32)
            y += (sx - dx * qsum) @ self.offset_t
        return y


# QuantMatrices by (weight_key, with codes, kernel family), kept while something (a placed
# model) holds them: a second model built on the same weights (the planner and the language
# module each build one from the same GGUF, with new QWeight objects) reuses them. Placed
# matrices are read-only by contract (no kernel or backend writes into them).
_PLACED: weakref.WeakValueDictionary[tuple, QuantMatrix] = weakref.WeakValueDictionary()


def placed_matrix(qw: QWeight, with_codes: bool) -> QuantMatrix:
    """``QuantMatrix.from_qweight(qw, with_codes)``, or the one already made from the same
    weights for the same kernel family."""
    if not isinstance(qw, QWeight):
        return QuantMatrix.from_qweight(qw, with_codes)  # raises the ShapeError naming the type
    key = (weight_key(qw), with_codes, kernel_family() if with_codes else "")
    qm = _PLACED.get(key)
    if qm is None:
        qm = _PLACED[key] = QuantMatrix.from_qweight(qw, with_codes)
    return qm


def ggml_matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w`` (float32) summed like ggml's AVX-512 f16 kernels (see the module docstring)."""
    x2 = np.ascontiguousarray(x, np.float32)
    y = np.empty((x2.shape[0], w.shape[1]), np.float32)
    _ggml_matmul_kernel()(x2, np.ascontiguousarray(w, np.float32), y, x2.shape[0] == 1)
    return y


# -- kernels ---------------------------------------------------------------------------------
_KERNELS: dict[str, Any] = {}

# The intrinsics and helpers the kernels call are module globals, set once by ``_helpers``.
# Why not closure variables: numba keys its disk cache on a kernel's bytecode and the pickled
# values of its closure, and an intrinsic or dispatcher pickles differently in every process,
# so such a kernel would be compiled anew (and another cache file written) in every process.
# The kernels' closures hold plain constants only and pick a helper by comparing them; numba
# drops the branches not taken before compiling, so no instruction of another family is emitted.
_fma32: Any = None
_f16: Any = None
_block_avx512_packed: Any = None
_block_avx512_bytes: Any = None
_block_avx2_packed: Any = None
_block_avx2_bytes: Any = None


def _helpers() -> None:
    """Define the module-global intrinsics and helpers (numba imported lazily, once)."""
    global _fma32, _f16, _block_avx512_packed, _block_avx512_bytes, _block_avx2_packed
    global _block_avx2_bytes
    if _fma32 is not None:
        return
    import numba
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

    @intrinsic
    def fma32(typingctx, a, b, c):  # pragma: no cover - compiled
        """The float32 fused multiply-add (``llvm.fma.f32``)."""
        sig = types.float32(types.float32, types.float32, types.float32)

        def codegen(context, builder, signature, args):
            f = ir.FloatType()
            fn = builder.module.declare_intrinsic("llvm.fma", [f], ir.FunctionType(f, [f] * 3))
            return builder.call(fn, args)

        return sig, codegen

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def f16(v):  # pragma: no cover - compiled
        # round a float32 to the nearest fp16 value (ties to even), kept as float32
        a = abs(v)
        if a == 0.0:
            return np.float32(0.0)
        if a >= np.float32(65520.0):
            return np.float32(np.inf) if v > 0 else np.float32(-np.inf)
        e = math.frexp(a)[1] - 1  # a in [2^e, 2^(e+1))
        quantum = 2.0 ** (max(e, -14) - 10)
        r = np.float32(np.rint(np.float64(a) / quantum) * quantum)
        return r if v > 0 else -r

    _fma32, _f16 = fma32, f16
    _block_avx512_packed = _dot_block("avx512", True)
    _block_avx512_bytes = _dot_block("avx512", False)
    _block_avx2_packed = _dot_block("avx2", True)
    _block_avx2_bytes = _dot_block("avx2", False)


def _intrinsic_fn(module: Any, name: str, fnty: Any) -> Any:
    fn = module.globals.get(name)
    if fn is None:
        from llvmlite import ir

        fn = ir.Function(module, fnty, name)
    return fn


def _dot_block(family: str, packed: bool):
    """The intrinsic ``dot_block(codes, ci, row_len, q, qi, zq, zi, d0, d1, d2, d3, m, mi, sb,
    acc)``: for the 4 outputs ``j`` whose 32 codes of one block start at flat index ``ci + j *
    row_len`` of ``codes`` (any C-contiguous array), ``acc[8j:8j+8] = fma(dj,
    float(lanes_j - zq[zi:zi+8]), acc[8j:8j+8])`` with the same 32 int8 activations
    ``q[qi:]``, where lane ``l`` is the exact integer ``sum_{i<4} c[4l+i] q[4l+i]`` (ggml's
    ``mul_sum_us8_pairs_float``), and the offset term ``acc[32+j] = fma(m[mi + j], sb,
    acc[32+j])`` (``m`` flat-indexed, the 4 outputs' offsets side by side: one vector fused
    multiply-add for the 4, each lane the scalar operation);
    ``zq`` None: nothing taken off (no load, no subtraction: Q4_1 codes, and the avx2 kernel's
    Q8_0 codes, whose zero point its signed bytes already remove); ``m`` None: no offset term
    (tied codes); ``packed``: the 32 codes are 16 bytes of nibbles (ggml's
    ``bytes_from_nibbles_32``). Four outputs per call because each output's fused
    multiply-adds form one dependency chain (ggml's order, kept); four chains side by side
    keep the core busy.

    ``family`` "avx512": one ``vpdpbusd`` (AVX-512 VNNI on 256-bit registers) gives the lanes.
    "avx2" (ggml's AVX2 path): ``vpmaddubsw`` (unsigned x signed bytes, adjacent pairs summed
    to int16 with saturation) then ``vpmaddwd`` with ones (adjacent int16 pairs to int32).
    Neither sum saturates, so the lanes are the same integers and the result is bit-identical:
    4-bit codes (0..15) times activations (-127..127) pair to at most 2 * 15 * 127 = 3810;
    8-bit codes are taken signed, ``s = c - 128``, and multiplied as ``|s|`` (at most 128)
    times ``q`` with the sign of ``s`` (ggml's ``mul_sum_i8_pairs``: both from ``vpsignb``),
    pairing to at most 2 * 128 * 127 = 32512 < 2^15 -- so the caller's ``zq`` takes off
    ``(z - 128) sum(q)``.
    """
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

    @intrinsic
    def dot_block(typingctx, codes, ci, row_len, q, qi, zq, zi, d0, d1, d2, d3, m, mi, sb,
                  acc):  # pragma: no cover
        sig = types.void(codes, ci, row_len, q, qi, zq, zi, d0, d1, d2, d3, m, mi, sb, acc)
        with_z = not isinstance(zq, types.NoneType)
        with_m = not isinstance(m, types.NoneType)

        def codegen(context, builder, signature, args):
            (codes_v, ci_v, row_v, q_v, qi_v, zq_v, zi_v, d0_v, d1_v, d2_v, d3_v, m_v, mi_v, sb_v,
             acc_v) = args
            i8, i16, i32, f32 = ir.IntType(8), ir.IntType(16), ir.IntType(32), ir.FloatType()
            i64 = ir.IntType(64)
            v32i8, v16i16 = ir.VectorType(i8, 32), ir.VectorType(i16, 16)
            v8i32, v8f32, v4f32 = ir.VectorType(i32, 8), ir.VectorType(f32, 8), ir.VectorType(f32, 4)

            def ptr(k, val, idx):
                ary = context.make_array(signature.args[k])(context, builder, val)
                return builder.gep(ary.data, [idx])

            def load(p, ty, align):
                return builder.load(builder.bitcast(p, ty.as_pointer()), align=align)

            def splat4(v):
                one = builder.insert_element(ir.Constant(v4f32, ir.Undefined), v,
                                             ir.Constant(i32, 0))
                return builder.shuffle_vector(one, ir.Constant(v4f32, ir.Undefined),
                                              ir.Constant(ir.VectorType(i32, 4), [0] * 4))

            qq = load(ptr(3, q_v, qi_v), v32i8, 1)
            z = load(ptr(5, zq_v, zi_v), v8i32, 4) if with_z else None
            fma = _intrinsic_fn(builder.module, "llvm.fma.v8f32",
                                ir.FunctionType(v8f32, [v8f32] * 3))
            for j, dd_v in enumerate((d0_v, d1_v, d2_v, d3_v)):
                dd = builder.insert_element(ir.Constant(v8f32, ir.Undefined), dd_v,
                                            ir.Constant(i32, 0))
                at = builder.add(ci_v, builder.mul(row_v, ir.Constant(row_v.type, j)))
                if packed:  # low nibbles are elements 0..15, high nibbles 16..31
                    v16i8 = ir.VectorType(i8, 16)
                    raw = load(ptr(0, codes_v, at), v16i8, 1)
                    lo = builder.and_(raw, ir.Constant(v16i8, [15] * 16))
                    hi = builder.lshr(raw, ir.Constant(v16i8, [4] * 16))
                    c = builder.shuffle_vector(lo, hi, ir.Constant(ir.VectorType(i32, 32),
                                                                   list(range(32))))
                else:
                    c = load(ptr(0, codes_v, at), v32i8, 1)
                if family == "avx512":
                    dp = _intrinsic_fn(builder.module, "llvm.x86.avx512.vpdpbusd.256",
                                       ir.FunctionType(v8i32, [v8i32] * 3))
                    lanes = builder.call(dp, [ir.Constant(v8i32, None), builder.bitcast(c, v8i32),
                                              builder.bitcast(qq, v8i32)])
                else:
                    if packed:
                        u, sq = c, qq
                    else:  # s = c - 128 as int8; |s| as unsigned bytes, q with the sign of s
                        sc = builder.xor(c, ir.Constant(v32i8, [0x80] * 32))
                        sign = _intrinsic_fn(builder.module, "llvm.x86.avx2.psign.b",
                                             ir.FunctionType(v32i8, [v32i8, v32i8]))
                        # psignb(a, b): a, -a or 0 as b > 0, < 0 or 0 (wrapping: -(-128) is
                        # 0x80, read unsigned as 128); q where s is 0 is multiplied by |s| = 0
                        u = builder.call(sign, [sc, sc])
                        sq = builder.call(sign, [qq, sc])
                    mubs = _intrinsic_fn(builder.module, "llvm.x86.avx2.pmadd.ub.sw",
                                         ir.FunctionType(v16i16, [v32i8, v32i8]))
                    mwd = _intrinsic_fn(builder.module, "llvm.x86.avx2.pmadd.wd",
                                        ir.FunctionType(v8i32, [v16i16, v16i16]))
                    pairs = builder.call(mubs, [u, sq])
                    lanes = builder.call(mwd, [pairs, ir.Constant(v16i16, [1] * 16)])
                if z is not None:
                    lanes = builder.sub(lanes, z)
                pa = builder.bitcast(ptr(14, acc_v, ir.Constant(i64, 8 * j)), v8f32.as_pointer())
                acc = builder.load(pa, align=4)
                dd = builder.shuffle_vector(dd, ir.Constant(v8f32, ir.Undefined),
                                            ir.Constant(v8i32, [0] * 8))
                builder.store(builder.call(fma, [dd, builder.sitofp(lanes, v8f32), acc]), pa,
                              align=4)
            if with_m:  # summs_j = fma(m_j, s_x, summs_j), the 4 outputs side by side
                fma4 = _intrinsic_fn(builder.module, "llvm.fma.v4f32",
                                     ir.FunctionType(v4f32, [v4f32] * 3))
                ps = builder.bitcast(ptr(14, acc_v, ir.Constant(i64, 32)), v4f32.as_pointer())
                summs = builder.call(fma4, [load(ptr(11, m_v, mi_v), v4f32, 4), splat4(sb_v),
                                            builder.load(ps, align=4)])
                builder.store(summs, ps, align=4)
            return context.get_dummy_value()

        return sig, codegen

    return dot_block


def _rows_kernel(packed: bool, family: str, lane_z: bool = True, offset: bool = True):
    """ggml's dot product per (row, output) on the rows layout (module docstring): the lanes
    of each block from ``_dot_block`` of ``family`` ("avx512" or "avx2"), then the same float
    operations in the same order for both, so their results are bit-identical.

    Kernel arguments: ``x`` (M, k) float32, quantized here per block as ``quantize_act_q8``;
    ``z`` the zero point of tied codes (0 when untied: the offset term ``m * s`` is used);
    ``zl`` the multiple of each lane's activation sum taken off the lanes (``z``, or
    ``z - 128`` for avx2 8-bit codes); ``codes``, ``d``, ``m`` as ``QuantMatrix`` (rows
    padded to a multiple of 4, taken 4 at a time); ``out`` (M, rows of ``codes``).

    Compiled out when the arguments make them nothing (the same results, fewer instructions
    in the loop over blocks): ``lane_z`` False for ``zl == 0`` (Q4_1; Q8_0 on avx2), the lane
    sums' correction; ``offset`` False for ``z != 0`` (tied codes: ``m`` and ``s`` are 0),
    the offset term, whose sum stays +0.0 as the fused multiply-adds of zeros leave it.
    """
    key = f"rows_{family}_{packed}_{lane_z}_{offset}"
    if key not in _KERNELS:
        import numba

        if family not in ("avx512", "avx2"):
            raise ValueError(f"no rows kernel for family {family!r}")
        _helpers()
        step = 16 if packed else 32
        blk = f"{family}_{'packed' if packed else 'bytes'}"  # a plain constant: see _helpers

        @numba.njit(cache=True, nogil=True, boundscheck=False)
        def rows_kernel(x, z, zl, codes, d, m, out):  # pragma: no cover - compiled
            rows, k = x.shape
            n_out, row_len = codes.shape
            nb = k // 32
            acc = np.zeros(36, np.float32)  # 8 lanes for each of 4 outputs, 4 summs
            qr = np.empty(k, np.int8)
            zr = np.zeros(nb * 8, np.int32)
            dx = np.empty(nb, np.float32)
            sx = np.zeros(nb, np.float32)
            for r in range(rows):
                # quantize_row_q8_1: d = amax/127 (fp16), q = rint(x * 127/amax), s = fp16(d sum q)
                for b in range(nb):
                    amax = np.float32(0.0)
                    for i in range(b * 32, b * 32 + 32):
                        amax = max(amax, abs(x[r, i]))
                    d32 = amax / np.float32(127.0)
                    inv = np.float32(127.0) / amax if amax > 0 else np.float32(0.0)
                    qs = 0
                    for i in range(b * 32, b * 32 + 32):
                        qi = np.int32(np.rint(x[r, i] * inv))
                        qr[i] = qi
                        qs += qi
                    dx[b] = _f16(d32)
                    if offset:
                        sx[b] = _f16(d32 * np.float32(qs)) if z == 0 else np.float32(0.0)
                    if lane_z:
                        for lane in range(8):
                            ls = 0
                            for e in range(4):
                                ls += np.int32(qr[b * 32 + 4 * lane + e])
                            zr[b * 8 + lane] = zl * ls
                # Four outputs per block call (the rows are padded to a multiple of 4): each
                # keeps its own accumulators and ggml's order, so the same bits.
                for o in range(0, n_out, 4):
                    acc[:] = 0.0
                    for b in range(nb):
                        ci = o * row_len + b * 4 * step  # the 4 outputs' blocks side by side
                        mi = (o // 4 * nb + b) * 4  # and their 4 offsets
                        zq = zr if lane_z else None  # None: no correction (see _dot_block)
                        mq = m if offset else None  # None: no offset term
                        db = dx[b]
                        d0, d1, d2, d3 = d[o, b] * db, d[o + 1, b] * db, d[o + 2, b] * db, d[o + 3, b] * db
                        if blk == "avx512_packed":
                            _block_avx512_packed(codes, ci, step, qr, b * 32, zq, b * 8,
                                                 d0, d1, d2, d3, mq, mi, sx[b], acc)
                        elif blk == "avx512_bytes":
                            _block_avx512_bytes(codes, ci, step, qr, b * 32, zq, b * 8,
                                                d0, d1, d2, d3, mq, mi, sx[b], acc)
                        elif blk == "avx2_packed":
                            _block_avx2_packed(codes, ci, step, qr, b * 32, zq, b * 8,
                                               d0, d1, d2, d3, mq, mi, sx[b], acc)
                        else:
                            _block_avx2_bytes(codes, ci, step, qr, b * 32, zq, b * 8,
                                              d0, d1, d2, d3, mq, mi, sx[b], acc)
                    for i in range(4):
                        a = i * 8
                        r0 = acc[a + 4] + acc[a]
                        r1 = acc[a + 5] + acc[a + 1]
                        r2 = acc[a + 6] + acc[a + 2]
                        r3 = acc[a + 7] + acc[a + 3]
                        out[r, o + i] = ((r0 + r2) + (r1 + r3)) + acc[32 + i]

        _KERNELS[key] = rows_kernel
    return _KERNELS[key]


def _a8_kernel(small_codes: bool):
    """Compile (once, cached on disk) the W8A8/W4A8 matrix-vector kernel; numba imported lazily.

    ``small_codes``: codes of at most 4 bits, so 16 products of an int8 activation sum
    exactly in int16 (16 * 15 * 128 < 2^15) and the compiler can use 32 lanes; otherwise
    int32 partial sums.
    """
    key = f"a8_{small_codes}"
    if key not in _KERNELS:
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

        _KERNELS[key] = a8
    return _KERNELS[key]


def _ggml_kernel():
    """Compile (once, cached) the W8A8/W4A8 kernel that sums like ggml's x86 ``vec_dot``.

    Per output and block: eight int32 lanes of four consecutive products (``dpbusd``),
    ``lane = fma(d_w * d_x, float(lane_sum), lane)``, the offset term ``summs = fma(m, s,
    summs)`` (GCC contracts it), and at the end ggml's ``hsum_float_8`` of the lanes plus
    ``summs``. No fastmath: the float operations stay in this order.
    """
    if "ggml" not in _KERNELS:
        import numba

        _helpers()

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
                                lanes[lane, o] = _fma32(dd, np.float32(acc[o]), lanes[lane, o])
                        for o in range(tile):
                            summs[o] = _fma32(m[b, o0 + o], sb, summs[o])
                    for o in range(tile):
                        r0 = lanes[4, o] + lanes[0, o]
                        r1 = lanes[5, o] + lanes[1, o]
                        r2 = lanes[6, o] + lanes[2, o]
                        r3 = lanes[7, o] + lanes[3, o]
                        out[r, o0 + o] = ((r0 + r2) + (r1 + r3)) + summs[o]

        _KERNELS["ggml"] = ggml
    return _KERNELS["ggml"]


def _ggml_matmul_kernel():
    """Compile (once, cached) ``x @ w`` summed like ggml's AVX-512 f16 kernels: tinyBLAS
    (batched rows) or ``ggml_vec_dot_f16`` (``single_row``; inputs zero-padded to 64)."""
    if "ggml_mm" not in _KERNELS:
        import numba

        _helpers()

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
                                acc[a, ln] = _fma32(x[i, c0 + ln], w[c0 + ln, j], acc[a, ln])
                        for ln in range(16):
                            lanes[ln] = (acc[0, ln] + acc[2, ln]) + (acc[1, ln] + acc[3, ln])
                    else:
                        lanes[:] = 0.0
                        for c0 in range(0, k, 16):
                            for ln in range(min(16, k - c0)):
                                lanes[ln] = _fma32(x[i, c0 + ln], w[c0 + ln, j], lanes[ln])
                    h = 8
                    while h >= 1:  # _mm512_reduce_add_ps: halves added pairwise
                        for ln in range(h):
                            lanes[ln] = lanes[ln] + lanes[ln + h]
                        h //= 2
                    out[i, j] = lanes[0]

        _KERNELS["ggml_mm"] = mm
    return _KERNELS["ggml_mm"]

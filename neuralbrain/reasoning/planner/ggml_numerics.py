"""Element-wise ops computed the way llama.cpp's x86 CPU backend (ggml) rounds them.

Used by ``LlamaModel(numerics="llama.cpp")`` so that our forward pass follows llama.cpp's
float32 arithmetic, not only its formulas: a 135M model fed 8-bit activation blocks turns a
last-bit difference into a flipped rounding of some activation, and flips add up to logit
differences of ~0.1-1 over 30 blocks, enough to change near-tied greedy tokens. Each function
here was checked bit for bit against llama.cpp's intermediate tensors (llama-cpp-python
0.3.36 on an AVX-512 CPU; ``benchmarks/compare_llama_cpp.py`` measures the end result).

- ``expf``: ggml's vectorized ``ggml_v_expf`` (AVX-512 variant; after ARM's optimized-routines
  single-precision exp: ``n = round(x / ln2)``, a two-constant Cody-Waite reduction
  ``b = x - n ln2``, a degree-5 polynomial ``j ~ e^b`` and ``e^x = j * 2^n``), max error ~1.5
  ulp, so it differs in the last bit from libm/numpy on a good fraction of inputs.
- ``silu(x) = x / (1 + expf(-x))`` (``ggml_v_silu``).
- ``softmax_rows``: ``e = expf(w - max)``; the row sum adds float32 tree sums of 16-wide
  chunks in float64 (``_mm512_reduce_add_ps`` then ``ggml_float``); ``y = e * (float)(1/sum)``.
- ``rope_tables``: ``theta_i = p * theta_scale^i`` by repeated float32 multiplication with
  ``theta_scale = powf(base, -2/d)``, cos/sin from the C library's ``cosf``/``sinf`` (as ggml
  calls them; the float64 functions rounded to float32 when no C library is found).
- ``apply_rope``: the pair rotation with the fused multiply-adds GCC contracts it to:
  ``x0' = fma(x0, c, -(x1 s))``, ``x1' = fma(x0, s, x1 c)``.

A fused multiply-add ``fma(a, b, c)`` of float32 operands is emulated as ``float32(a*b + c)``
in float64: the product is exact there and the double rounding of the sum is off by one ulp
only when the float64 sum lands exactly halfway between two float32 values (rare).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache

import numpy as np

F32 = np.float32
_R = F32(float.fromhex("0x1.8p23"))  # adding it rounds to an integer (round half to even)
_INV_LN2 = F32(float.fromhex("0x1.715476p+0"))
_LN2_HI = F32(float.fromhex("0x1.62e4p-1"))
_LN2_LO = F32(float.fromhex("0x1.7f7d1cp-20"))
_P = [F32(float.fromhex(h)) for h in
      ("0x1.ffffecp-1", "0x1.fffdb6p-2", "0x1.555e66p-3", "0x1.573e2ep-5", "0x1.0e4020p-7")]


def fma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """float32 ``a * b + c`` with one rounding (emulated in float64, see the docstring)."""
    return (np.asarray(a, np.float64) * np.asarray(b, np.float64)
            + np.asarray(c, np.float64)).astype(F32)


def expf(x: np.ndarray) -> np.ndarray:
    """``e^x`` as ggml's AVX-512 ``ggml_v_expf`` rounds it (float32 in, float32 out)."""
    x = np.asarray(x, F32)
    with np.errstate(invalid="ignore", over="ignore"):
        z = fma(x, _INV_LN2, _R)
        n = (z - _R).astype(F32)
        b = fma(-n, _LN2_LO, fma(-n, _LN2_HI, x))
        u = (b * b).astype(F32)
        p0, p1, p2, p3, p4 = _P
        j = fma(fma(fma(p4, b, p3), u, fma(p2, b, p1)), u, fma(p0, b, F32(1.0)))
        finite_n = np.where(np.isfinite(n), n, 0.0)
        res = np.ldexp(j, np.clip(finite_n, -300, 300).astype(np.int32)).astype(F32)
        # |n| > 192: the result is 0 (x very negative, including -inf) or +inf
        return np.where(np.abs(n) > 192, np.where(n <= 0, F32(0.0), F32(np.inf)), res).astype(F32)


def silu(x: np.ndarray) -> np.ndarray:
    """``x / (1 + e^-x)`` as ``ggml_v_silu``."""
    x = np.asarray(x, F32)
    return (x / (F32(1.0) + expf(-x))).astype(F32)


def softmax_rows(w: np.ndarray) -> np.ndarray:
    """Row softmax of ``w`` (rows, n) float32 with ggml's rounding (masked entries -inf)."""
    w = np.asarray(w, F32)
    rows, n = w.shape
    e = expf(w - w.max(axis=1, keepdims=True))
    pad = -n % 16
    chunks = np.pad(e, ((0, 0), (0, pad))).reshape(rows, -1, 16)
    while chunks.shape[-1] > 1:  # _mm512_reduce_add_ps: halves added pairwise
        h = chunks.shape[-1] // 2
        chunks = (chunks[..., :h] + chunks[..., h:]).astype(F32)
    total = chunks[..., 0].astype(np.float64).sum(axis=1, keepdims=True)
    return (e * (1.0 / total).astype(F32)).astype(F32)


@lru_cache(maxsize=1)
def _libm() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("m")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    for fn in ("cosf", "sinf"):
        getattr(lib, fn).restype = ctypes.c_float
        getattr(lib, fn).argtypes = [ctypes.c_float]
    lib.powf.restype = ctypes.c_float
    lib.powf.argtypes = [ctypes.c_float, ctypes.c_float]
    return lib


def rope_tables(n_pos: int, head_dim: int, base: float) -> tuple[np.ndarray, np.ndarray]:
    """cos/sin (n_pos, head_dim/2) float32 of ggml's RoPE angles (see the module docstring)."""
    lib = _libm()
    expo = F32(-2.0) / F32(head_dim)
    if lib is not None:
        theta_scale = F32(lib.powf(F32(base), expo))
    else:
        theta_scale = F32(np.float64(base) ** np.float64(expo))
    half = head_dim // 2
    theta = np.empty((n_pos, half), F32)
    theta[:, 0] = np.arange(n_pos, dtype=F32)
    for i in range(1, half):  # repeated float32 products, as the per-position loop does
        theta[:, i] = (theta[:, i - 1] * theta_scale).astype(F32)
    if lib is None:
        return np.cos(theta.astype(np.float64)).astype(F32), np.sin(theta.astype(np.float64)).astype(F32)
    flat = theta.ravel().tolist()
    cos = np.array([lib.cosf(t) for t in flat], F32).reshape(theta.shape)
    sin = np.array([lib.sinf(t) for t in flat], F32).reshape(theta.shape)
    return cos, sin


def apply_rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Rotate adjacent pairs of ``x`` (T, heads, head_dim) with ggml's fused multiply-adds."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    c, s = cos[:, None, :], sin[:, None, :]
    out = np.empty_like(x)
    out[..., 0::2] = fma(x0, c, -(x1 * s).astype(F32))
    out[..., 1::2] = fma(x0, s, (x1 * c).astype(F32))
    return out

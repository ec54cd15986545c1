"""``lut``: LUT-based mixed-precision GEMM on low-bit weight codes (a LUT Tensor Core model).

After Z. Mo et al., "LUT Tensor Core: A Software-Hardware Co-Design for LUT-Based Low-Bit LLM
Inference" / "Lookup Table Enables Efficient Low-Bit LLM Inference Acceleration", ISCA 2025.

Math. A weight block of ``B`` (=32) inputs holds unsigned ``bits``-bit codes ``q`` with scale
``d`` and offset ``m``: ``w = d q + m``. Write ``q`` bit-serially, ``q = sum_b 2^b c_b`` with
``c_b in {0, 1}``, and map each bit to a sign ``s_b = 2 c_b - 1 in {-1, +1}``:

    q = sum_b 2^(b-1) s_b + (2^bits - 1) / 2

For each group of K = 4 consecutive activations ``x_0..x_3`` the table holds every signed
sum ``T(s) = sum_i s_i x_i``. Because ``T(-s) = -T(s)`` (table symmetrization) only the
2^(K-1) = 8 entries with ``s_3 = +1`` are stored; the other half is read by negating. Then

    y = sum_blocks d * sum_b 2^(b-1) sum_groups T_g(s_b,g) + (m + d (2^bits - 1)/2) * sum(x)

so the product needs, per output column, one table lookup and one add per group per bit plane
(no multiplies inside the block), and the tables are precomputed once per activation row and
shared by all output columns. With ``table_bits=8`` (the paper's table quantization) each
block's tables are rounded to int8 with one scale per (row, block), the lookups accumulate
integers and the scale is applied once per block; the deviation from the exact product is
measured by ``benchmarks/bench_planner.py`` and ``tests/hardware/test_lut.py``.

Emulation. ``place`` re-lays the codes as bit planes (weight side, done once, as the paper's
offline weight reinterpretation) holding per (group, plane, column) the 3-bit table index and
the negate flag, two columns per byte; ``mpgemm`` builds the tables (vectorized numpy) and
runs the lookups in a numba kernel. In exact mode the result equals ``x @ dequant(W)`` up
to float32 rounding. The kernel's lookups come in three families (``kernel_family()``,
``$NEURALBRAIN_KERNELS``: avx512 > avx2 > portable), bit-identical to each other and to the
Python reference ``_kernel_py``. Placed weights are shared by every placement of the same weights
(``prepared``), so a second model built on one GGUF does not re-lay them.

Cost model (per ``mpgemm`` of M rows, K inputs, N outputs, ``bits`` planes):

- lookups = M N (K/4) bits, each followed by one accumulate add of the table precision;
- precompute = M (K/4) * 13 adds (Gray-code order: 3 adds for the first entry, 3 doublings,
  one add per further entry) -- shared over all N columns;
- per (row, block, column): ``bits`` shift-adds + 2 MACs to apply d and the offset term;
- table bytes = M (K/4) * 8 entries * (4 bytes fp32 | 1 byte int8);
- weight bytes = N K bits/8 + 8 bytes of scale/offset per block, read once from DRAM.

Energies (45 nm, M. Horowitz, "Computing's energy problem", ISSCC 2014): fp32 add 0.9 pJ,
fp32 mult 3.7 pJ, int32 add 0.1 pJ, int8 add 0.03 pJ, int8 mult 0.2 pJ, DRAM ~20 pJ/bit;
areas (same source, um^2): fp32 add 4184, fp32 mult 7700, int32 add 137, int8 add 36,
int8 mult 282. A lookup is an 8:1 multiplexer over register-held entries, which neither source
prices: we ASSUME 7 MUX2 cells per entry bit (a 3-level tree), each ~2 NAND2 equivalents,
i.e. 2 fJ and 1.4 um^2 per MUX2 at 45 nm (~1 fJ, ~0.7 um^2 per NAND2): 0.45 pJ / 314 um^2
per fp32 lookup, 0.11 pJ / 78 um^2 per int8 lookup (``LUT_TABLE``, ``AREA_UM2``).
``mac_comparison`` prices the
same product on a MAC array (one multiply + one add per weight) for the energy and
compute-density ratios; the paper reports its design at 1.44x the compute density and
energy efficiency of the previous LUT-based accelerators (which we do not model).
Latency: an array of 32 lookup units at 1 GHz (an assumption), so 32 lookups per ns.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from neuralbrain.energy import PJ, Cost, EnergyTable
from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.hardware.base import Backend, as_matrix, check_operand
from neuralbrain.hardware.qmatrix import (
    QWeight,
    select_kernel_family,
    unpack_qweight,
    weight_key,
)

K_GROUP = 4
N_STORED = 1 << (K_GROUP - 1)  # 8 entries after symmetrization
TILE = 512  # at most this many output columns are accumulated at a time (sums stay in L1)


def _tile_width(n_pad: int) -> int:
    """Columns per tile: ``n_pad`` split into equal tiles of at most TILE columns, rounded up
    to 32 (576 columns are 2 x 288, not 512 + a 64-column tail that pays the per-group
    overhead for little work)."""
    per_tile = -(-n_pad // -(-n_pad // TILE))
    return -(-per_tile // 32) * 32
PRECOMPUTE_ADDS = 3 + 3 + (N_STORED - 1)  # see the module docstring
LOOKUPS_PER_S = 32e9
MAC_PER_S = 8e9

# Assumed multiplexer cell (see the module docstring): per entry bit, 7 MUX2 cells.
MUX2_PJ = 0.002
MUX2_UM2 = 1.4

LUT_TABLE = EnergyTable(
    energy_j={
        "lookup_fp32": 7 * 32 * MUX2_PJ * PJ,
        "lookup_int8": 7 * 8 * MUX2_PJ * PJ,
        "add_fp32": 0.9 * PJ,
        "mult_fp32": 3.7 * PJ,
        "add_int32": 0.1 * PJ,
        "mac_fp32": (3.7 + 0.9) * PJ,
        "mac_int8": (0.2 + 0.1) * PJ,
        "dram_read_byte": 160.0 * PJ,
    },
    latency_s={"lookup_fp32": 1 / LOOKUPS_PER_S, "lookup_int8": 1 / LOOKUPS_PER_S,
               "mac_fp32": 1 / MAC_PER_S, "mac_int8": 1 / MAC_PER_S},
    source="M. Horowitz, Computing's energy problem, ISSCC 2014 (45 nm): fp32 add 0.9 pJ, "
    "fp32 mult 3.7 pJ, int32 add 0.1 pJ, int8 mult 0.2 pJ, DRAM ~20 pJ/bit; LUT design after "
    "Mo et al., LUT Tensor Core, ISCA 2025",
    notes="lookup energy is an ASSUMPTION (8:1 mux = 7 MUX2 cells per entry bit at 0.002 pJ); "
    "latency assumes 32 lookup units and 8 MACs per ns at 1 GHz",
)

# Horowitz 2014 areas (um^2, 45 nm) for the compute-density comparison.
AREA_UM2 = {
    "add_fp32": 4184.0,
    "mult_fp32": 7700.0,
    "add_int32": 137.0,
    "add_int8": 36.0,
    "mult_int8": 282.0,
    "lookup_fp32": 7 * 32 * MUX2_UM2,
    "lookup_int8": 7 * 8 * MUX2_UM2,
}


@dataclass(frozen=True)
class LutConfig:
    """``table_bits``: 0 keeps float32 tables (exact mode); 8 quantizes tables to int8."""

    table_bits: int = 0

    def __post_init__(self) -> None:
        if self.table_bits not in (0, 8):
            raise ConfigError(
                f"LutConfig.table_bits={self.table_bits!r}: expected 0 (float tables) or 8 (int8)"
            )


@dataclass(frozen=True)
class LutWeight:
    """Weights placed on the LUT unit: bit planes of resolved table indices (see ``place``)."""

    # uint8, flat: per tile of ``tile`` columns (the last may be narrower), per (group, plane),
    # the tile's resolved 4-bit indices (low 3 bits = entry, bit 3 = negate), two per byte:
    # byte j of each 16 holds column j of its 32 (low nibble) and column j + 16 (high)
    planes: np.ndarray
    dscale: np.ndarray  # float32 (n_blocks, N_pad): the block scale d (0 in padded columns)
    moff: np.ndarray  # float32 (n_blocks, N_pad): m + d (2^bits - 1) / 2
    bits: int
    block: int
    n_in: int
    k_padded: int
    n_out: int  # true output columns (N_pad rounds them up to a multiple of 32)
    tile: int  # columns per tile of ``planes`` (``_tile_width``)


# Resolved entry of each 4-bit group index (bit i = weight i's bit): the s_3 = +1 half is
# stored (entry idx & 7); the other half reads the mirrored entry ~idx & 7 and negates (bit 3).
_RESOLVE = np.array([i & 7 if i & 8 else (~i & 7) | 8 for i in range(16)], np.uint8)


def prepare(qw: QWeight) -> LutWeight:
    """Re-lay ``qw``'s codes as bit planes of symmetric-table indices (offline, once)."""
    codes, scale, offset, bits, block = unpack_qweight(qw, group=K_GROUP)
    n_out, kp = codes.shape
    n_in = int(qw.n_in or kp)
    # The 4 codes of a group as one little-endian uint32 (byte i = code i): plane b's index
    # b_0 + 2 b_1 + 4 b_2 + 8 b_3 is ((g >> b) & 0x01010101) * 0x01020408 >> 24, because the
    # product's byte 3 collects exactly the terms b_i * 2^i and the lower bytes (sums of at
    # most 15) never carry into it.
    g = np.ascontiguousarray(codes).view("<u4")  # (N, K/4)
    n_pad = -(-n_out // 32) * 32
    full = np.zeros((kp // K_GROUP, bits, n_pad), np.uint8)
    for b in range(bits):
        idx = (((g >> np.uint32(b)) & np.uint32(0x01010101)) * np.uint32(0x01020408)) >> np.uint32(24)
        full[:, b, :n_out] = _RESOLVE[idx].T
    # Two indices per byte (half the bytes the lookups stream): per 32 columns, byte j holds
    # column j in its low nibble and column j + 16 in its high nibble, so one 16-byte load
    # gives 16 consecutive columns' indices by masking and the next 16 by shifting.
    pairs = full.reshape(kp // K_GROUP, bits, n_pad // 32, 2, 16)
    packed = (pairs[:, :, :, 0] | (pairs[:, :, :, 1] << 4)).reshape(kp // K_GROUP, bits, n_pad // 2)
    # Tile-major: the kernel runs one tile of columns through every group before the next,
    # so each tile's bytes are laid out in the order it reads them (one forward stream).
    tile = _tile_width(n_pad)
    planes = np.concatenate([packed[:, :, n0 // 2 : min(n0 + tile, n_pad) // 2].reshape(-1)
                             for n0 in range(0, n_pad, tile)])
    half = np.float32((2**bits - 1) / 2)
    dscale = np.zeros((kp // block, n_pad), np.float32)
    moff = np.zeros_like(dscale)
    dscale[:, :n_out] = scale.T
    moff[:, :n_out] = (offset + scale * half).T
    return LutWeight(
        planes=planes,
        dscale=dscale,
        moff=moff,
        bits=bits,
        block=block,
        n_in=n_in,
        k_padded=kp,
        n_out=n_out,
        tile=tile,
    )


# Prepared weights by ``weight_key``, kept while something (a placed model) holds them: a
# second model built on the same weights (the planner and the language module each build one
# from the same GGUF, with new QWeight objects) reuses the planes instead of re-laying them.
# Prepared weights are read-only by contract (no kernel or backend writes into them).
_PREPARED: weakref.WeakValueDictionary[bytes, LutWeight] = weakref.WeakValueDictionary()


def prepared(qw: QWeight) -> LutWeight:
    """``prepare(qw)``, or the LutWeight already prepared from the same weights."""
    if not isinstance(qw, QWeight):
        return prepare(qw)  # raises the ShapeError that names what was expected
    key = weight_key(qw)
    lw = _PREPARED.get(key)
    if lw is None:
        lw = _PREPARED[key] = prepare(qw)
    return lw


# Sign matrix: entry j (bit i of j set -> +x_i) with x_3 always +.
_SIGNS = np.array(
    [[1.0 if (j >> i) & 1 else -1.0 for j in range(N_STORED)] for i in range(3)] + [[1.0] * 8],
    np.float32,
)


def build_tables(x: np.ndarray, table_bits: int, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric tables ``(M, K/4, 8)`` of each row's signed group sums, and their scales.

    Exact mode returns scales of 1; int8 mode rounds each (row, block) of tables to int8 with
    ``scale = max|T| / 127`` and returns the integer-valued tables with their scales.
    """
    m, k = x.shape
    t = (x.reshape(m, k // K_GROUP, K_GROUP) @ _SIGNS).astype(np.float32)
    nb = k // block
    if table_bits == 0:
        return np.ascontiguousarray(t), np.ones((m, nb), np.float32)
    tb = t.reshape(m, nb, block // K_GROUP * N_STORED)
    amax = np.abs(tb).max(axis=2)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(tb / scale[:, :, None]), -127, 127).astype(np.float32)
    return np.ascontiguousarray(q.reshape(m, k // K_GROUP, N_STORED)), scale


# The CPU features each family's lookups need (see ``kernel_family``).
LUT_NEEDS = {"avx512": ("avx512f",), "avx2": ("avx2",), "portable": ()}


def kernel_family() -> str:
    """The family of the lookup kernel ``mpgemm`` runs now: ``avx512`` (``vpermps`` over the
    16-entry table of a plane, 16 columns per instruction), ``avx2`` (``vpermps`` on 8 lanes
    over the 8 stored entries, the mirrored half by flipping the sign bit) or ``portable``
    (indexing). All look up the same values and sum them in the same order, so their results
    are bit-identical. Chosen by ``$NEURALBRAIN_KERNELS`` (``auto``: the fastest this CPU
    runs), see ``qmatrix.select_kernel_family``."""
    return select_kernel_family(LUT_NEEDS, "the lut backend's lookups")


def _make_kernel(family: str):
    """The lookup-accumulate kernel of ``family`` as a Python function (see the module
    docstring); ``_kernel`` compiles it with numba, and ``_kernel_py`` (family "reference",
    which calls ``_lookup32_py`` directly) runs it as plain Python, the reference the compiled
    families are tested against.

    ``planes`` holds per (group, plane) the resolved indices (3-bit entry, bit 3 = negate) of
    the columns, two per byte (``LutWeight``). The shift by 2^(b-1) that the hardware applies
    to plane ``b``'s lookups is folded into a per-plane copy of the 8 stored entries (and
    their negations, the mirrored half), which is exact in floating point; these copies are
    made once per activation row for all groups (``tb``), not again for each tile of columns.
    For each group and
    column the planes' lookups are summed as ``((l0 + l1) + (l2 + l3))`` (8 planes: two such
    halves added), then accumulated, whatever instructions do the lookups.
    """

    def kernel(tables, tscale, planes, bits, tile, dscale, moff, xsum, gpb, out):  # pragma: no cover
        m_rows, n_groups = tables.shape[0], tables.shape[1]
        n_blocks, n_pad = dscale.shape
        acc = np.zeros(tile, np.float32)
        tb = np.empty(n_groups * bits * 16, np.float32)
        tbi = tb.view(np.int32)
        for m in range(m_rows):
            for g in range(n_groups):
                f = np.float32(0.5)
                for b in range(bits):
                    t0 = (g * bits + b) * 16
                    for j in range(8):
                        v = tables[m, g, j] * f
                        tb[t0 + j] = v
                        if family == "avx2" and (bits == 4 or bits == 8):
                            # the bits its permutes xor back (_vector_lookup32)
                            tbi[t0 + j + 8] = tbi[t0 + j] ^ (j << 28)
                        else:
                            tb[t0 + j + 8] = -v
                    f *= np.float32(2.0)
            for n0 in range(0, n_pad, tile):
                width = min(tile, n_pad - n0)
                stride = width // 2  # bytes per (group, plane) row of this tile
                tile_base = (n0 // 2) * n_groups * bits
                for n in range(n0, n0 + width):
                    out[m, n] = 0.0
                for blk in range(n_blocks):
                    acc[:] = 0.0
                    for gg in range(gpb):
                        g = blk * gpb + gg
                        t0 = g * bits * 16
                        base = tile_base + g * bits * stride
                        # family is a constant of this closure: numba compiles one branch only
                        for n in range(0, width, 32):
                            at = base + n // 2
                            if family == "avx512":
                                _lookup32_avx512(tb, t0, planes, at, stride, bits, acc, n)
                            elif family == "avx2":
                                _lookup32_avx2(tb, t0, planes, at, stride, bits, acc, n)
                            elif family == "portable":
                                _lookup32_portable(tb, t0, planes, at, stride, bits, acc, n)
                            else:
                                _lookup32_py(tb, t0, planes, at, stride, bits, acc, n)
                    ts = tscale[m, blk]
                    xs = xsum[m, blk]
                    for n in range(width):
                        out[m, n0 + n] += (dscale[blk, n0 + n] * (acc[n] * ts)
                                           + moff[blk, n0 + n] * xs)
        return out

    return kernel


def _lookup32_py(tb_all, t0, flat, off, stride, bits, acc, a0):  # pragma: no cover
    """Lookups of 32 columns over all planes by indexing (the order every family keeps):
    column ``c``'s index in plane ``b`` is the low (c < 16) or high nibble of byte
    ``off + b * stride + c % 16``; plane ``b``'s 16 entries are ``tb_all[t0 + 16 b:]``."""
    tb = tb_all[t0:]
    for c in range(32):
        at = off + (c & 15)
        sh = 4 * (c >> 4)
        if bits == 4:
            s = (tb[(flat[at] >> sh) & 15] + tb[16 + ((flat[at + stride] >> sh) & 15)]) + (
                tb[32 + ((flat[at + 2 * stride] >> sh) & 15)]
                + tb[48 + ((flat[at + 3 * stride] >> sh) & 15)])
        elif bits == 8:
            s = ((tb[(flat[at] >> sh) & 15] + tb[16 + ((flat[at + stride] >> sh) & 15)]) + (
                tb[32 + ((flat[at + 2 * stride] >> sh) & 15)]
                + tb[48 + ((flat[at + 3 * stride] >> sh) & 15)])) + (
                (tb[64 + ((flat[at + 4 * stride] >> sh) & 15)]
                 + tb[80 + ((flat[at + 5 * stride] >> sh) & 15)]) + (
                    tb[96 + ((flat[at + 6 * stride] >> sh) & 15)]
                    + tb[112 + ((flat[at + 7 * stride] >> sh) & 15)]))
        else:
            s = np.float32(0.0)
            for b in range(bits):
                s += tb[16 * b + ((flat[at + b * stride] >> sh) & 15)]
        acc[a0 + c] += s


_kernel_py = _make_kernel("reference")


def _vector_lookup32(family: str):
    """``_lookup32`` with vector permutes, for 4- and 8-bit codes (the widths whose sum tree
    it spells out; others fall back to indexing inside the same numba function).

    Per plane, the 16 bytes of the 32 columns are zero-extended to 32-bit lanes: the lanes
    index the low-nibble columns as they are (the permutes read only the low index bits) and
    the high-nibble columns once shifted right by 4.
    ``family`` "avx512": ``vpermps`` on 16 lanes (``llvm.x86.avx512.permvar.sf.512``, index
    bits 0..3) looks up 16 columns in the 16-entry table (bit 3 reads the negated half).
    "avx2": ``vpermd`` on 8 lanes (``llvm.x86.avx2.permd``, index bits 0..2) over the 8
    stored entries, then xor-ed with the index shifted left by 28, which puts the negate bit
    on the float's sign bit (an exact negation) and entry bits ``j`` on bits 28..30; the
    kernel stores this family's entries pre-xored with ``j << 28`` (in the mirrored half of
    the plane's table, which it does not otherwise read), so those bits cancel and no mask is
    needed. The values (and the sums, in the same tree) are bit-identical.
    """
    import numba
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

    portable = numba.njit(inline="always")(_lookup32_py)
    lanes = 16 if family == "avx512" else 8

    def make(n: int):
        @intrinsic
        def vperm(typingctx, tb, t0, flat, off, stride, acc, a0):  # pragma: no cover
            sig = types.void(tb, t0, flat, off, stride, acc, a0)

            def codegen(context, builder, signature, args):
                tb_v, t0_v, flat_v, off_v, stride_v, acc_v, a0_v = args
                i8, i32, f32 = ir.IntType(8), ir.IntType(32), ir.FloatType()
                vf, vi = ir.VectorType(f32, lanes), ir.VectorType(i32, lanes)
                vb = ir.VectorType(i8, lanes)
                tbp = context.make_array(signature.args[0])(context, builder, tb_v).data
                fp = context.make_array(signature.args[2])(context, builder, flat_v).data
                ap = context.make_array(signature.args[5])(context, builder, acc_v).data
                if family == "avx512":
                    name, vt, first = "llvm.x86.avx512.permvar.sf.512", vf, 0
                else:  # the pre-xored entries (see the docstring), as integers
                    name, vt, first = "llvm.x86.avx2.permd", vi, 8
                perm = builder.module.globals.get(name) or ir.Function(
                    builder.module, ir.FunctionType(vt, [vt, vi]), name)

                def look(b, col):
                    """Plane ``b``'s values of the ``lanes`` columns from column ``col``."""
                    at = builder.add(t0_v, ir.Constant(t0_v.type, 16 * b + first))
                    table = builder.load(builder.bitcast(builder.gep(tbp, [at]), vt.as_pointer()),
                                         align=4)
                    at = builder.add(off_v, builder.mul(stride_v, ir.Constant(stride_v.type, b)))
                    at = builder.add(at, ir.Constant(at.type, col % 16))
                    idx = builder.zext(builder.load(
                        builder.bitcast(builder.gep(fp, [at]), vb.as_pointer()), align=1), vi)
                    if col >= 16:  # the high nibbles
                        idx = builder.lshr(idx, ir.Constant(vi, [4] * lanes))
                    v = builder.call(perm, [table, idx])
                    if family == "avx512":
                        return v
                    # negate bit to the sign bit; the entry bits cancel the table's pre-xor
                    # (bits of a low-nibble index above 3 are shifted out)
                    sign = builder.shl(idx, ir.Constant(vi, [28] * lanes))
                    return builder.bitcast(builder.xor(v, sign), vf)

                def tree(lo, hi, col):  # ((l0 + l1) + (l2 + l3)) over planes lo..hi-1
                    if hi - lo == 1:
                        return look(lo, col)
                    mid = (lo + hi) // 2
                    return builder.fadd(tree(lo, mid, col), tree(mid, hi, col))

                for col in range(0, 32, lanes):
                    s = tree(0, n, col)
                    at = builder.add(a0_v, ir.Constant(a0_v.type, col))
                    dst = builder.bitcast(builder.gep(ap, [at]), vf.as_pointer())
                    builder.store(builder.fadd(builder.load(dst, align=4), s), dst, align=4)
                return context.get_dummy_value()

            return sig, codegen
        return vperm

    vperm4, vperm8 = make(4), make(8)

    @numba.njit(inline="always")
    def lookup32(tb, t0, flat, off, stride, bits, acc, a0):  # pragma: no cover - compiled
        if bits == 4:
            vperm4(tb, t0, flat, off, stride, acc, a0)
        elif bits == 8:
            vperm8(tb, t0, flat, off, stride, acc, a0)
        else:
            portable(tb, t0, flat, off, stride, bits, acc, a0)

    return lookup32


# The per-family lookups the kernels call, module globals (set by ``_kernel``) rather than
# closure variables: numba keys its disk cache on the kernel's bytecode and pickled closure
# values, which must not change from one process to the next (a numba function object does).
_lookup32_avx512: Any = None
_lookup32_avx2: Any = None
_lookup32_portable: Any = None
_KERNELS: dict[str, Any] = {}


def _kernel(family: str):
    """The compiled kernel of ``family`` (compiled once, cached on disk)."""
    global _lookup32_avx512, _lookup32_avx2, _lookup32_portable
    if family not in _KERNELS:
        import numba

        if family not in LUT_NEEDS:
            raise ValueError(f"no lut kernel for family {family!r}")
        if family == "avx512" and _lookup32_avx512 is None:
            _lookup32_avx512 = _vector_lookup32("avx512")
        elif family == "avx2" and _lookup32_avx2 is None:
            _lookup32_avx2 = _vector_lookup32("avx2")
        elif family == "portable" and _lookup32_portable is None:
            _lookup32_portable = numba.njit(inline="always")(_lookup32_py)
        _KERNELS[family] = numba.njit(cache=True, nogil=True)(_make_kernel(family))
    return _KERNELS[family]


class LutBackend(Backend):
    """LUT Tensor Core model: ``mpgemm`` by table lookups on bit planes; exact fp ``matmul``.

    ``matmul`` (activation-by-activation products such as attention scores) runs as an exact
    float32 product priced on a MAC datapath beside the LUT array.
    """

    name = "lut"
    capabilities = frozenset({"matmul", "mpgemm"})
    energy_table = LUT_TABLE
    rel_tolerance = 1e-4
    Config = LutConfig

    def __init__(self, config: Any = None, seed: int = 0) -> None:
        super().__init__(config, seed)
        if self.config.table_bits:
            # Instance-level: int8 tables deviate by ~1% of the output range (measured in tests).
            self.rel_tolerance = 0.05

    def place(self, w: Any) -> tuple[Any, Cost]:
        """A ``QWeight`` becomes bit planes; floats stay float."""
        if not isinstance(w, QWeight):
            return super().place(w)
        lw = prepared(w)
        nbytes = _weight_bytes(lw)
        return lw, self.energy_table.cost(
            latency_s=nbytes / 64e9, bytes_moved=nbytes, ops=1, dram_read_byte=nbytes
        )

    def matmul(self, x: np.ndarray, w: Any) -> tuple[np.ndarray, Cost]:
        w = as_matrix(w, "w")
        x = check_operand(x, w.shape[0])
        y = x @ w
        macs = x.size // w.shape[0] * w.size
        return y, self.energy_table.cost(
            latency_s=macs / MAC_PER_S, bytes_moved=x.nbytes + w.nbytes + y.nbytes, ops=macs,
            mac_fp32=macs,
        )

    def mpgemm(self, x: np.ndarray, qweight: Any) -> tuple[np.ndarray, Cost]:
        lw = qweight if isinstance(qweight, LutWeight) else prepared(qweight)
        x = check_operand(x, lw.n_in)
        lead = x.shape[:-1]
        x2 = np.ascontiguousarray(x.reshape(-1, lw.n_in), dtype=np.float32)
        if not np.all(np.isfinite(x2)):
            raise ShapeError("mpgemm activations contain NaN or inf: expected finite values")
        if lw.k_padded != lw.n_in:
            x2 = np.pad(x2, ((0, 0), (0, lw.k_padded - lw.n_in)))
        m = x2.shape[0]
        tables, tscale = build_tables(x2, self.config.table_bits, lw.block)
        xsum = x2.reshape(m, -1, lw.block).sum(axis=2, dtype=np.float32)
        out = np.empty((m, lw.dscale.shape[1]), np.float32)
        _kernel(kernel_family())(tables, tscale, lw.planes, lw.bits, lw.tile, lw.dscale, lw.moff,
                                 xsum, lw.block // K_GROUP, out)
        out = out[:, : lw.n_out]
        return out.reshape(*lead, lw.n_out), self._cost(m, lw, x2.nbytes + out.nbytes)

    def _cost(self, m: int, lw: LutWeight, io_bytes: int) -> Cost:
        c = lut_counts(m, lw.k_padded, lw.n_out, lw.bits, self.config.table_bits)
        t = "int8" if self.config.table_bits else "fp32"
        add = "add_int32" if self.config.table_bits else "add_fp32"
        wbytes = _weight_bytes(lw)
        e = self.energy_table
        energy = (
            c["lookups"] * e[f"lookup_{t}"]
            + (c["accumulate_adds"] + c["precompute_adds"]) * e[add]
            + c["block_adds"] * e[add]
            + c["block_macs"] * e["mac_fp32"]
            + wbytes * e["dram_read_byte"]
        )
        latency = c["lookups"] / LOOKUPS_PER_S + c["block_macs"] / MAC_PER_S
        ops = c["lookups"] + c["accumulate_adds"] + c["precompute_adds"] + c["block_adds"]
        return Cost(energy, latency, int(ops + c["block_macs"]), int(wbytes + io_bytes +
                                                                     c["table_bytes"]))


def _weight_bytes(lw: LutWeight) -> int:
    k, n = lw.k_padded, lw.n_out
    return int(n * k * lw.bits // 8 + n * (k // lw.block) * 8)


def lut_counts(m: int, k: int, n: int, bits: int, table_bits: int = 0, block: int = 32) -> dict:
    """Primitive-operation counts of one LUT mpGEMM (see the module docstring)."""
    groups = k // K_GROUP
    lookups = m * n * groups * bits
    return {
        "lookups": lookups,
        "accumulate_adds": lookups,
        "precompute_adds": m * groups * PRECOMPUTE_ADDS,
        "block_adds": m * n * (k // block) * bits,
        "block_macs": m * n * (k // block) * 2,
        "table_bytes": m * groups * N_STORED * (1 if table_bits else 4),
    }


def mac_comparison(m: int, k: int, n: int, bits: int = 4, table_bits: int = 0) -> dict:
    """Energy and compute density of a LUT mpGEMM against a MAC array doing the same product.

    The MAC array multiplies each (dequantized) weight with its activation: ``m k n`` MACs at
    the activation precision (fp32 in exact mode, int8 x int8 with int32 accumulation when the
    tables are int8). Compute density is MAC-equivalents per cycle per um^2 of datapath: a LUT
    unit (one mux + one adder) does K=4 weights of one bit plane per cycle, i.e. 4/bits
    MAC-equivalents; a MAC unit does one. Precompute adders are shared by all N columns and
    amortized. Weight/DRAM traffic is left out of both (it is the same for both designs);
    both pay the per-block scale/offset MACs.
    """
    c = lut_counts(m, k, n, bits, table_bits)
    e = LUT_TABLE
    if table_bits:
        lut_e = c["lookups"] * e["lookup_int8"] + (c["accumulate_adds"] + c["precompute_adds"]) * e[
            "add_int32"]
        mac_e = m * k * n * e["mac_int8"]
        lut_area = AREA_UM2["lookup_int8"] + AREA_UM2["add_int32"]
        mac_area = AREA_UM2["mult_int8"] + AREA_UM2["add_int32"]
    else:
        lut_e = c["lookups"] * e["lookup_fp32"] + (c["accumulate_adds"] + c["precompute_adds"]) * e[
            "add_fp32"]
        mac_e = m * k * n * e["mac_fp32"]
        lut_area = AREA_UM2["lookup_fp32"] + AREA_UM2["add_fp32"]
        mac_area = AREA_UM2["mult_fp32"] + AREA_UM2["add_fp32"]
    # Both designs apply each block's scale and offset (2 MACs per row, block and column); the
    # LUT design also shift-adds its bit planes (integer adds once the tables are int8).
    scale_e = c["block_macs"] * e["mac_fp32"]
    lut_e += scale_e + c["block_adds"] * (e["add_int32"] if table_bits else e["add_fp32"])
    mac_e += scale_e
    lut_density = (K_GROUP / bits) / lut_area
    mac_density = 1.0 / mac_area
    return {
        "lut_energy_j": lut_e,
        "mac_energy_j": mac_e,
        "energy_ratio_mac_over_lut": mac_e / lut_e,
        "lut_macs_per_cycle_per_um2": lut_density,
        "mac_macs_per_cycle_per_um2": mac_density,
        "density_ratio_lut_over_mac": lut_density / mac_density,
        "paper_density_and_energy_vs_prior_lut": 1.44,
    }

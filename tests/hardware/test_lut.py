from __future__ import annotations

import itertools

import numpy as np
import pytest

from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.hardware import make_backend
from neuralbrain.hardware.lut import (
    N_STORED,
    LutConfig,
    build_tables,
    lut_counts,
    mac_comparison,
    prepare,
)
from neuralbrain.hardware.qmatrix import QWeight, quantize_q4


def _data(k=96, n=40, m=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, k)).astype(np.float32), rng.normal(size=(k, n)).astype(np.float32)


def test_quantize_q4_error_is_within_half_a_step():
    _, w = _data()
    qw = quantize_q4(w)
    assert qw.codes.dtype == np.uint8 and qw.codes.max() <= 15 and qw.shape == w.shape
    step = qw.scale.T.repeat(32, axis=0)  # (k, n) step of each weight's block
    assert np.all(np.abs(qw.dequantize() - w) <= step / 2 + 1e-6)


def test_symmetric_table_recovers_all_sixteen_sums():
    x = np.random.default_rng(1).normal(size=(1, 4)).astype(np.float32)
    t, _ = build_tables(x, 0, 4)
    assert t.shape == (1, 1, N_STORED)
    for bits in itertools.product((0, 1), repeat=4):
        s = np.array([2 * b - 1 for b in bits], np.float32)
        idx = sum(b << i for i, b in enumerate(bits))
        stored = t[0, 0, idx & 7] if idx & 8 else -t[0, 0, (~idx) & 7]
        assert stored == pytest.approx(float(s @ x[0]), abs=1e-6)


@pytest.mark.parametrize("k", [96, 70])  # 70: padded up to a whole block
def test_exact_mode_matches_dequantized_product(k):
    x, w = _data(k=k)
    qw = quantize_q4(w)
    backend = make_backend("lut")
    y, cost = backend.mpgemm(x, qw)
    ref = x @ qw.dequantize()
    assert np.abs(y - ref).max() <= 1e-5 * np.abs(ref).max()
    assert cost.energy_j > 0 and cost.latency_s > 0
    placed, _ = backend.place(qw)
    np.testing.assert_array_equal(backend.mpgemm(x, placed)[0], y)  # same answer twice


def test_eight_bit_codes():
    x, w = _data(k=64, n=8)
    rng = np.random.default_rng(2)
    codes = rng.integers(0, 256, size=(8, 64), dtype=np.uint8)
    qw = quantize_q4(w)
    q8 = type(qw)(codes, qw.scale / 16, qw.offset, bits=8, block=32, n_in=64)
    y, _ = make_backend("lut").mpgemm(x, q8)
    ref = x @ q8.dequantize()
    assert np.abs(y - ref).max() <= 1e-5 * np.abs(ref).max()


def test_int8_tables_deviate_measurably_but_little():
    x, w = _data(k=576, n=64, m=4)
    qw = quantize_q4(w)
    ref = x @ qw.dequantize()
    y, _ = make_backend("lut", LutConfig(table_bits=8)).mpgemm(x, qw)
    rel = np.abs(y - ref).max() / np.abs(ref).max()
    assert 1e-5 < rel < 0.02


def test_cost_model_shares_tables_across_columns():
    a, b = lut_counts(1, 576, 100, 4), lut_counts(1, 576, 200, 4)
    assert b["lookups"] == 2 * a["lookups"]
    assert b["precompute_adds"] == a["precompute_adds"]  # done once per activation row
    assert lut_counts(2, 576, 100, 4)["precompute_adds"] == 2 * a["precompute_adds"]
    cmp = mac_comparison(1, 576, 1536)
    assert cmp["energy_ratio_mac_over_lut"] > 1 and cmp["density_ratio_lut_over_mac"] > 1


def test_bad_inputs_are_named():
    x, w = _data()
    backend = make_backend("lut")
    with pytest.raises(ShapeError, match=r"expected \(\.\.\., 96\)"):
        backend.mpgemm(x[:, :10], quantize_q4(w))
    with pytest.raises(ShapeError, match="expected a QWeight"):
        backend.mpgemm(x, w)
    with pytest.raises(ConfigError, match="table_bits"):
        LutConfig(table_bits=4)
    qw = quantize_q4(w)
    with pytest.raises(ShapeError, match="exceed 2 bits"):
        prepare(type(qw)(qw.codes, qw.scale, qw.offset, bits=2))


@pytest.mark.parametrize("bits", [4, 8, 3])
def test_portable_lookup_kernel_equals_the_compiled_one(monkeypatch, bits):
    """The vpermps lookups (AVX-512) and plain indexing give the same values in the same
    order; 3-bit codes take the generic path in both."""
    import numba

    from neuralbrain.hardware import lut

    rng = np.random.default_rng(bits)
    k, n = 64, 40  # 40 outputs: padded to 48 lookup columns
    qw = QWeight(rng.integers(0, 1 << bits, (n, k), dtype=np.uint8),
                 rng.random((n, 2), dtype=np.float32), rng.random((n, 2), dtype=np.float32), bits)
    x = rng.normal(size=(2, k)).astype(np.float32)
    y, _ = make_backend("lut").mpgemm(x, qw)
    monkeypatch.setattr(lut, "_lookup16", numba.njit(inline="always")(lut._lookup16_py))
    portable = numba.njit(lut._kernel_py)  # no disk cache: compiled against the patched global
    lw = prepare(qw)
    tables, tscale = build_tables(x, 0, 32)
    out = np.empty((2, lw.planes.shape[2]), np.float32)
    portable(tables, tscale, lw.planes, lw.dscale, lw.moff, x.reshape(2, -1, 32).sum(axis=2),
             8, out)
    np.testing.assert_array_equal(out[:, :n], y)
    assert np.abs(y - x @ qw.dequantize()).max() <= 1e-5 * np.abs(y).max()

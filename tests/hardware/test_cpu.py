"""The cpu backend's quantized-weight product (``mpgemm``): float and W4A8 numerics."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.hardware import make_backend
from neuralbrain.hardware.cpu import CPU_TABLE, CpuConfig
from neuralbrain.hardware.qmatrix import SMALL_M, QuantMatrix, QWeight, quantize_act_q8, quantize_q4


def _q4(seed: int = 0, k: int = 128, n: int = 300) -> tuple[np.ndarray, QWeight]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(3, k)).astype(np.float32)
    return x, quantize_q4(rng.normal(scale=0.2, size=(k, n)).astype(np.float32))


def _tied(seed: int, bits: int, k: int = 96, n: int = 40) -> QWeight:
    """A Q4_0/Q8_0-like weight: offset tied to the scale, m = -2^(bits-1) d."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 1 << bits, size=(n, k), dtype=np.uint8)
    scale = (rng.random((n, k // 32)) * 0.01 + 1e-3).astype(np.float32)
    return QWeight(codes, scale, (-float(1 << (bits - 1)) * scale).astype(np.float32), bits, 32)


def _ggml_reference(x: np.ndarray, qw: QWeight) -> np.ndarray:
    """ggml's vec_dot in integers: sum_b d_w d_x sum(c q) + m s (Q4_1 x Q8_1), or
    d_w d_x sum((c - z) q) for tied formats (Q4_0/Q8_0 x Q8_0)."""
    m_rows, k = x.shape
    nb = k // 32
    b = x.reshape(m_rows, nb, 32).astype(np.float32)
    amax = np.abs(b).max(axis=2)
    d32 = amax / np.float32(127)
    inv = np.where(amax > 0, np.float32(127) / np.where(amax > 0, amax, 1), 0).astype(np.float32)
    q = np.rint(b * inv[:, :, None]).astype(np.int64)
    d16 = d32.astype(np.float16).astype(np.float64)
    s16 = (d32 * q.sum(axis=2).astype(np.float32)).astype(np.float16).astype(np.float64)
    z = 1 << (qw.bits - 1)
    tied = np.array_equal(qw.offset, -float(z) * qw.scale)
    c = qw.codes.reshape(-1, nb, 32).astype(np.int64) - (z if tied else 0)
    isum = np.einsum("rbk,obk->rob", q, c).astype(np.float64)
    y = (d16[:, None, :] * qw.scale[None].astype(np.float64) * isum).sum(axis=2)
    if not tied:
        y += (qw.offset[None].astype(np.float64) * s16[:, None, :]).sum(axis=2)
    return y


def test_config_is_validated():
    with pytest.raises(ConfigError, match="act_bits=4"):
        CpuConfig(act_bits=4)


def test_module_actions_are_priced_as_the_arithmetic_and_memory_they_stand_for():
    """The derivations stated in CPU_TABLE's notes (what modules charged on cpu before)."""
    e, t = CPU_TABLE.energy_j, CPU_TABLE.latency_s
    assert e["mac_fp32"] == pytest.approx(4.6e-12) and e["dram_read_byte"] == pytest.approx(160e-12)
    assert e["neuron_update"] == e["mac_fp32"] and t["neuron_update"] == t["mac_fp32"]
    assert e["spike_event"] == e["weight_write"] == pytest.approx(4 * e["dram_read_byte"])
    assert e["message"] == pytest.approx(16 * e["alu_op"])
    assert e["unify"] == pytest.approx(24 * e["alu_op"])
    assert t["message"] == pytest.approx(16 * t["alu_op"])
    assert t["unify"] == pytest.approx(24 * t["alu_op"])
    assert e["time_step"] == e["block_cycle"] == t.get("block_cycle", 0.0) == 0.0


def test_quantized_weights_are_placed_only_as_qweights():
    backend = make_backend("cpu")
    with pytest.raises(ShapeError, match="2-D"):  # a look-alike is taken for a float matrix
        backend.place(type("Fake", (), {"codes": np.zeros((2, 32), np.uint8)})())


def test_float_mpgemm_is_the_dequantized_product_and_prices_float_weights():
    x, qw = _q4()
    backend = make_backend("cpu")
    placed, _ = backend.place(qw)
    assert isinstance(placed, QuantMatrix)
    y, cost = backend.mpgemm(x, placed)
    want = x @ qw.dequantize()
    assert np.abs(y - want).max() <= 1e-5 * np.abs(want).max()
    assert cost.bytes_moved >= qw.dequantize().nbytes


@pytest.mark.parametrize("rows", [1, SMALL_M + 3])
def test_w4a8_matches_ggml_integer_arithmetic(rows):
    rng = np.random.default_rng(rows)
    _, qw = _q4(seed=rows)
    x = rng.normal(size=(rows, 128)).astype(np.float32)
    x[0, :32] = 0.0  # an all-zero activation block
    backend = make_backend("cpu", CpuConfig(act_bits=8))
    y, _ = backend.mpgemm(x, backend.place(qw)[0])
    want = _ggml_reference(x, qw)
    assert np.abs(y - want).max() <= 2e-6 * np.abs(want).max()
    # and it is really 8-bit: not the float product
    exact = x @ qw.dequantize()
    assert np.abs(y - exact).max() > 1e-4 * np.abs(exact).max()


@pytest.mark.parametrize("bits", [4, 8])
def test_w4a8_tied_formats_use_signed_codes(bits):
    qw = _tied(bits, bits)
    x = np.random.default_rng(bits).normal(size=(2, 96)).astype(np.float32)
    backend = make_backend("cpu", CpuConfig(act_bits=8))
    placed, _ = backend.place(qw)
    assert placed.tied
    y, _ = backend.mpgemm(x, placed)
    want = _ggml_reference(x, qw)
    assert np.abs(y - want).max() <= 2e-6 * np.abs(want).max()
    batched, _ = backend.mpgemm(np.repeat(x, 4, axis=0), placed)  # the BLAS path
    assert np.abs(batched[::4] - y).max() <= 2e-6 * np.abs(want).max()


def test_w4a8_is_deterministic_and_cheaper_than_float_weights():
    x, qw = _q4(seed=5)
    a8 = make_backend("cpu", CpuConfig(act_bits=8))
    f32 = make_backend("cpu")
    pa, pf = a8.place(qw)[0], f32.place(qw)[0]
    y1, c8 = a8.mpgemm(x[:1], pa)
    y2, _ = a8.mpgemm(x[:1], pa)
    np.testing.assert_array_equal(y1, y2)
    _, cf = f32.mpgemm(x[:1], pf)
    assert c8.bytes_moved < cf.bytes_moved and c8.energy_j < cf.energy_j


def test_quantize_act_q8_rounds_half_to_even_and_keeps_zero_blocks():
    x = np.zeros((1, 64), np.float32)
    x[0, 0], x[0, 1], x[0, 2] = 127.0, 2.5, -0.5  # scale 1: 2.5 -> 2, -0.5 -> -0
    q, d, s = quantize_act_q8(x)
    assert q[0, :3].tolist() == [127, 2, 0]
    assert d[0].tolist() == [1.0, 0.0] and s[0].tolist() == [129.0, 0.0]
    assert not q[0, 32:].any()


def test_bad_operands_are_rejected():
    x, qw = _q4()
    backend = make_backend("cpu", CpuConfig(act_bits=8))
    placed, _ = backend.place(qw)
    with pytest.raises(ShapeError, match=r"expected \(\.\.\., 128\)"):
        backend.mpgemm(x[:, :10], placed)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ShapeError, match="NaN"):
        backend.mpgemm(bad, placed)
    odd = QWeight(qw.codes[:, :64], qw.scale[:, :4], qw.offset[:, :4], 4, 16)
    with pytest.raises(ShapeError, match="blocks of 32"):
        backend.place(odd)
    with pytest.raises(ShapeError, match="expected a QWeight"):
        backend.mpgemm(x, object())


def test_ggml_order_config_needs_8_bit_activations():
    with pytest.raises(ConfigError, match="ggml_order"):
        CpuConfig(ggml_order=True)


@pytest.mark.parametrize("rows", [1, SMALL_M + 2])
def test_ggml_order_is_the_same_w4a8_product_summed_differently(rows):
    rng = np.random.default_rng(10 + rows)
    _, qw = _q4(seed=rows)
    x = rng.normal(size=(rows, 128)).astype(np.float32)
    backend = make_backend("cpu", CpuConfig(act_bits=8, ggml_order=True))
    y, cost = backend.mpgemm(x, backend.place(qw)[0])
    want = _ggml_reference(x, qw)
    assert np.abs(y - want).max() <= 2e-6 * np.abs(want).max()
    assert cost.energy_j > 0
    head = _tied(3, 8)
    xh = rng.normal(size=(rows, 96)).astype(np.float32)
    yh, _ = backend.mpgemm(xh, backend.place(head)[0])
    assert np.abs(yh - _ggml_reference(xh, head)).max() <= 2e-6 * np.abs(yh).max()


@pytest.mark.parametrize("rows", [1, 3])
def test_ggml_order_matmul_is_the_float_product(rows):
    rng = np.random.default_rng(rows)
    x = rng.normal(size=(rows, 70)).astype(np.float32)  # not a multiple of 16 or 64
    w = rng.normal(size=(70, 9)).astype(np.float32)
    backend = make_backend("cpu", CpuConfig(act_bits=8, ggml_order=True))
    y, _ = backend.matmul(x, w)
    want = x.astype(np.float64) @ w.astype(np.float64)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(backend.matmul(x, w)[0], y)


@pytest.mark.parametrize("vnni", [True, False])
@pytest.mark.parametrize("ggml_order", [False, True])
def test_every_kernel_computes_the_ggml_product(monkeypatch, vnni, ggml_order):
    """The VNNI kernel (when the CPU has it) and the portable fallbacks agree with ggml."""
    from neuralbrain.hardware import qmatrix

    if vnni and not qmatrix.has_vnni():
        pytest.skip("this CPU has no AVX-512 VNNI")
    monkeypatch.setattr(qmatrix, "_HAS_VNNI", vnni)
    backend = make_backend("cpu", CpuConfig(act_bits=8, ggml_order=ggml_order))
    rng = np.random.default_rng(7)
    for qw in (_q4(seed=7)[1], _tied(8, 8), _tied(9, 4)):
        placed, _ = backend.place(qw)
        assert placed.layout == ("rows" if vnni else "tiles")
        x = rng.normal(size=(2, qw.codes.shape[1])).astype(np.float32)
        y, _ = backend.mpgemm(x, placed)
        want = _ggml_reference(x, qw)
        assert np.abs(y - want).max() <= 2e-6 * np.abs(want).max()

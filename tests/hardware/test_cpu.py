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


def test_costs_priced_once_per_shape_are_those_priced_anew(monkeypatch):
    """A backend prices each product shape once (``CpuBackend._priced``): the costs of
    repeated, interleaved shapes are those a fresh backend gives, also after the remembered
    shapes overflow and are forgotten; activations whose sum overflows are still finite."""
    from neuralbrain.hardware import cpu

    monkeypatch.setattr(cpu, "COST_CACHE", 3)
    rng = np.random.default_rng(4)
    _, qw = _q4(seed=4)
    for cfg in (None, CpuConfig(act_bits=8)):
        backend = make_backend("cpu", cfg)
        placed, _ = backend.place(qw)
        for rows, n in ((1, 5), (2, 7), (1, 5), (SMALL_M + 1, 3), (2, 7), (1, 9), (1, 5)):
            x = rng.normal(size=(rows, 128)).astype(np.float32)
            w = rng.normal(size=(128, n)).astype(np.float32)
            fresh = make_backend("cpu", cfg)
            assert backend.mpgemm(x, placed)[1] == fresh.mpgemm(x, fresh.place(qw)[0])[1]
            assert backend.matmul(x, w)[1] == fresh.matmul(x, w)[1]
        assert len(backend._costs) <= 3
        big = np.zeros((1, 128), np.float32)
        big[0, :2] = 3e38  # finite, but their float32 sum is inf
        assert np.isinf(big.sum())
        assert backend.mpgemm(big, placed)[0].shape == (1, 300)  # taken, not refused
        for bad in (np.inf, -np.inf, np.nan):
            x = big.copy()
            x[0, 5] = bad
            with pytest.raises(ShapeError, match="NaN or inf"):
                backend.mpgemm(x, placed)


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


def _w4a8_families() -> list[str]:
    from neuralbrain.hardware.qmatrix import W4A8_NEEDS, usable_kernel_families

    return usable_kernel_families(W4A8_NEEDS)


@pytest.mark.parametrize("family", ["avx512", "avx2", "portable"])
@pytest.mark.parametrize("ggml_order", [False, True])
def test_every_kernel_computes_the_ggml_product(monkeypatch, family, ggml_order):
    """Every kernel family this CPU runs (forced by NEURALBRAIN_KERNELS) agrees with ggml."""
    if family not in _w4a8_families():
        pytest.skip(f"this CPU cannot run the {family} kernels")
    monkeypatch.setenv("NEURALBRAIN_KERNELS", family)
    backend = make_backend("cpu", CpuConfig(act_bits=8, ggml_order=ggml_order))
    rng = np.random.default_rng(7)
    for qw in (_q4(seed=7)[1], _tied(8, 8), _tied(9, 4)):
        placed, _ = backend.place(qw)
        assert (placed.family, placed.layout) == (family, "tiles" if family == "portable"
                                                  else "rows")
        x = rng.normal(size=(2, qw.codes.shape[1])).astype(np.float32)
        y, _ = backend.mpgemm(x, placed)
        want = _ggml_reference(x, qw)
        assert np.abs(y - want).max() <= 2e-6 * np.abs(want).max()


def _extreme_qweights(rng, k: int, n: int) -> list[QWeight]:
    """Q4_1, Q4_0, Q8_0 and untied 8-bit weights, some rows at the code extremes (every
    int16 pair sum of vpmaddubsw at its largest) and the rest random."""
    out = []
    for bits, tied in ((4, False), (4, True), (8, True), (8, False)):
        top = (1 << bits) - 1
        codes = rng.integers(0, top + 1, size=(n, k), dtype=np.uint8)
        codes[0], codes[-1] = top, 0
        if n > 2:
            codes[1, ::2] = top
        scale = (rng.random((n, k // 32)) * 0.01 + 1e-3).astype(np.float32)
        offset = (-float(1 << (bits - 1)) * scale if tied
                  else rng.normal(size=scale.shape)).astype(np.float32)
        out.append(QWeight(codes, scale, offset, bits, 32))
    return out


@pytest.mark.parametrize("rows, k, n", [(1, 32, 1), (1, 96, 17), (3, 128, 300), (4, 64, 9)])
def test_w4a8_kernel_families_are_bit_identical(monkeypatch, rows, k, n):
    """The avx2 lanes (vpmaddubsw + vpmaddwd) are the avx512 ones (vpdpbusd): same floats
    out, bit for bit, also where the int16 pair sums are at their largest (codes at their
    maximum against activations of +-127). k is always a whole number of 32-input blocks
    (the W4A8 format), which is also the vector width."""
    rng = np.random.default_rng(rows * 1000 + k + n)
    x = rng.normal(size=(rows, k)).astype(np.float32)
    x[0, :32] = np.where(np.arange(32) % 3, 5.0, -5.0)  # quantizes to +-127 exactly
    fast = [f for f in _w4a8_families() if f != "portable"]
    if len(fast) < 2:
        pytest.skip(f"this CPU runs only {fast or 'no'} vector W4A8 kernels: nothing to compare")
    for qw in _extreme_qweights(rng, k, n):
        ys = {}
        for family in fast:
            monkeypatch.setenv("NEURALBRAIN_KERNELS", family)
            backend = make_backend("cpu", CpuConfig(act_bits=8))
            ys[family] = backend.mpgemm(x, backend.place(qw)[0])[0]
        np.testing.assert_array_equal(ys["avx2"], ys["avx512"], err_msg=f"{qw.bits} bits")
        want = _ggml_reference(x, qw)
        assert np.abs(ys["avx2"] - want).max() <= 2e-6 * np.abs(want).max()


def test_placed_matrices_are_shared_by_equal_weights(monkeypatch):
    """A second placement of the same weights (new QWeight objects) reuses the matrix of the
    same numerics and kernel family; other weights, numerics or families get their own."""
    _, qw = _q4(seed=3)
    again = QWeight(qw.codes.copy(), qw.scale.copy(), qw.offset.copy(), qw.bits, qw.block, qw.n_in)
    a8 = make_backend("cpu", CpuConfig(act_bits=8))
    first, _ = a8.place(qw)
    assert a8.place(again)[0] is first
    assert make_backend("cpu", CpuConfig(act_bits=8, ggml_order=True)).place(again)[0] is first
    assert make_backend("cpu").place(again)[0] is not first  # float only: no codes
    other = QWeight(qw.codes, qw.scale * 2, qw.offset, qw.bits, qw.block, qw.n_in)
    assert a8.place(other)[0] is not first
    monkeypatch.setenv("NEURALBRAIN_KERNELS", "portable")
    assert a8.place(again)[0].family == "portable"


def test_avx2_w4a8_compiled_for_a_cpu_without_avx512(tmp_path):
    """Compiled as on an AVX2-only CPU (numba told the host has no AVX-512), ``auto`` picks the
    avx2 kernel, and its products are bit-identical to this CPU's fastest kernel's (avx512
    here, when it has VNNI)."""
    import os
    import subprocess
    import sys

    from neuralbrain.hardware.qmatrix import features_without_avx512

    if "avx2" not in _w4a8_families():
        pytest.skip("this CPU has no AVX2 and FMA")
    rng = np.random.default_rng(12)
    x = rng.normal(size=(2, 96)).astype(np.float32)
    qws = _extreme_qweights(rng, 96, 40)
    backend = make_backend("cpu", CpuConfig(act_bits=8))
    want = [backend.mpgemm(x, backend.place(qw)[0])[0] for qw in qws]
    np.savez(tmp_path / "in.npz", x=x, bits=[qw.bits for qw in qws],
             **{f"{name}{i}": a for i, qw in enumerate(qws)
                for name, a in (("codes", qw.codes), ("scale", qw.scale), ("offset", qw.offset))})
    child = (
        "import sys, numpy as np\n"
        "from neuralbrain.hardware import make_backend, qmatrix\n"
        "from neuralbrain.hardware.cpu import CpuConfig\n"
        "from neuralbrain.hardware.qmatrix import QWeight\n"
        "d = np.load(sys.argv[1])\n"
        "print(qmatrix.kernel_family())\n"
        "b = make_backend('cpu', CpuConfig(act_bits=8))\n"
        "outs = {}\n"
        "for i, bits in enumerate(d['bits']):\n"
        "    qw = QWeight(d[f'codes{i}'], d[f'scale{i}'], d[f'offset{i}'], int(bits))\n"
        "    outs[f'y{i}'] = b.mpgemm(d['x'], b.place(qw)[0])[0]\n"
        "np.savez(sys.argv[2], **outs)\n"
    )
    env = {**os.environ, "NUMBA_CPU_FEATURES": features_without_avx512(),
           "NEURALBRAIN_KERNELS": "auto"}
    run = subprocess.run([sys.executable, "-c", child, str(tmp_path / "in.npz"),
                          str(tmp_path / "out.npz")], env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["avx2"]
    got = np.load(tmp_path / "out.npz")
    for i, (qw, y) in enumerate(zip(qws, want, strict=True)):
        np.testing.assert_array_equal(got[f"y{i}"], y, err_msg=f"{qw.bits} bits")

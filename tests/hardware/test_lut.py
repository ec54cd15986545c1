from __future__ import annotations

import itertools
import os

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


def _lut_families():
    from neuralbrain.hardware.lut import LUT_NEEDS
    from neuralbrain.hardware.qmatrix import usable_kernel_families

    return usable_kernel_families(LUT_NEEDS)


def _random_qweight(rng, bits: int, k: int, n: int) -> QWeight:
    return QWeight(rng.integers(0, 1 << bits, (n, k), dtype=np.uint8),
                   rng.random((n, k // 32), dtype=np.float32),
                   rng.normal(size=(n, k // 32)).astype(np.float32), bits)


@pytest.mark.parametrize("table_bits", [0, 8])
@pytest.mark.parametrize("bits, m, k, n", [
    (4, 1, 64, 40),  # 40 outputs: padded to 64 lookup columns
    (4, 3, 96, 17),  # fewer columns than one 32-column step
    (8, 2, 32, 33),
    (3, 1, 64, 24),  # 3-bit codes: the generic path in every family
    (4, 1, 32, 530),  # more columns than one 512-column tile
])
def test_every_kernel_family_equals_the_python_reference(table_bits, bits, m, k, n):
    """Each family this CPU runs gives bit-identical results to the plain-Python kernel
    (``_kernel_py`` with ``_lookup32_py``), exact and int8 tables alike."""
    from neuralbrain.hardware import lut

    rng = np.random.default_rng(100 * bits + k + n)
    qw = _random_qweight(rng, bits, k, n)
    lw = prepare(qw)
    x = rng.normal(size=(m, k)).astype(np.float32)
    tables, tscale = build_tables(x, table_bits, 32)
    xsum = x.reshape(m, -1, 32).sum(axis=2)
    ref = np.full((m, lw.dscale.shape[1]), np.nan, np.float32)
    lut._kernel_py(tables, tscale, lw.planes, lw.bits, lw.tile, lw.dscale, lw.moff, xsum, 8, ref)
    want = x @ qw.dequantize()  # the reference is itself right (int8 tables: ~1% off)
    assert np.abs(ref[:, :n] - want).max() <= (0.02 if table_bits else 1e-5) * np.abs(want).max()
    families = _lut_families()
    assert "portable" in families
    for family in families:
        out = np.full_like(ref, np.nan)
        lut._kernel(family)(tables, tscale, lw.planes, lw.bits, lw.tile, lw.dscale, lw.moff, xsum, 8, out)
        np.testing.assert_array_equal(out, ref, err_msg=family)


def test_backend_results_do_not_depend_on_the_forced_family(monkeypatch):
    from neuralbrain.hardware import lut

    x, w = _data(k=70, n=50)  # k padded to 96 inside the backend
    qw = quantize_q4(w)
    results = {}
    for family in _lut_families():
        monkeypatch.setenv("NEURALBRAIN_KERNELS", family)
        assert lut.kernel_family() == family
        results[family] = make_backend("lut").mpgemm(x, qw)[0]
    for family, y in results.items():
        np.testing.assert_array_equal(y, results["portable"], err_msg=family)


def test_kernel_family_env_is_checked(monkeypatch):
    from numba.core import config

    from neuralbrain.hardware import lut, qmatrix

    monkeypatch.setenv("NEURALBRAIN_KERNELS", "sse9")
    with pytest.raises(ConfigError, match="NEURALBRAIN_KERNELS='sse9': unknown kernel family"):
        lut.kernel_family()
    with pytest.raises(ConfigError, match="unknown kernel family"):
        qmatrix.kernel_family()
    monkeypatch.setenv("NEURALBRAIN_KERNELS", "auto")
    assert lut.kernel_family() == _lut_families()[0]
    # a CPU with AVX2 and FMA only (numba told to compile for it): avx512 is refused by name
    monkeypatch.setattr(config, "CPU_FEATURES", "+avx,+avx2,+fma,-avx512f")
    assert lut.kernel_family() == qmatrix.kernel_family() == "avx2"
    monkeypatch.setenv("NEURALBRAIN_KERNELS", "avx512")
    with pytest.raises(ConfigError, match="NEURALBRAIN_KERNELS=avx512: this CPU lacks avx512f"):
        lut.kernel_family()
    with pytest.raises(ConfigError, match="lacks avx512vnni, avx512vl"):
        qmatrix.kernel_family()
    monkeypatch.setattr(config, "CPU_FEATURES", "")
    monkeypatch.setenv("NEURALBRAIN_KERNELS", "auto")
    assert lut.kernel_family() == qmatrix.kernel_family() == "portable"


def test_prepared_weights_are_shared_by_equal_weights():
    """A second placement of the same weights (new QWeight objects, as a second model built
    on one GGUF makes) reuses the planes; different weights do not."""
    _, w = _data()
    backend = make_backend("lut")
    a, _ = backend.place(quantize_q4(w))
    b, _ = make_backend("lut", LutConfig(table_bits=8)).place(quantize_q4(w))
    c, _ = backend.place(quantize_q4(w + 1.0))
    assert b is a and c is not a
    assert not np.array_equal(c.planes, a.planes) or not np.array_equal(c.moff, a.moff)


def test_avx2_lookups_compiled_for_a_cpu_without_avx512(tmp_path):
    """Compiled as on an AVX2-only CPU (numba told the host has no AVX-512, so LLVM may not
    use it anywhere), ``auto`` picks the avx2 lookups and they give the reference's bits."""
    import subprocess
    import sys

    from neuralbrain.hardware import lut
    from neuralbrain.hardware.qmatrix import features_without_avx512

    if "avx2" not in _lut_families():
        pytest.skip("this CPU has no AVX2")
    rng = np.random.default_rng(11)
    cases = []
    for bits, k, n in ((4, 64, 40), (8, 32, 17)):
        qw = _random_qweight(rng, bits, k, n)
        x = rng.normal(size=(2, k)).astype(np.float32)
        lw = prepare(qw)
        tables, tscale = build_tables(x, 0, 32)
        xsum = x.reshape(2, -1, 32).sum(axis=2)
        ref = np.empty((2, lw.dscale.shape[1]), np.float32)
        lut._kernel_py(tables, tscale, lw.planes, lw.bits, lw.tile, lw.dscale, lw.moff, xsum, 8, ref)
        cases.append((qw, x, ref))
    np.savez(tmp_path / "in.npz", **{f"{name}{i}": a for i, (qw, x, ref) in enumerate(cases)
                                     for name, a in (("codes", qw.codes), ("scale", qw.scale),
                                                     ("offset", qw.offset), ("x", x))},
             bits=[c[0].bits for c in cases])
    child = (
        "import sys, numpy as np\n"
        "from neuralbrain.hardware import lut, make_backend\n"
        "from neuralbrain.hardware.qmatrix import QWeight\n"
        "d = np.load(sys.argv[1])\n"
        "print(lut.kernel_family())\n"
        "outs = {}\n"
        "for i, bits in enumerate(d['bits']):\n"
        "    qw = QWeight(d[f'codes{i}'], d[f'scale{i}'], d[f'offset{i}'], int(bits))\n"
        "    outs[f'y{i}'] = make_backend('lut').mpgemm(d[f'x{i}'], qw)[0]\n"
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
    for i, (qw, _, ref) in enumerate(cases):
        np.testing.assert_array_equal(got[f"y{i}"], ref[:, : qw.codes.shape[0]])

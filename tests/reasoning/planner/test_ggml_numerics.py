"""ggml-rounded element-wise ops: same values as the textbook formulas to a few ulp."""

from __future__ import annotations

import numpy as np

from neuralbrain.reasoning.planner import ggml_numerics as gn


def _ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return np.abs(a.view(np.int32).astype(np.int64) - b.view(np.int32).astype(np.int64))


def test_fma_rounds_once():
    a = np.float32(1 + 2**-12)
    c = np.float32(-(1 + 2**-11))
    # a*a = 1 + 2^-11 + 2^-24 exactly; unfused float32 rounds the product to 1 + 2^-11
    assert gn.fma(a, a, c) == np.float32(2.0**-24)
    assert np.float32(a * a) + c == 0.0


def test_expf_is_within_two_ulp_of_exp_and_handles_the_extremes():
    x = np.linspace(-87, 88, 200001, dtype=np.float32)
    got = gn.expf(x)
    want = np.exp(x.astype(np.float64)).astype(np.float32)
    assert _ulps(got, want).max() <= 2
    assert np.mean(got != want) > 0.01  # it is not libm's exp: some last bits differ
    edge = gn.expf(np.array([-np.inf, -200.0, 0.0, 200.0], np.float32))
    assert edge.tolist() == [0.0, 0.0, 1.0, np.inf]
    np.testing.assert_array_equal(gn.expf(x), got)  # same answer twice


def test_silu_and_softmax_match_their_formulas():
    rng = np.random.default_rng(0)
    x = rng.normal(scale=4, size=1000).astype(np.float32)
    want = (x / (1 + np.exp(-x.astype(np.float64)))).astype(np.float32)
    assert _ulps(gn.silu(x), want).max() <= 3
    w = rng.normal(scale=3, size=(5, 37)).astype(np.float32)
    w[0, 20:] = -np.inf  # masked keys
    y = gn.softmax_rows(w)
    e = np.exp(w.astype(np.float64) - w.max(axis=1, keepdims=True))
    np.testing.assert_allclose(y, e / e.sum(axis=1, keepdims=True), rtol=2e-6, atol=1e-9)
    assert not y[0, 20:].any()


def test_rope_tables_and_rotation_follow_the_llama_formula():
    cos, sin = gn.rope_tables(64, 64, 100000.0)
    theta = np.arange(64)[:, None] * 100000.0 ** (-np.arange(0, 64, 2) / 64)[None, :]
    np.testing.assert_allclose(cos, np.cos(theta), atol=2e-5)
    np.testing.assert_allclose(sin, np.sin(theta), atol=2e-5)
    x = np.random.default_rng(1).normal(size=(64, 3, 64)).astype(np.float32)
    got = gn.apply_rope(x, cos, sin)
    c, s = cos[:, None, :].astype(np.float64), sin[:, None, :].astype(np.float64)
    x0, x1 = x[..., 0::2].astype(np.float64), x[..., 1::2].astype(np.float64)
    np.testing.assert_allclose(got[..., 0::2], x0 * c - x1 * s, atol=1e-6)
    np.testing.assert_allclose(got[..., 1::2], x0 * s + x1 * c, atol=1e-6)

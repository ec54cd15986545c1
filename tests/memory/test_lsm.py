"""The LSM reservoir: weights, the LIF equation, features, determinism, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.errors import CapabilityError, ConfigError, ShapeError
from neuralbrain.hardware import make_backend
from neuralbrain.memory.lsm import (
    WEIGHT_FRACTION_BITS,
    Config,
    LiquidStateMachine,
    active_span,
    input_lengths,
    reservoir_weights,
    window_counts,
)


def _reference_lif(x, w_in, w_rec, decay, thr):
    """The op's equation written out with dense float64 products, sample by sample."""
    batch, steps, _ = x.shape
    out = np.zeros((batch, steps, w_in.shape[1]), np.uint8)
    for b in range(batch):
        v = np.zeros(w_in.shape[1])
        s = np.zeros(w_in.shape[1])
        for t in range(steps):
            v = decay * v + (x[b, t] @ w_in.astype(np.float64) + s @ w_rec.astype(np.float64))
            s = (v >= thr).astype(np.float64)
            v[s > 0] = 0.0
            out[b, t] = s
    return out


def test_cpu_lif_follows_the_equation():
    cfg = Config(n_inputs=20, n_neurons=30, weight_scale=0.6, threshold=2.0)
    w_in, w_rec = reservoir_weights(cfg, seed=4)
    x = np.random.default_rng(0).poisson(0.4, (3, 40, 20))
    got, cost = make_backend("cpu").lif_reservoir(x, w_in, w_rec, cfg.decay, cfg.threshold)
    want = _reference_lif(x, w_in, w_rec, cfg.decay, cfg.threshold)
    assert want.sum() > 50
    np.testing.assert_array_equal(got, want)
    assert cost.energy_j > 0


def test_weights_are_seeded_gaussian_on_the_dyadic_grid():
    cfg = Config(n_inputs=64, n_neurons=100, weight_scale=0.07)
    a_in, a_rec = reservoir_weights(cfg, 1)
    b_in, _ = reservoir_weights(cfg, 1)
    c_in, _ = reservoir_weights(cfg, 2)
    np.testing.assert_array_equal(a_in, b_in)
    assert not np.array_equal(a_in, c_in)
    assert a_in.std() == pytest.approx(0.07, rel=0.05)
    assert np.all(np.diag(a_rec) == 0)
    scaled = a_in.astype(np.float64) * 2.0**WEIGHT_FRACTION_BITS
    np.testing.assert_array_equal(scaled, np.round(scaled))
    sparse, _ = reservoir_weights(Config(n_inputs=64, n_neurons=100, input_density=0.25), 1)
    assert np.mean(sparse != 0) == pytest.approx(0.25, abs=0.03)


def test_module_books_costs_keeps_weights_on_reset_and_moves_backend():
    m = LiquidStateMachine(Config(n_inputs=64, n_neurons=50, weight_scale=0.5), seed=3)
    x = np.random.default_rng(1).poisson(0.3, (4, 30, 64))
    s1 = m.step({"binned": x})["spikes"]
    assert s1.shape == (4, 30, 50) and s1.sum() > 100
    booked = {(b.op, b.backend) for b in m.ledger.drain()}
    assert booked == {("place", "cpu"), ("lif_reservoir", "cpu")}
    w = m.w_in.copy()
    m.reset(99)
    np.testing.assert_array_equal(m.w_in, w)
    np.testing.assert_array_equal(m.encode(x), s1)
    with pytest.raises(CapabilityError, match="'LiquidStateMachine': backend = 'neuromorphic' "
                                              "cannot run op 'lif_reservoir'.*'rram'"):
        m.to("neuromorphic")
    m.ledger.drain()
    m.to("rram")
    s2 = m.encode(x)
    assert m.backend.name == "rram" and s2.shape == s1.shape
    assert {b.backend for b in m.ledger.drain()} == {"rram"}
    # the device's noise moves individual spikes, but each neuron keeps its firing rate
    rates1, rates2 = s1.sum(axis=(0, 1)), s2.sum(axis=(0, 1))
    assert np.corrcoef(rates1, rates2)[0, 1] > 0.8


def test_window_counts_and_lengths():
    s = np.random.default_rng(0).integers(0, 2, (3, 12, 5)).astype(np.uint8)
    np.testing.assert_array_equal(window_counts(s, 1), s.sum(1))
    two = window_counts(s, 2)
    np.testing.assert_array_equal(two[:, :5], s[:, :6].sum(1))
    np.testing.assert_array_equal(two[:, 5:], s[:, 6:].sum(1))
    by_len = window_counts(s, 2, np.array([4, 12, 12]))
    np.testing.assert_array_equal(by_len[0, :5], s[0, :2].sum(0))
    np.testing.assert_array_equal(by_len[0, 5:], s[0, 2:4].sum(0))  # after the span: dropped
    spans = window_counts(s, 2, np.array([4, 12, 12]), np.array([3, 0, 0]))
    np.testing.assert_array_equal(spans[0, :5], s[0, 3:5].sum(0))
    np.testing.assert_array_equal(spans[0, 5:], s[0, 5:7].sum(0))
    x = np.zeros((2, 10, 3))
    x[0, 6, 1] = 2
    np.testing.assert_array_equal(input_lengths(x), [7, 1])


def test_active_span_finds_the_loud_part():
    x = np.zeros((2, 100, 4))
    x[0, 10:90, 0] = 1  # quiet background
    x[0, 40:60, 1:] = 5  # the word
    starts, lengths = active_span(x, threshold=0.5, smooth_steps=1)
    assert (starts[0], lengths[0]) == (40, 20)
    starts, lengths = active_span(x, threshold=0.0)
    assert (starts[0], lengths[0]) == (10, 80) and lengths[1] == 1


def test_rram_programming_noise_is_not_correlated_with_the_weights():
    # Regression: weights and device noise once came from the same random stream, which made
    # the "noise" a copy of the weights (a gain of ~5%) and doubled the rram spike count.
    m = LiquidStateMachine(Config(n_inputs=64, n_neurons=100), seed=0).to("rram")
    err = m._w_in.weights() - m.w_in
    assert abs(err.mean()) < 0.1 * np.abs(err).mean()
    assert abs(np.corrcoef(err.ravel(), m.w_in.ravel())[0, 1]) < 0.2


def test_bad_config_and_input_are_named():
    with pytest.raises(ConfigError, match="reservoir.decay"):
        Config(decay=1.5)
    with pytest.raises(ConfigError, match="input_density"):
        Config(input_density=0.0)
    m = LiquidStateMachine(Config(n_inputs=16, n_neurons=8))
    with pytest.raises(ShapeError, match=r"expected \(batch, steps, 16\)"):
        m.encode(np.zeros((2, 10, 64)))
    with pytest.raises(ShapeError, match="n_windows"):
        window_counts(np.zeros((1, 4, 2)), 5)

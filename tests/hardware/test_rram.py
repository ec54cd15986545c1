"""The resistive-memory crossbar model: breakdown statistics, noise, drift, ADC, energy."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.hardware.rram import (
    Config,
    RramBackend,
    breakdown_conductances,
    breakdown_fraction,
)


def _rel_err(cfg: Config, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(16, 64))
    w = rng.normal(size=(64, 32))
    b = RramBackend(cfg, seed)
    y, _ = b.matmul(x, b.place(w)[0])
    want = x @ w
    return float(np.abs(y - want).max() / np.abs(want).max())


def test_breakdown_sparsity_follows_the_programming_voltage():
    rng = np.random.default_rng(0)
    for v_prog, want in ((2.7, 0.1587), (3.0, 0.5), (3.3, 0.8413)):
        cfg = Config(v_prog_v=v_prog)
        assert breakdown_fraction(cfg) == pytest.approx(want, abs=1e-3)
        g = breakdown_conductances((200, 200), cfg, rng)
        formed = np.mean(g > cfg.g_pristine_s)
        assert formed == pytest.approx(want, abs=0.01)
        assert g.min() == pytest.approx(cfg.g_pristine_s)  # pristine ~10 MOhm cells remain


def test_breakdown_weights_are_random_and_rescaled():
    w = np.ones((100, 50), np.float32) * 0.2
    b = RramBackend(Config(weights="breakdown"), seed=1)
    placed, _ = b.place(w)
    eff = placed.weights()
    assert np.sqrt(np.mean(eff**2)) == pytest.approx(0.2, rel=1e-3)
    assert abs(eff.mean()) < 0.05 and eff.std() > 0.1  # symmetric random, not the target


def test_noise_free_ideal_device_is_nearly_exact():
    cfg = Config(prog_noise=0, read_noise=0, dac_bits=16, adc_bits=16)
    assert _rel_err(cfg) < 1e-3


def test_each_non_ideality_adds_error():
    ideal = Config(prog_noise=0, read_noise=0, dac_bits=16, adc_bits=16)
    base = _rel_err(ideal)
    for change in (
        {"prog_noise": 0.05},
        {"read_noise": 0.05},
        {"adc_bits": 4},
        {"dac_bits": 3},
    ):
        noisy = Config(**{**ideal.__dict__, **change})
        assert _rel_err(noisy) > 5 * base + 1e-3, change


def test_read_noise_differs_per_access_and_drift_lowers_conductance():
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=(4, 32)), rng.normal(size=(32, 8))
    b = RramBackend(Config(read_noise=0.05), seed=0)
    placed, _ = b.place(w)
    y1, _ = b.matmul(x, placed)
    y2, _ = b.matmul(x, placed)
    assert not np.array_equal(y1, y2)
    fresh = RramBackend(Config(drift_nu=0.05, drift_nu_std=0), seed=0).place(w)[0]
    aged = RramBackend(Config(drift_nu=0.05, drift_nu_std=0, age_s=1e4), seed=0).place(w)[0]
    ratio = aged.g_pos.sum() / fresh.g_pos.sum()
    assert ratio == pytest.approx((1 + 1e4) ** -0.05, rel=1e-6)


def test_energy_scales_with_active_rows_and_adc_bits():
    rng = np.random.default_rng(3)
    w = rng.normal(size=(64, 16))
    b = RramBackend(seed=0)
    placed, place_cost = b.place(w)
    assert place_cost.energy_j == pytest.approx(64 * 16 * 20e-12)
    one = b.accumulate(np.eye(64)[:1], placed)[1]
    many = b.accumulate(np.ones((1, 64)), placed)[1]
    assert many.energy_j > one.energy_j
    hi = RramBackend(Config(adc_bits=12), seed=0)
    assert hi.matmul(np.ones((1, 64)), hi.place(w)[0])[1].energy_j > many.energy_j


def test_lif_on_rram_tracks_cpu_and_is_seeded():
    from neuralbrain.hardware import make_backend
    from neuralbrain.memory.lsm import Config as LsmConfig
    from neuralbrain.memory.lsm import reservoir_weights

    w_in, w_rec = reservoir_weights(LsmConfig(n_inputs=32, n_neurons=40, weight_scale=0.5), 0)
    x = np.random.default_rng(0).poisson(0.6, (4, 30, 32))
    cpu, _ = make_backend("cpu").lif_reservoir(x, w_in, w_rec, 0.9, 3.0)
    runs = []
    for _ in range(2):
        b = RramBackend(seed=5)
        runs.append(b.lif_reservoir(x, b.place(w_in)[0], b.place(w_rec)[0], 0.9, 3.0))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1].energy_j > 0
    rates_cpu, rates_rram = cpu.mean(axis=(0, 1)), runs[0][0].mean(axis=(0, 1))
    assert cpu.sum() > 100
    assert np.corrcoef(rates_cpu, rates_rram)[0, 1] > 0.9


def test_bad_config_and_shapes_are_named():
    with pytest.raises(ConfigError, match="g_pristine_s"):
        Config(g_pristine_s=1e-3)
    with pytest.raises(ConfigError, match="adc_bits"):
        Config(adc_bits=0)
    b = RramBackend()
    with pytest.raises(ShapeError, match=r"expected \(\.\.\., 8\)"):
        b.matmul(np.ones((2, 3)), b.place(np.ones((8, 4)))[0])

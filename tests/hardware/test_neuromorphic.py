"""The ``neuromorphic`` backend: fixed-point accumulates, event-driven energy, its config."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.energy import PJ
from neuralbrain.errors import CapabilityError, ConfigError, ShapeError
from neuralbrain.hardware import make_backend
from neuralbrain.hardware.neuromorphic import NeuromorphicConfig, quantize_symmetric


def _w(k=16, n=5, seed=0):
    return np.random.default_rng(seed).normal(size=(k, n)).astype(np.float32)


def test_quantization_error_is_bounded_by_half_a_step_per_active_input():
    w = _w()
    q = quantize_symmetric(w, 8)
    assert np.abs(q.dequantize() - w).max() <= q.scale / 2 + 1e-7
    spikes = np.zeros((1, 16), np.float32)
    spikes[0, [1, 4, 9]] = 1
    y, _ = make_backend("neuromorphic").accumulate(spikes, w)
    assert np.abs(y - spikes @ w).max() <= 3 * q.scale / 2 + 1e-6
    # fewer bits -> coarser
    coarse_backend = make_backend("neuromorphic", NeuromorphicConfig(weight_bits=3))
    coarse, _ = coarse_backend.accumulate(spikes, w)
    assert np.abs(coarse - spikes @ w).max() > np.abs(y - spikes @ w).max()


def test_energy_is_synops_times_e_ac_and_counts_events():
    backend = make_backend("neuromorphic")
    spikes = np.zeros((2, 16), np.float32)
    spikes[0, 3] = 1
    spikes[1, [2, 5]] = [1, 2]  # a count of 2 is two events
    _, cost = backend.accumulate(spikes, _w())
    assert cost.ops == 4 * 5
    assert cost.energy_j == pytest.approx(20 * 0.9 * PJ)
    _, quiet = backend.accumulate(np.zeros((2, 16), np.float32), _w())
    assert quiet.energy_j == 0.0


def test_time_steps_book_static_power_and_latency():
    cfg = NeuromorphicConfig(static_power_w=1e-3, time_step_s=2e-6)
    cost = make_backend("neuromorphic", cfg).charge("time_step", 5)
    assert cost.energy_j == pytest.approx(5 * 1e-3 * 2e-6)
    assert cost.latency_s == pytest.approx(1e-5)


def test_no_dense_matmul():
    with pytest.raises(CapabilityError, match="'neuromorphic' cannot run op 'matmul'"):
        make_backend("neuromorphic").matmul(np.ones((1, 16)), _w())


def test_bad_config_and_shapes_are_named():
    with pytest.raises(ConfigError, match="weight_bits = 1"):
        NeuromorphicConfig(weight_bits=1)
    with pytest.raises(ConfigError, match="time_step_s"):
        NeuromorphicConfig(time_step_s=0.0)
    with pytest.raises(ShapeError, match=r"expected \(\.\.\., 16\)"):
        make_backend("neuromorphic").accumulate(np.ones((1, 3)), _w())

"""The ``in_sensor`` backend: pixel limits, P2M energy, the bandwidth formula."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.energy import PJ
from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.hardware import make_backend
from neuralbrain.hardware.in_sensor import InSensorConfig, bandwidth_reduction


def _w(k=32, n=8, seed=0):
    return np.random.default_rng(seed).normal(size=(k, n)).astype(np.float32)


def test_conv_limits_raise_config_errors_naming_the_limit():
    backend = make_backend("in_sensor")
    backend.check_conv(kernel=5, in_channels=2, out_channels=16, stride=2)
    with pytest.raises(ConfigError, match="kernel = 7 .*1..5"):
        backend.check_conv(kernel=7, in_channels=2, out_channels=16, stride=2)
    with pytest.raises(ConfigError, match="out_channels = 64 .*1..32"):
        backend.check_conv(kernel=3, in_channels=2, out_channels=64, stride=2)
    with pytest.raises(ConfigError, match="do not fit the in-sensor pixel"):
        backend.place(_w(k=100))


def test_event_accumulate_prices_products_and_comparisons():
    backend = make_backend("in_sensor")
    counts = np.zeros((4, 32), np.float32)
    counts[0, 1] = 3
    y, cost = backend.accumulate(counts, _w())
    assert np.allclose(y, counts @ _w(), atol=0.05)
    cfg = InSensorConfig()
    want = 3 * 8 * cfg.e_out_sense_pj / 75 * PJ + 4 * 8 * cfg.e_spike_convert_pj * PJ
    assert cost.energy_j == pytest.approx(want)
    with pytest.raises(ShapeError, match="counts >= 0"):
        backend.accumulate(-counts, _w())


def test_spike_decision_is_a_1_bit_ramp_of_the_p2m_adc():
    assert InSensorConfig().e_spike_convert_pj == pytest.approx(41.9 * 2 / 256)


def test_frame_matmul_prices_every_output():
    backend = make_backend("in_sensor")
    _, cost = backend.matmul(np.ones((10, 32), np.float32), _w())
    assert cost.energy_j == pytest.approx(80 * (148.0 + 41.9) * PJ)


def test_noise_is_seeded():
    cfg = InSensorConfig(noise_rel=0.01)
    x = np.ones((3, 32), np.float32)
    a = make_backend("in_sensor", cfg, seed=4).matmul(x, _w())[0]
    b = make_backend("in_sensor", cfg, seed=4).matmul(x, _w())[0]
    c = make_backend("in_sensor", cfg, seed=5).matmul(x, _w())[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_bandwidth_reduction_formula():
    # 3 colour values * 4/3 Bayer * 12 bits per pixel position vs c_o / s^2 bits per position
    assert bandwidth_reduction(224, 224, stride=4, out_channels=8, time_steps=1) == pytest.approx(
        3 * (4 / 3) * 12 * 16 / 8
    )
    assert bandwidth_reduction(224, 224, 4, 8, time_steps=4) == pytest.approx(24.0)


def test_bad_config():
    with pytest.raises(ConfigError, match="max_kernel = 0"):
        InSensorConfig(max_kernel=0)
    with pytest.raises(ConfigError, match="noise_rel"):
        InSensorConfig(noise_rel=2.0)

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


def test_every_constant_cites_a_source_or_is_an_assumption_with_a_range():
    from neuralbrain.hardware.in_sensor import CONSTANTS, InSensorBackend

    assert CONSTANTS, "no constants registered"
    for name, c in CONSTANTS.items():
        assert c.source.strip(), name
        if c.assumption:
            assert c.low is not None and c.high is not None, name
            assert c.low <= c.value <= c.high, name
            assert "ASSUMPTION" in c.source, name
        else:  # a verified constant names where it was read
            assert any(w in c.source for w in ("Fig.", "abstract", "Table", "Sec")), name
    # every priced energy of the table rests on a listed constant
    cfg = InSensorConfig()
    for field in ("e_out_sense_pj", "e_out_convert_pj", "e_bit_pj", "e_pix_pj", "e_adc_pj",
                  "e_leak_pj", "p2m_adc_bits", "p2m_macs_per_output"):
        assert CONSTANTS[field].value == getattr(cfg, field), field
    assert set(InSensorBackend.energy_table.energy_j) == {
        "output_sense", "output_convert", "spike_convert", "mac_event", "link_bit",
        "conv_pixel", "conv_adc"}


def test_verified_fan_in_matches_the_pixel_limits():
    from neuralbrain.hardware.in_sensor import CONSTANTS

    c = CONSTANTS["p2m_macs_per_output"]
    assert not c.assumption and "75 pixels" in c.source
    cfg = InSensorConfig()
    assert c.value == cfg.max_kernel**2 * cfg.max_in_channels == 75


def test_constants_follow_the_config_and_bad_constants_are_refused():
    from neuralbrain.hardware.in_sensor import Constant, constants

    assert constants(InSensorConfig(e_bit_pj=10.0))["e_bit_pj"].value == 10.0
    with pytest.raises(ConfigError, match="empty source"):
        Constant("x", 1.0, "pJ", " ", False)
    with pytest.raises(ConfigError, match="x = 5.0 is an assumption: expected a sensitivity"):
        Constant("x", 5.0, "pJ", "ASSUMPTION: guess", True, 1.0, 2.0)
    with pytest.raises(ConfigError, match="expected a sensitivity range"):
        Constant("x", 5.0, "pJ", "ASSUMPTION: guess", True)


def test_leakage_is_paid_per_output_and_step():
    counts = np.zeros((4, 32), np.float32)
    base = make_backend("in_sensor").accumulate(counts, _w())[1].energy_j
    leaky = make_backend("in_sensor", InSensorConfig(e_leak_pj=0.5)).accumulate(counts, _w())[1]
    assert leaky.energy_j - base == pytest.approx(4 * 8 * 0.5 * PJ)
    with pytest.raises(ConfigError, match="e_leak_pj = -1"):
        InSensorConfig(e_leak_pj=-1.0)

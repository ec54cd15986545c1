"""The ``fpga`` backend: ap_fixed semantics on hand-checked values, overflow errors, the exp
ROM, the cost model's structure."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.hardware import make_backend
from neuralbrain.hardware.fpga import (
    Fixed,
    FixedOverflowError,
    FpgaBackend,
    FpgaConfig,
    arm_seconds,
    exp_table_error,
    integer_bits_needed,
    pipeline_depth,
    quantize,
    resources,
    svm_cycles,
)

Q84 = Fixed(8, 4, "AP_TRN", "AP_WRAP")  # lsb 1/16, range [-8, 7.9375]


def test_format_range():
    assert (Q84.frac, Q84.lsb, Q84.min, Q84.max) == (4, 1 / 16, -8.0, 7.9375)


@pytest.mark.parametrize("value, trn, rnd", [
    (1 / 32, 0.0, 1 / 16),       # half an lsb: TRN floors, RND rounds half up
    (-1 / 32, -1 / 16, 0.0),     # TRN floors towards -inf; RND: half towards +inf
    (0.1, 1 / 16, 2 / 16),       # 1.6 lsb
    (-0.1, -2 / 16, -2 / 16),    # -1.6 lsb
    (3.0, 3.0, 3.0),             # representable: unchanged
])
def test_truncation_and_rounding(value, trn, rnd):
    assert quantize(value, Q84) == trn
    assert quantize(value, Fixed(8, 4, "AP_RND", "AP_WRAP")) == rnd


def test_saturation_and_wrap():
    sat = Fixed(8, 4, "AP_TRN", "AP_SAT")
    assert quantize(10.0, sat) == 7.9375 and quantize(-10.0, sat) == -8.0
    assert quantize(8.0, Q84) == -8.0   # q = 128 wraps to -128
    assert quantize(9.0, Q84) == -7.0   # q = 144 wraps to -112
    assert quantize(-9.0, Q84) == 7.0   # q = -144 wraps to 112


def test_the_hls_guide_examples():
    """UG1399 "Quantization Modes" / "Overflow Modes" examples."""
    assert quantize(1.25, Fixed(3, 2, "AP_RND", "AP_SAT")) == 1.5
    assert quantize(-1.25, Fixed(3, 2, "AP_RND", "AP_SAT")) == -1.0
    assert quantize(19.0, Fixed(4, 4, "AP_RND", "AP_SAT")) == 7.0
    assert quantize(-19.0, Fixed(4, 4, "AP_RND", "AP_SAT")) == -8.0


def test_quantize_is_pure():
    x = np.linspace(-3, 3, 101)
    np.testing.assert_array_equal(quantize(x, Q84), quantize(x, Q84))


def test_integer_bits_needed():
    assert [integer_bits_needed(v) for v in (0.5, 1.0, 7.9, 8.0, 10.0)] == [1, 2, 4, 5, 5]


def test_weights_too_wide_for_their_format_name_operand_and_width():
    backend = FpgaBackend(FpgaConfig(weight_fmt=Q84))
    with pytest.raises(FixedOverflowError, match=r"weight: .* needs at least 5 integer bits"):
        backend.place(np.array([[10.0, 0.0], [0.0, 1.0]]))


def test_accumulator_too_narrow_names_the_accumulator():
    cfg = FpgaConfig(acc_fmt=Fixed(12, 6, "AP_RND", "AP_SAT"))
    backend = FpgaBackend(cfg)
    with pytest.raises(FixedOverflowError, match=r"accumulator: .*needs at least 10 integer bits"):
        backend.matmul(np.ones((1, 24)), np.full((24, 2), 0.5))
    sv = np.ones((3, 30))
    with pytest.raises(FixedOverflowError, match=r"accumulator \(squared distance\)"):
        backend.place_svm("rbf", sv, np.ones(3), np.zeros(1), 0.1)


def test_more_support_vectors_than_bram_is_refused():
    backend = FpgaBackend(FpgaConfig(bram18_total=1))
    with pytest.raises(ConfigError, match=r"support vectors .* device holds"):
        backend.place_svm("rbf", np.zeros((200, 30)), np.zeros(200), np.zeros(1), 0.1)


def test_svm_decision_rejects_a_feature_size_that_does_not_match():
    backend = make_backend("fpga")
    placed, _ = backend.place_svm("rbf", np.zeros((4, 5)), np.ones(4), np.zeros(1), 0.2)
    with pytest.raises(ShapeError, match=r"expected \(batch, 5\)"):
        backend.svm_decision(np.zeros((2, 6)), placed)


def test_rbf_decision_close_to_float_and_costs():
    rng = np.random.default_rng(0)
    sv, x = rng.normal(size=(20, 8)), rng.normal(size=(5, 8))
    coef, gamma = rng.normal(size=20), 0.1
    backend = make_backend("fpga")
    placed, place_cost = backend.place_svm("rbf", sv, coef, np.array([0.3]), gamma)
    assert backend.spent == place_cost
    dec, cost = backend.svm_decision(x, placed)
    d2 = ((x[:, None] - sv[None]) ** 2).sum(-1)
    want = np.exp(-gamma * d2) @ coef + 0.3
    assert np.abs(dec[:, 0] - want).max() < 0.05 * np.abs(coef).sum()
    assert cost.energy_j > 0 and cost.latency_s > 0
    assert backend.spent == place_cost + cost  # the datapath books into ``spent`` once


def test_exp_rom_error_is_small_and_shrinks_with_entries():
    fmt = Fixed(16, 2, "AP_RND", "AP_SAT")
    coarse, fine = exp_table_error(fmt, 8, 16.0), exp_table_error(fmt, 12, 16.0)
    assert 0 < fine < coarse < 0.07


def test_cost_model_structure():
    cfg = FpgaConfig()
    assert svm_cycles(cfg, 100, 30) - svm_cycles(cfg, 50, 30) == 50  # II = 1 per vector
    assert pipeline_depth(cfg, 30, "rbf") > pipeline_depth(cfg, 30, "linear")
    assert arm_seconds(cfg, 100, 30) == pytest.approx(100 * (30 * 4 + 80) / 666.667e6)
    res = resources(cfg, 100, 30)
    assert res["dsp"] >= 30 and 0 < res["resource_fraction"] <= 1
    half = resources(FpgaConfig(unroll=15), 100, 30)
    assert half["dsp"] < res["dsp"]


def test_bad_config_is_refused():
    with pytest.raises(ConfigError, match="Fixed.quant='AP_X'"):
        Fixed(8, 4, "AP_X")
    with pytest.raises(ConfigError, match="FpgaConfig.clock_hz"):
        FpgaConfig(clock_hz=-1.0)

"""The SNN math: im2col and its adjoint, LIF, shapes, and that training learns."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.sensing.snn.model import (
    SNNConfig,
    fake_quantize,
    forward,
    init_params,
    lif,
    patches,
    patches_backward,
)
from neuralbrain.sensing.snn.train import TrainConfig, fit, predict


def test_patches_backward_is_the_adjoint_of_patches():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 9, 9, 3)).astype(np.float32)
    p = patches(x, 3, 2)
    assert p.shape == (2, 16, 27)
    g = rng.normal(size=p.shape).astype(np.float32)
    lhs = float((p * g).sum())
    rhs = float((x * patches_backward(g, x.shape, 3, 2)).sum())
    assert lhs == pytest.approx(rhs, rel=1e-4)
    # row order (C, kh, kw): patch 0 column 1 is channel 0, kh 0, kw 1
    assert p[0, 0, 1] == x[0, 0, 1, 0]


def test_lif_soft_reset():
    current = np.full((1, 4, 1), 0.6, np.float32)
    spikes, _ = lif(current, beta=1.0, threshold=1.0)
    # membrane 0.6, 1.2 -> spike (0.2), 0.8, 1.4 -> spike
    np.testing.assert_array_equal(spikes[0, :, 0], [0, 1, 0, 1])


def test_quantized_weights_have_few_levels():
    w = np.random.default_rng(1).normal(size=(32, 8)).astype(np.float32)
    assert len(np.unique(fake_quantize(w, 3))) <= 7


def _toy(n=96, seed=0):
    """Two classes: events in the left half or the right half of the sensor."""
    cfg = SNNConfig(height=12, width=12, time_steps=3, conv1_kernel=3, conv1_stride=1,
                    conv1_channels=4, conv2_kernel=3, conv2_stride=2, conv2_channels=4,
                    n_classes=2)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = np.zeros((n, 3, 2, 12, 12), np.float32)
    for i in range(n):
        cols = rng.integers(0, 6, 20) + 6 * y[i]
        rows = rng.integers(0, 12, 20)
        np.add.at(x[i], (rng.integers(0, 3, 20), rng.integers(0, 2, 20), rows, cols), 1)
    return cfg, x, y


def test_training_learns_a_separable_toy_task_and_is_seeded():
    cfg, x, y = _toy()
    tcfg = TrainConfig(epochs=6, batch_size=16, lr=1e-2, shift_px=0)
    p1 = fit(x, y, cfg, tcfg, log=lambda s: None)
    p2 = fit(x, y, cfg, tcfg, log=lambda s: None)
    for k in p1:
        np.testing.assert_array_equal(p1[k], p2[k])
    cfg_t, xt, yt = _toy(seed=1)
    acc = float((predict(p1, xt, cfg_t).argmax(1) == yt).mean())
    assert acc >= 0.9


def test_shapes_and_config_errors():
    cfg = SNNConfig()
    logits, rec = forward(init_params(cfg, 0), np.zeros((2, 8, 2, 34, 34)), cfg)
    assert logits.shape == (2, 10) and rec["s1"].shape == (2, 8, 256, 16)
    with pytest.raises(ShapeError, match=r"expected \(B, \*\(8, 2, 34, 34\)\)"):
        forward(init_params(cfg, 0), np.zeros((2, 8, 2, 30, 34)), cfg)
    with pytest.raises(ConfigError, match="conv1_kernel = 40"):
        SNNConfig(conv1_kernel=40)
    with pytest.raises(ConfigError, match="beta"):
        SNNConfig(beta=1.5)

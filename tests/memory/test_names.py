"""Digit names as class anchors: renderings per digit, per-domain centring, named errors."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.errors import ConfigError
from neuralbrain.memory import names


def test_renderings_cover_every_digit_voice_rate_and_font():
    cfg = names.Config(enabled=True, voices=("en-us", "en-us+f2"), wpm=(150, 200),
                       fonts=("DejaVu Sans", "DejaVu Serif:italic"))
    waves, labels = names.spoken(np.array([8, 9]), cfg)
    assert len(waves) == 8 and labels.tolist() == [8] * 4 + [9] * 4
    assert all(w.ndim == 1 and w.size > 1000 for w in waves)
    images, labels = names.written(np.array([8, 9]), cfg)
    assert images.shape == (4, 28, 28) and labels.tolist() == [8, 8, 9, 9]
    assert not np.array_equal(images[0], images[1])  # two fonts


def test_centring_each_domain_removes_an_offset_shared_by_every_digit():
    # Two digits that differ in five features. Each domain adds its own offset to every
    # recording alike: the real sensor a strong baseline on exactly those five features, the
    # renderer a gain and a floor.
    rng = np.random.default_rng(0)
    protos = np.full((2, 50), 30.0)
    protos[1, :5] += 60.0
    baseline = np.zeros(50)
    baseline[:5] = 200.0
    real = np.concatenate([rng.poisson(p + baseline, (40, 50)) for p in protos]).astype(float)
    labels = np.repeat([0, 1], 40)
    rendered = np.concatenate([rng.poisson(2 * p + 3, (5, 50)) for p in protos]).astype(float)
    r_labels = np.repeat([0, 1], 5)
    digits, anchors = names.anchors(rendered, r_labels)
    assert digits.tolist() == [0, 1]
    np.testing.assert_allclose(np.linalg.norm(anchors, axis=1), 1.0)
    queries = names.centred(real, names.domain_mean(real))
    assert np.mean(np.argmax(queries @ anchors.T, axis=1) == labels) == 1.0
    # without the real domain's centring the offset decides, not the digit
    uncentred = names.centred(real, np.zeros(50))
    assert np.mean(np.argmax(uncentred @ anchors.T, axis=1) == labels) <= 0.6


def test_config_errors_name_the_value():
    with pytest.raises(ConfigError, match="names.voices"):
        names.Config(enabled=True, voices=())
    with pytest.raises(ConfigError, match="names.temperature = 0"):
        names.Config(temperature=0)
    names.Config(enabled=False, voices=())  # nothing to render when disabled

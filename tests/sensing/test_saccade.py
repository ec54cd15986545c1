import numpy as np
import pytest

from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.sensing.saccade import Config, Saccades, to_mnist_frame, trajectory


def _digit():
    img = np.zeros((28, 28), np.uint8)
    img[2:26, 13:15] = 255  # a long thin "1"
    return img


def test_recording_shape_and_three_saccades():
    ev = Saccades()(_digit(), seed=0)
    assert ev.size > 200
    assert ev["x"].max() < 34 and ev["y"].max() < 34 and ev["x"].min() >= 0
    assert np.all(np.diff(ev["t"]) >= 0) and ev["t"].max() <= 306_000
    assert 0.35 < ev["p"].mean() < 0.65
    # Activity concentrates in three bursts separated by the pauses between saccades.
    counts = np.bincount(ev["t"] // 10_000, minlength=31)
    cfg = Config()
    for t0, t1 in cfg.saccades_s:
        mid = int((t0 + t1) / 2 * 100)
        assert counts[mid] > 5 * max(1, counts[9], counts[21])


def test_vertical_bar_sees_no_motion_on_leg_one():
    # Leg 1 moves along y only: a vertical bar (edges along y) barely changes; leg 3 (x) does.
    ev = Saccades(Config(dvs=Config().dvs.__class__(shot_noise_rate_hz=0.0, leak_rate_hz=0.0)))(
        _digit()
    )
    leg1 = ((ev["t"] > 20_000) & (ev["t"] < 60_000)).sum()
    leg3 = ((ev["t"] > 240_000) & (ev["t"] < 280_000)).sum()
    assert leg3 > 4 * max(leg1, 1)


def test_deterministic_per_seed():
    s = Saccades()
    a, b = s(_digit(), seed=5), s(_digit(), seed=5)
    np.testing.assert_array_equal(a, b)
    c = s(_digit(), seed=6)
    assert not np.array_equal(a, c)


def test_sklearn_digit_upscaled():
    from sklearn.datasets import load_digits

    img8 = load_digits().images[3]
    frame = to_mnist_frame(img8)
    assert frame.shape == (28, 28) and frame.max() <= 1.0
    assert frame[:4].sum() == 0 and frame[:, 24:].sum() == 0  # MNIST-style padding
    ev = Saccades()(img8, seed=1)
    assert ev.size > 500


def test_trajectory_is_a_closed_triangle():
    cfg = Config()
    pos = trajectory(cfg, np.array([0.0, 0.09, 0.2, 0.306]))
    a = cfg.amplitude_px
    x0, y0 = cfg.start_xy_px
    np.testing.assert_allclose(pos, [[x0, y0], [x0, y0 + a], [x0 + a, y0], [x0, y0]], atol=1e-9)


def test_bad_config_and_image():
    with pytest.raises(ConfigError, match="saccade.amplitude_px"):
        Config(amplitude_px=9)
    with pytest.raises(ConfigError, match="saccade.saccades_s"):
        Config(saccades_s=((0.0, 0.1),))
    with pytest.raises(ShapeError, match="image shape"):
        Saccades()(np.zeros((3, 28, 28)))

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
    # Activity concentrates in three bursts separated by the pauses between saccades:
    # events per ms in the middle 10 ms of each saccade vs in each pause.
    cfg = Config()
    t_ms = ev["t"] / 1000.0

    def rate(a_s: float, b_s: float) -> float:
        return ((t_ms >= a_s * 1e3) & (t_ms < b_s * 1e3)).sum() / ((b_s - a_s) * 1e3)

    (_, e1), (s2, e2), (s3, _) = cfg.saccades_s
    pause = max(rate(e1, s2), rate(e2, s3), 0.2)
    for t0, t1 in cfg.saccades_s:
        mid = (t0 + t1) / 2
        assert rate(mid - 0.005, mid + 0.005) > 5 * pause


def test_edges_respond_to_motion_across_them():
    # Leg 1 moves mostly along y, leg 3 mostly along x: a vertical bar (edges along y) fires
    # mostly on leg 3, a horizontal bar mostly on leg 1.
    quiet = Config().dvs.__class__(shot_noise_rate_hz=0.0, leak_rate_hz=0.0)
    rec = Saccades(Config(dvs=quiet))
    vertical = _digit()
    horizontal = vertical.T.copy()

    def legs(ev):
        leg1 = ((ev["t"] > 20_000) & (ev["t"] < 75_000)).sum()
        leg3 = ((ev["t"] > 235_000) & (ev["t"] < 290_000)).sum()
        return leg1, leg3

    v1, v3 = legs(rec(vertical))
    h1, h3 = legs(rec(horizontal))
    assert v3 > 2 * v1 and h1 > 2 * h3


def test_polarity_follows_the_display():
    # Leg 1 moves the image towards +y: for dark strokes on a bright screen the leading
    # (larger y) edge darkens (OFF) and the trailing edge brightens (ON); inverted otherwise.
    img = np.zeros((28, 28), np.uint8)
    img[10:18, 8:20] = 255
    for display, sign in (("dark_on_bright", -1), ("bright_on_dark", 1)):
        ev = Saccades(Config(display=display))(img, seed=0)
        leg1 = ev[(ev["t"] > 20_000) & (ev["t"] < 75_000)]
        dy = leg1["y"][leg1["p"] == 1].mean() - leg1["y"][leg1["p"] == 0].mean()
        assert np.sign(dy) == sign and abs(dy) > 2


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
    for profile in ("sine", "sine2"):
        cfg = Config(velocity_profile=profile)
        pos = trajectory(cfg, np.array([0.0, 0.1, 0.2, 0.306]))
        a, b, c = cfg.vertices_px
        np.testing.assert_allclose(pos, [a, b, c, a], atol=1e-9)
        mid = trajectory(cfg, np.array([sum(cfg.saccades_s[0]) / 2]))[0]
        np.testing.assert_allclose(mid, (np.array(a) + b) / 2, atol=1e-9)


def test_bad_config_and_image():
    with pytest.raises(ConfigError, match="saccade.vertices_px"):
        Config(vertices_px=((0, 0), (12, 0), (0, 3)))
    with pytest.raises(ConfigError, match="saccade.velocity_profile"):
        Config(velocity_profile="linear")
    with pytest.raises(ConfigError, match="saccade.saccades_s"):
        Config(saccades_s=((0.0, 0.1),))
    with pytest.raises(ShapeError, match="image shape"):
        Saccades()(np.zeros((3, 28, 28)))

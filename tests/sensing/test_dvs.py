import numpy as np
import pytest

from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.sensing.dvs import DVS, Config, pixel_thresholds
from neuralbrain.sensing.events import EVENT_DTYPE


def _moving_bar(n=40, h=20, w=40, speed=1):
    xx = np.arange(w)
    frames = np.stack(
        [np.tile(np.where((xx - 5 - speed * k) % w < 8, 220, 30), (h, 1)) for k in range(n)]
    ).astype(np.uint8)
    return frames, np.arange(n) * 0.002


def test_moving_bar_on_leading_off_trailing():
    frames, ts = _moving_bar()
    ev = DVS(Config(threshold_sigma=0.0, leak_rate_hz=0.0, refractory_s=0.0))(frames, ts)
    assert ev.dtype == EVENT_DTYPE and ev.size > 0
    assert np.all(np.diff(ev["t"]) >= 0)
    assert ev["x"].max() < 40 and ev["y"].max() < 20 and ev["t"].max() <= 78_000
    # The bright bar moves right: ON events at its leading edge, OFF at its trailing edge.
    k = 10
    sel = (ev["t"] > ts[k] * 1e6) & (ev["t"] <= ts[k + 1] * 1e6)
    on_x = np.unique(ev["x"][sel & (ev["p"] == 1)])
    off_x = np.unique(ev["x"][sel & (ev["p"] == 0)])
    assert list(on_x) == [5 + k + 8] and list(off_x) == [5 + k]
    # Each pixel crossing: log(220/255)-log(30/255) = 1.99 -> 9 events at C = 0.2 per edge
    per_pixel = np.bincount(ev["x"][sel & (ev["p"] == 1)])[on_x[0]] / 20
    assert per_pixel == int(np.log(220 / 30) / 0.2)


def test_timestamps_interpolated_between_frames():
    # A ramp of intensity: crossings of successive thresholds spread over the interval.
    frames = np.stack([np.full((1, 1), 0.2), np.full((1, 1), 0.2 * np.exp(1.0))])
    ev = DVS(Config(threshold_sigma=0.0, leak_rate_hz=0.0, refractory_s=0.0))(
        frames, np.array([0.0, 0.01])
    )
    assert ev.size == 5 and np.all(ev["p"] == 1)
    np.testing.assert_array_equal(ev["t"], [2000, 4000, 6000, 8000, 10000])


def test_refractory_drops_fast_repeats():
    frames = np.stack([np.full((1, 1), 0.2), np.full((1, 1), 0.2 * np.exp(1.0))])
    ev = DVS(Config(threshold_sigma=0.0, leak_rate_hz=0.0, refractory_s=0.003))(
        frames, np.array([0.0, 0.01])
    )
    np.testing.assert_array_equal(ev["t"], [2000, 6000, 10000])


def test_static_scene_leak_and_shot_noise_rates():
    frames = np.full((101, 30, 30), 128, np.uint8)
    ts = np.linspace(0, 2.0, 101)
    quiet = DVS(Config(leak_rate_hz=0.0))(frames, ts)
    assert quiet.size == 0
    leak = DVS(Config(leak_rate_hz=2.0, threshold_sigma=0.0))(frames, ts)
    assert np.all(leak["p"] == 1)
    assert abs(leak.size / (900 * 2.0) - 2.0) < 0.6  # ~2 ON events / pixel / s
    noise = DVS(Config(leak_rate_hz=0.0, shot_noise_rate_hz=5.0))(frames, ts, seed=3)
    assert abs(noise.size - 5.0 * 900 * 2.0) < 5 * np.sqrt(9000)
    assert 0.4 < noise["p"].mean() < 0.6


def test_deterministic_and_seeded():
    frames, ts = _moving_bar()
    dvs = DVS(Config(shot_noise_rate_hz=10.0, threshold_sigma=0.1))
    a, b = dvs(frames, ts), dvs(frames, ts)
    np.testing.assert_array_equal(a, b)
    c = dvs(frames, ts, seed=99)
    assert a.size != c.size or not np.array_equal(a, c)
    t1, _ = pixel_thresholds(Config(seed=1, threshold_sigma=0.1), (4, 4))
    t1b, _ = pixel_thresholds(Config(seed=1, threshold_sigma=0.1), (4, 4))
    t2, _ = pixel_thresholds(Config(seed=2, threshold_sigma=0.1), (4, 4))
    np.testing.assert_array_equal(t1, t1b)
    assert not np.array_equal(t1, t2) and 0.12 < t1.mean() < 0.28


def test_rgb_and_cartpole_frames():
    gym = pytest.importorskip("gymnasium")
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env.reset(seed=0)
    frames = [env.render()]
    for _ in range(5):
        env.step(1)
        frames.append(env.render())
    env.close()
    frames = np.stack(frames)
    assert frames.ndim == 4 and frames.dtype == np.uint8
    ev = DVS()(frames, np.arange(len(frames)) / 50.0)
    assert ev.size > 100
    assert ev["x"].max() < frames.shape[2] and ev["y"].max() < frames.shape[1]


def test_bad_input():
    with pytest.raises(ShapeError, match="expected at least 2"):
        DVS()(np.zeros((1, 4, 4)), np.zeros(1))
    with pytest.raises(ShapeError, match="strictly increasing"):
        DVS()(np.zeros((3, 4, 4)), np.array([0.0, 0.1, 0.1]))
    with pytest.raises(ShapeError, match="frames shape"):
        DVS()(np.zeros((3, 4)), np.arange(3.0))
    with pytest.raises(ShapeError, match="times_s shape"):
        DVS()(np.zeros((3, 4, 4)), np.arange(4.0))
    with pytest.raises(ConfigError, match="dvs.on_threshold"):
        Config(on_threshold=0)
    with pytest.raises(ConfigError, match="dvs.refractory_s"):
        Config(refractory_s=-1)


def test_streaming_matches_the_clip():
    frames, ts = _moving_bar(n=12)
    dvs = DVS(Config(threshold_sigma=0.1, leak_rate_hz=1.0, refractory_s=0.001))
    whole = dvs(frames, ts)
    state = dvs.start(frames[0], ts[0])
    parts = []
    for k in range(1, len(frames)):
        ev, state = dvs.step(state, frames[k], ts[k])
        parts.append(ev)
    streamed = np.concatenate(parts)
    np.testing.assert_array_equal(streamed, whole)
    # the state is a value: stepping the same state twice gives the same answer
    s0 = dvs.start(frames[0], ts[0])
    a, _ = dvs.step(s0, frames[1], ts[1])
    b, _ = dvs.step(s0, frames[1], ts[1])
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ShapeError, match="expected > the previous"):
        dvs.step(state, frames[0], ts[-1])


def test_kernel_uses_the_documented_photoreceptor():
    # RGB -> luma -> lin-log, then floor(change / threshold) events: compare with the pure
    # reference functions for a bright and a dark (linear-region) pixel.
    from neuralbrain.sensing.dvs import linlog, to_luma

    cfg = Config(threshold_sigma=0.0, leak_rate_hz=0.0, refractory_s=0.0)
    rgb = np.array([[[[10, 20, 5], [200, 30, 90]]], [[[40, 90, 30], [60, 10, 20]]]], np.uint8)
    ev = DVS(cfg)(rgb, np.array([0.0, 0.01]))
    level = linlog(to_luma(rgb), cfg.linlog_cutoff)[:, 0, :]
    change = level[1] - level[0]
    expect_on = np.floor(np.maximum(change, 0) / cfg.on_threshold).astype(int)
    expect_off = np.floor(np.maximum(-change, 0) / cfg.off_threshold).astype(int)
    for x in (0, 1):
        sel = ev["x"] == x
        assert (ev["p"][sel] == 1).sum() == expect_on[x]
        assert (ev["p"][sel] == 0).sum() == expect_off[x]
    assert expect_on[0] > 0 and expect_off[1] > 0

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from neuralbrain.errors import ConfigError, DataError
from neuralbrain.sensing import saccade_calibration as sc
from neuralbrain.sensing.saccade import Config


def _images(n: int = 4) -> np.ndarray:
    """A few synthetic 28x28 digits: bars and a ring (no data needed)."""
    out = np.zeros((n, 28, 28), np.uint8)
    yy, xx = np.mgrid[:28, :28]
    for i in range(n):
        if i % 3 == 0:
            out[i, 5:23, 12 + i % 2: 15 + i % 2] = 255
        elif i % 3 == 1:
            out[i, 12:15, 6:22] = 255
        else:
            r = np.hypot(yy - 14, xx - 14)
            out[i][(r > 5) & (r < 8)] = 255
    return out


def _bad_start() -> Config:
    good = sc.hand_set_config()
    return replace(
        good,
        saccades_s=((0.015, 0.079), (0.116, 0.184), (0.232, 0.292)),
        blur_sigma_px=0.8,
        dvs=replace(good.dvs, on_threshold=0.7, off_threshold=0.3, shot_noise_rate_hz=2.0),
    )


def test_split_by_id_is_disjoint_and_covers_everything():
    rng = np.random.default_rng(0)
    ids = rng.permutation(np.arange(1, 1001))
    cal, ev = sc.split_by_id(ids)
    assert set(cal).isdisjoint(ev) and np.array_equal(np.sort(np.r_[cal, ev]), np.arange(1000))
    assert np.all(ids[cal] % 2 == 0) and np.all(ids[ev] % 2 == 1)
    assert cal.size == ev.size == 500
    # the rule depends on the id only, not on the order of the files
    cal2, _ = sc.split_by_id(ids[::-1])
    assert set(ids[::-1][cal2]) == set(ids[cal])


def test_split_and_id_bad_input():
    with pytest.raises(DataError, match="recording id 7 appears twice"):
        sc.split_by_id([3, 7, 7])
    with pytest.raises(DataError, match="recording id -1"):
        sc.split_by_id([-1, 2])
    with pytest.raises(DataError, match="1-D array of ints"):
        sc.split_by_id([1.5, 2.0])
    assert sc.recording_id(Path("Train/0\r/00384.bin")) == 384
    with pytest.raises(DataError, match="expected <integer id>.bin"):
        sc.recording_id("Train/0/abc.bin")


@pytest.mark.skipif(not os.environ.get("NEURALBRAIN_DATA"), reason="needs $NEURALBRAIN_DATA")
def test_real_halves_cover_all_1000_recordings():
    recs, labels, ids, cal, ev = sc.load_halves()
    assert len(recs) == labels.size == ids.size == 1000
    assert set(ids[cal]).isdisjoint(ids[ev])
    assert sorted(np.r_[ids[cal], ids[ev]]) == list(range(1, 1001))
    assert cal.size == ev.size == 500


def test_calibration_is_deterministic():
    imgs = _images(3)
    target = sc.Target.from_stats(sc.per_recording(sc.emulate(sc.hand_set_config(), imgs,
                                                               [0, 1, 2])))
    runs = [sc.calibrate(target, imgs, start=_bad_start(), max_evals=8) for _ in range(2)]
    assert runs[0].config == runs[1].config
    assert runs[0].distance == runs[1].distance and runs[0].history == runs[1].history
    assert runs[0].n_evals <= 8


def test_calibration_improves_on_a_bad_start():
    # Synthetic "real" half: the hand-set emulator on 4 images with other noise seeds.
    imgs = _images(4)
    truth = sc.per_recording(sc.emulate(sc.hand_set_config(), imgs, [100, 101, 102, 103]))
    target = sc.Target.from_stats(truth)
    res = sc.calibrate(target, imgs, start=_bad_start(), max_evals=60)
    assert res.start_distance > 1.0
    assert res.distance < 0.3 * res.start_distance
    assert [d for _, d in res.history] == sorted((d for _, d in res.history), reverse=True)
    # the moves went back towards the truth
    assert abs(res.config.dvs.on_threshold - 0.43) < abs(0.7 - 0.43)


def test_corner_step_inverts_the_leg_centroid_map():
    # If every centroid of leg k is (V_k + V_k+1) / 2 + const, one step lands exactly.
    cfg = sc.hand_set_config()
    true_v = np.array([[1.0, 2.0], [2.0, 6.0], [6.0, 1.5]])
    mids = (true_v + np.roll(true_v, -1, axis=0)) / 2 + 14.0
    v = np.asarray(cfg.vertices_px)
    emu_mids = (v + np.roll(v, -1, axis=0)) / 2 + 14.0
    target = sc.Target(means={"centroids": mids.ravel()}, scales={})
    emu = sc.RecordingStats(*(np.zeros(1) for _ in range(4)), np.zeros((1, sc.PROFILE_BINS)),
                            emu_mids.reshape(1, 6), np.zeros((1, 3)))
    stepped = sc.corner_step(cfg, emu, target)
    np.testing.assert_allclose(stepped.vertices_px, true_v, atol=1e-12)


def test_distance_is_zero_on_itself_and_parameter_helpers():
    st = sc.per_recording(sc.emulate(sc.hand_set_config(), _images(2), [0, 1]))
    assert sc.distance(st, sc.Target.from_stats(st)) == 0.0
    cfg = sc.hand_set_config()
    assert sc.get_param(sc.set_param(cfg, "blur_sigma_px", 0.5), "blur_sigma_px") == 0.5
    assert sc.shift_boundary(cfg, 1, 0.03) is None  # leg 1 would run into leg 2
    assert sc.shift_boundary(cfg, 0, 0.002).saccades_s[0] == (0.009, 0.087)
    with pytest.raises(ConfigError, match="saccade parameter 'dvs.seed'"):
        sc.set_param(cfg, "dvs.seed", 1)


def test_bad_calibration_input():
    target = sc.Target.from_stats(sc.per_recording(sc.emulate(sc.hand_set_config(),
                                                              _images(1), [0])))
    with pytest.raises(DataError, match=r"calibration images shape \(28, 28\)"):
        sc.calibrate(target, np.zeros((28, 28)))
    with pytest.raises(ConfigError, match="max_evals = 0"):
        sc.calibrate(target, _images(1), max_evals=0)
    with pytest.raises(ConfigError, match="calibrate fit"):
        sc.calibrate(target, _images(1), fit=("colour",))
    with pytest.raises(DataError, match="no recordings"):
        sc.per_recording([])


@pytest.mark.skipif(not os.environ.get("NEURALBRAIN_DATA"), reason="needs $NEURALBRAIN_DATA")
def test_calibration_on_a_handful_of_real_calibration_recordings():
    recs, _, _, cal, _ = sc.load_halves()
    target = sc.Target.from_stats(sc.per_recording([recs[i] for i in cal[:40]]))
    res = sc.calibrate(target, sc.calibration_images(None, 6), start=_bad_start(), max_evals=25)
    assert res.distance < 0.5 * res.start_distance


def test_corner_step_off_the_sensor_is_refused():
    cfg = sc.hand_set_config()
    target = sc.Target(means={"centroids": np.full(6, 40.0)}, scales={})
    emu = sc.RecordingStats(*(np.zeros(1) for _ in range(4)), np.zeros((1, sc.PROFILE_BINS)),
                            np.full((1, 6), 16.0), np.zeros((1, 3)))
    assert sc.corner_step(cfg, emu, target) is None

"""Data splits and augmentation helpers of the LSM tasks."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.errors import ConfigError, DataError
from neuralbrain.memory.tasks import (
    AudioData,
    VisionData,
    check_split,
    fsdd_parts,
    nmnist_files,
    nmnist_parts,
    shift_events,
    spread,
    validation_speaker,
)
from neuralbrain.sensing.events import make_events
from tests.conftest import data_root_or_skip


def test_shift_events_moves_and_drops_at_the_border():
    ev = make_events(x=[0, 10, 33], y=[5, 5, 5], t=[0, 1, 2], p=1)
    out = shift_events(ev, 1, -2)
    np.testing.assert_array_equal(out["x"], [1, 11])
    np.testing.assert_array_equal(out["y"], [3, 3])
    np.testing.assert_array_equal(shift_events(ev, 0, 0), ev)


def test_spread_covers_the_whole_range():
    np.testing.assert_array_equal(spread(100, 5), [0, 25, 50, 74, 99])
    np.testing.assert_array_equal(spread(3, 10), [0, 1, 2])


def test_bad_values_are_named():
    with pytest.raises(ConfigError, match="vision.crop"):
        VisionData(crop=40)
    with pytest.raises(ConfigError, match="span_threshold"):
        AudioData(span_threshold=1.5)
    with pytest.raises(DataError, match="split 'val'"):
        check_split("val")


def test_nmnist_validation_is_disjoint_from_test_and_deterministic():
    ids = np.random.default_rng(0).permutation(np.arange(1, 1001))  # file order is irrelevant
    part = nmnist_parts(ids, VisionData())
    assert set(part) == {"train", "validation", "test"}
    np.testing.assert_array_equal(part == "test", ids % 5 == 0)
    val = np.sort(ids[part == "validation"])
    assert np.all(val % 5 != 0) and val.size == 100  # every 8th of the 800 others, by id
    np.testing.assert_array_equal(val, np.sort(ids[ids % 5 != 0])[::8])
    np.testing.assert_array_equal(nmnist_parts(ids, VisionData()), part)  # nothing random
    # with its own Test/ folder, validation comes out of all of Train/
    own = nmnist_parts(ids, VisionData(), has_test_folder=True)
    assert "test" not in set(own) and (own == "validation").sum() == 125
    with pytest.raises(ConfigError, match="vision.validation_every = 1"):
        VisionData(validation_every=1)


def test_fsdd_validation_takes_and_speakers():
    takes = np.tile(np.arange(50), 5)
    speakers = np.repeat(["george", "jackson", "lucas", "nicolas", "yweweler"], 50)
    part, rule = fsdd_parts(takes, speakers, AudioData())
    np.testing.assert_array_equal(part == "test", takes < 5)
    np.testing.assert_array_equal(part == "validation", (takes >= 5) & (takes < 10))
    assert rule == "test: takes 0-4; validation: takes 5-9"
    part, rule = fsdd_parts(takes, speakers, AudioData(holdout_speaker="nicolas"))
    assert set(speakers[part == "test"]) == {"nicolas"}
    assert set(speakers[part == "validation"]) == {"yweweler"}  # the next by name
    assert set(speakers[part == "train"]) == {"george", "jackson", "lucas"}
    # cyclic, and never the held-out speaker; an explicit choice is honoured
    assert validation_speaker(AudioData(holdout_speaker="yweweler"), speakers) == "george"
    cfg = AudioData(holdout_speaker="george", validation_speaker="lucas")
    assert set(speakers[fsdd_parts(takes, speakers, cfg)[0] == "validation"]) == {"lucas"}
    with pytest.raises(ConfigError, match="validation_speaker = 'lucas'"):
        AudioData(holdout_speaker="lucas", validation_speaker="lucas")
    with pytest.raises(DataError, match="validation_speaker = 'carol'"):
        validation_speaker(AudioData(holdout_speaker="lucas", validation_speaker="carol"),
                           speakers)
    with pytest.raises(ConfigError, match="validation_takes = 0"):
        AudioData(validation_takes=0)
    assert check_split("validation") == "validation"


@pytest.mark.data
def test_real_nmnist_splits_partition_the_recordings():
    folder = data_root_or_skip("nmnist")
    cfg = VisionData()
    files = {s: set(nmnist_files(folder, s, cfg)[0]) for s in ("train", "validation", "test")}
    assert not files["train"] & files["validation"]
    assert not (files["train"] | files["validation"]) & files["test"]
    assert files["train"] | files["validation"] | files["test"] == set(
        nmnist_files(folder, "all", cfg)[0])
    assert 80 <= len(files["validation"]) <= 120 and len(files["test"]) >= 150


def test_audio_agc_reaches_the_cochlea():
    assert AudioData(agc_tau_s=0.05).cochlea.config.agc_tau_s == 0.05
    assert AudioData().cochlea.config.agc_tau_s == 0.0
    with pytest.raises(ConfigError, match="audio.agc_tau_s = -1"):
        AudioData(agc_tau_s=-1)

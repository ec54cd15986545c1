"""Data splits and augmentation helpers of the LSM tasks."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.errors import ConfigError, DataError
from neuralbrain.memory.tasks import AudioData, VisionData, check_split, shift_events, spread
from neuralbrain.sensing.events import make_events


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

"""EventCounts: events -> (T, 2, H, W) counts."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.sensing.events import empty_events, make_events
from neuralbrain.sensing.snn.frames import EventCounts


def _events():
    return make_events(
        x=[0, 1, 1, 33, 5], y=[0, 2, 2, 33, 5], t=[100, 200, 250, 99_000, 500_000], p=[1, 0, 0, 1, 1]
    )


def test_bins_by_time_and_polarity_and_cuts_the_window():
    counts = EventCounts(time_steps=4, window_us=100_000)(_events())
    assert counts.shape == (4, 2, 34, 34)
    assert counts[0, 1, 0, 0] == 1 and counts[0, 0, 2, 1] == 2
    assert counts[3, 1, 33, 33] == 1
    assert counts.sum() == 4  # the event at 500 ms is after the 100 ms window


def test_pure_and_whole_stream_window():
    tr = EventCounts(time_steps=5, window_us=None)
    a, b = tr(_events()), tr(_events())
    np.testing.assert_array_equal(a, b)
    assert a.sum() == 5 and a[4].sum() == 1


def test_bad_input():
    assert EventCounts()(empty_events()).sum() == 0
    bad = make_events(x=[40], y=[0], t=[0], p=[1])
    with pytest.raises(ShapeError, match="x=40"):
        EventCounts()(bad)
    with pytest.raises(ConfigError, match="time_steps"):
        EventCounts(time_steps=0)

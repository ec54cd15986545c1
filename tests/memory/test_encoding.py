"""Binning events into reservoir inputs."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.memory.encoding import BinEvents, stack_binned
from neuralbrain.sensing.events import make_events


def test_counts_land_in_the_right_channel_and_bin():
    ev = make_events(
        x=[9, 9, 0, 24, 10], y=[9, 9, 0, 24, 9], t=[0, 5999, 5999, 6000, 299_999], p=[1, 0, 1, 1, 1]
    )
    b = BinEvents(sensor=(34, 34), crop=(16, 16), n_steps=50, bin_us=6000)
    out = b(ev)
    assert out.shape == (50, 256) and out.dtype == np.uint8
    assert out[0, 0] == 2  # both polarities of pixel (9, 9) = crop corner, bin 0
    assert out[1, 15 * 16 + 15] == 1  # (24, 24) is the far crop corner, t = 6 ms -> bin 1
    assert out[49, 1] == 1
    assert out.sum() == 4  # (0, 0) is outside the centre crop
    np.testing.assert_array_equal(b(ev), out)  # pure: same answer twice


def test_audio_layout_and_late_events_dropped():
    ev = make_events(x=[0, 63, 5], y=0, t=[10, 999, 5_000_000], p=1)
    out = BinEvents(sensor=(64, 1), crop=(64, 1), n_steps=100, bin_us=1000)(ev)
    assert out.shape == (100, 64) and out[0, 0] == 1 and out[0, 63] == 1 and out.sum() == 2


def test_bad_events_and_configs_are_named():
    with pytest.raises(ShapeError, match="x=40"):
        BinEvents()(make_events(x=[40], y=[0], t=[0], p=[1]))
    with pytest.raises(ConfigError, match="crop"):
        BinEvents(crop=(40, 40))
    with pytest.raises(ShapeError, match=r"expected \(50, 256\)"):
        stack_binned([np.zeros((50, 256)), np.zeros((50, 64))])

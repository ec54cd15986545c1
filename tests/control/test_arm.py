"""The arm's named proprioception and the workspace the skills plan in."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.control.arm import Proprio, Workspace
from neuralbrain.errors import ConfigError, ShapeError


def test_proprio_names_the_vector_and_round_trips():
    arm = Proprio(np.arange(7.0), np.array([0.4, -0.1, 0.3]), suction=True, holding=False)
    v = arm.to_vector()
    assert v.dtype == np.float32 and v.shape == (Proprio.SIZE,)
    assert v[Proprio.TIP].tolist() == pytest.approx([0.4, -0.1, 0.3])
    back = Proprio.from_vector(v)
    assert back.suction and not back.holding and back.tip == pytest.approx(arm.tip)
    with pytest.raises(ShapeError, match=r"proprio of shape \(11,\): expected \(12,\)"):
        Proprio.from_vector(np.zeros(11))


def test_workspace_is_validated():
    ws = Workspace(0.06, 0.08, 0.09, 0.01, (0.38, 0.72, -0.24, 0.24), 0.74)
    assert ws.half == pytest.approx(0.03)
    with pytest.raises(ConfigError, match="tray halves"):
        Workspace(0.06, 0.1, 0.09, 0.01, (0.38, 0.72, -0.24, 0.24), 0.74)
    with pytest.raises(ConfigError, match="table_region"):
        Workspace(0.06, 0.08, 0.09, 0.01, (0.72, 0.38, -0.24, 0.24), 0.74)

"""Perception on real DigitPick scenes with the packaged weights (env + event camera + SNN)."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.config import load_experiment
from neuralbrain.sensing.perception import DEFAULT_WEIGHTS, Perception

pytest.importorskip("pybullet")


@pytest.mark.data
def test_cubes_found_read_and_located_in_two_scenes(monkeypatch):
    from tests.conftest import data_root_or_skip

    root = data_root_or_skip("mnist")
    monkeypatch.setenv("NEURALBRAIN_DATA", str(root.parent))
    import gymnasium as gym

    import envs  # noqa: F401

    assert DEFAULT_WEIGHTS.is_file()
    pcfg = load_experiment("agents/configs/insensor_nmnist.toml").modules.perception
    module = Perception(pcfg)
    env = gym.make("neuralbrain/DigitPick-v0", image_size=pcfg.sensor_width)
    seen = right = 0
    for seed in (11, 12):
        obs, info = env.reset(seed=seed)
        module.reset(seed)
        dets = module.step({"obs": obs, "info": info})["detections"]
        covered = {i for i in info["on_top_of"] if i >= 0}
        pos = np.asarray(info["cube_positions"])
        for i, digit in enumerate(info["cube_digits"]):
            if i in covered:
                continue
            seen += 1
            err, j = min((np.hypot(*(np.asarray(d[3][:2]) - pos[i, :2])), j)
                         for j, d in enumerate(dets))
            assert err < 0.03  # within the suction cup's reach of the top face
            right += dets[j][0] == digit
        assert len(dets) == len(info["cube_digits"]) - len(covered)
    assert right >= seen - 1
    assert module.ledger.total.energy_j > 0

"""Perception on real DigitPick scenes (env + event camera + SNN): cubes found and located.

The weights are a quick debug training: how well they read digits is measured by
``benchmarks/bench_perception.py``, not here."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.config import load_config
from neuralbrain.sensing.perception import Perception

pytest.importorskip("pybullet")


@pytest.mark.data
def test_cubes_found_and_located_in_two_scenes(monkeypatch, tmp_path):
    from tests.conftest import data_root_or_skip

    root = data_root_or_skip("mnist")
    monkeypatch.setenv("NEURALBRAIN_DATA", str(root.parent))
    from dataclasses import replace

    import gymnasium as gym

    import neuralbrain_envs  # noqa: F401
    from neuralbrain.sensing.snn.task import InsensorNMNIST

    debug = load_config("agents/configs/insensor_nmnist_debug.toml")
    InsensorNMNIST.train(debug, tmp_path, root.parent, False)
    pcfg = load_config("agents/configs/insensor_nmnist.toml").params.perception
    module = Perception(replace(pcfg, weights=str(tmp_path / "snn.npz")))
    env = gym.make("neuralbrain/DigitPick-v0", image_size=pcfg.sensor_width)
    seen = 0
    for seed in (11, 12):
        obs, info = env.reset(seed=seed)
        module.reset(seed)
        dets = module.step({"obs": obs, "info": info})["detections"].cubes
        covered = {i for i in info["on_top_of"] if i >= 0}
        pos = np.asarray(info["cube_positions"])
        for i in range(len(info["cube_digits"])):
            if i in covered:
                continue
            seen += 1
            err = min(np.hypot(*(np.asarray(d.world[:2]) - pos[i, :2])) for d in dets)
            assert err < 0.03  # within the suction cup's reach of the top face
        assert len(dets) == len(info["cube_digits"]) - len(covered)
    assert seen > 0
    assert module.ledger.total.energy_j > 0

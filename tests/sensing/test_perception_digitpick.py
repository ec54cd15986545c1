"""Perception on real DigitPick scenes (env + event camera + SNN): cubes found and located,
and how high each cube's top is.

The weights are a quick debug training: how well they read digits is measured by
``benchmarks/bench_perception.py``, not here."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.config import load_config
from neuralbrain.sensing.perception import Perception, surface_height

pytest.importorskip("pybullet")

CUBE_M = 0.06


def test_surface_height_is_the_top_faces_even_off_centre_and_at_the_border():
    depth = np.zeros((64, 64), np.float32)
    depth[10:40, 20:50] = 0.12  # a 30 px top face two cubes up, the table around it
    assert surface_height(depth, 35.0, 25.0, 30.0) == pytest.approx(0.12)
    # the centre 6 px off, near the face's edge: most of the window is still on the face
    assert surface_height(depth, 41.0, 31.0, 30.0) == pytest.approx(0.12)
    assert surface_height(depth, 60.0, 60.0, 30.0) == 0.0  # on the table
    depth[:20, :20] = 0.06  # a face cut by the image's corner; a centre just outside it
    assert surface_height(depth, -0.6, 3.0, 16.0) == pytest.approx(0.06)


@pytest.fixture(scope="module")
def perception(tmp_path_factory):
    """The perception module with a debug-trained SNN, and DigitPick's env id."""
    from tests.conftest import data_root_or_skip

    root = data_root_or_skip("mnist")
    from dataclasses import replace

    import neuralbrain_envs  # noqa: F401
    from neuralbrain.sensing.snn.task import InsensorNMNIST

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEURALBRAIN_DATA", str(root.parent))
        out = tmp_path_factory.mktemp("snn")
        debug = load_config("agents/configs/insensor_nmnist_debug.toml")
        InsensorNMNIST.train(debug, out, root.parent, False)
        pcfg = load_config("agents/configs/insensor_nmnist.toml").params.perception
        yield Perception(replace(pcfg, weights=str(out / "snn.npz")))


@pytest.mark.data
def test_cubes_found_and_located_in_two_scenes(perception):
    import gymnasium as gym

    module = perception
    env = gym.make("neuralbrain/DigitPick-v0", image_size=module.config.sensor_width)
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
    env.close()
    assert seen > 0
    assert module.ledger.total.energy_j > 0


@pytest.mark.data
def test_a_piles_top_is_seen_two_or_three_cubes_up_and_located_on_that_plane(perception):
    """On ``covered`` scenes (the requested cube under one or two others) every cube in view
    gets the height of its top from the depth image, checked against the simulator's state:
    a pile's top two or three cube sizes up, a cube on the table one; its world point is on
    that height, so the pile's top is located as precisely as a cube on the table."""
    import gymnasium as gym

    module = perception
    env = gym.make("neuralbrain/DigitPick-v0", task="covered",
                   image_size=module.config.sensor_width)
    levels = []
    for seed in (100, 101, 102):
        obs, info = env.reset(seed=seed)
        module.reset(seed)
        dets = module.step({"obs": obs, "info": info})["detections"].cubes
        pos = np.asarray(info["cube_positions"])
        on = info["on_top_of"]
        visible = [i for i in range(len(pos)) if i not in set(on)]
        assert len(dets) == len(visible)
        for d in dets:
            i = min(visible, key=lambda j: np.hypot(*(pos[j, :2] - d.world[:2])))
            assert np.hypot(*(pos[i, :2] - d.world[:2])) < 0.01
            assert d.world[2] == pytest.approx(d.height_m, abs=1e-9)
            top = pos[i, 2] + CUBE_M / 2
            assert d.height_m == pytest.approx(top, abs=0.01)
            level = round(d.height_m / CUBE_M)
            assert level == (1 if on[i] < 0 else 2 if on[on[i]] < 0 else 3)
            levels.append(level)
    assert 1 in levels and max(levels) >= 2  # both piles and table cubes were seen
    # without a depth image: no height, and the world point on the fixed plane
    obs = {k: v for k, v in obs.items() if k != "depth"}
    module.reset(102)
    dets = module.step({"obs": obs, "info": info})["detections"].cubes
    env.close()
    assert dets and all(d.height_m is None for d in dets)
    assert [d.world[2] for d in dets] == pytest.approx([module.config.detect.plane_z_m] * len(dets))

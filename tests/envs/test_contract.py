"""Every registered neuralbrain env follows Gymnasium exactly and resets reproducibly."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from neuralbrain.runner import registered_envs

ENV_IDS = registered_envs()


def _small(env_id: str) -> dict:
    # keep the camera small so the whole contract suite stays fast
    return {"image_size": 64} if "DigitPick" in env_id else {}


def _equal(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return bool(np.array_equal(np.asarray(a), np.asarray(b)))


def test_there_are_envs_to_check():
    assert "neuralbrain/DigitPick-v0" in ENV_IDS


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env(env_id):
    env = gymnasium.make(env_id, **_small(env_id))
    try:
        check_env(env.unwrapped, skip_render_check=True)
    finally:
        env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_seeded_reset_and_steps_are_reproducible(env_id):
    runs = []
    for _ in range(2):
        env = gymnasium.make(env_id, **_small(env_id))
        env.action_space.seed(11)
        obs, _ = env.reset(seed=5)
        trajectory = [obs]
        for _ in range(3):
            obs, reward, term, trunc, _ = env.step(env.action_space.sample())
            trajectory.append((obs, reward, term, trunc))
            if term or trunc:
                break
        env.close()
        runs.append(trajectory)
    assert len(runs[0]) == len(runs[1])
    for a, b in zip(runs[0], runs[1], strict=True):
        if isinstance(a, tuple):
            assert _equal(a[0], b[0]) and a[1:] == b[1:]
        else:
            assert _equal(a, b)

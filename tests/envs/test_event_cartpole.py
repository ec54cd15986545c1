"""neuralbrain/EventCartPole-v1: Gymnasium contract, determinism, the batched simulator."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import neuralbrain_envs  # noqa: F401  (registers the ids)
from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain_envs.event_cartpole import (
    TAU_S,
    EventCartPoleEnv,
    SpikeCode,
    cartpole_step,
    encode_state,
    render_frame,
)

ENV_ID = "neuralbrain/EventCartPole-v1"


@pytest.mark.parametrize("mode", ["spikes", "events"])
def test_check_env(mode):
    env = gymnasium.make(ENV_ID, observation=mode)
    check_env(env.unwrapped, skip_render_check=False)
    assert env.spec.max_episode_steps == 500


@pytest.mark.parametrize("mode", ["spikes", "events"])
def test_same_seed_same_observations(mode):
    def episode(seed):
        env = gymnasium.make(ENV_ID, observation=mode)
        obs, info = env.reset(seed=seed)
        out, times = [obs], [info["sim_time_s"]]
        for k in range(30):
            obs, _, term, trunc, info = env.step(k % 3 == 0)
            out.append(obs)
            times.append(info["sim_time_s"])
            if term or trunc:
                break
        return np.stack(out), times

    a, times = episode(7)
    b, _ = episode(7)
    c, _ = episode(8)
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)
    assert times == pytest.approx([k * TAU_S for k in range(len(times))])


def test_batched_simulator_matches_env_step_for_step():
    env = gymnasium.make(ENV_ID)
    rng = np.random.default_rng(0)
    steps = 0
    for seed in range(4):
        obs, info = env.reset(seed=seed)
        sim = info["state"][None].copy()
        done = False
        while not done:
            action = int(rng.integers(2)) if rng.random() < 0.5 else int(sim[0, 2] > 0)
            obs, _, term, trunc, info = env.step(action)
            sim, sim_term = cartpole_step(sim, np.array([action]))
            # bit-for-bit: same float64 operations in the same order
            np.testing.assert_array_equal(sim[0], info["state"])
            np.testing.assert_array_equal(obs, encode_state(sim, env.unwrapped.code)[0])
            assert bool(sim_term[0]) == term
            done = term or trunc
            steps += 1
    assert steps > 40


def test_batched_simulator_is_batch_independent():
    rng = np.random.default_rng(1)
    states = rng.uniform(-0.2, 0.2, (16, 4))
    actions = rng.integers(0, 2, 16)
    together, term = cartpole_step(states, actions)
    for i in range(16):
        alone, t = cartpole_step(states[i : i + 1], actions[i : i + 1])
        np.testing.assert_array_equal(alone[0], together[i])
        assert t[0] == term[i]


def test_spike_code_is_a_pure_rate_code():
    code = SpikeCode(n_per_dim=8, n_steps=10)
    states = np.array([[0.0, 0.5, -0.1, 3.0], [2.4, -2.0, 0.21, -0.7]])
    s1, s2 = encode_state(states, code), encode_state(states, code)
    np.testing.assert_array_equal(s1, s2)
    assert s1.shape == (2, 10, 32) and s1.dtype == np.uint8 and set(np.unique(s1)) <= {0, 1}
    # spike counts are round(n_steps * rate) of the Gaussian tuning curves
    clipped = np.clip(states, -np.array(code.ranges), np.array(code.ranges))
    z = (clipped[:, :, None] - code.centres()[None]) / code.sigmas()[None, :, None]
    expected = np.floor(10 * np.exp(-0.5 * z * z) + 0.5).reshape(2, -1)
    np.testing.assert_array_equal(s1.sum(axis=1), expected)
    # theta_dot = 3.0 is beyond its range 2.0: it saturates the last neuron of that variable
    assert s1[0, :, 31].sum() == 10


def test_events_follow_the_motion():
    env = EventCartPoleEnv(observation="events")
    obs, _ = env.reset(seed=0)
    assert obs.sum() == 0  # nothing has changed yet
    per_polarity = np.zeros(2, np.int64)
    for _ in range(6):
        obs, _, term, _, _ = env.step(1)  # push right: the cart moves, its edges fire
        per_polarity += obs.sum(axis=(1, 2)).astype(np.int64)
        assert not term
    assert (per_polarity > 0).all()  # a moving bright object gives ON and OFF events
    frame = render_frame(env.unwrapped.state, 32, 64)
    on_rows = np.nonzero(obs.sum(axis=(0, 2)))[0]
    lit_rows = np.nonzero((frame > 0.5).any(axis=1))[0]
    assert set(on_rows) <= set(range(lit_rows.min() - 1, lit_rows.max() + 2))


def test_bad_kwargs_and_actions_raise():
    with pytest.raises(ConfigError, match="observation"):
        EventCartPoleEnv(observation="pixels")
    with pytest.raises(ConfigError, match="n_per_dim"):
        EventCartPoleEnv(n_per_dim=1)
    with pytest.raises(ConfigError, match="ranges"):
        EventCartPoleEnv(ranges=(1.0, 2.0, -3.0, 1.0))
    with pytest.raises(ConfigError, match="dvs"):
        EventCartPoleEnv(observation="spikes", dvs={"on_threshold": 0.3})
    env = EventCartPoleEnv()
    with pytest.raises(ShapeError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    with pytest.raises(ShapeError, match="expected 0 or 1"):
        env.step(2)

"""snn_cartpole: the shared LIF function, training/runtime agreement, CLI train + run."""

from __future__ import annotations

from pathlib import Path

import gymnasium
import numpy as np
import pyarrow.parquet as pq
import pytest

from neuralbrain.cli import main
from neuralbrain.config import load_config
from neuralbrain.control import snn_policy
from neuralbrain.control.es import Adam, centered_ranks, es_gradient
from neuralbrain.control.snn_policy import Layout, SnnPolicy, lif_layer, policy_forward
from neuralbrain.errors import CheckpointError, ConfigError, ShapeError
from neuralbrain.runner import load_agent
from neuralbrain_agents.snn_cartpole import load_checkpoint, rollout_returns, spike_code

ROOT = Path(__file__).resolve().parents[2]
DEBUG = ROOT / "agents" / "configs" / "snn_cartpole_debug.toml"
TASK = ROOT / "agents" / "configs" / "es_cartpole_debug.toml"
FULL = ROOT / "agents" / "configs" / "snn_cartpole.toml"


def test_lif_layer_follows_its_equations():
    # constant input 0.6, decay 0.5, threshold 1: v = 0.6, 0.9, 1.05 -> spike (v = 0.05),
    # 0.625, 0.9125, 1.056 -> spike
    cur = np.full((1, 6, 1), 0.6, np.float32)
    spikes, v = lif_layer(cur, np.zeros((1, 1), np.float32), 0.5, 1.0)
    expected_v, vv, expected_s = [], 0.0, []
    for _ in range(6):
        vv = 0.5 * vv + 0.6
        s = vv >= 1.0
        vv -= 1.0 * s
        expected_s.append(float(s))
        expected_v.append(vv)
    np.testing.assert_array_equal(spikes[0, :, 0], expected_s)
    assert spikes[0, :, 0].tolist() == [0, 0, 1, 0, 0, 1]
    assert v[0, 0] == pytest.approx(expected_v[-1], abs=1e-6)


def _random_policy(n_in=12, hidden=10, seed=0):
    cfg = snn_policy.Config(n_hidden=hidden)
    layout = Layout(n_in, hidden, 2)
    theta = layout.init(cfg, np.random.default_rng(seed))
    theta[-2:] = [0.3, -0.2]  # non-zero output biases so they are exercised
    return cfg, layout, theta


def test_module_and_training_path_share_the_lif_function():
    cfg, layout, theta = _random_policy()
    rng = np.random.default_rng(1)
    thetas = np.stack([theta + 0.1 * rng.standard_normal(theta.size) for _ in range(3)])
    obs_seq = (rng.random((6, 8, 12)) < 0.3).astype(np.uint8)
    # training path: the population stacked, products by matmul
    p = layout.unflatten(thetas)
    w = {"w_in": p["w_in"][:, None], "w_out": p["w_out"][:, None]}
    b = {"b_h": p["b_h"][:, None], "b_o": p["b_o"][:, None]}
    state = (np.zeros((3, 1, 10), np.float32), np.zeros((3, 1, 2), np.float32))
    batched = []
    for obs in obs_seq:
        x = np.broadcast_to(obs.astype(np.float32), (3, 1, 8, 12))
        scores, state, _ = policy_forward(
            x, state, b, lambda s, n: np.matmul(s, w[n]), cfg.decay, cfg.threshold
        )
        batched.append(scores[:, 0])
    # runtime path: the module of member 1, products booked on its backend
    module = SnnPolicy(cfg, 12, thetas[1])
    module.reset(0)
    for k, obs in enumerate(obs_seq):
        action = module.step({"obs": obs})["action"]
        assert action == int(np.argmax(batched[k][1]))
    # and numerically: the same function with the module's backend as the synapse
    module.reset(0)
    st = module._state
    for k, obs in enumerate(obs_seq):
        scores, st, _ = policy_forward(
            obs.astype(np.float32)[None], st, module.params, module._synapse,
            cfg.decay, cfg.threshold,
        )
        np.testing.assert_allclose(scores[0], batched[k][1], rtol=1e-5, atol=1e-5)


def test_module_books_one_synop_per_event_and_fan_out():
    cfg, layout, theta = _random_policy()
    module = SnnPolicy(cfg, 12, theta)
    module.reset(0)
    module.ledger.reset()
    obs = (np.random.default_rng(2).random((8, 12)) < 0.4).astype(np.uint8)
    module.step({"obs": obs})
    booked = {b.op: b.cost for b in module.ledger.drain()}
    _, _, s_h = policy_forward(
        obs.astype(np.float32)[None], (np.zeros((1, 10), np.float32), np.zeros((1, 2), np.float32)),
        module.params, lambda s, n: s @ module.params[n], cfg.decay, cfg.threshold,
    )
    assert booked["accumulate"].ops == int(obs.sum()) * 10 + int(s_h.sum()) * 2
    assert booked["neuron_update"].ops == 8 * (10 + 2)
    assert booked["accumulate"].energy_j > 0
    with pytest.raises(ShapeError, match=r"expected \(time bins, 12\)"):
        module.step({"obs": np.zeros((8, 13), np.uint8)})


def test_module_runs_on_the_neuromorphic_backend():
    cfg, _, theta = _random_policy()
    module = SnnPolicy(cfg, 12, theta).to("neuromorphic")
    module.reset(0)
    obs = (np.random.default_rng(3).random((8, 12)) < 0.4).astype(np.uint8)
    assert module.step({"obs": obs})["action"] in (0, 1)
    ops = {b.op for b in module.ledger.drain()}
    assert {"accumulate", "neuron_update", "time_step"} <= ops


def test_training_simulator_agrees_with_the_env_and_module():
    cfg = load_config(TASK)
    code, _ = spike_code(cfg)
    pcfg = cfg.params.policy
    layout = Layout(code.n_inputs, pcfg.n_hidden, pcfg.n_actions)
    agent = load_agent(DEBUG)  # untrained: the initial weights drawn from the task's seed
    theta = layout.init(pcfg, np.random.default_rng([cfg.seed, 0]))
    env = gymnasium.make(cfg.env.id, max_episode_steps=60, **cfg.env.kwargs)
    lengths = []
    for seed in range(4):
        obs, info = env.reset(seed=seed)
        agent.reset(seed)
        start, actions, done, ret = info["state"], [], False, 0.0
        while not done:
            a = agent.act(obs, info)
            actions.append(a)
            obs, r, term, trunc, info = env.step(a)
            ret += r
            done = term or trunc
        sim_ret, sim_actions = rollout_returns(theta, start[None], layout, pcfg, code, 60, True)
        assert sim_ret[0, 0] == ret
        assert actions == [int(a) for a in sim_actions[0, 0] if a >= 0]
        lengths.append(len(actions))
    assert len(set(lengths)) > 1  # the episodes differ, so the comparison has teeth


def test_es_pieces():
    np.testing.assert_allclose(centered_ranks(np.array([3.0, -1.0, 10.0])), [0.0, -0.5, 0.5])
    # the ES step moves the mean toward the fitter perturbation
    noise = np.array([[1.0, 0.0], [-1.0, 0.0]])
    g = es_gradient(noise, np.array([5.0, 1.0]), 0.1, np.zeros(2), 0.0)
    assert g[0] > 0 and g[1] == 0
    adam = Adam(0.1)
    mu = adam.step(np.zeros(2), g)
    assert mu[0] == pytest.approx(0.1) and mu[1] == 0


def test_debug_config_trains_resumes_and_runs_through_the_cli(tmp_path, capsys):
    ck, run = tmp_path / "ck", tmp_path / "run"
    fixed = ["--set", "train.time_budget_s=600", "--set", "train.max_generations=4"]
    assert main(["train", str(DEBUG), "--out", str(ck), "--json", *fixed]) == 0
    assert main(["run", str(DEBUG), "--checkpoint", str(ck), "--out", str(run), "--json"]) == 0
    episodes = pq.read_table(run / "episodes.parquet").to_pylist()
    assert len(episodes) == 2 and all(1 <= e["steps"] <= 50 for e in episodes)
    assert all(e["energy_j_policy"] > 0 and e["return"] == e["steps"] for e in episodes)
    trace = pq.read_table(run / "trace.parquet").to_pylist()
    assert {r["op"] for r in trace} >= {"accumulate", "neuron_update"}

    # same seed, same training: two generations, then two more by --resume, gives the
    # same parameters as four in one go
    ck2 = tmp_path / "ck2"
    half = ["--set", "train.time_budget_s=600", "--set", "train.max_generations=2"]
    assert main(["train", str(DEBUG), "--out", str(ck2), *half]) == 0
    assert main(["train", str(DEBUG), "--out", str(ck2), "--resume", *fixed]) == 0
    cfg = load_config(TASK)
    a, meta_a = load_checkpoint(ck / "policy", cfg)
    b, meta_b = load_checkpoint(ck2 / "policy", cfg)
    assert meta_a["generation"] == meta_b["generation"] == 4
    np.testing.assert_array_equal(a["mu"], b["mu"])
    np.testing.assert_array_equal(a["best"], b["best"])

    # a checkpoint from another network shape is refused, naming both fingerprints
    capsys.readouterr()
    other = 'policy.task_set=["policy.n_hidden=5"]'
    assert main(["run", str(DEBUG), "--checkpoint", str(ck), "--out", str(run), "--set", other]) == 2
    err = capsys.readouterr().err
    assert "fingerprint" in err and "policy" in err and "es_cartpole_debug.toml" in err
    with pytest.raises(CheckpointError, match="fingerprint"):
        load_checkpoint(ck / "policy", load_config(TASK, ["policy.n_hidden=5"]))
    with pytest.raises(CheckpointError, match="no snn_cartpole.npz"):
        load_checkpoint(tmp_path / "nothing", cfg)


def test_a_policy_bound_to_another_spike_code_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"observations of shape \(8, 48\).*trained on \(8, 64\)"):
        from neuralbrain.runner import run

        run(load_agent(DEBUG, overrides=["env.n_per_dim=12"]), 1)


def test_configs_load_and_reject_the_events_mode():
    cfg = load_config(FULL)
    assert cfg.modules["policy"].config.backend == "cpu"
    assert load_config(cfg.task_of("policy").source).params.train.time_budget_s <= 600
    with pytest.raises(ConfigError, match="spikes"):
        spike_code(load_config(TASK, ["env.observation=events"]))
    with pytest.raises(ConfigError, match="pairs"):
        load_config(TASK, ["train.pairs=0"])

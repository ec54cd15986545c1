"""snn_cartpole: the shared LIF function, training/runtime agreement, CLI train + run."""

from __future__ import annotations

from pathlib import Path

import gymnasium
import numpy as np
import pyarrow.parquet as pq
import pytest

from neuralbrain.cli import main
from neuralbrain.config import load_config
from neuralbrain.control.snn_policy import Layout
from neuralbrain.errors import CheckpointError, ConfigError
from neuralbrain.runner import load_agent
from neuralbrain_agents.snn_cartpole import load_checkpoint, rollout_returns, spike_code

ROOT = Path(__file__).resolve().parents[2]
DEBUG = ROOT / "agents" / "configs" / "snn_cartpole_debug.toml"
TASK = ROOT / "agents" / "configs" / "es_cartpole_debug.toml"
FULL = ROOT / "agents" / "configs" / "snn_cartpole.toml"


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


def test_debug_config_trains_resumes_and_runs_through_the_cli(tmp_path, capsys):
    ck, run = tmp_path / "ck", tmp_path / "run"
    fixed = ["--set", "train.time_budget_s=600", "--set", "train.max_generations=4"]
    # the agent's policy module loads the task's checkpoint from CK/policy
    assert main(["train", str(TASK), "--out", str(ck / "policy"), "--json", *fixed]) == 0
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
    assert main(["train", str(TASK), "--out", str(ck2), *half]) == 0
    assert main(["train", str(TASK), "--out", str(ck2), "--resume", *fixed]) == 0
    cfg = load_config(TASK)
    a, state_a = load_checkpoint(ck / "policy", cfg)
    b, state_b = load_checkpoint(ck2, cfg)
    assert state_a["step"] == state_b["step"] == 4
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

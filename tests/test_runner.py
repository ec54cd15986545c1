import math

import pyarrow.parquet as pq
import pytest

from neuralbrain.config import experiment_from_dict
from neuralbrain.errors import ConfigError, UnknownNameError
from neuralbrain.runner import run_episodes


def _cfg(**env):
    return experiment_from_dict({
        "agent": "random", "seed": 4,
        "env": {"id": "CartPole-v1", "max_episode_steps": 30, **env},
        "run": {"episodes": 2, "progress": False},
    })


def test_run_writes_schema_and_exact_totals(tmp_path):
    summary = run_episodes(_cfg(), tmp_path)
    assert summary.episodes == 2 and summary.errors == 0
    trace = pq.read_table(tmp_path / "trace.parquet").to_pylist()
    episodes = pq.read_table(tmp_path / "episodes.parquet").to_pylist()
    assert [e["seed"] for e in episodes] == [4, 5]
    for ep in episodes:
        rows = [r for r in trace if r["episode"] == ep["episode"]]
        assert len(rows) == ep["steps"]
        assert math.fsum(r["energy_j"] for r in rows) == ep["energy_j"] > 0
        assert {r["backend"] for r in rows} == {"cpu"}
    assert (tmp_path / "config.toml").read_text().startswith('agent = "random"')
    assert (tmp_path / "energy.png").exists()


def test_same_seed_same_trace(tmp_path):
    run_episodes(_cfg(), tmp_path / "a")
    run_episodes(_cfg(), tmp_path / "b")
    for name in ("trace.parquet", "episodes.parquet"):
        assert pq.read_table(tmp_path / "a" / name).equals(pq.read_table(tmp_path / "b" / name))


def test_resolved_config_reloads_to_the_same_experiment(tmp_path):
    from neuralbrain.config import load_experiment

    cfg = _cfg()
    run_episodes(cfg, tmp_path)
    again = load_experiment(tmp_path / "config.toml")
    assert again.to_dict() == cfg.to_dict()


def test_unknown_env_and_env_kwargs_are_config_errors(tmp_path):
    with pytest.raises(UnknownNameError, match="unknown env 'CartPol-v1'"):
        run_episodes(experiment_from_dict({"agent": "random", "env": {"id": "CartPol-v1"}}), tmp_path)
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['wind'\] for CartPole-v1"):
        run_episodes(_cfg(wind=3), tmp_path)
    assert not (tmp_path / "trace.parquet").exists()


def test_interrupted_run_keeps_complete_files_for_finished_episodes(tmp_path, monkeypatch):
    from neuralbrain_agents.random_agent import RandomPolicy

    calls = {"n": 0}
    real_step = RandomPolicy.step

    def step_then_interrupt(self, inputs):
        calls["n"] += 1
        if calls["n"] == 45:  # episode 0 has 30 steps at most: this is inside episode 1 or 2
            raise KeyboardInterrupt
        return real_step(self, inputs)

    monkeypatch.setattr(RandomPolicy, "step", step_then_interrupt)
    cfg = experiment_from_dict({
        "agent": "random", "seed": 0, "env": {"id": "CartPole-v1", "max_episode_steps": 30},
        "run": {"episodes": 5, "progress": False},
    })
    with pytest.raises(KeyboardInterrupt):
        run_episodes(cfg, tmp_path)
    episodes = pq.read_table(tmp_path / "episodes.parquet").to_pylist()
    trace = pq.read_table(tmp_path / "trace.parquet").to_pylist()
    assert 1 <= len(episodes) < 5
    assert {r["episode"] for r in trace} == {e["episode"] for e in episodes}
    assert sum(e["steps"] for e in episodes) == len(trace)
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_crash_mid_episode_marks_it_failed_and_the_run_goes_on(tmp_path, monkeypatch):
    from neuralbrain_agents.random_agent import RandomPolicy

    calls = {"n": 0}
    real_step = RandomPolicy.step

    def step_then_crash(self, inputs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("simulated module crash")
        return real_step(self, inputs)

    monkeypatch.setattr(RandomPolicy, "step", step_then_crash)
    summary = run_episodes(_cfg(), tmp_path)
    episodes = pq.read_table(tmp_path / "episodes.parquet").to_pylist()
    assert summary.errors == 1
    assert episodes[0]["error"] == "RuntimeError: simulated module crash"
    assert episodes[0]["success"] is False and episodes[0]["steps"] == 2
    assert episodes[1]["error"] is None


def test_bad_input_mid_episode_is_recorded_then_stops_the_run(tmp_path, monkeypatch):
    from neuralbrain.errors import CheckpointError
    from neuralbrain_agents.random_agent import RandomPolicy

    def missing_model(self, inputs):
        raise CheckpointError("the model file is missing")

    monkeypatch.setattr(RandomPolicy, "step", missing_model)
    with pytest.raises(CheckpointError, match="model file is missing"):
        run_episodes(_cfg(), tmp_path)
    episodes = pq.read_table(tmp_path / "episodes.parquet").to_pylist()
    assert [e["error"] for e in episodes] == ["CheckpointError: the model file is missing"]

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

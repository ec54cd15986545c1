import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from neuralbrain.config import config_from_dict, load_config
from neuralbrain.control.random_policy import RandomPolicy
from neuralbrain.errors import CheckpointError, ConfigError, UnknownNameError
from neuralbrain.runner import load_agent, read_run, run
from neuralbrain.trace import read_run_metadata


def _agent(episodes=2, **env):
    return load_agent(config_from_dict({
        "seed": 4,
        "env": {"id": "CartPole-v1", "max_episode_steps": 30, **env},
        "run": {"episodes": episodes, "progress": False},
        "modules": {"policy": {"type": "random_policy"}},
        "edges": ["env.obs -> policy.obs", "policy.action -> action"],
    }))


def test_run_in_memory_writes_nothing_and_returns_both_tables(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(_agent())
    assert list(tmp_path.iterdir()) == [] and result.out is None
    episodes, trace = result.episodes.to_pylist(), result.trace.to_pylist()
    assert [e["seed"] for e in episodes] == [4, 5]
    for ep in episodes:
        rows = [r for r in trace if r["episode"] == ep["episode"]]
        assert len(rows) == ep["steps"]
        assert math.fsum(r["energy_j"] for r in rows) == ep["energy_j"] > 0
        assert {r["backend"] for r in rows} == {"cpu"}
    assert result.summary()["episodes"] == 2


def test_run_writes_schema_and_exact_totals(tmp_path):
    result = run(_agent(), out=tmp_path)
    trace = pq.read_table(tmp_path / "trace.parquet")
    episodes = pq.read_table(tmp_path / "episodes.parquet")
    assert trace.equals(result.trace) and episodes.equals(result.episodes)
    assert (tmp_path / "config.toml").read_text().startswith("seed = 4")
    assert (tmp_path / "energy.png").exists()


def test_same_seed_same_trace():
    assert run(_agent()).trace.equals(run(_agent()).trace)


def test_resolved_config_reloads_to_the_same_agent(tmp_path):
    agent = _agent()
    run(agent, out=tmp_path)
    assert load_config(tmp_path / "config.toml").to_dict() == agent.config.to_dict()


def test_unknown_env_and_env_kwargs_are_config_errors(tmp_path):
    with pytest.raises(UnknownNameError, match="unknown env 'CartPol-v1'"):
        run(_agent(id="CartPol-v1"), out=tmp_path)
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['wind'\] for CartPole-v1"):
        run(_agent(wind=3), out=tmp_path)
    assert not (tmp_path / "trace.parquet").exists()


def test_interrupted_run_keeps_complete_files_for_finished_episodes(tmp_path, monkeypatch):
    calls = {"n": 0}
    real_step = RandomPolicy.step

    def step_then_interrupt(self, inputs):
        calls["n"] += 1
        if calls["n"] == 45:  # episode 0 has 30 steps at most: this is inside episode 1 or 2
            raise KeyboardInterrupt
        return real_step(self, inputs)

    monkeypatch.setattr(RandomPolicy, "step", step_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        run(_agent(episodes=5), out=tmp_path)
    episodes = pq.read_table(tmp_path / "episodes.parquet").to_pylist()
    trace = pq.read_table(tmp_path / "trace.parquet").to_pylist()
    assert 1 <= len(episodes) < 5
    assert {r["episode"] for r in trace} == {e["episode"] for e in episodes}
    assert sum(e["steps"] for e in episodes) == len(trace)
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_crash_mid_episode_marks_it_failed_and_the_run_goes_on(tmp_path, monkeypatch):
    calls = {"n": 0}
    real_step = RandomPolicy.step

    def step_then_crash(self, inputs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("simulated module crash")
        return real_step(self, inputs)

    monkeypatch.setattr(RandomPolicy, "step", step_then_crash)
    result = run(_agent(), out=tmp_path)
    episodes = pq.read_table(tmp_path / "episodes.parquet").to_pylist()
    assert result.summary()["errors"] == 1
    assert episodes[0]["error"] == "RuntimeError: simulated module crash"
    assert episodes[0]["success"] is False and episodes[0]["steps"] == 2
    assert episodes[1]["error"] is None


def test_bad_input_mid_episode_is_recorded_then_stops_the_run(tmp_path, monkeypatch):
    def missing_model(self, inputs):
        raise CheckpointError("the model file is missing")

    monkeypatch.setattr(RandomPolicy, "step", missing_model)
    with pytest.raises(CheckpointError, match="model file is missing"):
        run(_agent(), out=tmp_path)
    episodes = pq.read_table(tmp_path / "episodes.parquet").to_pylist()
    assert [e["error"] for e in episodes] == ["CheckpointError: the model file is missing"]


def test_two_workers_give_the_rows_of_one_worker(tmp_path):
    serial = run(_agent(), 5, out=tmp_path / "serial")
    parallel = run(_agent(), 5, out=tmp_path / "parallel", workers=2)
    assert parallel.episodes.equals(serial.episodes) and parallel.trace.equals(serial.trace)
    for result in (serial, parallel):
        assert read_run(result.out).trace.equals(serial.trace)
        assert read_run(result.out).episodes.equals(serial.episodes)
    rows = parallel.trace.to_pylist()
    for ep in parallel.episodes.to_pylist():  # the same sums: each episode's total is its rows'
        assert math.fsum(r["energy_j"] for r in rows if r["episode"] == ep["episode"]) == ep["energy_j"]
    assert read_run_metadata(tmp_path / "parallel") == read_run_metadata(tmp_path / "serial")
    assert run(_agent(), 3, workers=2).trace.equals(run(_agent(), 3).trace)  # in memory too


def test_run_metadata_names_config_version_seed_and_backends(tmp_path):
    run(_agent(), 1, out=tmp_path, seed=9)
    meta = read_run_metadata(tmp_path)
    assert meta["neuralbrain.schema_version"] == "2" and meta["neuralbrain.seed"] == "9"
    assert json.loads(meta["neuralbrain.backends"]) == {"policy": "cpu"}
    config = (tmp_path / "config.toml").read_text().encode()
    assert meta["neuralbrain.config_sha256"] == hashlib.sha256(config).hexdigest()
    assert meta["neuralbrain.version"]


def test_bad_worker_count(tmp_path):
    with pytest.raises(ConfigError, match="workers = 0: expected an integer >= 1"):
        run(_agent(), out=tmp_path, workers=0)


KILLED_RUN = """
import sys
from neuralbrain.config import config_from_dict
from neuralbrain.runner import load_agent, read_run, run
from neuralbrain.trace import read_run_metadata
agent = load_agent(config_from_dict({
    "seed": 0, "env": {"id": "CartPole-v1", "max_episode_steps": 20},
    "run": {"progress": False}, "modules": {"policy": {"type": "random_policy"}},
    "edges": ["env.obs -> policy.obs", "policy.action -> action"]}))
run(agent, 100000, out=sys.argv[1])
"""


def test_kill_9_loses_no_finished_episode(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(tmp_path)])
    try:
        deadline = time.monotonic() + 120
        while len(list((tmp_path / "episodes.parquet").glob("part-*"))) < 5:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    result = read_run(tmp_path)
    episodes = result.episodes.to_pylist()
    assert len(episodes) >= 5
    assert [e["episode"] for e in episodes] == list(range(len(episodes)))
    assert sum(e["steps"] for e in episodes) == result.trace.num_rows
    assert [e["episode"] for e in episodes] == sorted(set(result.trace["episode"].to_pylist()))

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from neuralbrain.cli import main

CARTPOLE = """
seed = 1
edges = ["env.obs -> policy.obs", "policy.action -> action"]
[env]
id = "CartPole-v1"
max_episode_steps = 20
[run]
episodes = 2
progress = false
[modules.policy]
type = "random_policy"
backend = "cpu"
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "random_cartpole.toml"
    path.write_text(CARTPOLE)
    return path


def test_run_json_summary_and_files(config, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(config), "--episodes", "2", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["episodes"] == 2 and summary["out"] == str(out)
    assert pq.read_table(out / "episodes.parquet").num_rows == 2
    assert sorted(p.name for p in out.iterdir()) == [
        "config.toml", "energy.png", "episodes.parquet", "trace.parquet"]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--set", "policy.backend=rram2"], "unknown backend 'rram2'"),
        (["--set", "policy.colour=red"],
         r"\[modules.policy\] has unknown key\(s\) \['colour'\]: expected some of \['backend'\]"),
        (["--set", "seed=abc"], "seed = 'abc': expected an integer"),
        (["--set", "env.id=NoSuchEnv-v0"], "unknown env 'NoSuchEnv-v0'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(config, tmp_path, capsys, extra, message):
    code = main(["run", str(config), "--out", str(tmp_path / "r"), *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("neuralbrain: error: ") and err.count("\n") == 1
    assert __import__("re").search(message, err)
    assert not (tmp_path / "r").exists()


def test_missing_config_file(tmp_path, capsys):
    assert main(["run", str(tmp_path / "missing.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_lists_backends_envs_modules_and_tasks(capsys):
    assert main(["backends", "--json"]) == 0
    names = [row["name"] for row in json.loads(capsys.readouterr().out)]
    assert "cpu" in names
    assert main(["envs", "--json"]) == 0
    ids = [row["id"] for row in json.loads(capsys.readouterr().out)]
    assert all(i.startswith("neuralbrain/") for i in ids)
    assert main(["modules", "--json"]) == 0
    modules = {row["type"]: row for row in json.loads(capsys.readouterr().out)}
    assert modules["llm_planner"]["outputs"] == {"goal": "TrayGoal"}
    assert "oracle" in modules  # a plugin's module, through its entry point
    assert main(["tasks", "--json"]) == 0
    tasks = [row["task"] for row in json.loads(capsys.readouterr().out)]
    assert {"lsm_nmnist", "insensor_nmnist", "es_cartpole"} <= set(tasks)


def test_console_entry_point_runs_without_traceback(config, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "neuralbrain", "run", str(config), "--set", "policy.backend=tpu",
         "--out", str(tmp_path / "x")], capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "unknown backend 'tpu'" in proc.stderr


def test_run_with_two_workers_writes_the_same_traces(config, tmp_path, capsys):
    for name, workers in (("one", "1"), ("two", "2")):
        assert main(["run", str(config), "--episodes", "3", "--workers", workers,
                     "--out", str(tmp_path / name), "--json"]) == 0
    capsys.readouterr()
    for name in ("trace.parquet", "episodes.parquet"):
        assert pq.read_table(tmp_path / "two" / name).equals(pq.read_table(tmp_path / "one" / name))
    assert main(["run", str(config), "--workers", "0", "--out", str(tmp_path / "bad")]) == 2
    assert "workers = 0: expected an integer >= 1" in capsys.readouterr().err


def test_sweep_then_compare_many(config, tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", str(config), "--grid", "policy.backend=cpu,t3", "--seeds", "0-1",
                 "--workers", "2", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["runs"] == 4 and summary["failed"] == 0
    assert [a["assignment"] for a in summary["assignments"]] == [
        {"policy.backend": "cpu"}, {"policy.backend": "t3"}]
    assert main(["run", str(config), "--episodes", "2", "--out", str(tmp_path / "r"), "--json"]) == 0
    capsys.readouterr()
    plot = tmp_path / "many.png"
    assert main(["compare", str(out), str(tmp_path / "r"), "--plot", str(plot),
                 "--out", str(tmp_path / "many.html")]) == 0
    printed = capsys.readouterr().out
    assert "sweep: policy.backend=t3" in printed and str(tmp_path / "r") in printed
    assert plot.read_bytes()[:4] == b"\x89PNG" and (tmp_path / "many.html").is_file()


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "empty grid: expected at least one --grid KEY=V1,V2"),
        (["--grid", "policy.backend="], "--grid 'policy.backend=': empty value"),
        (["--grid", "policy.speed=1,2"], r"--grid policy.speed=1: .*unknown key\(s\) \['speed'\]"),
        (["--grid", "seed=1,x"], "--grid seed=x: seed = 'x': expected an integer"),
        (["--grid", "seed=1", "--engine", "spark"], "--engine 'spark': expected one of"),
        (["--grid", "seed=1", "--engine", "ray", "--address", "127.0.0.1:1"],
         "--address '127.0.0.1:1': cannot reach a Ray head node"),
        (["--grid", "seed=1", "--seeds", "9-2"], "--seeds '9-2': expected N, A-B"),
    ],
)
def test_sweep_bad_input_is_one_line(config, tmp_path, capsys, extra, message):
    code = main(["sweep", str(config), "--out", str(tmp_path / "s"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("neuralbrain: error: ") and err.count("\n") == 1
    assert __import__("re").search(message, err), err
    assert not (tmp_path / "s").exists()  # bad input is refused before anything is written


def test_an_output_path_that_cannot_be_made_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert main(["t3", "report", "--plot", str(blocker / "plots")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(blocker / "plots") in err[0] and "Not a directory" in err[0]

"""The debug scripted picker end to end through the CLI (the spine's closed loop)."""

import json
import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from neuralbrain.cli import main

CONFIG = Path(__file__).resolve().parents[2] / "agents" / "configs" / "scripted_picker_debug.toml"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("picker") / "run"
    assert main(["run", str(CONFIG), "--episodes", "2", "--out", str(out)]) == 0
    return out


def test_debug_picker_solves_digitpick_and_writes_the_schema(run_dir):
    episodes = pq.read_table(run_dir / "episodes.parquet").to_pylist()
    assert [e["success"] for e in episodes] == [True, True]
    trace = pq.read_table(run_dir / "trace.parquet")
    assert trace.column_names == [
        "episode", "step", "sim_time_s", "module", "backend", "op", "energy_j", "latency_s",
        "ops", "bytes_moved"]
    rows = trace.to_pylist()
    assert {r["module"] for r in rows} == {"oracle", "planner", "control"}
    for ep in episodes:
        mine = [r for r in rows if r["episode"] == ep["episode"]]
        assert math.fsum(r["energy_j"] for r in mine) == ep["energy_j"]
        assert max(r["step"] for r in mine) == ep["steps"] - 1
        times = [r["sim_time_s"] for r in mine]
        assert times == sorted(times) and times[-1] > 0
    assert (run_dir / "energy.png").stat().st_size > 1000
    assert "[modules.control.skills]" in (run_dir / "config.toml").read_text()


def test_same_seed_gives_an_identical_trace(run_dir, tmp_path):
    again = tmp_path / "again"
    assert main(["run", str(CONFIG), "--episodes", "2", "--out", str(again)]) == 0
    for name in ("trace.parquet", "episodes.parquet"):
        assert pq.read_table(again / name).equals(pq.read_table(run_dir / name))


def test_bad_env_kwarg_is_a_one_line_error(tmp_path, capsys):
    code = main(["run", str(CONFIG), "--set", "env.n_cubes=9", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "n_cubes=9" in err


def test_json_summary(tmp_path, capsys):
    assert main(["run", str(CONFIG), "--episodes", "1", "--out", str(tmp_path / "j"), "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(out)["episodes"] == 1

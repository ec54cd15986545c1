import json
import os
import signal

import pyarrow.parquet as pq
import pytest

from neuralbrain.engines import check_ray_address, local_outcomes, ray_outcomes
from neuralbrain.errors import ConfigError
from neuralbrain.runner import load_agent, read_run, run
from neuralbrain.sweep import parse_grid, parse_seeds, plan, read_sweep, run_task, sweep

CONFIG = "random_debug"
GRID = {"policy.backend": ["cpu", "t3"], "env.max_episode_steps": ["5", "8"]}


def _die_on_seed_1(state, task):
    """A task function whose worker process dies on the runs of seed 1."""
    if task[0].seed == 1:
        os._exit(3)
    return run_task(state, task)


def _square_or_die(state, x):
    if x == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    if x == 3:
        raise ValueError("three")
    return x * x


def _worker_env(state, task):
    """The Ray worker's OMP_NUM_THREADS and its job's runtime_env."""
    import ray

    return os.environ.get("OMP_NUM_THREADS"), dict(ray.get_runtime_context().runtime_env)


def _ray():
    try:
        import ray
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("ray is not installed (pip install -e '.[ray]')")
    return ray


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "local"
    return out, sweep(CONFIG, GRID, [0, 1, 2], out=out, workers=2)


def test_grid_and_seeds_parse_or_fail_in_one_line():
    assert parse_grid(["a.b=1,2", "c=x"]) == {"a.b": ["1", "2"], "c": ["x"]}
    assert parse_seeds("0-2,5") == [0, 1, 2, 5] and parse_seeds("7") == [7]
    for items, message in (([], "empty grid"), (["a.b="], "empty value"), (["a.b"], "expected KEY=V1"),
                           (["a=1,1"], "repeated"), (["a=1", "a=2"], "given twice")):
        with pytest.raises(ConfigError, match=message):
            parse_grid(items)
    with pytest.raises(ConfigError, match="--seeds '3-1'"):
        parse_seeds("3-1")


def test_bad_grid_keys_and_values_name_the_item():
    with pytest.raises(ConfigError, match=r"--grid policy.colour=red: .*unknown key\(s\) \['colour'\]"):
        plan(CONFIG, {"policy.colour": ["red"]}, [0])
    with pytest.raises(ConfigError, match="--grid env.max_episode_steps=abc: .*expected int"):
        plan(CONFIG, {"env.max_episode_steps": ["5", "abc"]}, [0])
    with pytest.raises(ConfigError, match="--grid policy.backend=tpu: unknown backend 'tpu'"):
        plan(CONFIG, {"policy.backend": ["tpu"]}, [0])
    specs = plan(CONFIG, GRID, [0, 1])
    assert len(specs) == 8 and specs[0].run == "runs/policy.backend=cpu__env.max_episode_steps=5/seed=0"


def test_local_sweep_rows_are_the_runs(local):
    out, table = local
    assert table.num_rows == 12 and set(table["status"].to_pylist()) == {"ok"}
    assert table.column_names[:3] == ["policy.backend", "env.max_episode_steps", "run"]
    assert table["env.max_episode_steps"].to_pylist()[:6] == [5, 5, 5, 8, 8, 8]
    assert pq.read_table(out / "sweep.parquet").equals(table)
    for row in table.to_pylist():  # each row is what a run of that assignment and seed gives
        alone = run(load_agent(CONFIG, overrides=[f"policy.backend={row['policy.backend']}",
                                                  f"env.max_episode_steps={row['env.max_episode_steps']}"]),
                    1, seed=row["seed"])
        assert read_run(out / row["run"]).trace.equals(alone.trace)
        assert row["energy_j"] == alone.episodes["energy_j"][0].as_py() == row["energy_j_policy"]
        assert row[f"energy_j_backend_{row['policy.backend']}"] == row["energy_j"]
        other = "t3" if row["policy.backend"] == "cpu" else "cpu"
        assert row[f"energy_j_backend_{other}"] == 0.0
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Pareto" in (out / "index.html").read_text()


def test_resume_runs_only_what_is_missing(local, tmp_path):
    out, table = local
    with pytest.raises(ConfigError, match="already holds a sweep: pass --resume"):
        sweep(CONFIG, GRID, [0, 1, 2], out=out)
    victim = out / table["run"][4].as_py()
    (victim / "row.json").unlink()
    kept = {p: p.stat().st_mtime_ns for p in out.glob("runs/*/*/row.json")}
    again = sweep(CONFIG, GRID, [0, 1, 2], out=out, resume=True, workers=1)
    assert again.equals(table)
    assert {p: p.stat().st_mtime_ns for p in kept} == kept and (victim / "row.json").is_file()
    with pytest.raises(ConfigError, match="expected the same config"):
        sweep(CONFIG, GRID, [0], out=out, resume=True, episodes=2)


def test_a_dead_worker_fails_its_runs_and_the_rest_finish(tmp_path):
    table = sweep(CONFIG, {"policy.backend": ["cpu"]}, [0, 1, 2], out=tmp_path, workers=2,
                  task_fn=_die_on_seed_1)
    rows = {r["seed"]: r for r in table.to_pylist()}
    assert rows[1]["status"] == "failed" and rows[1]["energy_j"] is None
    assert "WorkerDied" in rows[1]["error"] and "exit code 3" in rows[1]["error"]
    assert rows[0]["status"] == rows[2]["status"] == "ok"
    outcomes = sorted(local_outcomes(_square_or_die, [1, 2, 3, 4], 2), key=lambda o: o.index)
    assert [o.ok for o in outcomes] == [True, False, False, True]
    assert outcomes[3].value == 16 and "SIGKILL" in str(outcomes[1].value)
    assert isinstance(outcomes[2].value, ValueError)


def test_a_worker_that_cannot_see_the_sweep_dir_returns_its_tables(local, tmp_path):
    from neuralbrain.sweep import _write_returned_run

    out, table = local
    spec = plan(CONFIG, GRID, [2])[1]
    result = run_task(None, (spec, str(out), "not-the-token"))
    assert "tables" in result
    _write_returned_run(result, tmp_path / "copy")
    assert read_run(tmp_path / "copy").trace.equals(read_run(out / spec.run).trace)
    assert (tmp_path / "copy" / "config.toml").is_file()


def test_unreachable_ray_address_is_one_line():
    with pytest.raises(ConfigError, match=r"--address '127.0.0.1:1': cannot reach a Ray head node"):
        check_ray_address("127.0.0.1:1")
    with pytest.raises(ConfigError, match="expected HOST:PORT"):
        check_ray_address("nohost")


def test_ray_gives_the_same_sweep_as_local(local, tmp_path):
    ray = _ray()
    out, table = local
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        ray_table = sweep(CONFIG, GRID, [0, 1, 2], out=tmp_path / "ray", engine="ray", workers=2)
        dead = sweep(CONFIG, {"policy.backend": ["cpu"]}, [0, 1], out=tmp_path / "dead",
                     engine="ray", task_fn=_die_on_seed_1).to_pylist()
    finally:
        ray.shutdown()
    assert [r["status"] for r in dead] == ["ok", "failed"] and "WorkerDied" in dead[1]["error"]
    assert ray_table.equals(table)
    assert pq.read_table(tmp_path / "ray" / "sweep.parquet").equals(pq.read_table(out / "sweep.parquet"))
    header = json.loads((tmp_path / "ray" / "sweep.json").read_text())
    assert header["grid"] == GRID and header["keys"] == list(GRID)
    table, keys = read_sweep(tmp_path / "ray")
    assert keys == ["policy.backend", "env.max_episode_steps"] and table.equals(ray_table)


def test_a_local_ray_instance_runs_tasks_without_a_job_runtime_env(monkeypatch):
    """Ray prestarts idle workers only for a job without a runtime_env (with one, a sweep
    waited for fresh workers to boot); its workers still get OMP_NUM_THREADS=1."""
    ray = _ray()
    assert not ray.is_initialized()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    [outcome] = ray_outcomes(_worker_env, [None], None, 1)
    assert not ray.is_initialized()  # the engine shut down the instance it started
    assert outcome.ok and outcome.value == ("1", {})

"""The Neural Brain agent: energy booked on the backend that did the work, backend swaps touch
only their module's rows, memory saves looks, modules dropped by editing the TOML only."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from neuralbrain.cli import main

CONFIG = Path(__file__).resolve().parents[2] / "agents" / "configs" / "neural_brain_debug.toml"
SHORT = ["--set", "env.max_episode_steps=6", "--episodes", "1"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from tests.conftest import data_root_or_skip

    data_root_or_skip("fsdd")
    out = tmp_path_factory.mktemp("nb") / "ck"
    assert main(["train", str(CONFIG), "--out", str(out)]) == 0
    return out


def _run(checkpoint, out, *extra, config=CONFIG):
    assert main(["run", str(config), "--checkpoint", str(checkpoint), "--out", str(out),
                 *SHORT, *extra]) == 0
    return pq.read_table(out / "trace.parquet").to_pylist()


def _rows(trace, module, keep):
    return [r for r in trace if (r["module"] == module) == keep]


@pytest.fixture(scope="module")
def default_trace(checkpoint, tmp_path_factory):
    return _run(checkpoint, tmp_path_factory.mktemp("nb") / "default")


def test_every_booking_names_the_backend_that_did_the_work(default_trace):
    booked = {(r["module"], r["op"], r["backend"]) for r in default_trace if r["energy_j"] > 0}
    for row in [("perception", "conv1", "in_sensor"), ("perception", "readout", "in_sensor"),
                ("perception", "conv2", "neuromorphic"), ("memory", "write", "rram"),
                ("planner", "mpgemm", "cpu"), ("reasoner", "gl_agent.message", "logic_grid")]:
        assert row in booked, f"{row} not in {sorted(booked)}"
    # control acts only once a plan with a skill arrives (a short episode may end on cannot)
    assert {b for m, _, b in booked if m == "control"} <= {"cpu"}


def test_the_trace_summed_by_backend_equals_what_each_backend_counted(checkpoint):
    import neuralbrain as nb

    agent = nb.load_agent(CONFIG, checkpoint, overrides=["env.max_episode_steps=6"])
    result = nb.run(agent, episodes=1)
    from_trace = defaultdict(list)
    for row in result.trace.to_pylist():
        from_trace[row["backend"]].append(row["energy_j"])
    counted = defaultdict(list)
    for module in agent.modules.values():
        for device in module.devices():
            counted[device.name].append(device.spent.energy_j)
    assert set(from_trace) == set(counted)
    for backend in counted:
        total = math.fsum(from_trace[backend])
        assert total == pytest.approx(math.fsum(counted[backend]), rel=1e-9), backend
    assert math.fsum(counted["in_sensor"]) > 0 and math.fsum(counted["logic_grid"]) > 0


def test_switching_one_backend_changes_only_that_modules_rows(checkpoint, default_trace, tmp_path):
    swapped = _run(checkpoint, tmp_path / "swap", "--set", "reasoner.backend=cpu")
    assert _rows(swapped, "reasoner", False) == _rows(default_trace, "reasoner", False)
    mine, theirs = _rows(swapped, "reasoner", True), _rows(default_trace, "reasoner", True)
    assert {r["backend"] for r in mine} == {"cpu"} and {r["backend"] for r in theirs} == {"logic_grid"}
    assert sum(r["energy_j"] for r in mine) != sum(r["energy_j"] for r in theirs)


def test_without_plastic_memory_the_camera_looks_every_step(checkpoint, default_trace, tmp_path):
    ablated = _run(checkpoint, tmp_path / "ablate", "--set", "memory.enabled=false")

    def looks(trace):
        return len({r["step"] for r in trace if r["module"] == "perception" and r["op"] == "conv1"})

    assert looks(default_trace) == 1
    assert looks(ablated) == max(r["step"] for r in ablated) + 1 > 1


def test_a_module_is_dropped_by_editing_the_toml_only(checkpoint, tmp_path):
    text = CONFIG.read_text()
    # no listener: its table and its two edges go; language passes written requests alone
    without = text.replace('  "env.obs -> listener.obs",\n', "").replace(
        '  "listener.heard -> language.heard",\n', "")
    without = without[:without.index("[modules.listener]")] + without[
        without.index("[modules.reasoner]"):]
    path = tmp_path / "no_listener.toml"
    path.write_text(without)
    out = tmp_path / "run"
    assert main(["run", str(path), "--checkpoint", str(checkpoint), "--out", str(out),
                 *SHORT, "--json"]) == 0
    episodes = pq.read_table(out / "episodes.parquet").to_pylist()
    trace = pq.read_table(out / "trace.parquet").to_pylist()
    assert "listener" not in {r["module"] for r in trace} and episodes[0]["error"] is None
    assert any(r["module"] == "planner" and r["op"] == "mpgemm" for r in trace)


def test_trains_and_runs_without_data_and_says_speech_needs_the_listener(tmp_path, monkeypatch):
    monkeypatch.delenv("NEURALBRAIN_DATA", raising=False)
    ck = tmp_path / "ck"
    assert main(["train", str(CONFIG), "--out", str(ck)]) == 0
    assert (ck / "perception" / "snn.npz").is_file() and not (ck / "listener").exists()
    trace = _run(ck, tmp_path / "text")
    assert any(r["module"] == "perception" and r["energy_j"] > 0 for r in trace)
    # Spoken requests need FSDD, so that env cannot even be built without data; the listener
    # itself names what is missing when audio reaches it.
    import neuralbrain as nb
    from neuralbrain.errors import CheckpointError

    listener = nb.load_agent(CONFIG, ck).modules["listener"]
    listener.reset(0)
    with pytest.raises(CheckpointError, match="trained without data"):
        listener.step({"obs": {"audio": [0.0, 0.5, -0.5]}})


def test_a_tray_size_range_that_cannot_hold_is_named():
    from neuralbrain.config import load_config
    from neuralbrain.errors import ConfigError

    with pytest.raises(ConfigError, match="tray.min_size_px = 200, max_size_px = 160"):
        load_config(CONFIG, ["perception.tray.min_size_px=200"])


def test_the_planner_runs_tensor_parallel_on_t3(checkpoint, tmp_path):
    trace = _run(checkpoint, tmp_path / "t3", "--set", "planner.backend=t3",
                 "--set", "hardware.t3.device=lut")
    planner = {(r["op"], r["backend"]) for r in trace if r["module"] == "planner"
               and r["energy_j"] > 0}
    assert {("gemm", "t3"), ("reduce_scatter", "t3"), ("all_gather", "t3")} <= planner
    assert {b for _, b in planner} == {"t3"}

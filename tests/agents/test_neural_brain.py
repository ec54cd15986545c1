"""The Neural Brain agent: backend swaps touch only their module's rows; memory saves looks."""

from __future__ import annotations

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


def _run(checkpoint, out, *extra):
    assert main(["run", str(CONFIG), "--checkpoint", str(checkpoint), "--out", str(out),
                 *SHORT, *extra]) == 0
    return pq.read_table(out / "trace.parquet").to_pylist()


def _rows(trace, module, keep):
    return [r for r in trace if (r["module"] == module) == keep]


@pytest.fixture(scope="module")
def default_trace(checkpoint, tmp_path_factory):
    return _run(checkpoint, tmp_path_factory.mktemp("nb") / "default")


def test_every_module_books_on_its_named_backend(default_trace):
    backends = {r["module"]: r["backend"] for r in default_trace}
    assert backends["perception"] == "neuromorphic"
    assert backends["memory"] == "rram"
    assert backends["reasoner"] == "logic_grid"
    ops = {(r["module"], r["op"]) for r in default_trace if r["energy_j"] > 0}
    for module, op in [("perception", "conv1"), ("memory", "write"),
                       ("planner", "mpgemm"), ("control", "skill_step"), ("reasoner", "message")]:
        assert any(m == module and op in o for m, o in ops), f"{module}/{op} not in {sorted(ops)}"


def test_switching_one_backend_changes_only_that_modules_rows(checkpoint, default_trace, tmp_path):
    swapped = _run(checkpoint, tmp_path / "swap", "--set", "reasoner.backend=cpu")
    assert _rows(swapped, "reasoner", False) == _rows(default_trace, "reasoner", False)
    mine, theirs = _rows(swapped, "reasoner", True), _rows(default_trace, "reasoner", True)
    assert {r["backend"] for r in mine} == {"cpu"} and {r["backend"] for r in theirs} == {"logic_grid"}
    assert sum(r["energy_j"] for r in mine) != sum(r["energy_j"] for r in theirs)


def test_without_plastic_memory_the_camera_looks_every_step(checkpoint, default_trace, tmp_path):
    ablated = _run(checkpoint, tmp_path / "ablate", "--set", "memory.enabled=false")

    def looks(trace):
        return len({r["step"] for r in trace if r["module"] == "perception" and r["op"].startswith("conv1")})

    assert looks(default_trace) == 1
    assert looks(ablated) == max(r["step"] for r in ablated) + 1 > 1


def test_trains_and_runs_without_data_and_says_speech_needs_the_listener(tmp_path, monkeypatch):
    monkeypatch.delenv("NEURALBRAIN_DATA", raising=False)
    ck = tmp_path / "ck"
    assert main(["train", str(CONFIG), "--out", str(ck)]) == 0
    assert (ck / "perception" / "snn.npz").is_file() and not (ck / "listener").exists()
    trace = _run(ck, tmp_path / "text")
    assert any(r["module"] == "perception" and r["energy_j"] > 0 for r in trace)
    # Spoken requests need FSDD, so that env cannot even be built without data; the listener
    # itself names what is missing when audio reaches it.
    from neuralbrain.config import load_experiment
    from neuralbrain.errors import CheckpointError
    from neuralbrain_agents.neural_brain import Listener, ListenerConfig, _listener_task

    cfg = load_experiment(CONFIG)
    listener = Listener(ListenerConfig(), cfg.hardware, _listener_task(cfg), None)
    listener.reset(0)
    with pytest.raises(CheckpointError, match="trained without data"):
        listener.step({"obs": {"audio": [0.0, 0.5, -0.5]}})


@pytest.mark.parametrize("key, other, expected", [
    ("listener_task", "insensor_nmnist_debug", "lsm_zeroshot"),
    ("perception_task", "lsm_crossmodal_debug", "insensor_nmnist"),
])
def test_a_task_of_the_wrong_kind_is_named_before_training(key, other, expected, tmp_path):
    from neuralbrain.config import load_experiment
    from neuralbrain.errors import ConfigError
    from neuralbrain_agents.neural_brain import NeuralBrain

    cfg = load_experiment(CONFIG, [f"{key}=agents/configs/{other}.toml"])
    with pytest.raises(ConfigError, match=rf"{key} = .*{other}.* expected .*'{expected}'"):
        NeuralBrain.train(cfg, tmp_path / "ck", None, resume=False)
    assert not (tmp_path / "ck").exists()


def test_planner_facts_while_the_requested_cube_is_unseen():
    from neuralbrain_agents.neural_brain import relevant

    facts = ["location(tray)", "location(table)", "shows(cube_0, 3)", "reachable(cube_0)",
             "set_aside(cube_0)", "shows(cube_1, 8)", "reachable(cube_1)"]
    # only cubes that may cover it, and not the tray: the plan can only move cube_1 aside
    assert relevant(facts, [], True, ["cube_1"]) == [
        "location(table)", "shows(cube_1, 8)", "reachable(cube_1)"]
    assert relevant(facts, [], True, []) == []  # nothing can hide it: wait for the next look
    held = [*facts, "holding(cube_0)"]
    assert "holding(cube_0)" in relevant(held, [], True, [])  # a held cube must go somewhere
    assert relevant(facts, ["cube_1"], True, []) == [
        "location(tray)", "location(table)", "shows(cube_1, 8)", "reachable(cube_1)",
        "target(cube_1)"]
    assert relevant(facts, [], False, []) == [f for f in facts if not f.startswith("set_aside")]


@pytest.mark.parametrize("request_text, digit", [
    ("Could you grab the eight and drop it into the tray?", 8),
    ("I need number six in the box", 6),
    ("Put 6 in tray", 6),
    ("Tray: the zero cube.", 0),
    ("one. tray. now.", 1),
    ("Place the five-cube in the container", 5),
    ("the tray should get the three", 3),
    ("Drop the block marked seven into the tray.", 7),
])
def test_the_llm_reads_the_requested_digit_from_phrasings_not_in_the_env(request_text, digit,
                                                                        language):
    assert language.read_digit(request_text) == digit


@pytest.fixture(scope="module")
def language():
    from neuralbrain_agents.neural_brain import Language, LanguageConfig

    return Language(LanguageConfig(backend="cpu"))


def test_a_tray_size_range_that_cannot_hold_is_named():
    from neuralbrain.config import load_experiment
    from neuralbrain.errors import ConfigError

    with pytest.raises(ConfigError, match="tray.min_size_px = 200, max_size_px = 160"):
        load_experiment(CONFIG, ["tray.min_size_px=200"])

"""``neuralbrain export CONFIG --checkpoint CK --nir OUT.nir`` for every spiking model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neuralbrain.cli import main
from neuralbrain.nir_lif import read_graph
from tests.conftest import data_root_or_skip

CONFIGS = Path(__file__).resolve().parents[1] / "agents" / "configs"


def _export(capsys, *args: str) -> dict:
    assert main(["export", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_cartpole_policy_from_task_and_agent_configs(tmp_path, capsys):
    from neuralbrain.control.snn_policy_nir import from_nir

    ck = tmp_path / "ck"
    assert main(["train", str(CONFIGS / "snn_cartpole_debug.toml"), "--out", str(ck)]) == 0
    capsys.readouterr()
    out = _export(capsys, str(CONFIGS / "snn_cartpole_debug.toml"), "--checkpoint", str(ck),
                  "--nir", str(tmp_path / "agent.nir"))
    assert out["task"] == "es_cartpole" and out["nodes"]["hidden"] == "LI"
    assert out["nodes"]["hidden_spike"] == "Threshold" and out["nodes"]["count"] == "I"
    assert out["deviations"] == [] and "env step" in out["notes"][0]
    lif = _export(capsys, str(CONFIGS / "snn_cartpole_debug.toml"), "--checkpoint", str(ck),
                  "--nir", str(tmp_path / "lif.nir"), "--reset-form", "lif")
    assert lif["nodes"]["hidden"] == "LIF" and "reset by subtraction" in lif["deviations"][0]
    task = _export(capsys, str(CONFIGS / "es_cartpole_debug.toml"), "--checkpoint",
                   str(ck / "policy"), "--nir", str(tmp_path / "task.nir"))
    a, _ = from_nir(read_graph(out["nir"]))
    b, cfg = from_nir(read_graph(task["nir"]))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    with np.load(ck / "policy" / "snn_cartpole.npz") as data:
        best = data["best"]
    np.testing.assert_array_equal(b["w_in"].reshape(-1), best[: b["w_in"].size].astype(np.float32))
    assert cfg.n_hidden == 8


def test_check_runs_the_written_file_in_snntorch(tmp_path, capsys):
    """``--check N``: the policy drives its env N steps; the file, run in snnTorch + nirtorch,
    spikes and acts as our policy does (graph form: equal up to float32 summation order)."""
    import os

    if not (os.environ.get("CI") or os.environ.get("NEURALBRAIN_REQUIRE_DATA") == "1"):
        pytest.importorskip("snntorch")
    ck = tmp_path / "ck"
    config = str(CONFIGS / "es_cartpole_debug.toml")
    assert main(["train", config, "--out", str(ck)]) == 0
    capsys.readouterr()
    out = _export(capsys, config, "--checkpoint", str(ck), "--nir", str(tmp_path / "p.nir"),
                  "--check", "60")
    check = out["check"]
    assert check["env_steps"] == 60 and 0.02 < check["spike_rate"] < 0.6
    assert min(check["hidden"], check["out"], check["decisions"]) >= 0.999


def test_insensor_snn_export_matches_the_checkpoint(tmp_path, capsys, monkeypatch):
    from neuralbrain.sensing.snn.nir_io import import_nir

    monkeypatch.delenv("NEURALBRAIN_DATA", raising=False)  # the embedded digits: seconds
    config = str(CONFIGS / "insensor_nmnist_debug.toml")
    assert main(["train", config, "--out", str(tmp_path / "ck")]) == 0
    capsys.readouterr()
    out = _export(capsys, config, "--checkpoint", str(tmp_path / "ck"), "--nir",
                  str(tmp_path / "snn.nir"))
    assert [out["nodes"][k] for k in ("conv1", "lif1", "lif1_spike", "mean")] == [
        "Conv2d", "LI", "Threshold", "I"]
    assert out["deviations"] == []
    params, cfg = import_nir(out["nir"])
    with np.load(tmp_path / "ck" / "snn.npz") as data:
        np.testing.assert_array_equal(params["fc.w"], data["fc.w"])
    assert cfg.time_steps == 8


@pytest.mark.data
def test_lsm_reservoir_and_readout(tmp_path, capsys):
    from neuralbrain.memory.lsm_nir import import_nir

    root = data_root_or_skip("nmnist").parent
    config = str(CONFIGS / "lsm_nmnist_debug.toml")
    assert main(["train", config, "--out", str(tmp_path / "ck"), "--data-root", str(root)]) == 0
    capsys.readouterr()
    out = _export(capsys, config, "--checkpoint", str(tmp_path / "ck"), "--nir",
                  str(tmp_path / "lsm.nir"))
    assert out["nodes"] == {"input": "Input", "w_in": "Linear", "reservoir": "LIF",
                            "w_rec": "Linear", "output": "Output"}
    back = import_nir(out["nir"])
    assert back.w_in.shape == (256, 50) and back.readout.n_windows == 2
    assert back.readout_state["w2"].shape == (100, 10)


def test_bad_requests_say_what_was_expected(tmp_path, capsys):
    config = str(CONFIGS / "es_cartpole_debug.toml")
    assert main(["export", config, "--checkpoint", str(tmp_path), "--nir", "x.h5"]) == 2
    assert "expected a file name ending in .nir" in capsys.readouterr().err
    assert main(["export", config, "--checkpoint", str(tmp_path), "--nir", "x.nir", "--check",
                 "-1"]) == 2
    assert "--check -1: expected a number of inputs >= 0" in capsys.readouterr().err
    assert main(["export", config, "--checkpoint", str(tmp_path / "none"), "--nir",
                 str(tmp_path / "x.nir")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["export", config, "--checkpoint", str(tmp_path), "--module", "policy", "--nir",
                 str(tmp_path / "x.nir")]) == 2
    assert "--module 'policy' is for agent configs" in capsys.readouterr().err
    assert main(["export", str(CONFIGS / "scripted_picker_debug.toml"), "--checkpoint",
                 str(tmp_path), "--nir", str(tmp_path / "x.nir")]) == 2
    assert "no module trained by an exportable task" in capsys.readouterr().err
    assert not (tmp_path / "x.nir").exists()

"""Every config has a ``_debug`` twin, and every twin trains and runs (agents) or trains and
evaluates (tasks) from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from neuralbrain.cli import main
from neuralbrain.config import AgentConfig, load_config

CONFIGS = Path(__file__).resolve().parents[2] / "agents" / "configs"
DEBUG = sorted(CONFIGS.glob("*_debug.toml"))

# Held-out floors of the learning tasks' debug twins on the real data (test split, scored
# once): what each reached on 2026-12-04 (in brackets), less about 30% of it, and above
# chance (10 digits: 0.1; zero-shot between two unseen digits: 0.5). A change that costs more
# than that margin is a regression to look at, not noise: every run is seeded.
FLOORS = {
    "insensor_nmnist_debug": ("accuracy", 0.26),   # [0.368 of 204]
    "lsm_nmnist_debug": ("accuracy", 0.40),        # [0.65 of 40]
    "lsm_nmnist_svm_fpga_debug": ("accuracy", 0.42),  # [0.60 of 40]
    "lsm_fsdd_debug": ("accuracy", 0.25),          # [0.375 of 40]
    "lsm_crossmodal_debug": ("accuracy", 0.28),    # [0.44 of 200]
    "lsm_zeroshot_debug": ("zero_shot_top1", 0.8),  # [1.0 of 40]
}


def test_every_config_has_a_debug_twin():
    full = [p for p in CONFIGS.glob("*.toml") if not p.stem.endswith("_debug")]
    missing = [p.name for p in full if not (CONFIGS / f"{p.stem}_debug.toml").exists()]
    assert not missing, f"configs without a _debug twin: {missing}"


@pytest.mark.parametrize("config", DEBUG, ids=[p.stem for p in DEBUG])
def test_debug_twin_trains_and_runs(config, tmp_path, capsys, data_root):
    cfg = load_config(config)
    trained = not isinstance(cfg, AgentConfig) or any(s.task for s in cfg.modules.values())
    checkpoint = None
    if trained:
        checkpoint = tmp_path / "ck"
        assert main(["train", str(config), "--out", str(checkpoint)]) == 0
    capsys.readouterr()
    if isinstance(cfg, AgentConfig):
        args = ["run", str(config), "--episodes", "1", "--out", str(tmp_path / "run"), "--json"]
        if checkpoint is not None:
            args += ["--checkpoint", str(checkpoint)]
        assert main(args) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["episodes"] == 1 and summary["errors"] == 0
        episodes = pq.read_table(tmp_path / "run" / "episodes.parquet").to_pylist()
        assert episodes[0]["energy_j"] > 0
    else:
        assert main(["eval", str(config), "--split", "test", "--json",
                     "--checkpoint", str(checkpoint)]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report, f"{config.name}: eval printed nothing"
        if config.stem in FLOORS:
            metric, floor = FLOORS[config.stem]
            assert report[metric] >= floor, f"{config.stem}: {metric} {report[metric]} < {floor}"

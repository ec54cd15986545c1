"""Training that survives kill -9 (``neuralbrain.resumable``), tested on real processes.

Each trainer (the ES CartPole policy, the in-sensor SNN, an LSM readout, the LSM contrastive
projections) runs once uninterrupted; then the same command is SIGKILLed twice, at a random
moment of a seeded schedule and again at a random moment after the resumed run wrote a
checkpoint, and finished with ``--resume``. Every array of the final checkpoints must equal
the uninterrupted run's, bit for bit, at one BLAS thread.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from neuralbrain.config import load_config
from neuralbrain.errors import CheckpointError
from neuralbrain.npz import read_npz
from neuralbrain.resumable import Checkpointer, read_checkpoint, restore_rng, rng_state, task_config_sha256
from tests.conftest import data_root_or_skip

CONFIGS = Path(__file__).resolve().parents[1] / "agents" / "configs"
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}

# (config, overrides that make the training loop last a few seconds and save every step,
#  the training-state file, the files whose arrays must match, whether it needs real data)
TRAINERS = {
    "es_policy": ("es_cartpole_debug.toml",
                  ["train.time_budget_s=600", "train.max_generations=150",
                   "train.checkpoint_every=1"],
                  "snn_cartpole.npz", ["snn_cartpole.npz"], False),
    "snn": ("insensor_nmnist_debug.toml", ["train.epochs=30", "train.checkpoint_every=1"],
            "snn.train_state.npz", ["snn.npz", "snn.train_state.npz"], False),
    "lsm_readout": ("lsm_nmnist_debug.toml",
                    ["readout.epochs=1200", "readout.checkpoint_every=1"],
                    "readout.train_state.npz", ["lsm.npz", "readout.train_state.npz"], True),
    "lsm_projections": ("lsm_crossmodal_debug.toml",
                        ["projection.epochs=100", "projection.checkpoint_every=1",
                         "audio.max_samples=60", "vision.max_samples=60"],
                        "projections.train_state.npz",
                        ["lsm.npz", "projections.train_state.npz"], True),
}


def _start(config: str, out: Path, sets: list[str], resume: bool = False) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "neuralbrain", "train", str(CONFIGS / config), "--out",
           str(out), *[a for s in sets for a in ("--set", s)], *(["--resume"] if resume else [])]
    return subprocess.Popen(cmd, env={**os.environ, **ONE_THREAD}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    return err


def _kill(proc: subprocess.Popen) -> None:
    assert proc.poll() is None, "the training ended before the kill: lengthen its loop"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def _mtime(path: Path) -> float:
    return path.stat().st_mtime_ns if path.exists() else -1


@pytest.mark.parametrize("name", list(TRAINERS))
def test_training_killed_twice_resumes_to_the_uninterrupted_result(name, tmp_path):
    config, sets, state_file, compared, needs_data = TRAINERS[name]
    if needs_data:
        data_root_or_skip("")
    rng = np.random.default_rng(list(TRAINERS).index(name))
    t0 = time.perf_counter()
    _finish(_start(config, tmp_path / "whole", sets))
    span = time.perf_counter() - t0

    killed = tmp_path / "killed"
    proc = _start(config, killed, sets)  # first kill: anywhere in the run (maybe before
    time.sleep(rng.uniform(0.1, 0.7) * span)  # the first checkpoint: then it starts over)
    _kill(proc)
    state = killed / state_file
    before = _mtime(state)
    proc = _start(config, killed, sets, resume=True)
    while _mtime(state) == before:  # second kill: after the resumed run saved at least once
        assert proc.poll() is None, "the resumed run ended without writing a checkpoint"
        time.sleep(0.005)
    time.sleep(rng.uniform(0.0, 0.1) * span)
    _kill(proc)
    err = _finish(_start(config, killed, sets, resume=True))
    assert "resuming from" in err  # it continued from a checkpoint, not from scratch

    for file in compared:
        whole, resumed = read_npz(tmp_path / "whole" / file), read_npz(killed / file)
        assert sorted(whole) == sorted(resumed), file
        for key in whole:
            a, b = whole[key], resumed[key]
            assert a.dtype == b.dtype and a.shape == b.shape, (file, key)
            assert a.tobytes() == b.tobytes(), f"{file}:{key} differs from the uninterrupted run"


def test_a_checkpoint_of_another_config_is_refused_naming_both_hashes(tmp_path):
    from neuralbrain.cli import main

    config = str(CONFIGS / "insensor_nmnist_debug.toml")
    sets = ["--set", "train.epochs=1"]
    assert main(["train", config, "--out", str(tmp_path), *sets]) == 0
    mine = task_config_sha256(load_config(config, ["train.epochs=1"]))
    other = task_config_sha256(load_config(config, ["train.epochs=1", "train.lr=0.01"]))
    (tmp_path / "report.json").unlink()  # an unfinished run: only the training state is left
    with pytest.raises(CheckpointError) as err:
        Checkpointer(tmp_path / "snn.train_state.npz", other, resume=True).load()
    assert mine in str(err.value) and other in str(err.value)
    # the CLI says it in one line and exits 2
    assert main(["train", config, "--out", str(tmp_path), "--resume", *sets,
                 "--set", "train.lr=0.01"]) == 2
    arrays, meta = read_checkpoint(tmp_path / "snn.train_state.npz")
    assert meta["config_sha256"] == mine and meta["version"]


def test_the_config_hash_ignores_only_what_cannot_change_the_trajectory():
    config = CONFIGS / "es_cartpole_debug.toml"
    base = task_config_sha256(load_config(config))
    assert task_config_sha256(load_config(config, ["train.checkpoint_every=3"])) == base
    assert task_config_sha256(load_config(config, ["train.sigma=0.1"])) != base
    stop = ("train.max_generations",)
    assert (task_config_sha256(load_config(config, ["train.max_generations=7"]), stop)
            == task_config_sha256(load_config(config), stop))
    assert task_config_sha256(load_config(config, ["train.max_generations=7"])) != base


def test_a_restored_generator_continues_the_same_stream():
    rng = np.random.default_rng(7)
    rng.standard_normal(5)
    copy = restore_rng(rng_state(rng))
    assert np.array_equal(rng.standard_normal(9), copy.standard_normal(9))
    with pytest.raises(CheckpointError, match="bit generator 'os.system'"):
        restore_rng({"bit_generator": "os.system", "state": {}})


def test_a_damaged_training_state_is_one_checkpoint_error(tmp_path):
    ck = Checkpointer(tmp_path / "x.train_state.npz", "h", resume=True)
    ck.save({"w": np.arange(3.0)}, {"step": 1})
    assert ck.load()[1] == {"step": 1}
    data = ck.path.read_bytes()
    ck.path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="x.train_state.npz"):
        ck.load()

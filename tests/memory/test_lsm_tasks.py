"""The LSM tasks end to end on their _debug configs: train, evaluate, checkpoints, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from neuralbrain.config import load_config
from neuralbrain.errors import CheckpointError, ConfigError, DataError
from neuralbrain.sensing.readers import write_nmnist
from neuralbrain.sensing.saccade import Saccades
from neuralbrain.tasks import TASKS
from tests.conftest import data_root_or_skip

CONFIGS = Path(__file__).resolve().parents[2] / "agents" / "configs"


def _synthetic_root(base: Path, n_per_class: int = 4, test_folder: bool = False) -> Path:
    """A tiny data root in the real layout: emulated N-MNIST digits and tone 'words'."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    emulator = Saccades()
    for split in ("Train", "Test") if test_folder else ("Train",):
        for d in range(10):
            folder = base / "nmnist" / split / str(d)
            folder.mkdir(parents=True)
            images = digits.images[digits.target == d]
            for k in range(n_per_class):
                idx = k + (n_per_class if split == "Test" else 0)
                ev = emulator(images[idx], seed=idx)
                write_nmnist(folder / f"{d * 100 + k:05d}.bin", ev)
    rec = base / "fsdd" / "recordings"
    rec.mkdir(parents=True)
    rng = np.random.default_rng(0)
    t = np.arange(int(0.25 * 8000)) / 8000
    for d in range(10):
        for speaker, shift in (("ann", 1.0), ("bob", 1.1), ("cy", 0.95)):
            for take in range(11):  # 0-4 test, 5-9 validation, 10 train
                f = (250 + 120 * d) * shift
                wave = np.sin(2 * np.pi * f * t) * np.hanning(t.size) + rng.normal(0, 0.01, t.size)
                wavfile.write(rec / f"{d}_{speaker}_{take}.wav", 8000,
                              (wave * 12000).astype(np.int16))
    return base


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return _synthetic_root(tmp_path_factory.mktemp("data"))


def _cfg(name: str, *overrides: str):
    return load_config(CONFIGS / f"{name}.toml", list(overrides))


@pytest.mark.parametrize("name", ["lsm_nmnist_debug", "lsm_fsdd_debug"])
def test_classifiers_train_and_evaluate(name, root, tmp_path):
    cfg = _cfg(name)
    task = TASKS.get(cfg.task)
    report = task.train(cfg, tmp_path / "ck", root, resume=False)
    assert (tmp_path / "ck" / "lsm.npz").is_file()
    assert 0.0 <= report["train_accuracy"] <= 1.0 and report["n_train"] > 0
    assert report["n_validation"] > 0 and 0.0 <= report["validation_accuracy"] <= 1.0
    val = task.evaluate(cfg, tmp_path / "ck", root, "validation")
    assert val["split"] == "validation" and "validation" in val["source"]
    out = task.evaluate(cfg, tmp_path / "ck", root, "test")
    json.dumps(out)  # the CLI prints it as JSON
    assert set(out) >= {"accuracy", "n", "per_class", "ci95"}
    assert out["n"] > 0 and out["ci95"][0] <= out["accuracy"] <= out["ci95"][1]
    # held out on the synthetic root (today 0.5 of 10 and 0.95 of 40; chance 0.1); the real-
    # data floors are in tests/agents/test_debug_configs.py
    assert out["accuracy"] >= {"lsm_nmnist_debug": 0.3, "lsm_fsdd_debug": 0.7}[name]
    again = task.evaluate(cfg, tmp_path / "ck", root, "test")
    assert again["accuracy"] == out["accuracy"]  # same seed, same spikes, same answer
    # resume with the same config returns the stored report instead of retraining
    assert task.train(cfg, tmp_path / "ck", root, resume=True) == report


def test_zero_shot_trains_on_seen_and_scores_unseen(root, tmp_path):
    cfg = _cfg("lsm_zeroshot_debug")
    task = TASKS.get(cfg.task)
    report = task.train(cfg, tmp_path / "ck", root, resume=False)
    assert report["n_image_train"] > 0 and report["n_audio_train"] > 0
    out = task.evaluate(cfg, tmp_path / "ck", root, "test")
    assert 0.0 <= out["zero_shot_top1"] <= 1.0
    assert out["unseen_digits"] == [8, 9] and out["n"] > 0
    assert out["method"] == "names" and 0.0 <= out["zero_shot_top1_contrastive"] <= 1.0
    assert task.evaluate(cfg, tmp_path / "ck", root, "test") == out  # seeded end to end
    # the anchors are stored for every digit (row d = digit d), unit-norm, in each sense
    from neuralbrain.memory.lsm_tasks import load_checkpoint

    arrays = load_checkpoint(tmp_path / "ck", cfg)[0]
    for sense in ("audio", "image"):
        assert arrays[f"names/{sense}"].shape[0] == 10
        np.testing.assert_allclose(np.linalg.norm(arrays[f"names/{sense}"], axis=1), 1.0)
    # a data root holding only the unseen digits (how a new speaker's 8s and 9s may come)
    only = _synthetic_root(tmp_path / "only89")
    for f in [*only.glob("nmnist/Train/[0-7]/*"), *only.glob("fsdd/recordings/[0-7]_*")]:
        f.unlink()
    out_only = task.evaluate(cfg, tmp_path / "ck", only, "all")
    assert out_only["seen_digits_top1"] is None and 0.0 <= out_only["zero_shot_top1"] <= 1.0
    # without names the configured retrieval is the projections' own
    plain = _cfg("lsm_zeroshot_debug", "names.enabled=false")
    task.train(plain, tmp_path / "plain", root, resume=False)
    out_plain = task.evaluate(plain, tmp_path / "plain", root, "test")
    assert out_plain["method"] == "contrastive"
    assert out_plain["zero_shot_top1"] == out_plain["zero_shot_top1_contrastive"]


def test_crossmodal_matches_spoken_digits_to_image_prototypes(root, tmp_path):
    cfg = _cfg("lsm_crossmodal_debug")
    task = TASKS.get(cfg.task)
    task.train(cfg, tmp_path / "ck", root, resume=False)
    out = task.evaluate(cfg, tmp_path / "ck", root, "test")
    assert set(out) >= {"accuracy", "n", "per_class", "ci95"} and out["n"] > 0
    assert task.evaluate(cfg, tmp_path / "ck", root, "test") == out  # seeded
    # the match is the nearest prototype: moving one prototype onto a query's embedding
    # makes that query heard as the prototype's digit
    from neuralbrain.memory.lsm_tasks import HeardDigit, load_checkpoint

    arrays = load_checkpoint(tmp_path / "ck", cfg)[0]
    features = np.abs(np.random.default_rng(0).normal(size=(1, arrays["audio/mean"].size)))
    heard = HeardDigit.from_arrays(cfg.params.projection, arrays, features.shape[1])
    target = (int(heard(features)[0]) + 1) % 10
    k = int(np.flatnonzero(heard.digits == target)[0])
    heard.protos = heard.protos.copy()
    heard.protos[k] = heard.audio.embed(features)[0]
    assert int(heard(features)[0]) == target


def test_zero_shot_config_needs_seen_digits():
    with pytest.raises(ConfigError, match="seen_digits"):
        _cfg("lsm_crossmodal_debug", "seen_digits=[]")


def test_checkpoint_from_another_config_names_both(root, tmp_path):
    cfg = _cfg("lsm_nmnist_debug")
    TASKS.get(cfg.task).train(cfg, tmp_path / "ck", root, resume=False)
    other = _cfg("lsm_nmnist_debug", "reservoir.threshold=4.0")
    with pytest.raises(CheckpointError, match=r"lsm_nmnist_debug.toml.*reservoir.threshold"):
        TASKS.get(other.task).evaluate(other, tmp_path / "ck", root, "test")
    fsdd = _cfg("lsm_fsdd_debug")
    with pytest.raises(CheckpointError, match="'lsm_nmnist'.*'lsm_fsdd'"):
        TASKS.get(fsdd.task).evaluate(fsdd, tmp_path / "ck", root, "test")
    # the backend is not part of the model: a cpu-trained readout runs on rram
    on_rram = _cfg("lsm_nmnist_debug", "reservoir.backend=rram")
    assert TASKS.get(on_rram.task).evaluate(on_rram, tmp_path / "ck", root, "test")["n"] > 0


def test_test_folder_is_used_for_the_test_split(tmp_path):
    base = _synthetic_root(tmp_path / "data", n_per_class=2, test_folder=True)
    cfg = _cfg("lsm_nmnist_debug")
    task = TASKS.get(cfg.task)
    task.train(cfg, tmp_path / "ck", base, resume=False)
    out = task.evaluate(cfg, tmp_path / "ck", base, "test")
    assert out["n"] == 20 and "Test" in out["source"]


def test_bad_input_is_named(root, tmp_path, monkeypatch):
    cfg = _cfg("lsm_nmnist_debug")
    task = TASKS.get(cfg.task)
    with pytest.raises(DataError, match="is not a folder"):
        task.train(cfg, tmp_path / "ck", tmp_path / "nowhere", resume=False)
    monkeypatch.delenv("NEURALBRAIN_DATA", raising=False)
    with pytest.raises(DataError, match="NEURALBRAIN_DATA"):
        task.train(cfg, tmp_path / "ck", None, resume=False)
    with pytest.raises(CheckpointError, match="no lsm.npz"):
        task.evaluate(cfg, tmp_path / "empty", root, "test")
    with pytest.raises(ConfigError, match=r"n_inputs = 64: expected vision.crop\^2 = 256"):
        _cfg("lsm_nmnist_debug", "reservoir.n_inputs=64")
    with pytest.raises(DataError, match="split 'dev'"):
        task.train(cfg, tmp_path / "ck", root, resume=False)
        task.evaluate(cfg, tmp_path / "ck", root, "dev")


@pytest.mark.data
def test_debug_config_on_real_nmnist(tmp_path):
    root = data_root_or_skip("nmnist").parent
    cfg = _cfg("lsm_nmnist_debug")
    task = TASKS.get(cfg.task)
    task.train(cfg, tmp_path / "ck", root, resume=False)
    out = task.evaluate(cfg, tmp_path / "ck", root, "test")
    assert out["n"] == 40 and out["accuracy"] > 0.2  # 10 classes, 40 training recordings
    assert "real N-MNIST" in out["source"]


def test_fsdd_reports_leave_one_speaker_out(root, tmp_path):
    # + 10 synthesized recordings (one eSpeak voice): training only, never held out
    cfg = _cfg("lsm_fsdd_debug", "audio.report_loso=true", "audio.max_samples=0",
               "audio.n_steps=260", "synthetic.enabled=true", 'synthetic.voices=["en-us"]',
               "synthetic.pitches=[50]", "synthetic.wpm=[175]")
    report = TASKS.get(cfg.task).train(cfg, tmp_path / "ck", root, resume=False)
    loso = report["leave_one_speaker_out"]
    assert set(loso) == {"ann", "bob", "cy"} and all(r["n"] == 110 for r in loso.values())
    # the validation protocol beside it: fold s scores the next speaker, trained without s
    val = report["leave_one_speaker_out_validation"]
    assert {s: r["speaker"] for s, r in val.items()} == {"ann": "bob", "bob": "cy", "cy": "ann"}
    assert all(r["n"] == 110 for r in val.values())
    assert report["n_train"] == 30 + 10  # take 10 of each speaker + the synthesized words
    assert report["n_validation"] == 150  # takes 5-9
    lo, hi = report["leave_one_speaker_out_ci95"]
    assert lo <= report["leave_one_speaker_out_mean"] <= hi
    held = _cfg("lsm_fsdd_debug", "audio.holdout_speaker=bob", "audio.max_samples=20",
                "audio.n_steps=260")
    TASKS.get(held.task).train(held, tmp_path / "ck2", root, resume=False)
    out = TASKS.get(held.task).evaluate(held, tmp_path / "ck2", root, "test")
    assert out["n"] == 20 and "test: speaker 'bob'" in out["source"]
    out = TASKS.get(held.task).evaluate(held, tmp_path / "ck2", root, "validation")
    assert out["n"] == 20 and "validation: speaker 'cy'" in out["source"]
    with pytest.raises(DataError, match="no such speaker"):
        bad = _cfg("lsm_fsdd_debug", "audio.holdout_speaker=carol")
        TASKS.get(bad.task).train(bad, tmp_path / "ck3", root, resume=False)


def test_breakdown_weights_are_part_of_the_model(root, tmp_path):
    cfg = _cfg("lsm_nmnist_debug", "reservoir.backend=rram", "hardware.rram.weights=breakdown")
    task = TASKS.get(cfg.task)
    task.train(cfg, tmp_path / "ck", root, resume=False)
    assert task.evaluate(cfg, tmp_path / "ck", root, "test")["backend"] == "rram"
    ideal = _cfg("lsm_nmnist_debug", "reservoir.backend=rram")
    with pytest.raises(CheckpointError, match="hardware.rram"):
        task.evaluate(ideal, tmp_path / "ck", root, "test")


def test_fingerprint_ignores_a_disabled_names_table_only():
    from neuralbrain.memory.lsm_tasks import fingerprint

    base = _cfg("lsm_zeroshot_debug", "names.enabled=false")
    other_voices = _cfg("lsm_zeroshot_debug", "names.enabled=false", 'names.voices=["en"]')
    assert fingerprint(base) == fingerprint(other_voices)
    named = _cfg("lsm_zeroshot_debug")
    assert fingerprint(named) != fingerprint(_cfg("lsm_zeroshot_debug", 'names.voices=["en"]'))
    assert fingerprint(named) != fingerprint(base)


def test_synthetic_speakers_config_and_fingerprint():
    from neuralbrain.memory.lsm_tasks import fingerprint

    off = _cfg("lsm_fsdd_debug")
    assert fingerprint(off) == fingerprint(_cfg("lsm_fsdd_debug", "synthetic.pitches=[40]"))
    on = _cfg("lsm_fsdd_debug", "synthetic.enabled=true")
    assert fingerprint(on) != fingerprint(off)
    with pytest.raises(ConfigError, match="synthetic.pitches"):
        _cfg("lsm_fsdd_debug", "synthetic.pitches=[120]")


def test_fsdd_speaker_norm_reports_with_and_without_it_and_stores_the_stream_prior(root, tmp_path):
    from neuralbrain.npz import read_npz

    cfg = _cfg("lsm_fsdd_debug", "audio.report_loso=true", "audio.max_samples=0",
               "audio.n_steps=260", 'readout.speaker_norm="meanvar"')
    task = TASKS.get(cfg.task)
    report = task.train(cfg, tmp_path / "ck", root, resume=False)
    for key in ("leave_one_speaker_out", "leave_one_speaker_out_without_speaker_norm",
                "leave_one_speaker_out_stream"):
        assert {s: r["n"] for s, r in report[key].items()} == {"ann": 110, "bob": 110, "cy": 110}
    assert "unlabelled" in report["speaker_norm"]
    val = report["leave_one_speaker_out_without_speaker_norm_validation"]
    assert {s: r["speaker"] for s, r in val.items()} == {"ann": "bob", "bob": "cy", "cy": "ann"}
    # the same protocol without the statistics is the plain config's report
    plain = _cfg("lsm_fsdd_debug", "audio.report_loso=true", "audio.max_samples=0",
                 "audio.n_steps=260")
    plain_report = task.train(plain, tmp_path / "plain", root, resume=False)
    assert report["leave_one_speaker_out_without_speaker_norm"] == plain_report[
        "leave_one_speaker_out"]
    arrays = read_npz(tmp_path / "ck" / "lsm.npz")
    n_features = arrays["readout/mean"].size
    assert arrays["readout/speaker_prior_mean"].shape == (n_features,)
    assert np.all(arrays["readout/speaker_prior_var"] >= 0)
    out = task.evaluate(cfg, tmp_path / "ck", root, "test")  # each speaker by its own takes
    assert out["n"] == 150


def test_the_reports_self_training_leaves_the_fingerprint_alone():
    from neuralbrain.memory.lsm_tasks import _model_dict, fingerprint

    # report-only options: a checkpoint trained before they existed stays valid
    off = _cfg("lsm_fsdd_debug")
    assert not {"self_train", "self_train_every"} & set(_model_dict(off)["readout"])
    assert fingerprint(off) == fingerprint(_cfg("lsm_fsdd_debug", "readout.self_train=0.5",
                                                "readout.self_train_every=10"))


def test_speaker_norm_enters_the_fingerprint_only_when_on():
    from neuralbrain.memory.lsm_tasks import _model_dict, fingerprint

    off = _cfg("lsm_fsdd_debug")
    assert "speaker_norm" not in _model_dict(off)["readout"]
    assert fingerprint(off) != fingerprint(_cfg("lsm_fsdd_debug", 'readout.speaker_norm="mean"'))
    with pytest.raises(ConfigError, match="readout.speaker_norm = 'yes'"):
        _cfg("lsm_fsdd_debug", 'readout.speaker_norm="yes"')
    with pytest.raises(ConfigError, match="N-MNIST recordings have no speakers"):
        _cfg("lsm_nmnist_debug", 'readout.speaker_norm="mean"')


def test_the_stream_prior_comes_from_the_real_speakers_only():
    from neuralbrain.memory import speaker_norm
    from neuralbrain.memory.lsm_tasks import _speaker_prior

    rng = np.random.default_rng(0)
    feats = rng.poisson(5.0, (40, 6)).astype(float)
    speakers = np.array(["ann"] * 10 + ["bob"] * 10 + ["espeak:en:50:150"] * 20)
    feats[20:] += 50  # the synthesized voice is far louder: it must not move the prior
    mean, var = _speaker_prior(feats, speakers)
    want = speaker_norm.prior(feats[:20], speakers[:20])
    np.testing.assert_allclose(mean, want[0])
    np.testing.assert_allclose(var, want[1])
    only_synthetic = _speaker_prior(feats[20:], speakers[20:])  # no real speaker: all rows
    np.testing.assert_allclose(only_synthetic[0], np.log1p(feats[20:]).mean(0))

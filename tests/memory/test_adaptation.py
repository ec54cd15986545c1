"""``adaptation``: the readout refitted on a new speaker's confident pseudo-labels, in a batch
(``self_train``) and as one user's utterances arrive (``UserStream``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.memory.adaptation import UserStream, self_train
from neuralbrain.memory.readout import Config, Readout
from neuralbrain.memory.speaker_norm import RunningSpeakerNorm


def _voices(seed: int = 0):
    """Four classes on a ring; the new voice is the same ring turned by 35 degrees."""
    rng = np.random.default_rng(seed)

    def ring(n, turn):
        y = rng.integers(0, 4, n)
        a = y * np.pi / 2 + turn + rng.normal(0, 0.25, n)
        return np.stack([np.cos(a), np.sin(a)], 1) * 3 + rng.normal(0, 0.2, (n, 2)), y

    (x, y), (xn, yn) = ring(200, 0.0), ring(200, np.radians(35))
    return x, y, xn, yn


def test_self_training_follows_a_shifted_voice():
    x, y, xn, yn = _voices()
    cfg = Config(type="svm", self_train=0.75, log_counts=False)
    head = Readout(cfg, 2, 4, seed=0)
    head.fit(x, y)
    first = np.mean(head.predict(xn) == yn)
    labels, keep, *_ = self_train(head, cfg, x, y, xn)
    assert keep.sum() == pytest.approx(0.75 * len(xn), abs=1)
    # the kept ones are the most confident by the first fit's top-two margin
    s = np.sort(head.labels_and_scores(xn)[1], 1)
    margin = s[:, -1] - s[:, -2]
    assert margin[keep].min() >= margin[~keep].max()
    assert np.mean(labels == yn) > first + 0.05, (first, np.mean(labels == yn))


@pytest.mark.parametrize("kind", ["svm", "logistic"])
def test_self_training_is_a_refit_on_the_pseudo_labels(kind):
    x, y, xn, _ = _voices(1)
    cfg = Config(type=kind, self_train=0.5, log_counts=False, epochs=5)
    head = Readout(cfg, 2, 4, seed=3)
    head.fit(x, y)
    labels, keep, *_ = self_train(head, cfg, x, y, xn)
    ref = Readout(cfg, 2, 4, seed=3)
    ref.fit(np.concatenate([x, xn[keep]]), np.concatenate([y, head.predict(xn)[keep]]))
    np.testing.assert_array_equal(labels, ref.predict(xn))


def test_bad_fractions_are_named():
    with pytest.raises(ConfigError, match=r"readout.self_train = 1.5: expected a fraction"):
        Config(self_train=1.5)
    x, y, xn, _ = _voices()
    head = Readout(Config(type="svm", log_counts=False), 2, 4)
    head.fit(x, y)
    with pytest.raises(ConfigError, match=r"readout.self_train = 0.0"):
        self_train(head, replace(head.config, self_train=0.0), x, y, xn)


def test_the_leave_one_speaker_out_report_scores_the_self_trained_readout():
    from pathlib import Path

    from neuralbrain.config import load_config
    from neuralbrain.core import module_seed
    from neuralbrain.memory.lsm_tasks import fingerprint, leave_one_speaker_out

    configs = Path(__file__).resolve().parents[2] / "agents" / "configs"
    x, y, xn, yn = _voices(2)  # ann and bob the plain ring (100 each), cy the turned one
    feats, labels = np.concatenate([x, xn]), np.concatenate([y, yn])
    speakers = np.array(["ann"] * 100 + ["bob"] * 100 + ["cy"] * 200)
    off = load_config(configs / "lsm_fsdd_debug.toml",
                      ["readout.type=svm", "readout.log_counts=false"])
    on = load_config(configs / "lsm_fsdd_debug.toml",
                     ["readout.type=svm", "readout.log_counts=false", "readout.self_train=0.75"])
    assert fingerprint(on) == fingerprint(off)  # the report's, not the model's
    plain = leave_one_speaker_out(off, feats, labels, speakers)["leave_one_speaker_out"]["cy"]
    got = leave_one_speaker_out(on, feats, labels, speakers)["leave_one_speaker_out"]["cy"]
    head = Readout(on.params.readout, 2, 10, seed=module_seed(on.seed, "readout"))
    head.fit(x, y)
    assert plain["accuracy"] == np.mean(head.predict(xn) == yn)
    ref = np.mean(self_train(head, on.params.readout, x, y, xn).labels == yn)
    assert got["accuracy"] == ref and ref > plain["accuracy"]


def test_the_stream_figure_refits_every_k_utterances_on_those_heard_so_far():
    from pathlib import Path

    from neuralbrain.config import load_config
    from neuralbrain.memory.lsm_tasks import LsmFsdd, leave_one_speaker_out

    configs = Path(__file__).resolve().parents[2] / "agents" / "configs"
    x, y, xn, yn = _voices(2)
    feats = np.exp(np.concatenate([x, xn]) / 3 + 2)  # positive "counts"; log1p ~ the ring
    labels = np.concatenate([y, yn])
    speakers = np.array(["ann"] * 100 + ["bob"] * 100 + ["cy"] * 200)
    common = ["readout.type=svm", "readout.speaker_norm=meanvar", "readout.self_train=0.75"]

    def stream(every):
        cfg = load_config(configs / "lsm_fsdd_debug.toml",
                          [*common, f"readout.self_train_every={every}"])
        out = leave_one_speaker_out(cfg, feats, labels, speakers, LsmFsdd.readout_input)
        return out["leave_one_speaker_out_stream"]["cy"]["accuracy"]

    first = stream(0)
    assert stream(200) == first  # a refit after the last utterance changes no label
    refitted = stream(20)
    assert refitted > first + 0.02, (first, refitted)
    with pytest.raises(ConfigError, match=r"readout.self_train_every = -1: expected >= 0"):
        Config(self_train_every=-1)


def test_a_user_stream_reads_each_utterance_with_a_readout_fitted_before_it():
    x, y, xn, _ = _voices(3)
    cfg = Config(type="svm", self_train=0.75, self_train_every=40, log_counts=False)
    head = Readout(cfg, 2, 4, seed=0)
    head.fit(x, y)
    stream = UserStream(head, None, (x, y))
    readers, refits = [], []
    for i in range(100):
        z, refit = stream.inputs(xn[i:i + 1])
        readers.append(stream.readout)
        refits.append(i if refit is not None else None)
        if refit is not None:  # exactly self_train on the utterances heard before this one
            ref = self_train(head, cfg, x, y, xn[:i], relabel=False)
            np.testing.assert_array_equal(refit.keep, ref.keep)
            np.testing.assert_array_equal(stream.readout.predict(xn), ref.readout.predict(xn))
            assert refit.labels is None and len(refit.pseudo) == ref.keep.sum()
        np.testing.assert_array_equal(z, xn[i:i + 1])  # no statistics: the features as they are
    assert [i for i in refits if i is not None] == [40, 80] and stream.refits == 2
    assert readers[39] is head and readers[40] is not head and readers[80] is not readers[40]


def test_a_user_stream_normalises_with_the_running_statistics():
    x, y, xn, _ = _voices(4)
    feats = np.exp(xn / 3 + 2)
    cfg = Config(type="svm", speaker_norm="meanvar")
    head = Readout(cfg, 2, 4)
    head.fit(x, y)
    norm = RunningSpeakerNorm(np.zeros(2), np.ones(2), "meanvar")
    ref = RunningSpeakerNorm(np.zeros(2), np.ones(2), "meanvar")
    stream = UserStream(head, norm)
    for i in range(5):
        z, refit = stream.inputs(feats[i:i + 1])
        np.testing.assert_array_equal(z, ref(feats[i:i + 1]))
        assert refit is None  # no training inputs: never refitted
    with pytest.raises(ShapeError, match=r"training readout inputs \(3, 5\)"):
        UserStream(head, norm, (np.zeros((3, 5)), np.zeros(3)))

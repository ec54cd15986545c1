"""Per-speaker feature normalisation: batch statistics, the running (stream) form, the readout."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.errors import ConfigError
from neuralbrain.memory import speaker_norm
from neuralbrain.memory.readout import Config, Readout


def _voices(n_per_class: int = 20, seed: int = 0):
    """Spike-count-like features of 4 classes from 3 speakers; each speaker multiplies every
    feature by its own gain (a voice driving channels harder or softer), strongly enough that
    a readout trained on two speakers misreads the third."""
    rng = np.random.default_rng(seed)
    d, k = 24, 4
    base = rng.uniform(2, 20, (k, d))
    xs, ys, ss = [], [], []
    for s, name in enumerate(("ann", "bob", "cy")):
        gain = np.exp(rng.normal(0, 1.0, d)) * (1.0, 2.0, 0.3)[s]
        for c in range(k):
            xs.append(rng.poisson(base[c] * gain, (n_per_class, d)))
            ys.append(np.full(n_per_class, c))
            ss += [name] * n_per_class
    return np.concatenate(xs).astype(float), np.concatenate(ys), np.array(ss)


def test_each_speaker_is_standardised_with_its_own_statistics():
    x, _, s = _voices()
    z = speaker_norm.normalize(x, s, "meanvar")
    for name in ("ann", "bob", "cy"):
        np.testing.assert_allclose(z[s == name].mean(0), 0, atol=1e-9)
        assert np.all(np.abs(z[s == name].std(0) - 1) < 0.01)
    zm = speaker_norm.normalize(x, s, "mean")
    np.testing.assert_allclose(zm[s == "bob"].std(0), np.log1p(x[s == "bob"]).std(0))
    np.testing.assert_array_equal(speaker_norm.normalize(x, s, "none"), np.log1p(x))


def test_a_new_voice_is_read_right_only_with_its_own_statistics():
    x, y, s = _voices()
    train, test = s != "cy", s == "cy"
    plain = Readout(Config(epochs=60), x.shape[1], 4, seed=0)
    plain.fit(x[train], y[train])
    acc_plain = np.mean(plain.predict(x[test]) == y[test])
    z = speaker_norm.normalize(x, s, "meanvar")  # cy's statistics from its unlabelled rows
    head = Readout(Config(epochs=60, speaker_norm="meanvar"), x.shape[1], 4, seed=0)
    head.fit(z[train], y[train])
    acc_norm = np.mean(head.predict(z[test]) == y[test])
    assert acc_norm >= 0.95 and acc_plain <= 0.6, (acc_plain, acc_norm)


def test_synthetic_voices_are_grouped_over_their_speaking_rates():
    groups = speaker_norm.statistics_groups(["ann", "espeak:en-us:50:150", "espeak:en-us:50:190",
                                             "espeak:en:50:150"])
    assert list(groups) == ["ann", "espeak:en-us:50", "espeak:en-us:50", "espeak:en:50"]


def test_the_running_statistics_of_a_stream_pool_the_prior_and_the_utterances():
    x, _, s = _voices()
    rows = x[s == "cy"]
    prior_mean, prior_var = speaker_norm.prior(x[s != "cy"], s[s != "cy"])
    running = speaker_norm.RunningSpeakerNorm(prior_mean, prior_var, "meanvar", prior_weight=4)
    first = running(rows[:1])
    # one utterance: pooled with the prior, weight 4 : 1
    z0 = np.log1p(rows[:1])
    mean1 = (4 * prior_mean + z0[0]) / 5
    var1 = (4 * prior_var + 4 * (z0[0] - prior_mean) ** 2 / 5) / 5
    np.testing.assert_allclose(first, (z0 - mean1) / (np.sqrt(var1) + speaker_norm.EPS))
    for i in range(1, len(rows)):
        running(rows[i:i + 1])
    # all of them: the pooled statistics of the prior (4 pseudo-utterances) and the user's
    z = np.log1p(rows)
    n = len(rows)
    mean = (4 * prior_mean + n * z.mean(0)) / (4 + n)
    var = (4 * prior_var + n * z.var(0)
           + (z.mean(0) - prior_mean) ** 2 * 4 * n / (4 + n)) / (4 + n)
    np.testing.assert_allclose(running.mean, mean, rtol=1e-9)
    np.testing.assert_allclose(running.m2 / running.n, var, rtol=1e-9)


def test_bad_modes_are_named():
    with pytest.raises(ConfigError, match="readout.speaker_norm = 'cmvn'"):
        Config(speaker_norm="cmvn")
    with pytest.raises(ConfigError, match="expected one of"):
        speaker_norm.normalize(np.ones((2, 3)), np.array(["a", "a"]), "z")

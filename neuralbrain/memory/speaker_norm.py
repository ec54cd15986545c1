"""Per-speaker feature normalisation (``[readout] speaker_norm``): unsupervised speaker adaptation.

The cepstral mean and variance normalisation (CMVN) of speech recognition applied to the
spoken-digit readout's input: each speaker's features (``log1p`` of the spike and cochlea
counts) are standardised with that speaker's *own* statistics, per feature,

    z = (log1p(f) - mu_s) / (sigma_s + EPS)      ("meanvar";  "mean": z = log1p(f) - mu_s)

computed from the speaker's recordings without their labels. What a voice adds to every
utterance (its loudness, its formant positions, how hard it drives each cochlea channel and
hence each neuron) is largely a per-speaker offset of these features, and it is removed
before the readout sees them.

Who provides the statistics:

- training: every training speaker its own recordings (``statistics_groups``: an eSpeak voice
  is one speaker across its speaking rates);
- a batch of recordings with known speakers (evaluation, leave-one-speaker-out): each
  speaker's own recordings in that batch. A held-out speaker's statistics therefore come from
  its *unlabelled* recordings: its labels are never used, but its recordings are, which the
  reports say;
- a stream of utterances from one user (``RunningSpeakerNorm``, the listener): running
  statistics over the utterances heard so far, started from a prior (the mean over the
  real training speakers of their statistics; ``lsm_tasks`` stores it in the checkpoint)
  that counts as ``PRIOR_UTTERANCES`` utterances,
  so the first utterance is normalised by the prior and later ones more and more by the
  user's own voice. After many utterances it equals the batch statistics of that user.
"""

from __future__ import annotations

import numpy as np

from neuralbrain.errors import ConfigError, ShapeError

MODES = ("none", "mean", "meanvar")
EPS = 1e-3  # added to sigma: a feature constant over a speaker's recordings maps to 0
PRIOR_UTTERANCES = 10.0  # weight of the prior in a stream, in utterances


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ConfigError(f"readout.speaker_norm = {mode!r}: expected one of {MODES}")
    return mode


def statistics_groups(speakers: np.ndarray | list[str], synthetic_prefix: str = "espeak:"
                      ) -> np.ndarray:
    """The group whose statistics each recording uses: its speaker; a synthesized speaker
    ``espeak:<voice>:<pitch>:<wpm>`` is grouped by voice and pitch over its speaking rates
    (one voice at two rates is one speaker talking faster or slower)."""
    out = []
    for s in map(str, speakers):
        out.append(s.rsplit(":", 1)[0] if s.startswith(synthetic_prefix) else s)
    return np.asarray(out)


def statistics(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) per feature of one speaker's rows of ``z`` (already ``log1p``)."""
    z = np.asarray(z, np.float64)
    if z.ndim != 2 or len(z) == 0:
        raise ShapeError(f"speaker features of shape {z.shape}: expected (n >= 1, features)")
    return z.mean(axis=0), z.std(axis=0)


def apply(z: np.ndarray, mean: np.ndarray, std: np.ndarray, mode: str) -> np.ndarray:
    """``z`` standardised with one speaker's (mean, std) as ``mode`` says."""
    out = np.asarray(z, np.float64) - mean
    return out / (std + EPS) if mode == "meanvar" else out


def normalize(features: np.ndarray, groups: np.ndarray, mode: str) -> np.ndarray:
    """``log1p(features)`` standardised per group with the group's own statistics.

    ``groups[i]`` names the speaker of row ``i`` (``statistics_groups``); no labels are used.
    ``mode = "none"`` returns ``log1p(features)`` unchanged.
    """
    check_mode(mode)
    z = np.log1p(np.asarray(features, np.float64))
    groups = np.asarray(groups)
    if groups.shape != (len(z),):
        raise ShapeError(f"speaker groups of shape {groups.shape}: expected ({len(z)},)")
    if mode == "none":
        return z
    out = np.empty_like(z)
    for g in np.unique(groups):
        rows = groups == g
        out[rows] = apply(z[rows], *statistics(z[rows]), mode)
    return out


def prior(features: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The stream prior: the mean over groups of each group's (mean, variance) of
    ``log1p(features)`` (each speaker counts once, whatever its number of recordings)."""
    z = np.log1p(np.asarray(features, np.float64))
    stats = [statistics(z[np.asarray(groups) == g]) for g in np.unique(groups)]
    return (np.mean([m for m, _ in stats], axis=0),
            np.mean([s * s for _, s in stats], axis=0))


class RunningSpeakerNorm:
    """Per-speaker normalisation of a stream of utterances from one user (running statistics).

    ``prior_mean`` / ``prior_var`` (``prior``) count as ``prior_weight`` utterances; each
    ``__call__`` first adds its rows to the user's statistics (Welford / Chan et al. update of
    the pooled mean and variance), then normalises them with the statistics so far.
    """

    def __init__(self, prior_mean: np.ndarray, prior_var: np.ndarray, mode: str,
                 prior_weight: float = PRIOR_UTTERANCES) -> None:
        check_mode(mode)
        if not prior_weight > 0:
            raise ConfigError(f"speaker_norm prior weight = {prior_weight}: expected > 0")
        self.mode = mode
        self.n = float(prior_weight)
        self.mean = np.asarray(prior_mean, np.float64).copy()
        self.m2 = np.asarray(prior_var, np.float64) * self.n  # sum of squared deviations

    def update(self, features: np.ndarray) -> None:
        z = np.log1p(np.atleast_2d(np.asarray(features, np.float64)))
        if z.shape[1] != self.mean.size:
            raise ShapeError(f"features of shape {z.shape}: expected (n, {self.mean.size})")
        k = len(z)
        mean_b = z.mean(axis=0)
        delta = mean_b - self.mean
        total = self.n + k
        self.m2 = self.m2 + ((z - mean_b) ** 2).sum(axis=0) + delta**2 * self.n * k / total
        self.mean = self.mean + delta * k / total
        self.n = total

    def normalize(self, features: np.ndarray) -> np.ndarray:
        """``features`` (n, d) normalised with the user's statistics so far (no update)."""
        z = np.log1p(np.atleast_2d(np.asarray(features, np.float64)))
        return z if self.mode == "none" else apply(z, self.mean, np.sqrt(self.m2 / self.n),
                                                   self.mode)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """Add ``features`` (n, d) to the user's statistics, then return them normalised."""
        if self.mode != "none":
            self.update(features)
        return self.normalize(features)

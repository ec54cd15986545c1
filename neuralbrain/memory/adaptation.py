"""Adapting the spoken-digit readout to a new voice without its labels.

Two pieces, used by the leave-one-speaker-out report (``lsm_tasks``) and by the ``listener``
module alike, so the report's stream figure is what the listener does:

- ``self_train``: the readout refitted on the new speaker's recordings it is most confident
  about, labelled by its first fit (self-training, Yarowsky 1995; the pseudo-labels of Lee
  2013). ``readout.self_train`` is the fraction kept.
- ``UserStream``: one user's utterances heard one at a time. Each is normalised by the user's
  running statistics (``speaker_norm.RunningSpeakerNorm``, when ``readout.speaker_norm`` is
  on) and read by the current readout. With refits on (``readout.self_train`` > 0,
  ``readout.self_train_every = k`` and the training set's readout inputs at hand), before
  utterances k + 1, 2k + 1, ... are read the readout is replaced by ``self_train`` on every
  utterance heard so far, normalised by the statistics so far and ranked by the *first*
  readout. An utterance is therefore always read by a readout fitted before it was heard.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from neuralbrain.energy import Cost
from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.memory import readout, speaker_norm


class SelfTrained(NamedTuple):
    labels: np.ndarray | None  # the refitted readout's labels of the new recordings
    keep: np.ndarray  # the mask of the new recordings the refit used
    readout: readout.Readout  # the refitted readout
    pseudo: np.ndarray  # the first readout's labels of the kept recordings
    ranking_cost: Cost  # the first readout's decisions on the new recordings, on its device


def self_train(head: readout.Readout, rcfg: readout.Config, x_train: np.ndarray,
               y_train: np.ndarray, x_new: np.ndarray, relabel: bool = True) -> SelfTrained:
    """Self-training on a new speaker's unlabelled recordings ``x_new`` (transductive, batch).

    ``head`` (fitted on ``x_train``, ``y_train``) labels ``x_new``; the ``rcfg.self_train``
    fraction of them with the largest top-two margin of ``head``'s class scores joins the training
    set with those pseudo-labels, and a readout is refitted on it (same config and seed).
    With ``relabel`` it labels ``x_new`` again (``labels``; else None)."""
    if not 0.0 < rcfg.self_train <= 1.0:
        raise ConfigError(f"readout.self_train = {rcfg.self_train}: expected a fraction in (0, 1]")
    first, scores, cost = head.labels_and_scores(x_new)
    top = np.sort(scores, axis=1)
    margin = top[:, -1] - top[:, -2]
    keep = margin >= np.quantile(margin, 1.0 - rcfg.self_train)
    again = readout.Readout(rcfg, x_train.shape[1], head.n_classes, seed=head.seed)
    again.fit(np.concatenate([x_train, x_new[keep]]), np.concatenate([y_train, first[keep]]))
    return SelfTrained(again.predict(x_new) if relabel else None, keep, again, first[keep], cost)


class UserStream:
    """One user's utterances through a readout that adapts to them (module docstring).

    ``head`` is the trained readout, ``norm`` the user's running statistics (None: the
    features go to the readout as they are), ``refit_on`` the training set's readout inputs
    and labels (None: no refits). ``readout`` is the readout of the moment.
    """

    def __init__(self, head: readout.Readout, norm: speaker_norm.RunningSpeakerNorm | None,
                 refit_on: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        cfg = head.config
        self.first = self.readout = head
        self.norm = norm
        self.every = cfg.self_train_every if refit_on is not None and cfg.self_train > 0 else 0
        if refit_on is not None:
            x, y = refit_on
            if np.ndim(x) != 2 or np.shape(x)[1] != head.n_features or len(y) != len(x):
                raise ShapeError(f"training readout inputs {np.shape(x)} and labels "
                                 f"{np.shape(y)}: expected (n, {head.n_features}) and (n,)")
        self.refit_on = refit_on
        self.heard: list[np.ndarray] = []  # the raw features, re-normalised at each refit
        self.refits = 0

    def inputs(self, features: np.ndarray) -> tuple[np.ndarray, SelfTrained | None]:
        """The readout's input for one utterance's ``features`` (1, d), after refitting
        ``readout`` if one is due; also that refit (None: there was none), for its caller
        to price it."""
        refit = None
        if self.every and self.heard and len(self.heard) % self.every == 0:
            heard = np.concatenate(self.heard)
            if self.norm is not None:
                heard = self.norm.normalize(heard)
            x, y = self.refit_on
            refit = self_train(self.first, self.first.config, x, y, heard, relabel=False)
            self.readout = refit.readout
            self.refits += 1
        self.heard.append(np.atleast_2d(np.asarray(features, np.float64)))
        z = features if self.norm is None else self.norm(features)
        return z, refit

"""``listener``: the digit spoken in ``obs["audio"]``: cochlea -> LSM reservoir -> decision.

Trained by an ``lsm_zeroshot`` task (``lsm_crossmodal.toml``, the default) or an ``lsm_fsdd``
task. With ``lsm_zeroshot`` the reservoir's features go through the contrastive audio
projection and the heard digit is the image prototype the embedding lands nearest to
(``lsm_tasks.HeardDigit``): what was heard is matched with what digits look like to the
event camera. With ``lsm_fsdd`` the task's readout classifies the features instead. Either way
the reservoir, features and weights are exactly those the checkpoint was trained with; this
module runs them once per episode, on its own backend, and books every op in its ledger (so in
the trace): the reservoir's and the projection's products (``matmul``) on this module's
backend; the readout on the backend its task names (``readout.backend``): the softmax
readout's products as ``readout`` (a digital readout: ``cpu``, so a noisy device's reservoir
does not also blur the trained classifier's products), an SVM readout's decisions as ``svm``
(``cpu`` or ``fpga``). With ``readout.speaker_norm`` (``lsm_fsdd``) the features are
normalised by the running statistics of the user heard so far
(``speaker_norm.RunningSpeakerNorm``, started from the training speakers' prior stored in
the checkpoint); with ``readout.self_train`` and ``readout.self_train_every = k`` the readout
is also refitted before every k-th utterance on the training set's readout inputs (kept in
the checkpoint) and the user's utterances so far, pseudo-labelled
(``adaptation.UserStream``, the same code as the report's stream figure). A refit is booked
where it ran: the fit on the host (``readout_fit``, ``cpu``), the first readout's decisions
that rank the utterances (``svm``) and the new SVM's placement on the device the first one
ran on (``svm_place``). The user is the same from one episode to the next, so ``reset``
keeps their statistics and the refitted readout.
Untrained (no checkpoint: trained without data), it hears
nothing in silence and refuses a spoken request with a ``CheckpointError`` that says what is
missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from neuralbrain.core import Module, Needs, Trained
from neuralbrain.errors import CheckpointError
from neuralbrain.hardware import make_backend
from neuralbrain.memory import adaptation, lsm_tasks, readout, speaker_norm

AUDIO_RATE_HZ = 8000  # the audio observation: FSDD recordings at 8 kHz


@dataclass(frozen=True)
class Config:
    backend: str = "rram"


class Listener(Module):
    """Cochlea -> LSM reservoir -> the digit heard (see the module docstring)."""

    Config = Config
    inputs = {"obs": object}
    outputs = {"heard": int}
    requires = {"backend": Needs(ops={"lif_reservoir", "matmul"})}
    tasks = ("lsm_zeroshot", "lsm_fsdd")

    def __init__(self, config: Config, hardware: Mapping[str, Any] | None,
                 trained: Trained) -> None:
        super().__init__(config, hardware)
        task = trained.task
        self.crossmodal = task.task == "lsm_zeroshot"
        table = "audio_reservoir" if self.crossmodal else "reservoir"
        reservoir_cfg = replace(getattr(task.params, table), backend=config.backend)
        self.task = task.replace_params(**{table: reservoir_cfg})
        self.reservoir = lsm_tasks.make_reservoir(self.task, table)
        self.ledger = self.reservoir.ledger  # the reservoir books its ops on this module's rows
        self.decide = None
        self.head: readout.Readout | None = None
        self.user_norm: speaker_norm.RunningSpeakerNorm | None = None
        self.stream: adaptation.UserStream | None = None
        self.fit_device: Any = None
        self.readout_device: Any = None
        if trained.checkpoint is not None:
            arrays = lsm_tasks.load_checkpoint(trained.checkpoint, task)[0]
            silence = np.zeros((1, task.params.audio.n_steps, reservoir_cfg.n_inputs), np.uint8)
            features = self._features(silence).shape[1]
            if self.crossmodal:
                heard = lsm_tasks.HeardDigit.from_arrays(task.params.projection, arrays, features)
                self.decide = lambda x: heard(x, self._matmul)
            else:
                head = readout.Readout(task.params.readout, features, 10)
                head.load_state(lsm_tasks.unprefixed("readout", arrays))
                self.head = head
                if head.device is None:  # the softmax readout: its own digital backend
                    self.readout_device = make_backend(task.params.readout.backend)
                self.decide = self._read
                rcfg = task.params.readout
                if rcfg.speaker_norm != "none":
                    if "readout/speaker_prior_mean" not in arrays:
                        raise CheckpointError("readout.speaker_norm is on but the checkpoint "
                                              "has no speaker prior: retrain it")
                    self.user_norm = speaker_norm.RunningSpeakerNorm(
                        arrays["readout/speaker_prior_mean"], arrays["readout/speaker_prior_var"],
                        rcfg.speaker_norm)
                refit_on = None
                if rcfg.self_train > 0 and rcfg.self_train_every > 0:
                    if "readout/train_inputs" not in arrays:
                        raise CheckpointError(
                            f"readout.self_train_every = {rcfg.self_train_every} refits the "
                            "readout as the user speaks, on the training set's readout inputs, "
                            "and the checkpoint has none (trained before they were stored): "
                            "retrain it, or set readout.self_train_every = 0")
                    refit_on = (arrays["readout/train_inputs"], arrays["readout/train_labels"])
                    self.fit_device = make_backend("cpu")  # refits run on the host
                self.stream = adaptation.UserStream(head, self.user_norm, refit_on)
        self.ledger.reset()

    def _matmul(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """The projection's products on this module's backend (booked with the reservoir's)."""
        return self.run("matmul", np.asarray(x, np.float32), np.asarray(w, np.float32))

    def _readout_matmul(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """The softmax readout's products on its own backend, booked as ``readout``."""
        device = self.readout_device
        y, cost = device.matmul(np.asarray(x, np.float32), np.asarray(w, np.float32))
        self.ledger.book("readout", cost, backend=device.name)
        return y

    def _read(self, features: np.ndarray) -> np.ndarray:
        """The digits the user's stream (``adaptation.UserStream``) reads in ``features``,
        its refits and the readout's decisions booked (module docstring)."""
        z, refit = self.stream.inputs(features)
        if refit is not None:
            self._book_refit(refit)
        return self._classify(self.stream.readout, z)

    def _book_refit(self, refit: adaptation.SelfTrained) -> None:
        """A refit's work: the first readout's decisions on the utterances heard (on its
        device: ``svm``; the softmax readout's products on the host), the fit itself on the
        host (``readout_fit``: ``Readout.fit_macs`` fp32 MACs reading the training inputs
        from DRAM) and, for the SVM, placing the new one on the first one's device
        (``svm_place``), so that device goes on counting every decision."""
        first, host = self.stream.first, self.fit_device
        x, y = self.stream.refit_on
        labels = np.concatenate([y, refit.pseudo])
        macs = refit.readout.fit_macs(labels)
        if first.device is None:  # the softmax readout ranked the heard utterances on the host
            macs += len(refit.keep) * first.n_features * first.n_classes
        else:
            self.ledger.book("svm", refit.ranking_cost, backend=first.device.name)
        fit = host.charge("mac_fp32", macs) + host.charge("dram_read_byte", x.nbytes)
        self.ledger.book("readout_fit", fit, backend=host.name)
        if first.device is not None:
            self.ledger.book("svm_place", refit.readout.place_on(first.device),
                             backend=first.device.name)

    def _classify(self, head: readout.Readout, features: np.ndarray) -> np.ndarray:
        """The digits ``head`` gives ``features``, its work booked (module docstring)."""
        digits, cost = head.classify(features, self._readout_matmul)
        if head.device is not None:
            self.ledger.book("svm", cost, backend=head.device.name)
        return digits

    def _features(self, binned: np.ndarray) -> np.ndarray:
        cls = lsm_tasks.LsmZeroShot if self.crossmodal else lsm_tasks.LsmFsdd
        features = cls.audio_features if self.crossmodal else cls.features
        return features(self.task, self.reservoir, binned)

    def on_backend_change(self) -> None:
        self.reservoir.to(self.backend.name)

    def devices(self) -> list:
        head = (self.head.device if self.head is not None else None) or self.readout_device
        return [self.backend, self.reservoir.backend,
                *(d for d in (head, self.fit_device) if d is not None)]

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self.reservoir.reset(seed)
        for device in (self.head.device if self.head is not None else None,
                       self.readout_device, self.fit_device):
            if device is not None:
                device.reset(seed)  # an SVM stays placed; the count restarts
        self.heard: int | None = None
        self.done = False

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        if not self.done:
            self.done = True
            audio = np.asarray(inputs["obs"]["audio"], np.float64)
            if np.abs(audio).max() > 0:
                from neuralbrain.memory.tasks import audio_to_binned

                if self.decide is None:
                    raise CheckpointError(
                        "a spoken instruction needs the trained listener, and the checkpoint "
                        "has none (it was trained without data): run `neuralbrain train CONFIG "
                        "--out CK` with $NEURALBRAIN_DATA holding fsdd/ and pass --checkpoint CK")
                binned = audio_to_binned(audio, AUDIO_RATE_HZ, self.task.params.audio)
                self.heard = int(self.decide(self._features(binned[None]))[0])
        return {"heard": self.heard}

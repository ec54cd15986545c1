"""Tasks ``lsm_nmnist``, ``lsm_fsdd``, ``lsm_zeroshot``: the resistive-memory LSM encoders and
heads.

After Lin et al., "Resistive memory-based zero-shot liquid state machine for multimodal event
data learning", Nature Computational Science (2025). Read top to bottom:

1. ``Config`` (one per task): the TOML tables. ``[reservoir]`` (and ``[audio_reservoir]``
   for zero-shot) configure ``neuralbrain.memory.lsm`` and name the backend the reservoir
   runs on (``cpu`` = ideal weights, ``rram`` = crossbars, ``brian2``); ``[vision]`` /
   ``[audio]`` the data and splits (``neuralbrain.memory.tasks``, where the splits are
   documented); ``[readout]`` the classifier; ``[projection]`` the contrastive heads.
2. ``encode``: binned recordings -> reservoir spikes -> spike counts per neuron in
   ``readout.n_windows`` time windows (the feature vector).
3. ``train``: classification tasks fit the readout on the ``train`` split and report its
   accuracy on ``validation`` (the split settings are chosen on; ``test`` is left to
   ``evaluate``, scored once); ``lsm_fsdd`` also trains on the synthesized voices of
   ``[synthetic]`` when enabled, and with ``audio.report_loso`` reports leave-one-speaker-out
   beside its validation protocol (``leave_one_speaker_out``); zero-shot fits the image and
   audio projections on the ``seen`` digits of ``train`` only. The checkpoint
   (``lsm.npz`` in ``--out``, written atomically) holds the trained parameters, the
   fingerprint of the config, its hash and the package version; the reservoir itself is
   regenerated from the seed. While the readout or the projections train, their whole state
   is checkpointed every ``checkpoint_every`` epochs (``readout.train_state.npz``,
   ``projections.train_state.npz``; ``neuralbrain.resumable``), so ``--resume`` continues a
   killed run to the same parameters (the features are recomputed: they are deterministic).
4. ``evaluate``: the same encoding on a split, then ``{"accuracy", "n", "ci95",
   "per_class"}`` or, for zero-shot, ``{"zero_shot_top1", ...}`` on the unseen digits.
   With ``[names] enabled`` (``lsm_zeroshot.toml``) the unseen digits are described by their
   names: training also renders every digit's word (eSpeak NG) and numeral (fonts) through
   the same sensors and reservoirs and stores them as anchors (``neuralbrain.memory.names``),
   and ``zero_shot_top1`` retrieves through them; ``zero_shot_top1_contrastive`` is always
   the projections' own retrieval (the paper's), which has nothing to carry over to digits
   it never saw.

The fingerprint covers every table except the choice of backend (``*.backend`` and
``[hardware]``): the trained heads belong to the ideal reservoir, so a checkpoint trained on
``cpu`` can be evaluated on ``rram`` to measure what the device costs in accuracy. The
exception is an rram device with ``weights = "breakdown"``, whose own random conductances
replace the ideal weights: then ``[hardware.rram]`` is part of the fingerprint. A disabled
``[names]`` table changes nothing and is left out (checkpoints from before it stay valid).
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from neuralbrain.atomic import atomic_path
from neuralbrain.config import TaskConfig, to_dict
from neuralbrain.core import Task, module_seed
from neuralbrain.errors import CheckpointError, ConfigError, DataError
from neuralbrain.memory import adaptation, lsm, names, projection, readout, speaker_norm, tasks
from neuralbrain.memory.metrics import accuracy_report, wilson
from neuralbrain.npz import read_npz
from neuralbrain.resumable import (
    Checkpointer,
    check_config_hash,
    package_version,
    prefixed,
    task_config_sha256,
    unprefixed,
)

CHECKPOINT = "lsm.npz"


def _audio_reservoir() -> lsm.Config:
    # Paper's spoken-digit reservoir: 64 cochlea channels, decay 0.97, threshold 5.3, scale 0.08
    return lsm.Config(n_inputs=64, decay=0.97, threshold=5.3, weight_scale=0.08)


@dataclass(frozen=True)
class NmnistConfig:
    reservoir: lsm.Config = field(default_factory=lsm.Config)
    vision: tasks.VisionData = field(default_factory=tasks.VisionData)
    readout: readout.Config = field(default_factory=readout.Config)

    def __post_init__(self) -> None:
        if self.reservoir.n_inputs != self.vision.crop**2:
            raise ConfigError(
                f"reservoir.n_inputs = {self.reservoir.n_inputs}: expected vision.crop^2 = "
                f"{self.vision.crop**2} (one input per pixel of the crop)"
            )
        if self.readout.speaker_norm != "none":
            raise ConfigError(f"readout.speaker_norm = {self.readout.speaker_norm!r}: N-MNIST "
                              "recordings have no speakers; expected 'none'")


@dataclass(frozen=True)
class FsddConfig:
    reservoir: lsm.Config = field(default_factory=_audio_reservoir)
    audio: tasks.AudioData = field(default_factory=tasks.AudioData)
    readout: readout.Config = field(default_factory=readout.Config)
    synthetic: tasks.SyntheticSpeakers = field(default_factory=tasks.SyntheticSpeakers)

    def __post_init__(self) -> None:
        if self.reservoir.n_inputs != 64:
            raise ConfigError(
                f"reservoir.n_inputs = {self.reservoir.n_inputs}: expected 64 cochlea channels"
            )


@dataclass(frozen=True)
class ZeroShotConfig:
    reservoir: lsm.Config = field(default_factory=lsm.Config)
    audio_reservoir: lsm.Config = field(default_factory=_audio_reservoir)
    vision: tasks.VisionData = field(default_factory=tasks.VisionData)
    audio: tasks.AudioData = field(default_factory=tasks.AudioData)
    projection: projection.Config = field(default_factory=projection.Config)
    names: names.Config = field(default_factory=names.Config)
    n_windows: int = 1
    audio_n_windows: int = 1
    # the audio features also hold the cochlea's own event counts in the same windows (the
    # direct input -> readout connections of lsm_fsdd's readout.include_inputs)
    audio_include_inputs: bool = False
    seen_digits: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 7)
    unseen_digits: tuple[int, ...] = (8, 9)

    def __post_init__(self) -> None:
        if self.reservoir.n_inputs != self.vision.crop**2:
            raise ConfigError(
                f"reservoir.n_inputs = {self.reservoir.n_inputs}: expected vision.crop^2 = "
                f"{self.vision.crop**2}"
            )
        if self.audio_reservoir.n_inputs != 64:
            raise ConfigError(
                f"audio_reservoir.n_inputs = {self.audio_reservoir.n_inputs}: expected 64"
            )
        if set(self.seen_digits) & set(self.unseen_digits) or not self.seen_digits:
            raise ConfigError(
                f"seen_digits = {self.seen_digits}, unseen_digits = {self.unseen_digits}: "
                "expected a non-empty set of seen digits disjoint from the unseen ones"
            )
        if min(self.n_windows, self.audio_n_windows) < 1:
            raise ConfigError("n_windows and audio_n_windows: expected >= 1")


# -- encoding ------------------------------------------------------------------------------
def make_reservoir(cfg: TaskConfig, name: str) -> lsm.LiquidStateMachine:
    """The reservoir of table ``name``; weights from the experiment seed and the name."""
    res_cfg = getattr(cfg.params, name)
    return lsm.LiquidStateMachine(res_cfg, cfg.hardware, seed=module_seed(cfg.seed, name))


def encode(
    reservoir: lsm.LiquidStateMachine, binned: np.ndarray, n_windows: int,
    audio: tasks.AudioData | None = None, batch: int = 256, include_inputs: bool = False,
) -> np.ndarray:
    """Spike-count features (batch, n_windows * n_neurons) of binned recordings.

    Vision: windows split the whole recording. Audio (``audio`` given): windows split the
    span where the word is spoken (``lsm.active_span`` with the ``[audio]`` thresholds).
    ``include_inputs`` appends the input event counts in the same windows.
    """
    from tqdm import tqdm

    starts = lengths = None
    if audio is not None:
        starts, lengths = lsm.active_span(binned, audio.span_threshold, audio.span_smooth_steps)
    parts = []
    for a in tqdm(range(0, len(binned), batch), desc=f"reservoir[{reservoir.backend.name}]",
                  leave=False, mininterval=1.0, disable=len(binned) <= batch):
        chunk = binned[a:a + batch]
        spans = (None, None) if audio is None else (lengths[a:a + batch], starts[a:a + batch])
        feats = lsm.window_counts(reservoir.encode(chunk), n_windows, *spans)
        if include_inputs:
            feats = np.concatenate([feats, lsm.window_counts(chunk, n_windows, *spans)], axis=1)
        parts.append(feats)
    return np.concatenate(parts)


# -- checkpoints ---------------------------------------------------------------------------
_NOT_THE_MODEL = ("backend", "checkpoint_every", "self_train", "self_train_every")


def _model_dict(cfg: TaskConfig) -> dict[str, Any]:
    def strip(d: Any) -> Any:
        if isinstance(d, dict):
            # backend, checkpointing and the LOSO report's self-training leave the model as it is
            return {k: strip(v) for k, v in d.items() if k not in _NOT_THE_MODEL}
        return d

    out = {"task": cfg.task, "seed": cfg.seed, **strip(to_dict(cfg.params))}
    for table in ("names", "synthetic"):  # a disabled table changes nothing: left out
        if not out.get(table, {"enabled": True})["enabled"]:
            del out[table]
    # options added later are left out at their default (earlier checkpoints stay valid)
    for key, default in (("speaker_norm", "none"), ("svm_clip", 0.0)):
        if key in out.get("readout", {}) and out["readout"][key] == default:
            del out["readout"][key]
    # A device that draws its own random weights (rram ``weights = "breakdown"``) replaces
    # the ideal reservoir, so then its parameters are part of the model.
    for name, hw in sorted(cfg.hardware.items()):
        if getattr(hw, "weights", None) == "breakdown":
            out[f"hardware.{name}"] = to_dict(hw)
    return out


def fingerprint(cfg: TaskConfig) -> str:
    text = json.dumps(_model_dict(cfg), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def save_checkpoint(out: Path, cfg: TaskConfig, arrays: dict[str, np.ndarray],
                    report: dict) -> Path:
    meta = {"fingerprint": fingerprint(cfg), "config": _model_dict(cfg),
            "source": str(cfg.source), "report": report,
            "config_sha256": task_config_sha256(cfg), "version": package_version()}
    buf = io.BytesIO()
    np.savez(buf, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)
    path = Path(out) / CHECKPOINT
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())
    return path


def load_checkpoint(checkpoint: Path | None, cfg: TaskConfig) -> tuple[dict, dict]:
    """(arrays, meta) of a checkpoint trained with this config, else ``CheckpointError``."""
    if checkpoint is None:
        raise CheckpointError(f"task {cfg.task!r}: pass --checkpoint DIR (a training output)")
    path = Path(checkpoint)
    file = path / CHECKPOINT if path.is_dir() else path
    if not file.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r}: no {CHECKPOINT} found (train first)")
    arrays = read_npz(file)
    try:
        meta = json.loads(arrays.pop("meta").tobytes().decode())
    except (KeyError, ValueError) as err:  # UnicodeDecodeError is a ValueError
        raise CheckpointError(f"checkpoint {str(file)!r} has no readable metadata: "
                              f"{' '.join(str(err).split())}") from None
    fp = fingerprint(cfg)
    if meta.get("fingerprint") != fp:
        mine, theirs = _model_dict(cfg), meta.get("config", {})
        diff = sorted(_diff_keys(theirs, mine))
        raise CheckpointError(
            f"checkpoint {str(file)!r} was trained with config {meta.get('source')!r} "
            f"(task {theirs.get('task')!r}, fingerprint {meta.get('fingerprint')}), not with "
            f"{str(cfg.source)!r} (task {cfg.task!r}, fingerprint {fp}); they differ in "
            f"{diff[:8]}"
        )
    return arrays, meta


def _diff_keys(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in set(a) | set(b):
            out += _diff_keys(a.get(k), b.get(k), f"{prefix}{k}.")
        return out
    return [] if a == b else [prefix.rstrip(".")]


def finished_report(out: Path, cfg: TaskConfig) -> dict | None:
    """``--resume`` of a training that already finished: its report, once the checkpoint is
    known to come from this very config (None when there is no finished checkpoint)."""
    if not (out / CHECKPOINT).is_file():
        return None
    meta = load_checkpoint(out, cfg)[1]
    check_config_hash(out / CHECKPOINT, meta.get("config_sha256"), task_config_sha256(cfg))
    return meta["report"]


# -- the tasks -----------------------------------------------------------------------------
class _LsmClassifier(Task):
    """Reservoir + readout trained on one modality (``_data`` and ``features`` per task)."""

    @classmethod
    def features(cls, cfg: TaskConfig, reservoir: lsm.LiquidStateMachine,
                 binned: np.ndarray) -> np.ndarray:
        """The readout's input for binned recordings (use this to run a trained readout)."""
        r = cfg.params.readout
        return encode(reservoir, binned, r.n_windows, include_inputs=r.include_inputs)

    @classmethod
    def readout_input(cls, cfg: TaskConfig, feats: np.ndarray,
                      speakers: np.ndarray | None) -> np.ndarray:
        """What the readout is fitted on and predicts from, given ``features`` and the
        speaker of each row (None when unknown): the features themselves here; ``lsm_fsdd``
        normalises them per speaker with ``readout.speaker_norm``."""
        return feats

    @classmethod
    def _data(cls, cfg: TaskConfig, root: Path, split: str) -> tuple[Any, ...]:
        """(x, y, speakers or None, source) of the real recordings of ``split``."""
        raise NotImplementedError

    @classmethod
    def _train_data(cls, cfg: TaskConfig, root: Path) -> tuple[np.ndarray, np.ndarray, Any]:
        """(x, y, groups): ``groups`` = (speakers, split of each recording) when x holds
        every split; else x is the ``train`` split alone."""
        x, y, _, _ = cls._data(cfg, root, "train")
        return x, y, None

    @classmethod
    def _checkpoint_extra(cls, cfg: TaskConfig, feats: np.ndarray, speakers: np.ndarray | None,
                          z: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        """Arrays saved beside the readout's (``readout/...``), given the training features,
        their speakers and the readout's inputs ``z`` and labels ``y``: with
        ``readout.self_train`` on, ``z`` and ``y`` themselves (``train_inputs``,
        ``train_labels``), which a readout refitted in the loop is fitted on
        (``adaptation.UserStream``)."""
        if cfg.params.readout.self_train <= 0:
            return {}
        return {"train_inputs": np.asarray(z, np.float64), "train_labels": np.asarray(y, np.int64)}

    @classmethod
    def train(cls, cfg: TaskConfig, out: Path, data_root: Path | None, resume: bool) -> dict:
        out = Path(out)
        if resume and (done := finished_report(out, cfg)) is not None:
            return done
        root = tasks.resolve_root(data_root)
        m = cfg.params
        x, y, groups = cls._train_data(cfg, root)
        res = make_reservoir(cfg, "reservoir")
        feats = cls.features(cfg, res, x)
        train_energy_j = res.ledger.total.energy_j
        extra = {}
        speakers = s_val = None
        if groups is not None:  # the protocols come from the groups: (speakers, split)
            speakers, part = groups
            if (part != "train").any():  # every real recording: leave one speaker out too
                extra = leave_one_speaker_out(cfg, feats, y, speakers, cls.readout_input)
                f_val, y_val = feats[part == "validation"], y[part == "validation"]
                s_val = speakers[part == "validation"]
            else:
                x_val, y_val, s_val, _ = cls._data(cfg, root, "validation")
                f_val = cls.features(cfg, make_reservoir(cfg, "reservoir"), x_val)
            feats, y, speakers = feats[part == "train"], y[part == "train"], speakers[part == "train"]
        else:
            x_val, y_val, s_val, _ = cls._data(cfg, root, "validation")
            f_val = cls.features(cfg, make_reservoir(cfg, "reservoir"), x_val)
        z = cls.readout_input(cfg, feats, speakers)
        head = readout.Readout(m.readout, feats.shape[1], 10, seed=module_seed(cfg.seed, "readout"))
        losses = head.fit(z, y, progress=True, checkpoint=Checkpointer.for_task(
            out, "readout", cfg, m.readout.checkpoint_every, resume))
        train_acc = float(np.mean(head.predict(z) == y))
        # the figure settings are chosen on: printed while training, never the test split
        val = (accuracy_report(head.predict(cls.readout_input(cfg, f_val, s_val)), y_val)
               if len(y_val) else {"accuracy": None, "n": 0})
        report = {"task": cfg.task, "backend": res.backend.name, "n_train": int(y.size),
                  "train_accuracy": train_acc, "final_loss": losses[-1],
                  "validation_accuracy": val["accuracy"], "n_validation": int(val["n"]),
                  "train_spikes_per_sample": float(feats.sum() / max(len(feats), 1)),
                  "train_energy_j": train_energy_j, **extra}
        out.mkdir(parents=True, exist_ok=True)
        arrays = {**head.state(), **cls._checkpoint_extra(cfg, feats, speakers, z, y)}
        save_checkpoint(out, cfg, prefixed("readout", arrays), report)
        return report

    @classmethod
    def evaluate(cls, cfg: TaskConfig, checkpoint: Path | None, data_root: Path | None,
                 split: str) -> dict:
        arrays, _ = load_checkpoint(checkpoint, cfg)
        root = tasks.resolve_root(data_root)
        m = cfg.params
        x, y, speakers, source = cls._data(cfg, root, tasks.check_split(split))
        res = make_reservoir(cfg, "reservoir")
        feats = cls.features(cfg, res, x)
        head = readout.Readout(m.readout, feats.shape[1], 10)
        head.load_state(unprefixed("readout", arrays))
        report = accuracy_report(head.predict(cls.readout_input(cfg, feats, speakers)), y)
        return {**report, "split": split, "source": source, "backend": res.backend.name,
                "energy_j_per_sample": (res.ledger.total + head.spent).energy_j / max(len(y), 1)}


class LsmNmnist(_LsmClassifier):
    """N-MNIST digits: 16x16 crop -> LSM -> linear readout."""

    Config = NmnistConfig

    @classmethod
    def _data(cls, cfg, root, split):
        x, y, source = tasks.nmnist(root, split, cfg.params.vision)
        return x, y, None, source

    @classmethod
    def _train_data(cls, cfg, root):
        x, y, _ = tasks.nmnist(root, "train", cfg.params.vision, augment=True)
        if cfg.params.vision.emulated_mnist:
            xe, ye = tasks.emulated_mnist(root, cfg.params.vision, seed=cfg.seed)
            x, y = np.concatenate([x, xe]), np.concatenate([y, ye])
        return x, y, None


class LsmFsdd(_LsmClassifier):
    """Spoken digits: FSDD through the software cochlea -> LSM -> linear readout."""

    Config = FsddConfig
    _by_length = True  # kept for callers written against the first version; see features

    @classmethod
    def features(cls, cfg, reservoir, binned):
        r = cfg.params.readout
        return encode(reservoir, binned, r.n_windows, cfg.params.audio,
                      include_inputs=r.include_inputs)

    @classmethod
    def readout_input(cls, cfg, feats, speakers):
        mode = cfg.params.readout.speaker_norm
        if mode == "none":
            return feats
        if speakers is None:
            raise DataError("readout.speaker_norm needs the speaker of every recording")
        return speaker_norm.normalize(feats, speaker_norm.statistics_groups(speakers), mode)

    @classmethod
    def _checkpoint_extra(cls, cfg, feats, speakers, z, y):
        extra = super()._checkpoint_extra(cfg, feats, speakers, z, y)
        # the prior a stream of one user's utterances starts from (speaker_norm, listener)
        if cfg.params.readout.speaker_norm == "none":
            return extra
        mean, var = _speaker_prior(feats, speakers)
        return {**extra, "speaker_prior_mean": mean, "speaker_prior_var": var}

    @classmethod
    def _data(cls, cfg, root, split):
        x, y, speakers, source = tasks.fsdd(root, split, cfg.params.audio)
        return x, y, np.asarray(speakers), source

    @classmethod
    def _train_data(cls, cfg, root):
        audio, synthetic = cfg.params.audio, cfg.params.synthetic
        if audio.report_loso and not audio.holdout_speaker:
            # Leave-one-speaker-out needs every recording: bin them all once, keep the splits
            x, y, speakers, part, _ = tasks.fsdd_with_split(root, audio, "all")
        else:
            x, y, speakers, _ = tasks.fsdd(root, "train", audio)
            part = np.full(len(y), "train", dtype=object)
        if synthetic.enabled:  # extra training speakers, never validated or tested on
            xs, ys, ss = tasks.synthetic_speakers(synthetic, audio)
            x, y = np.concatenate([x, xs]), np.concatenate([y, ys])
            speakers = [*speakers, *ss]
            part = np.concatenate([part, np.full(len(ys), "train", dtype=object)])
        if (not (audio.report_loso and not audio.holdout_speaker) and not synthetic.enabled
                and cfg.params.readout.speaker_norm == "none"):
            return x, y, None
        return x, y, (np.asarray(speakers), part)


def leave_one_speaker_out(
    cfg: TaskConfig, feats: np.ndarray, y: np.ndarray, speakers: np.ndarray,
    prepare: Any = None,
) -> dict:
    """Leave one speaker out, with its validation protocol beside it.

    For each speaker ``s`` (sorted by name): ``test`` = the accuracy on every take of ``s``
    of a readout trained on every take of all the others; ``validation`` = the accuracy on
    the validation speaker ``v(s)`` (``tasks.validation_speaker``: the next speaker by name)
    of a readout trained on the remaining speakers, neither ``s`` nor ``v(s)``. Settings
    are chosen on ``validation`` (for fold ``s`` it never involves ``s``); ``test`` is the
    reported figure.

    ``prepare(cfg, feats, speakers)`` turns features into the readout's input (default: as
    they are). With ``readout.speaker_norm`` on, every speaker's features are normalised
    with its own statistics, the held-out speaker's from its own *unlabelled* recordings
    (``speaker_norm``); the report then also holds the figures without it
    (``..._without_speaker_norm``) and the held-out speaker's accuracy when its recordings
    come one by one, in a fixed random order, through running statistics started from the
    training speakers' prior (``leave_one_speaker_out_stream``: what a new user meets).
    With ``readout.self_train`` > 0 the test and validation figures are those of the
    readout refitted on the scored speaker's pseudo-labels (``adaptation.self_train``; batch only, it
    needs all of the speaker's recordings and the training set); the stream figure is the
    first readout's unless ``readout.self_train_every`` is set (``_stream_score``).
    """
    speakers = np.asarray(speakers)
    names_ = sorted(s for s in set(speakers.tolist()) if not s.startswith(tasks.SYNTHETIC_PREFIX))
    audio = cfg.params.audio
    mode = cfg.params.readout.speaker_norm

    def fit_score(z: np.ndarray, rcfg: readout.Config, train: np.ndarray,
                  test: np.ndarray) -> tuple[dict, readout.Readout]:
        head = readout.Readout(rcfg, z.shape[1], 10, seed=module_seed(cfg.seed, "readout"))
        head.fit(z[train], y[train])
        pred = (adaptation.self_train(head, rcfg, z[train], y[train], z[test]).labels
                if rcfg.self_train > 0 else head.predict(z[test]))
        report = accuracy_report(pred, y[test])
        return {k: report[k] for k in ("accuracy", "n", "ci95")}, head

    def protocol(z: np.ndarray, rcfg: readout.Config, stream: bool = False) -> dict:
        loso, val, streamed = {}, {}, {}
        for speaker in names_:
            test = speakers == speaker
            loso[str(speaker)], head = fit_score(z, rcfg, ~test, test)
            if stream:
                streamed[str(speaker)] = _stream_score(
                    head, feats, y, speakers, ~test, test, mode, module_seed(cfg.seed, "stream"),
                    (z[~test], y[~test]) if rcfg.self_train > 0 and rcfg.self_train_every else None)
            if len(names_) >= 3:
                v = tasks.validation_speaker(replace(audio, holdout_speaker=speaker,
                                                     validation_speaker=""), names_)
                held = speakers == v
                val[str(speaker)] = {"speaker": v, **fit_score(z, rcfg, ~test & ~held, held)[0]}
        mean, ci = _pooled(loso)
        out = {"leave_one_speaker_out": loso, "leave_one_speaker_out_mean": mean,
               "leave_one_speaker_out_ci95": ci}
        if val:
            out["leave_one_speaker_out_validation"] = val
            out["leave_one_speaker_out_validation_mean"] = _pooled(val)[0]
        if streamed:
            out["leave_one_speaker_out_stream"] = streamed
            out["leave_one_speaker_out_stream_mean"] = _pooled(streamed)[0]
        return out

    z = feats if prepare is None else prepare(cfg, feats, speakers)
    out = protocol(z, cfg.params.readout, stream=mode != "none")
    if mode != "none":  # the same protocol without the per-speaker statistics, beside it
        plain = protocol(feats, replace(cfg.params.readout, speaker_norm="none"))
        out.update({k.replace("leave_one_speaker_out", "leave_one_speaker_out_without_speaker_norm"):
                    v for k, v in plain.items()})
        out["speaker_norm"] = (f"{mode}: each speaker's features standardised with its own "
                               "statistics; the held-out speaker's come from its unlabelled "
                               "recordings (no labels)")
    return out


def _pooled(d: dict) -> tuple[float, list[float]]:
    k = sum(round(r["accuracy"] * r["n"]) for r in d.values())
    n = sum(r["n"] for r in d.values())
    return (k / n if n else 0.0), list(wilson(int(k), int(n)))


def _speaker_prior(feats: np.ndarray, speakers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The stream prior (``speaker_norm.prior``) over the real speakers among ``speakers``:
    the synthesized voices, 32 against 3-5 real speakers, would otherwise set it."""
    speakers = np.asarray(speakers).astype(str)
    real = ~np.char.startswith(speakers, tasks.SYNTHETIC_PREFIX)
    rows = real if real.any() else np.ones(len(speakers), bool)
    return speaker_norm.prior(feats[rows], speaker_norm.statistics_groups(speakers[rows]))


def _stream_score(head: readout.Readout, feats: np.ndarray, y: np.ndarray,
                  speakers: np.ndarray, train: np.ndarray, test: np.ndarray, mode: str,
                  seed: int, refit_on: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    """Accuracy on the ``test`` rows heard one at a time (fixed random order) through
    ``adaptation.UserStream``, the listener's own reading: running statistics started from
    the prior of the ``train`` speakers and, with ``refit_on`` (the training readout inputs
    and labels) and ``readout.self_train_every``, the readout refitted as it goes."""
    mean, var = _speaker_prior(feats[train], speakers[train])
    stream = adaptation.UserStream(head, speaker_norm.RunningSpeakerNorm(mean, var, mode),
                                   refit_on)
    rows = np.flatnonzero(test)[np.random.default_rng(seed).permutation(int(test.sum()))]
    pred = []
    for i in rows:
        z = stream.inputs(feats[i:i + 1])[0]
        pred.append(stream.readout.predict(z)[0])
    report = accuracy_report(np.array(pred), y[rows])
    return {k: report[k] for k in ("accuracy", "n", "ci95")}


class LsmZeroShot(Task):
    """Image and audio LSMs with contrastive projections; retrieval of unseen digits."""

    Config = ZeroShotConfig

    @classmethod
    def split_features(cls, cfg: TaskConfig, root: Path, split: str, train: bool = False):
        """(image features, labels, audio features, labels, source) of the real recordings of
        ``split``; ``train`` adds the configured training copies (shifts, emulated digits)."""
        m = cfg.params
        xi, yi, src_i = tasks.nmnist(root, split, m.vision, augment=train)
        if train and m.vision.emulated_mnist:
            xe, ye = tasks.emulated_mnist(root, m.vision, seed=cfg.seed)
            xi, yi = np.concatenate([xi, xe]), np.concatenate([yi, ye])
        xa, ya, _, src_a = tasks.fsdd(root, split, m.audio)
        fi = encode(make_reservoir(cfg, "reservoir"), xi, m.n_windows)
        fa = cls.audio_features(cfg, make_reservoir(cfg, "audio_reservoir"), xa)
        return fi, yi, fa, ya, f"{src_i}; {src_a}"

    @classmethod
    def train(cls, cfg: TaskConfig, out: Path, data_root: Path | None, resume: bool) -> dict:
        out = Path(out)
        if resume and (done := finished_report(out, cfg)) is not None:
            return done
        root = tasks.resolve_root(data_root)
        m = cfg.params
        # the names first: a voice or font that does not exist fails in seconds, not minutes
        rendered = cls.rendered_names(cfg) if m.names.enabled and m.unseen_digits else None
        fi, yi, fa, ya, _ = cls.split_features(cfg, root, "train", train=True)
        si, sa = np.isin(yi, m.seen_digits), np.isin(ya, m.seen_digits)
        pi, pa, losses = projection.train_projections(
            m.projection, fi[si], yi[si], fa[sa], ya[sa],
            seed=module_seed(cfg.seed, "projection"), progress=True,
            checkpoint=Checkpointer.for_task(out, "projections", cfg,
                                             m.projection.checkpoint_every, resume),
        )
        ei_seen = pi.embed(fi[si])
        seen_top1 = projection.retrieval_top1(pa.embed(fa[sa]), ya[sa], ei_seen, yi[si])
        report = {"task": cfg.task, "n_image_train": int(si.sum()),
                  "n_audio_train": int(sa.sum()), "final_loss": losses[-1],
                  "seen_train_top1": seen_top1}
        out.mkdir(parents=True, exist_ok=True)
        digits, protos = projection.prototypes(ei_seen, yi[si])
        arrays = {**prefixed("image", pi.params), **prefixed("audio", pa.params),
                  "prototype/digits": digits, "prototype/image": protos}
        if rendered is not None:
            arrays.update(cls._name_anchors(rendered, fi[si], fa[sa]))
        save_checkpoint(out, cfg, arrays, report)
        return report

    @staticmethod
    def _name_anchors(rendered: tuple[np.ndarray, ...], image_seen: np.ndarray,
                      audio_seen: np.ndarray) -> dict[str, np.ndarray]:
        """The checkpoint's name anchors (``neuralbrain.memory.names``; row d = digit d) from
        the rendered names' features, and the real seen recordings' domain means."""
        fa, ya, fi, yi = rendered
        return {"names/audio": names.anchors(fa, ya)[1], "names/image": names.anchors(fi, yi)[1],
                "names/audio_mean": names.domain_mean(audio_seen),
                "names/image_mean": names.domain_mean(image_seen)}

    @classmethod
    def rendered_names(cls, cfg: TaskConfig) -> tuple[np.ndarray, ...]:
        """Every digit's spoken and typeset name through the cochlea / saccade emulator and
        the reservoirs: (audio features, labels, image features, labels)."""
        from neuralbrain.sensing.datasets import EmulatedNMNIST

        m = cfg.params
        digits = np.arange(10)
        waves, ya = names.spoken(digits, m.names)
        xa = np.stack([tasks.audio_to_binned(w, 8000, m.audio) for w in waves])
        fa = cls.audio_features(cfg, make_reservoir(cfg, "audio_reservoir"), xa)
        images, yi = names.written(digits, m.names)
        shown = EmulatedNMNIST(images, yi, seed=module_seed(cfg.seed, "names"))
        xi = np.stack([m.vision.binner(shown[i][0]) for i in range(len(yi))])
        fi = encode(make_reservoir(cfg, "reservoir"), xi, m.n_windows)
        return fa, ya, fi, yi

    @classmethod
    def evaluate(cls, cfg: TaskConfig, checkpoint: Path | None, data_root: Path | None,
                 split: str) -> dict:
        arrays, _ = load_checkpoint(checkpoint, cfg)
        root = tasks.resolve_root(data_root)
        m = cfg.params
        if not m.unseen_digits:
            return cls._evaluate_heard(cfg, arrays, root, tasks.check_split(split))
        fi, yi, fa, ya, source = cls.split_features(cfg, root, tasks.check_split(split))
        pi = load_projection(m.projection, arrays, "image", fi.shape[1])
        pa = load_projection(m.projection, arrays, "audio", fa.shape[1])
        ui, ua = np.isin(yi, m.unseen_digits), np.isin(ya, m.unseen_digits)
        if not ui.any() or not ua.any():
            raise DataError(
                f"split {split!r} has no recordings of the unseen digits {m.unseen_digits} "
                f"(images: {int(ui.sum())}, audio: {int(ua.sum())})"
            )
        ei, ea = pi.embed(fi), pa.embed(fa)
        contrastive = projection.retrieval_top1(ea[ua], ya[ua], ei[ui], yi[ui])
        qa, gi, score, method = ea, ei, projection.cosine, "contrastive"
        if m.names.enabled:  # the fingerprint guarantees the checkpoint has the anchors
            pick = list(m.unseen_digits)  # anchor rows are digits 0-9
            score = projection.through_names(arrays["names/audio"][pick],
                                             arrays["names/image"][pick], m.names.temperature)
            qa = names.centred(fa, arrays["names/audio_mean"])
            gi = names.centred(fi, arrays["names/image_mean"])
            method = "names"
        top1 = projection.retrieval_top1(qa[ua], ya[ua], gi[ui], yi[ui], score=score)
        k, n = int(round(top1 * ua.sum())), int(ua.sum())
        return {
            "zero_shot_top1": top1,
            "n": n,
            "ci95": list(wilson(k, n)),
            "method": method,
            "zero_shot_top1_nearest_image": projection.retrieval_top1(
                qa[ua], ya[ua], gi[ui], yi[ui], by_class=False, score=score),
            "zero_shot_top1_contrastive": contrastive,
            "all_digits_top1": projection.retrieval_top1(ea, ya, ei, yi),
            "seen_digits_top1": (projection.retrieval_top1(ea[~ua], ya[~ua], ei[~ui], yi[~ui])
                                 if (~ua).any() and (~ui).any() else None),  # a root of 8s and 9s
            "unseen_digits": list(m.unseen_digits),
            "n_image_gallery": int(ui.sum()),
            "split": split,
            "source": source,
        }

    @classmethod
    def audio_features(cls, cfg: TaskConfig, reservoir: lsm.LiquidStateMachine,
                       binned: np.ndarray) -> np.ndarray:
        """The audio projection's input for binned cochlea recordings."""
        m = cfg.params
        return encode(reservoir, binned, m.audio_n_windows, m.audio,
                      include_inputs=m.audio_include_inputs)

    @classmethod
    def _evaluate_heard(cls, cfg: TaskConfig, arrays: dict, root: Path, split: str) -> dict:
        """No unseen digits: every spoken recording of ``split`` is matched to the image
        prototypes stored at training (what the Neural Brain listener does)."""
        m = cfg.params
        xa, ya, _, source = tasks.fsdd(root, split, m.audio)
        reservoir = make_reservoir(cfg, "audio_reservoir")
        fa = cls.audio_features(cfg, reservoir, xa)
        matcher = HeardDigit.from_arrays(m.projection, arrays, fa.shape[1])
        report = accuracy_report(matcher(fa), ya)
        return {**report, "split": split, "source": source, "backend": reservoir.backend.name,
                "energy_j_per_sample": reservoir.ledger.total.energy_j / max(len(ya), 1)}


def load_projection(cfg: projection.Config, arrays: dict, prefix: str,
                    n_features: int) -> projection.Projection:
    """The ``prefix`` projection head of a checkpoint, shapes checked against ``cfg``."""
    head = projection.Projection(cfg, n_features, np.random.default_rng(0), prefix)
    state = unprefixed(prefix, arrays)
    for k, v in head.params.items():
        if k not in state or state[k].shape != v.shape:
            raise CheckpointError(f"checkpoint {prefix}/{k}: expected shape {v.shape}")
    head.params = {k: np.asarray(state[k], np.float64) for k in head.params}
    return head


class HeardDigit:
    """The digit a recording was heard as: its audio embedding's nearest image prototype.

    ``digit = digits[argmax_k cos(e_aud(x), p_k)]``, ``p_k`` the renormalised mean image
    embedding of digit ``k`` over the training recordings (CLIP-style zero-shot labelling,
    Radford et al. 2021, with images in place of text prompts).
    """

    def __init__(self, audio: projection.Projection, digits: np.ndarray, protos: np.ndarray):
        self.audio, self.digits, self.protos = audio, digits, protos

    @classmethod
    def from_arrays(cls, cfg: projection.Config, arrays: dict, n_features: int) -> HeardDigit:
        if "prototype/image" not in arrays:
            raise CheckpointError("checkpoint has no prototype/image: retrain it with this version")
        return cls(load_projection(cfg, arrays, "audio", n_features),
                   np.asarray(arrays["prototype/digits"]), np.asarray(arrays["prototype/image"]))

    def __call__(self, features: np.ndarray, matmul: projection.MatMul = np.matmul) -> np.ndarray:
        """The heard digit of each row of ``features``; ``matmul`` runs the products."""
        return self.digits[np.argmax(matmul(self.audio.embed(features, matmul), self.protos.T),
                                     axis=1)]

"""The LSM tasks' data: real recordings -> binned reservoir inputs, with documented splits.

Splits (deterministic, nothing random; ``train``, ``validation`` and ``test`` are pairwise
disjoint, ``all`` is their union). The protocol: settings (hyper-parameters, switches) are
chosen on ``validation`` only; ``test`` is scored once, with the settings already fixed.

- **N-MNIST**. ``test``: if the data root has ``nmnist/Test/``, that folder; otherwise (the
  shared data holds 1,000 ``Train/`` recordings only) the recordings whose id (the MNIST
  training index in the file name, e.g. ``00035.bin``) is a multiple of ``holdout_every``
  (5): about 200. ``validation``: of the remaining ``Train/`` recordings in id order, every
  ``validation_every``-th (8), starting with the first: about 100. ``train``: the rest
  (about 700). Optional extra training data: the first ``emulated_mnist`` MNIST *test*
  images (``mnist/t10k-*``) through the saccade emulator -- never the same digits as
  N-MNIST's, which were recorded from MNIST *training* images.
- **FSDD** through the software cochlea (derived data, not N-TIDIGITS). Takes protocol
  (``holdout_speaker`` empty): ``test`` = takes 0-4 (the dataset's convention),
  ``validation`` = takes 5 .. 4 + ``validation_takes`` (5-9), ``train`` = the later takes
  (10-49), every speaker in each. Speaker protocol (``holdout_speaker`` set): ``test`` is
  every take of that speaker, ``validation`` every take of ``validation_speaker`` (default:
  the speaker after the held-out one in alphabetical order, cyclically; never the held-out
  one), ``train`` every take of the other speakers. Each recording is scaled to peak
  amplitude 1 first (``normalize_peak``), so loud and quiet speakers give comparable event
  rates; ``agc_tau_s > 0`` also turns on the cochlea's automatic gain control. Synthesized
  voices (``SyntheticSpeakers``) join ``train`` only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neuralbrain.errors import ConfigError, DataError
from neuralbrain.memory.encoding import BinEvents

SPLITS = ("train", "validation", "test", "all")


@dataclass(frozen=True)
class VisionData:
    """``[vision]``: N-MNIST binning and the training set."""

    crop: int = 16
    n_steps: int = 50
    bin_us: int = 6000
    holdout_every: int = 5
    validation_every: int = 8  # every 8th non-test recording (id order) is validation
    emulated_mnist: int = 0
    augment_shift_px: int = 0  # training copies shifted by up to this many pixels in x and y
    max_samples: int = 0  # 0 = all; else n recordings spread evenly over the split (debug)

    def __post_init__(self) -> None:
        if not 1 <= self.crop <= 34:
            raise ConfigError(f"vision.crop = {self.crop}: expected 1..34 (N-MNIST is 34x34)")
        for name in ("n_steps", "bin_us", "holdout_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"vision.{name} = {getattr(self, name)}: expected >= 1")
        if self.validation_every < 2:
            raise ConfigError(
                f"vision.validation_every = {self.validation_every}: expected >= 2 (every "
                "n-th non-test recording is validation; 1 would leave nothing to train on)"
            )
        for name in ("emulated_mnist", "max_samples", "augment_shift_px"):
            if getattr(self, name) < 0:
                raise ConfigError(f"vision.{name} = {getattr(self, name)}: expected >= 0")

    @property
    def binner(self) -> BinEvents:
        return BinEvents((34, 34), (self.crop, self.crop), self.n_steps, self.bin_us)


SYNTHETIC_PREFIX = "espeak:"  # speaker names of synthesized voices (training only)


@dataclass(frozen=True)
class SyntheticSpeakers:
    """``[synthetic]``: eSpeak NG voices as extra *training* speakers of the spoken digits.

    Every digit's English word is spoken by every (voice, base pitch, words per minute)
    combination (``neuralbrain.sensing.speech``; a rule-based formant synthesizer, no trained
    model), goes through the same peak normalisation and cochlea as a real recording and
    joins the ``train`` split only, as speaker ``espeak:<voice>:<pitch>:<wpm>``: never
    validation, never test, never a held-out speaker of leave-one-speaker-out.
    """

    enabled: bool = False
    voices: tuple[str, ...] = ("en-us", "en-us+m1", "en-us+m3", "en-us+m7", "en-us+f2",
                               "en-us+f4", "en-us+klatt", "en-us+f5", "en", "en+m1", "en+m3",
                               "en+m7", "en+f2", "en+f4", "en+klatt", "en+f5",
                               "en-gb-scotland", "en-gb-scotland+m1", "en-gb-scotland+m3",
                               "en-gb-scotland+m7", "en-gb-scotland+f2", "en-gb-scotland+f4",
                               "en-gb-scotland+klatt", "en-gb-scotland+f5", "en-029",
                               "en-029+m1", "en-029+m3", "en-029+m7", "en-029+f2", "en-029+f4",
                               "en-029+klatt", "en-029+f5")
    pitches: tuple[int, ...] = (50,)  # eSpeak's default; 35 and 65 added lowered validation
    wpm: tuple[int, ...] = (150, 190)

    def __post_init__(self) -> None:
        if self.enabled and not (self.voices and self.pitches and self.wpm):
            raise ConfigError(
                f"synthetic.voices = {self.voices}, pitches = {self.pitches}, wpm = {self.wpm}: "
                "expected at least one of each (or synthetic.enabled = false)"
            )
        bad = [p for p in self.pitches if not 0 <= p <= 100]
        if bad:
            raise ConfigError(f"synthetic.pitches = {self.pitches}: expected values in 0..100")


def synthetic_speakers(
    cfg: SyntheticSpeakers, audio: AudioData, rate_hz: int = 8000
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The synthesized training recordings: (binned (n, steps, 64), labels, speakers).

    Deterministic: ``speech.synthesize`` renders the whole list in a fresh process.
    """
    from itertools import product

    from neuralbrain.memory.names import WORDS
    from neuralbrain.sensing.speech import Utterance, synthesize

    combos = list(product(cfg.voices, cfg.pitches, cfg.wpm))
    requests = [Utterance(WORDS[d], voice=v, wpm=w, pitch=p) for d in range(10)
                for v, p, w in combos]
    waves = synthesize(requests, rate_hz)
    cochlea = audio.cochlea
    x = np.stack([audio_to_binned(w, rate_hz, audio, cochlea)
                  for w in _progress(waves, len(waves), "eSpeak cochlea")])
    labels = np.repeat(np.arange(10, dtype=np.int64), len(combos))
    speakers = [f"{SYNTHETIC_PREFIX}{v}:{p}:{w}" for _ in range(10) for v, p, w in combos]
    return x, labels, speakers


@dataclass(frozen=True)
class AudioData:
    """``[audio]``: FSDD through the cochlea, binning and the split."""

    n_steps: int = 1000
    bin_us: int = 1000
    normalize_peak: bool = True
    agc_tau_s: float = 0.0  # the cochlea's automatic gain control (cochlea.Config); 0 = off
    report_loso: bool = False  # train also reports leave-one-speaker-out accuracies
    span_threshold: float = 0.3  # feature windows cover where the smoothed event rate
    span_smooth_steps: int = 20  # (over 20 bins) is >= 0.3 x its peak: the spoken word
    holdout_speaker: str = ""
    validation_takes: int = 5  # takes protocol: takes 5 .. 4 + this are validation
    validation_speaker: str = ""  # speaker protocol: "" = the one after holdout_speaker
    max_samples: int = 0

    def __post_init__(self) -> None:
        for name in ("n_steps", "bin_us"):
            if getattr(self, name) < 1:
                raise ConfigError(f"audio.{name} = {getattr(self, name)}: expected >= 1")
        if not 1 <= self.validation_takes <= 40:
            raise ConfigError(
                f"audio.validation_takes = {self.validation_takes}: expected 1..40 (takes "
                "5 .. 4 + n are validation; at least 5 of the 50 takes must stay for training)"
            )
        if self.validation_speaker and self.validation_speaker == self.holdout_speaker:
            raise ConfigError(
                f"audio.validation_speaker = {self.validation_speaker!r}: expected a speaker "
                "other than audio.holdout_speaker (the validation speaker chooses settings, "
                "the held-out one is reported)"
            )
        if self.max_samples < 0:
            raise ConfigError(f"audio.max_samples = {self.max_samples}: expected >= 0")
        if self.agc_tau_s < 0:
            raise ConfigError(f"audio.agc_tau_s = {self.agc_tau_s}: expected >= 0 (0 = off)")
        if not 0.0 <= self.span_threshold < 1.0 or self.span_smooth_steps < 1:
            raise ConfigError(
                f"audio.span_threshold = {self.span_threshold}, span_smooth_steps = "
                f"{self.span_smooth_steps}: expected 0 <= threshold < 1 and smooth_steps >= 1"
            )

    @property
    def binner(self) -> BinEvents:
        return BinEvents((64, 1), (64, 1), self.n_steps, self.bin_us)

    @property
    def cochlea(self) -> Any:
        """The software cochlea recordings go through (``neuralbrain.sensing.cochlea``)."""
        from neuralbrain.sensing.cochlea import Cochlea
        from neuralbrain.sensing.cochlea import Config as CochleaConfig

        return Cochlea(CochleaConfig(agc_tau_s=self.agc_tau_s))


def resolve_root(data_root: Path | str | None) -> Path:
    """``data_root``, else ``$NEURALBRAIN_DATA``; a missing folder is a ``DataError``."""
    if data_root is None:
        env = os.environ.get("NEURALBRAIN_DATA")
        if not env:
            raise DataError(
                "no data root: pass --data-root or set NEURALBRAIN_DATA to a folder holding "
                "nmnist/Train/<label>/*.bin, mnist/t10k-*.gz and fsdd/recordings/*.wav"
            )
        data_root = env
    root = Path(data_root)
    if not root.is_dir():
        raise DataError(f"data root {str(root)!r} is not a folder: expected the data folder")
    return root


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise DataError(f"split {split!r}: expected one of {SPLITS}")
    return split


def _progress(it, total: int, desc: str):
    from tqdm import tqdm

    return tqdm(it, total=total, desc=desc, leave=False, mininterval=1.0)


def shift_events(events: np.ndarray, dx: int, dy: int, size: int = 34) -> np.ndarray:
    """A copy of ``events`` translated by (dx, dy) pixels; events leaving the sensor drop."""
    ev = events.copy()
    ev["x"] += dx
    ev["y"] += dy
    keep = (ev["x"] >= 0) & (ev["x"] < size) & (ev["y"] >= 0) & (ev["y"] < size)
    return ev[keep]


def nmnist(
    root: Path, split: str, cfg: VisionData, augment: bool = False
) -> tuple[np.ndarray, np.ndarray, str]:
    """Binned real N-MNIST recordings of ``split``: (batch, steps, crop^2) uint8, labels, source.

    ``augment`` (training only) appends, for each shift (dx, dy) != (0, 0) with
    ``|dx|, |dy| <= cfg.augment_shift_px``, a translated copy of every recording.
    """
    from neuralbrain.sensing.readers import read_nmnist

    check_split(split)
    folder = root / "nmnist" if (root / "nmnist").is_dir() else root
    if not (folder / "Train").is_dir() and not (folder / "Test").is_dir():
        raise DataError(f"{root}: no N-MNIST data (expected nmnist/Train/<label>/*.bin)")
    files, labels, source = nmnist_files(folder, split, cfg)
    if cfg.max_samples:
        pick = spread(len(files), cfg.max_samples)
        files, labels = [files[i] for i in pick], np.asarray(labels)[pick]
    binner = cfg.binner
    r = cfg.augment_shift_px if augment else 0
    shifts = [(0, 0)] + [(dx, dy) for dx in range(-r, r + 1) for dy in range(-r, r + 1)
                         if (dx, dy) != (0, 0)]
    rows: list[list[np.ndarray]] = [[] for _ in shifts]
    for f in _progress(files, len(files), "N-MNIST"):
        ev = read_nmnist(f)
        for row, (dx, dy) in zip(rows, shifts, strict=True):
            row.append(binner(shift_events(ev, dx, dy) if (dx or dy) else ev))
    x = np.concatenate([np.stack(row) for row in rows])
    labels = np.tile(np.asarray(labels, np.int64), len(shifts))
    if r:
        source += f" (+ {len(shifts) - 1} shifted copies of each)"
    return x, labels, source


def nmnist_parts(ids: np.ndarray, cfg: VisionData, has_test_folder: bool = False) -> np.ndarray:
    """The split of each ``Train/`` recording id: an array of "train" / "validation" / "test".

    ``test``: ``id % holdout_every == 0`` (none when the data root has its own ``Test/``);
    ``validation``: of the others in id order, ranks 0, ``validation_every``, 2 x ..., so
    the three parts are disjoint and the assignment depends on the ids alone.
    """
    ids = np.asarray(ids, np.int64)
    part = np.full(ids.size, "train", dtype=object)
    held = np.zeros(ids.size, bool) if has_test_folder else ids % cfg.holdout_every == 0
    part[held] = "test"
    rest = np.flatnonzero(~held)
    rest = rest[np.argsort(ids[rest], kind="stable")]
    part[rest[:: cfg.validation_every]] = "validation"
    return part


def nmnist_files(folder: Path, split: str, cfg: VisionData) -> tuple[list[Path], np.ndarray, str]:
    """(files, labels, source) of the N-MNIST recordings of ``split`` (module docstring)."""
    from neuralbrain.sensing.datasets import NMNIST

    has_test = (folder / "Test").is_dir()
    if has_test and split == "test":
        ds = NMNIST(folder, "test")
        return list(ds.files), np.asarray(ds.labels), f"real N-MNIST test ({folder}/Test)"
    files, labels = [], []
    if (folder / "Train").is_dir():
        ds = NMNIST(folder, "train")
        part = nmnist_parts(np.array([_file_id(f) for f in ds.files]), cfg, has_test)
        keep = np.ones(part.size, bool) if split == "all" else part == split
        files = [f for f, k in zip(ds.files, keep, strict=True) if k]
        labels = list(np.asarray(ds.labels)[keep])
    if has_test and split == "all":
        ds = NMNIST(folder, "test")
        files, labels = files + list(ds.files), labels + list(ds.labels)
    if not files:
        raise DataError(f"{folder}: no N-MNIST recordings for split {split!r}")
    rule = ("" if has_test else f"test: id % {cfg.holdout_every} == 0; ") + (
        f"validation: every {cfg.validation_every}th other Train/ recording by id")
    return files, np.asarray(labels, np.int64), f"real N-MNIST {split} ({folder}; {rule})"


def spread(n: int, k: int) -> np.ndarray:
    """``min(n, k)`` indices evenly spread over ``range(n)`` (so every class is represented)."""
    return np.unique(np.linspace(0, n - 1, min(n, k)).round().astype(np.int64))


def _file_id(path: Path) -> int:
    stem = Path(path).stem
    if not stem.isdigit():
        raise DataError(f"{path}: expected a numeric recording id like 00035.bin")
    return int(stem)


def emulated_mnist(root: Path, cfg: VisionData, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``cfg.emulated_mnist`` MNIST test images through the saccade emulator."""
    from neuralbrain.sensing.datasets import EmulatedNMNIST, load_mnist

    n = cfg.emulated_mnist
    images, labels = load_mnist(root, "test")
    if n > len(labels):
        raise ConfigError(f"vision.emulated_mnist = {n}: the MNIST test set has {len(labels)}")
    ds = EmulatedNMNIST(images[:n], labels[:n], seed=seed)
    binner = cfg.binner
    x = np.stack([binner(ds[i][0]) for i in _progress(range(n), n, "saccades")])
    return x, labels[:n].astype(np.int64)


def fsdd(root: Path, split: str, cfg: AudioData) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    """Binned FSDD-through-cochlea recordings: (batch, steps, 64), labels, speakers, source."""
    x, y, speakers, _, rule = fsdd_with_split(root, cfg, check_split(split))
    source = f"derived: FSDD through the software cochlea, split {split} ({rule})"
    return x, y, speakers, source


def validation_speaker(cfg: AudioData, speakers: list[str] | np.ndarray) -> str:
    """The validation speaker of the speaker protocol: ``cfg.validation_speaker``, else the
    speaker after ``cfg.holdout_speaker`` in alphabetical order (cyclically)."""
    names = sorted(set(str(s) for s in speakers))
    for name, what in ((cfg.holdout_speaker, "holdout_speaker"),
                       (cfg.validation_speaker, "validation_speaker")):
        if name and name not in names:
            raise DataError(f"audio.{what} = {name!r}: no such speaker; expected one of {names}")
    if len(names) < 3:
        raise DataError(f"FSDD speakers {names}: the speaker protocol needs at least 3 "
                        "(one held out, one for validation, the rest to train on)")
    if cfg.validation_speaker:
        return cfg.validation_speaker
    return names[(names.index(cfg.holdout_speaker) + 1) % len(names)]


def fsdd_parts(takes: np.ndarray, speakers: np.ndarray, cfg: AudioData) -> tuple[np.ndarray, str]:
    """The split of each FSDD recording ("train" / "validation" / "test") and the rule."""
    takes, speakers = np.asarray(takes), np.asarray(speakers)
    part = np.full(takes.size, "train", dtype=object)
    if cfg.holdout_speaker:
        val = validation_speaker(cfg, speakers)
        part[speakers == val] = "validation"
        part[speakers == cfg.holdout_speaker] = "test"
        return part, f"test: speaker {cfg.holdout_speaker!r}; validation: speaker {val!r}"
    last = 4 + cfg.validation_takes
    part[(takes >= 5) & (takes <= last)] = "validation"
    part[takes < 5] = "test"
    return part, f"test: takes 0-4; validation: takes 5-{last}"


def fsdd_with_split(
    root: Path, cfg: AudioData, split: str = "all"
) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray, str]:
    """The recordings of ``split`` with their parts: (x, labels, speakers, part, rule).

    Only the recordings of ``split`` go through the cochlea; ``part[i]`` is the split
    ("train", "validation" or "test") recording ``i`` belongs to.
    """
    from neuralbrain.sensing.datasets import FSDD
    from neuralbrain.sensing.readers import read_wav

    ds = FSDD(root, "all")
    takes = np.array([int(Path(f).stem.split("_")[2]) for f in ds.files])
    speakers = np.array(ds.speakers)
    part, rule = fsdd_parts(takes, speakers, cfg)
    keep = np.ones(part.size, bool) if check_split(split) == "all" else part == split
    idx = np.flatnonzero(keep)
    if cfg.max_samples:
        idx = idx[spread(idx.size, cfg.max_samples)]
    cochlea = cfg.cochlea
    rows = []
    for i in _progress(idx, idx.size, "FSDD cochlea"):
        rate, audio = read_wav(ds.files[i])
        if audio.ndim != 1:
            raise DataError(f"{ds.files[i]}: {audio.shape[1]} channels, expected mono audio")
        rows.append(audio_to_binned(audio, rate, cfg, cochlea))
    return (np.stack(rows), ds.labels[idx], [str(s) for s in speakers[idx]], part[idx], rule)


def audio_to_binned(audio: np.ndarray, rate: int, cfg: AudioData, cochlea: Any = None) -> np.ndarray:
    """One mono waveform -> cochlea events -> the binned input (steps, 64) of the audio LSM.

    ``cochlea`` defaults to ``cfg.cochlea``; pass it to reuse one over many recordings."""
    audio = np.asarray(audio, dtype=np.float64)
    if cfg.normalize_peak:
        audio = audio / max(float(np.abs(audio).max()), 1e-6)
    return cfg.binner((cochlea or cfg.cochlea)(audio, rate))

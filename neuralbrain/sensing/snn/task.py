"""Task ``insensor_nmnist``: train and evaluate the in-sensor SNN digit reader on N-MNIST.

    events -> [conv1 + LIF: in_sensor] -> [conv2 + LIF, fc: neuromorphic] -> digit

The network, its training and its backends are described in ``neuralbrain.sensing.snn``
(model, surrogate-gradient training: why not conversion is in ``snn/train.py``) and
``neuralbrain.sensing.perception`` (the module that runs it on backends and books its cost).

Splits of the real recordings (deterministic): ``test`` = ``nmnist/Test`` if it exists,
else the ``heldout`` 20 % of ``nmnist/Train`` (``snn/data.py``: rank within class % 5 == 0;
never trained on, never used to choose anything); ``validation`` = of the other 80 %, the
recordings whose rank within their class is a multiple of ``VALIDATION_EVERY`` (8), about
100: settings are chosen on it and training reports its accuracy; ``train`` = the rest
(about 700); ``all`` = every recording. Without a data root the embedded digits are split
the same way (every 5th ``test``, every 8th of the others per class ``validation``).

``neuralbrain train CONFIG --out DIR`` trains on the ``train`` split of the real recordings
(repeated ``train.real_repeat`` times) plus ``train.cubes`` emulated DigitPick cube
recordings (MNIST test digits with index < 5000 on a rendered cube top, seen by the saccading
event camera and cropped exactly as ``Perception`` crops a scene) plus ``train.emulated``
MNIST test digits through the N-MNIST saccade emulator, then, when ``train.reference`` is on,
the same network without the in-sensor constraints (``snn.first_layer = "analog"``: float
first-layer weights, non-spiking first-layer output), and writes ``DIR/snn.npz``
(parameters), ``DIR/snn.nir`` (NIR export) and ``DIR/report.json`` (atomically; it holds the
``validation`` accuracies, never the test split's, and the config hash). While training, each
network's whole training state is checkpointed every ``train.checkpoint_every`` batches
(``DIR/snn.train_state.npz``, ``DIR/reference.train_state.npz``; ``neuralbrain.resumable``):
``--resume`` continues a killed run from there to the same weights, bit for bit.

Without a data root (no ``--data-root``, no ``$NEURALBRAIN_DATA``) the recordings are the
embedded scikit-learn digits (the digits DigitPick shows then) through the saccade emulator,
and the cube and extra recordings draw on the same training digits. ``neuralbrain eval
CONFIG [--checkpoint DIR] --split test|validation --json`` runs the trained SNN through the
``Perception`` module on its configured backends and prints ``accuracy``, ``n``,
``per_class`` and the energy per sample; without ``--checkpoint`` it uses
``perception.weights``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from neuralbrain.atomic import atomic_path, atomic_write_text
from neuralbrain.config import TaskConfig
from neuralbrain.core import Task
from neuralbrain.errors import CheckpointError, ConfigError, DataError
from neuralbrain.resumable import (
    Checkpointer,
    check_config_hash,
    package_version,
    task_config_sha256,
)
from neuralbrain.sensing.datasets import EMBEDDED_SOURCE
from neuralbrain.sensing.perception import Config as PerceptionConfig
from neuralbrain.sensing.perception import Perception
from neuralbrain.sensing.snn.data import emulate, load_emulated, load_real, real_files
from neuralbrain.sensing.snn.frames import EventCounts
from neuralbrain.sensing.snn.model import SNNConfig
from neuralbrain.sensing.snn.nir_io import export_nir
from neuralbrain.sensing.snn.train import TrainConfig, fit, predict

CHECKPOINT = "snn.npz"
SPLITS = ("train", "validation", "test", "all")
VALIDATION_EVERY = 8  # of the non-test recordings, rank within class % 8 == 0 -> validation
# Flat-shaded colours of the DigitPick render as the overhead camera sees them (luma of the
# table 108, cube top 222, ink 22, side faces ~140): measured on env frames, not fitted.
TOP_GAIN = 0.957
SIDE_GAIN = (0.6, 0.7)
CUBE_SIDE_PX = (27, 32)


@dataclass(frozen=True)
class TrainSection(TrainConfig):
    """``[train]``: optimisation (``TrainConfig``) plus what to train on."""

    max_real: int = 0  # 0 = every recording of the split; else a seeded N of them (debug)
    real_repeat: int = 1  # how many times the real recordings appear per epoch
    cubes: int = 0  # emulated DigitPick cube recordings added to training
    # what the emulated cube and extra recordings show: "mnist" (MNIST test digits < 5000, the
    # same images as N-MNIST Test ids 1-5000) or "embedded" (scikit-learn digits: no overlap
    # with any N-MNIST recording)
    digit_source: str = "mnist"
    reference: bool = True  # also train the unconstrained twin and report the gap
    eval_batch: int = 64

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.real_repeat < 1 or self.cubes < 0:
            raise ConfigError(
                f"train.real_repeat = {self.real_repeat} (expected >= 1), train.cubes = "
                f"{self.cubes} (expected >= 0)"
            )
        if self.digit_source not in ("mnist", "embedded"):
            raise ConfigError(
                f"train.digit_source = {self.digit_source!r}: expected 'mnist' or 'embedded'")
        if self.max_real < 0 or self.eval_batch < 1:
            raise ConfigError(
                f"train.max_real = {self.max_real} (expected >= 0), train.eval_batch = "
                f"{self.eval_batch} (expected >= 1)"
            )


@dataclass(frozen=True)
class InsensorConfig:
    perception: PerceptionConfig = field(default_factory=PerceptionConfig)
    train: TrainSection = field(default_factory=TrainSection)


def event_counts(snn: SNNConfig, pcfg: PerceptionConfig) -> EventCounts:
    return EventCounts(snn.time_steps, (snn.width, snn.height, 2), pcfg.window_us)


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise DataError(f"split {split!r}: expected one of {SPLITS}")
    return split


def validation_mask(labels: np.ndarray) -> np.ndarray:
    """True for the ``validation`` part of a non-test list: rank within class (list order)
    is a multiple of ``VALIDATION_EVERY``."""
    labels = np.asarray(labels)
    rank = np.zeros(labels.size, np.int64)
    for d in np.unique(labels):
        at = np.flatnonzero(labels == d)
        rank[at] = np.arange(at.size)
    return rank % VALIDATION_EVERY == 0


def embedded_digits(split: str) -> tuple[np.ndarray, np.ndarray]:
    """The project's embedded scikit-learn digits (``sensing.datasets.embedded_digits``: every
    5th one is ``heldout``/``test``; of the rest, ``validation_mask`` gives ``validation``) at
    28x28, as DigitPick shows them without data."""
    from neuralbrain.sensing.cube_views import sklearn_to_28
    from neuralbrain.sensing.datasets import embedded_digits as sklearn_digits

    if split in ("train", "validation"):
        images, labels = sklearn_digits("train")
        keep = validation_mask(labels) == (split == "validation")
        return sklearn_to_28(images[keep]), labels[keep]
    images, labels = sklearn_digits("test" if split == "heldout" else split)
    return sklearn_to_28(images), labels


def real_items(root: Path, split: str) -> list[tuple[Path, int]]:
    """(path, label) of the real recordings of ``split`` (see the module docstring)."""
    if split not in ("train", "validation"):
        return real_files(root, split)
    items = real_files(root, "train")
    keep = validation_mask(np.array([label for _, label in items])) == (split == "validation")
    return [item for item, k in zip(items, keep, strict=True) if k]


def _data(root: Path | None, split: str, cfg: InsensorConfig) -> tuple[np.ndarray, np.ndarray]:
    """Binned recordings of ``split``: real N-MNIST under ``root``; without a data root, the
    embedded digits through the saccade emulator (said on stdout). ``train.max_real`` keeps a
    seeded subset of either."""
    counts, tcfg = event_counts(cfg.perception.snn, cfg.perception), cfg.train
    if root is None:
        print(f"no data root: {split} recordings are {EMBEDDED_SOURCE}", flush=True)
        images, labels = embedded_digits(split)
        keep = _subset(len(labels), tcfg)
        return emulate(images[keep], labels[keep], counts, tcfg.seed)
    items = real_items(root, split)
    return load_real([items[i] for i in _subset(len(items), tcfg)], counts)


def _subset(n: int, tcfg: TrainSection) -> np.ndarray:
    """Indices of the samples to use: all, or ``max_real`` of them drawn with the train seed."""
    if not tcfg.max_real:
        return np.arange(n)
    return np.sort(np.random.default_rng(tcfg.seed).permutation(n)[: tcfg.max_real])


def _emulated(root: Path | None, tcfg: TrainSection, counts: EventCounts) -> tuple[np.ndarray, ...]:
    """``tcfg.emulated`` extra emulated recordings. With an MNIST root: distinct MNIST test
    digits. Without: the embedded train digits drawn with replacement, with noise seeds after
    those of ``_data``'s recordings (so no recording repeats)."""
    if root is not None:
        return load_emulated(root, tcfg.emulated, counts, tcfg.seed)
    images, labels = embedded_digits("train")
    pick = np.random.default_rng([tcfg.seed, 0xE3B]).integers(0, len(labels), tcfg.emulated)
    return emulate(images[pick], labels[pick], counts, tcfg.seed + len(labels))


def _accuracy(params: dict, x: np.ndarray, y: np.ndarray, snn: SNNConfig) -> float:
    return float((predict(params, x.astype(np.float32), snn).argmax(1) == y).mean())


def cube_frame(digit28: np.ndarray, rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """One DigitPick-like cube seen from above: a 64x64 RGB frame of table, a cube top with
    ``digit28`` in ink (the env's own texture) and a random sliver of side face."""
    from scipy import ndimage

    from neuralbrain.sensing.cube_views import TABLE_RGB, cube_texture

    side = int(rng.integers(CUBE_SIDE_PX[0], CUBE_SIDE_PX[1] + 1))
    tex = cube_texture(digit28).astype(np.float32) * TOP_GAIN
    idx = np.minimum((np.arange(side) * 32 / side).astype(int), 31)  # nearest texel
    top = tex[idx][:, idx]
    frame = np.empty((size, size, 3), np.float32)
    frame[:] = TABLE_RGB
    y0 = x0 = (size - side) // 2
    sliver = int(rng.integers(0, 3))
    if sliver:
        gain = rng.uniform(*SIDE_GAIN)
        face = tex[0, 0] * gain
        d = int(rng.integers(4))
        if d == 0:
            frame[y0 + side : y0 + side + sliver, x0 : x0 + side] = face
        elif d == 1:
            frame[y0 - sliver : y0, x0 : x0 + side] = face
        elif d == 2:
            frame[y0 : y0 + side, x0 + side : x0 + side + sliver] = face
        else:
            frame[y0 : y0 + side, x0 - sliver : x0] = face
    frame[y0 : y0 + side, x0 : x0 + side] = top
    dy, dx = rng.uniform(-2.0, 2.0, size=2)
    frame = ndimage.shift(frame, (dy, dx, 0), order=0, mode="nearest")
    return np.clip(np.rint(frame), 0, 255).astype(np.uint8)


def training_digits(root: Path | None, pool: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """The digit images emulated recordings are made of: MNIST test digits with index <
    ``pool`` (DigitPick accuracy is reported on all cubes and separately on cubes whose digit
    index is >= ``pool``, never trained on); without a data root, the embedded ``train`` digits.
    """
    from neuralbrain.sensing.datasets import load_mnist

    if root is None:
        return embedded_digits("train")
    images, labels = load_mnist(root, "test")
    return images[:pool], labels[:pool]


def cube_recordings(
    images: np.ndarray, labels: np.ndarray, n: int, pcfg: PerceptionConfig, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` emulated DigitPick cube recordings of digits drawn from ``images``, cropped and
    binned exactly as ``Perception`` does."""
    from neuralbrain.sensing.perception import SceneSaccade, crop_events, find_blobs

    rng = np.random.default_rng([seed, 0xC0BE])
    pick = rng.integers(0, len(images), n)
    camera = SceneSaccade(pcfg.saccade)
    dx, dy = camera.mean_offset_px()
    counts = event_counts(pcfg.snn, pcfg)
    det = pcfg.detect
    x = np.zeros((n, pcfg.snn.time_steps, 2, pcfg.snn.height, pcfg.snn.width), np.uint8)
    for i, k in enumerate(pick):
        frame = cube_frame(images[k], rng)
        ev = camera(frame, seed=int(rng.integers(2**31)))
        blobs = find_blobs(ev, (64, 64, 2), det)
        c = 31.5
        box = min(blobs, key=lambda b: abs(b[0] - dx - c) + abs(b[1] - dy - c)) if blobs else (
            c + dx, c + dy, 30.0)
        sub = crop_events(ev, box, det.crop_scale, det.edge_frac, det.crop_px)
        if det.invert_polarity:
            sub["p"] = 1 - sub["p"]
        x[i] = np.minimum(counts(sub), 255)
    return x, labels[pick].astype(np.int64)


class InsensorNMNIST(Task):
    """Train / evaluate the in-sensor SNN on N-MNIST (see the module docstring); without a
    data root it trains on the embedded digits."""

    Config = InsensorConfig
    needs_data = False

    @classmethod
    def train(cls, cfg: TaskConfig, out: Path, data_root: Path | None, resume: bool) -> dict:
        mc: InsensorConfig = cfg.params
        out = Path(out)
        snn, tcfg = mc.perception.snn, mc.train
        config_hash = task_config_sha256(cfg)
        if resume and (out / "report.json").is_file():
            report = json.loads((out / "report.json").read_text())
            check_config_hash(out / "report.json", report.get("config_sha256"), config_hash)
            return report
        t0 = time.time()
        x, y = _data(data_root, "train", mc)
        xv, yv = _data(data_root, "validation", mc)
        x, y = np.concatenate([x] * tcfg.real_repeat), np.concatenate([y] * tcfg.real_repeat)
        mnist_root = data_root if tcfg.digit_source == "mnist" else None  # None: embedded
        if tcfg.cubes:
            images, labels = training_digits(mnist_root)
            xc, yc = cube_recordings(images, labels, tcfg.cubes, mc.perception, tcfg.seed)
            x, y = np.concatenate([x, xc]), np.concatenate([y, yc])
        if tcfg.emulated:
            xe, ye = _emulated(mnist_root, tcfg, event_counts(snn, mc.perception))
            x, y = np.concatenate([x, xe]), np.concatenate([y, ye])
        log = lambda s: print(s, flush=True)  # noqa: E731
        every = tcfg.checkpoint_every
        params = fit(x, y, snn, tcfg, log=log,
                     checkpoint=Checkpointer.for_task(out, "snn", cfg, every, resume))
        # validation only: the figure the recipe is tuned on; the test split is eval's, once
        report = {
            "n_train": int(len(y)),
            "n_validation": int(len(yv)),
            "validation_accuracy": _accuracy(params, xv, yv, snn),
        }
        if tcfg.reference:
            ref_cfg = replace(snn, first_layer="analog")
            ref = fit(x, y, ref_cfg, tcfg, log=log,
                      checkpoint=Checkpointer.for_task(out, "reference", cfg, every, resume))
            report["reference_validation_accuracy"] = _accuracy(ref, xv, yv, ref_cfg)
            report["in_sensor_gap_points"] = 100 * (
                report["reference_validation_accuracy"] - report["validation_accuracy"]
            )
        out.mkdir(parents=True, exist_ok=True)
        with atomic_path(out / CHECKPOINT) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **params)
        if snn.first_layer == "spiking":
            export_nir(params, snn, out / "snn.nir")
        report["train_seconds"] = round(time.time() - t0, 1)
        report.update(config_sha256=config_hash, version=package_version())
        atomic_write_text(out / "report.json", json.dumps(report, indent=1, sort_keys=True))
        return report

    @classmethod
    def evaluate(
        cls, cfg: TaskConfig, checkpoint: Path | None, data_root: Path | None, split: str
    ) -> dict:
        mc: InsensorConfig = cfg.params
        pcfg = mc.perception
        check_split(split)
        if checkpoint is not None:
            path = Path(checkpoint)
            path = path / CHECKPOINT if path.is_dir() else path
            if not path.is_file():
                raise CheckpointError(f"checkpoint {str(checkpoint)!r}: no {CHECKPOINT} (train first)")
        else:
            path = pcfg.weights  # "" -> Perception says how to get trained weights
        module = Perception(replace(pcfg, weights=str(path)), cfg.hardware)
        module.reset(cfg.seed)
        x, y = _data(data_root, split, replace(mc, train=replace(mc.train, max_real=0)))
        pred = np.empty(len(y), np.int64)
        b = mc.train.eval_batch
        for i in range(0, len(y), b):
            pred[i : i + b] = module.classify(x[i : i + b].astype(np.float32)).argmax(1)
        total = module.ledger.total
        per_class = {
            str(d): float((pred[y == d] == d).mean()) if np.any(y == d) else None
            for d in range(pcfg.snn.n_classes)
        }
        return {
            "accuracy": float((pred == y).mean()),
            "n": int(len(y)),
            "per_class": per_class,
            "split": split,
            "weights": str(path),
            "backends": {"layer1": module.sensor.name, "layers2+": module.backend.name},
            "energy_per_sample_j": total.energy_j / max(len(y), 1),
            "latency_per_sample_s": total.latency_s / max(len(y), 1),
        }

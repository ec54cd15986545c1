"""N-MNIST recordings (real and emulated) as count tensors for the SNN, with a fixed split.

Real recordings come from ``neuralbrain.sensing.datasets.nmnist_files`` (the original
``nmnist/Train|Test/<label>/<id>.bin`` layout). Our splits:

- ``train``: the recordings of ``Train/`` whose rank within their class (sorted by file name)
  is not a multiple of 5 (80 %);
- ``heldout``: the other 20 % of ``Train/``: never used for training or model selection;
- ``test``: ``Test/`` when it exists (the original N-MNIST test set), otherwise ``heldout``;
- ``all``: every recording of ``Train/`` and ``Test/``.

Emulated recordings: MNIST test-set digits (``mnist/t10k-*``; disjoint from the MNIST train
digits 1..1000 that N-MNIST ``Train/`` shows) through the saccade emulator
(``EmulatedNMNIST``), sample ``i`` with noise seed ``seed + i``.

Counts are stored as uint8 (a pixel rarely fires more than a dozen times per time bin;
larger counts saturate at 255) to keep 10 k samples in a few hundred MB.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from neuralbrain.errors import ConfigError, DataError
from neuralbrain.sensing.datasets import EmulatedNMNIST, load_mnist, nmnist_files
from neuralbrain.sensing.readers import read_nmnist
from neuralbrain.sensing.snn.frames import EventCounts

SPLITS = ("train", "heldout", "test", "all")


def _folder(root: Path) -> Path:
    for cand in (root / "nmnist", root):
        if (cand / "Train").is_dir() or (cand / "Test").is_dir():
            return cand
    raise DataError(f"no N-MNIST recordings under {root}: expected nmnist/Train|Test/<label>/*.bin")


def real_files(root: Path, split: str) -> list[tuple[Path, int]]:
    """(path, label) pairs of ``split`` (see the module docstring)."""
    if split not in SPLITS:
        raise ConfigError(f"split {split!r}: expected one of {list(SPLITS)}")
    folder = _folder(Path(root))
    train = nmnist_files(folder, "train") if (folder / "Train").is_dir() else []
    test = nmnist_files(folder, "test") if (folder / "Test").is_dir() else []
    rank: dict[int, int] = {}
    keep, held = [], []
    for path, label in train:
        r = rank.get(label, 0)
        rank[label] = r + 1
        (held if r % 5 == 0 else keep).append((path, label))
    chosen = {"train": keep, "heldout": held, "test": test or held, "all": train + test}[split]
    if not chosen:
        raise DataError(f"{folder}: no recordings for split {split!r}")
    return chosen


def load_real(
    items: Sequence[tuple[Path, int]], transform: EventCounts
) -> tuple[np.ndarray, np.ndarray]:
    """Read and bin every recording: (N, T, 2, H, W) uint8 counts and (N,) int64 labels."""
    w, h, _ = transform.sensor_size
    x = np.zeros((len(items), transform.time_steps, 2, h, w), np.uint8)
    y = np.zeros(len(items), np.int64)
    for i, (path, label) in enumerate(items):
        x[i] = np.minimum(transform(read_nmnist(path)), 255)
        y[i] = label
    return x, y


def load_emulated(
    root: Path, n: int, transform: EventCounts, seed: int, pool: int = 5000
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` MNIST test digits with index < ``pool`` (a seeded draw without replacement) as
    emulated N-MNIST recordings, binned like the real ones. Digits from ``pool`` on are kept
    for evaluation (DigitPick shows MNIST test digits on its cubes)."""
    images, labels = load_mnist(root, "test")
    pool = min(pool, len(images))
    if n > pool:
        raise ConfigError(f"train.emulated = {n}: expected <= {pool} (MNIST test digits < {pool})")
    pick = np.sort(np.random.default_rng(seed).permutation(pool)[:n])
    return emulate(images[pick], labels[pick], transform, seed)


def emulate(
    images: np.ndarray, labels: np.ndarray, transform: EventCounts, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Digit images through the saccade emulator (sample ``i`` with noise seed ``seed + i``),
    binned like the real recordings: (N, T, 2, H, W) uint8 counts and (N,) int64 labels."""
    ds = EmulatedNMNIST(images, labels, seed=seed)
    w, h, _ = transform.sensor_size
    x = np.zeros((len(ds), transform.time_steps, 2, h, w), np.uint8)
    for i in range(len(ds)):
        x[i] = np.minimum(transform(ds[i][0]), 255)
    return x, np.asarray(labels, np.int64)

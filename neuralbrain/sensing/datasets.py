"""Datasets with one API: ``len(ds)``, ``ds[i] -> (sample, label)``, ``ds.labels``, ``ds.source``.

``root`` defaults to ``$NEURALBRAIN_DATA``; each dataset looks for its folder under it (or
accepts the folder itself). ``transform`` (optional) is applied to each sample, so tonic
transforms plug in (``NMNIST(transform=tonic.transforms.ToFrame(...))``).

- ``NMNIST``: original ``Train|Test/<label>/<id>.bin`` recordings. With no ``root`` given and
  no ``nmnist`` folder under ``$NEURALBRAIN_DATA`` it serves the embedded default instead:
  scikit-learn's bundled 8x8 digits through the saccade emulator, says so once on stderr and
  in ``.source``. An explicit ``root`` that does not hold the data is a ``DataError``.
- ``EmulatedNMNIST``: any digit images (e.g. the MNIST test set from ``load_mnist``) through
  the saccade emulator, sample ``i`` recorded with noise seed ``seed + i`` (deterministic).
- ``FSDD``: Free Spoken Digit Dataset WAVs (``<digit>_<speaker>_<take>.wav``; the
  conventional test split is takes 0..4). Samples are ``(audio float32, rate)`` or, with a
  ``cochlea``, events: that is derived data, "FSDD through the software cochlea".
- ``NTIDIGITS``: the N-TIDIGITS HDF5 file in the layout tonic's ``NTIDIGITS18`` reads.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from neuralbrain.errors import DataError
from neuralbrain.sensing.events import AUDIO_SENSOR_SIZE, NMNIST_SENSOR_SIZE
from neuralbrain.sensing.readers import (
    ntidigits_keys,
    read_idx,
    read_nmnist,
    read_ntidigits,
    read_wav,
)

EMBEDDED_SOURCE = "embedded: sklearn digits through the saccade emulator"
SPLITS = ("train", "test", "all")
_announced: set[str] = set()


def _announce(key: str, message: str) -> None:
    # One line per process and dataset kind: the user must know the data is not real.
    if key not in _announced:
        _announced.add(key)
        print(f"neuralbrain: {message}", file=sys.stderr)


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise DataError(f"split {split!r}: expected one of {SPLITS}")
    return split


def data_root(root: str | os.PathLike | None = None) -> Path | None:
    """``root`` if given, else ``$NEURALBRAIN_DATA``, else None."""
    if root is not None:
        return Path(root)
    env = os.environ.get("NEURALBRAIN_DATA")
    return Path(env) if env else None


def _find(root: Path, sub: str, marker: Callable[[Path], bool]) -> Path | None:
    for cand in (root / sub, root):
        if marker(cand):
            return cand
    return None


class _Dataset:
    labels: np.ndarray
    source: str
    transform: Callable | None = None

    def __len__(self) -> int:
        return int(self.labels.size)

    def _index(self, index: int) -> int:
        n = len(self)
        if not isinstance(index, int | np.integer) or not -n <= index < n:
            raise IndexError(f"index {index!r} out of range for {type(self).__name__} of {n}")
        return int(index) % n

    def _out(self, sample: Any, label: Any) -> tuple[Any, Any]:
        return (self.transform(sample) if self.transform else sample), label


# ----------------------------------------------------------------------------- N-MNIST


def _has_nmnist(p: Path) -> bool:
    return (p / "Train").is_dir() or (p / "Test").is_dir()


def nmnist_files(folder: Path, split: str) -> list[tuple[Path, int]]:
    """(file, label) pairs of ``folder/{Train,Test}/<label>/*.bin``, sorted by label then name.

    Label folder names are stripped of whitespace: the shared copy of the data has folder
    names such as ``'0\\r'`` (a CRLF accident); anything not an integer 0..9 is a DataError.
    """
    parts = ("Train", "Test") if split == "all" else ("Train" if split == "train" else "Test",)
    out: list[tuple[Path, int]] = []
    for part in parts:
        d = folder / part
        if not d.is_dir():
            raise DataError(f"{d}: missing; expected N-MNIST {part}/<label>/<id>.bin")
        for sub in sorted(d.iterdir(), key=lambda p: p.name.strip()):
            if not sub.is_dir():
                continue
            name = sub.name.strip()
            if not (name.isdigit() and 0 <= int(name) <= 9):
                raise DataError(f"{sub}: label folder {sub.name!r}, expected a digit 0..9")
            out += [(f, int(name)) for f in sorted(sub.glob("*.bin"))]
    if not out:
        raise DataError(f"{folder}: no .bin recordings for split {split!r}")
    return out


class EmulatedNMNIST(_Dataset):
    """Digit images through the saccade emulator (N-MNIST-like, 34x34, ~300 ms)."""

    sensor_size = NMNIST_SENSOR_SIZE

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        saccade_config: Any = None,
        seed: int = 0,
        transform: Callable | None = None,
        source: str = "emulated: images through the saccade emulator",
    ):
        from neuralbrain.sensing.saccade import Config, Saccades

        images = np.asarray(images)
        labels = np.asarray(labels, dtype=np.int64)
        if images.ndim != 3 or images.shape[0] != labels.shape[0]:
            raise DataError(
                f"images shape {images.shape} and labels shape {labels.shape}: expected "
                "(n, h, w) images and n labels"
            )
        self.images = images
        self.labels = labels
        self.emulator = Saccades(saccade_config or Config())
        self.seed = int(seed)
        self.transform = transform
        self.source = source

    def __getitem__(self, index: int):
        i = self._index(index)
        return self._out(self.emulator(self.images[i], seed=self.seed + i), int(self.labels[i]))


def embedded_digits(split: str) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits; every 5th sample is the test split."""
    from sklearn.datasets import load_digits

    d = load_digits()
    idx = np.arange(d.target.size)
    sel = {"train": idx % 5 != 0, "test": idx % 5 == 0, "all": idx >= 0}[split]
    return d.images[sel], d.target[sel]


class NMNIST(_Dataset):
    """N-MNIST recordings (or the embedded emulated default, see module docstring)."""

    sensor_size = NMNIST_SENSOR_SIZE

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        split: str = "train",
        transform: Callable | None = None,
    ):
        split = _check_split(split)
        self.split = split
        self.transform = transform
        base = data_root(root)
        folder = _find(base, "nmnist", _has_nmnist) if base is not None else None
        if folder is None and root is not None:
            raise DataError(f"{root}: no N-MNIST data (expected nmnist/Train|Test/<label>/*.bin)")
        if folder is None:
            images, labels = embedded_digits(split)
            self._embedded = EmulatedNMNIST(images, labels, source=EMBEDDED_SOURCE)
            self.files: list[Path] = []
            self.labels = self._embedded.labels
            self.source = EMBEDDED_SOURCE
            where = "$NEURALBRAIN_DATA is not set" if base is None else f"no nmnist in {base}"
            _announce("nmnist", f"N-MNIST: {where}; serving {EMBEDDED_SOURCE}")
            return
        self._embedded = None
        pairs = nmnist_files(folder, split)
        self.files = [p for p, _ in pairs]
        self.labels = np.array([lab for _, lab in pairs], dtype=np.int64)
        self.source = f"real: N-MNIST recordings in {folder}"

    def __getitem__(self, index: int):
        i = self._index(index)
        if self._embedded is not None:
            ev, lab = self._embedded[i]
            return self._out(ev, lab)
        return self._out(read_nmnist(self.files[i]), int(self.labels[i]))


def load_mnist(
    root: str | os.PathLike | None = None, split: str = "test"
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST images (n, 28, 28) uint8 and labels from ``<root>/mnist/*-idx*-ubyte[.gz]``."""
    base = data_root(root)
    if base is None:
        raise DataError("no data root: pass root= or set NEURALBRAIN_DATA")
    prefix = {"test": "t10k", "train": "train"}.get(split)
    if prefix is None:
        raise DataError(f"MNIST split {split!r}: expected 'train' or 'test'")
    folder = _find(base, "mnist", lambda p: any(p.glob(f"{prefix}-images-idx3-ubyte*")))
    if folder is None:
        raise DataError(f"{base}: no {prefix}-images-idx3-ubyte[.gz] under mnist/")
    img = read_idx(sorted(folder.glob(f"{prefix}-images-idx3-ubyte*"))[0])
    lab = read_idx(sorted(folder.glob(f"{prefix}-labels-idx1-ubyte*"))[0])
    if img.ndim != 3 or lab.shape != (img.shape[0],):
        raise DataError(f"{folder}: images {img.shape} and labels {lab.shape} do not match")
    return img, lab.astype(np.int64)


# ----------------------------------------------------------------------------- FSDD


def _has_fsdd(p: Path) -> bool:
    return (p / "recordings").is_dir()


class FSDD(_Dataset):
    """Free Spoken Digit Dataset; test split = takes 0..4 (the dataset's convention).

    ``cochlea=None`` gives samples ``(audio float32 in [-1, 1], rate_hz)``; a
    ``neuralbrain.sensing.cochlea.Cochlea`` gives 64-channel events instead (derived data:
    "FSDD through the software cochlea", never N-TIDIGITS).
    """

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        split: str = "train",
        cochlea: Any = None,
        transform: Callable | None = None,
    ):
        split = _check_split(split)
        base = data_root(root)
        folder = _find(base, "fsdd", _has_fsdd) if base is not None else None
        if folder is None:
            raise DataError(
                f"{base}: no FSDD data (expected fsdd/recordings/<digit>_<speaker>_<take>.wav)"
            )
        rows = []
        for f in sorted((folder / "recordings").glob("*.wav")):
            parts = f.stem.split("_")
            if len(parts) != 3 or not parts[0].isdigit() or not parts[2].isdigit():
                raise DataError(f"{f}: expected a name <digit>_<speaker>_<take>.wav")
            test = int(parts[2]) < 5
            if split == "all" or (split == "test") == test:
                rows.append((f, int(parts[0]), parts[1]))
        if not rows:
            raise DataError(f"{folder}/recordings: no WAV files for split {split!r}")
        self.split = split
        self.files = [r[0] for r in rows]
        self.labels = np.array([r[1] for r in rows], dtype=np.int64)
        self.speakers = [r[2] for r in rows]
        self.cochlea = cochlea
        self.transform = transform
        self.sensor_size = AUDIO_SENSOR_SIZE if cochlea is not None else None
        self.source = (
            f"derived: FSDD through the software cochlea ({folder})"
            if cochlea is not None
            else f"real: FSDD audio in {folder}"
        )

    def __getitem__(self, index: int):
        i = self._index(index)
        rate, audio = read_wav(self.files[i])
        if audio.ndim != 1:
            raise DataError(f"{self.files[i]}: {audio.shape[1]} channels, expected mono")
        if self.cochlea is None:
            return self._out((audio, rate), int(self.labels[i]))
        return self._out(self.cochlea(audio, rate), int(self.labels[i]))


# ----------------------------------------------------------------------------- N-TIDIGITS

NTIDIGITS_CLASSES = {"o": 0, "z": 10, **{str(d): d for d in range(1, 10)}}  # as tonic


def _ntidigits_file(base: Path) -> Path | None:
    if base.is_file():
        return base
    for cand in (base / "ntidigits" / "n-tidigits.hdf5", base / "n-tidigits.hdf5"):
        if cand.is_file():
            return cand
    return None


class NTIDIGITS(_Dataset):
    """N-TIDIGITS (CochleaAMS1b, 64 channels) from its HDF5 file.

    ``single_digits=True`` keeps the isolated-digit utterances with integer labels as tonic
    maps them ("o" -> 0, "1".."9", "z" -> 10); ``False`` keeps all with the digit string.
    """

    sensor_size = AUDIO_SENSOR_SIZE

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        split: str = "train",
        single_digits: bool = True,
        transform: Callable | None = None,
    ):
        split = _check_split(split)
        base = data_root(root)
        path = _ntidigits_file(base) if base is not None else None
        if path is None:
            raise DataError(f"{base}: no N-TIDIGITS file (expected ntidigits/n-tidigits.hdf5)")
        self.path = path
        self.transform = transform
        parts = ("train", "test") if split == "all" else (split,)
        self.keys: list[tuple[str, str]] = []
        labels: list[Any] = []
        for part in parts:
            for key in ntidigits_keys(path, part):
                digits = key.split("-")[-1]
                if single_digits:
                    if len(digits) != 1:
                        continue
                    if digits not in NTIDIGITS_CLASSES:
                        raise DataError(f"{path}: {part} key {key!r} has unknown digit {digits!r}")
                    labels.append(NTIDIGITS_CLASSES[digits])
                else:
                    labels.append(digits)
                self.keys.append((part, key))
        self.labels = np.array(labels, dtype=np.int64 if single_digits else object)
        self.source = f"real: N-TIDIGITS in {path}"

    def __getitem__(self, index: int):
        i = self._index(index)
        part, key = self.keys[i]
        return self._out(read_ntidigits(self.path, key, part), self.labels[i])

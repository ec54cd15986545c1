"""Digit images for cube faces and image instructions, and the FSDD speech index.

Two digit sources, both reduced to ``(images uint8 [N, 28, 28], labels int [N])``:

- ``"sklearn"``: the 1,797 8x8 digits bundled with scikit-learn (``load_digits``; values
  0..16), upsampled 3x (nearest) to 24x24 and padded by 2 px to 28x28, rescaled to 0..255.
- ``"mnist"``: the MNIST test set (10,000 28x28 digits) from
  ``$NEURALBRAIN_DATA/mnist/t10k-{images-idx3,labels-idx1}-ubyte.gz``, read with
  ``neuralbrain.sensing.readers.read_idx``.

``"auto"`` picks MNIST when its files exist under the data root, else scikit-learn. Banks
are cached per (source, root) for the process: they are read-only arrays.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuralbrain.errors import ConfigError, DataError
from neuralbrain.sensing.cube_views import (  # noqa: F401  (the cube look, shared with training)
    CUBE_RGB,
    INK_RGB,
    TEXTURE_SIZE,
    cube_texture,
    sklearn_to_28,
)

DIGIT_SOURCES = ("auto", "sklearn", "mnist")
MNIST_IMAGES = "mnist/t10k-images-idx3-ubyte.gz"
MNIST_LABELS = "mnist/t10k-labels-idx1-ubyte.gz"
FSDD_DIR = "fsdd/recordings"
AUDIO_RATE_HZ = 8000



@dataclass(frozen=True)
class DigitBank:
    """Digit images (uint8 28x28, ink = high values) and labels, indexed per class."""

    source: str
    images: np.ndarray
    labels: np.ndarray
    by_class: tuple[np.ndarray, ...]  # by_class[d] = indices of samples with label d


def data_root_from_env(data_root: str | os.PathLike | None) -> Path | None:
    """``data_root`` if given, else ``$NEURALBRAIN_DATA``, else ``None``."""
    if data_root is not None:
        return Path(data_root)
    env = os.environ.get("NEURALBRAIN_DATA")
    return Path(env) if env else None


def resolve_source(source: str, data_root: Path | None) -> str:
    """Turn ``"auto"`` into ``"mnist"`` or ``"sklearn"``; validate explicit choices."""
    if source not in DIGIT_SOURCES:
        raise ConfigError(f"digit_source {source!r}: expected one of {list(DIGIT_SOURCES)}")
    has_mnist = data_root is not None and (data_root / MNIST_IMAGES).exists()
    if source == "auto":
        return "mnist" if has_mnist else "sklearn"
    if source == "mnist" and not has_mnist:
        raise DataError(
            f"digit_source 'mnist' needs {MNIST_IMAGES} under the data root "
            f"(data_root={str(data_root) if data_root else None!r}, set $NEURALBRAIN_DATA)"
        )
    return source


@functools.lru_cache(maxsize=4)
def load_bank(source: str, data_root: str | None) -> DigitBank:
    """The digit bank for a resolved source ("sklearn" or "mnist")."""
    if source == "sklearn":
        from sklearn.datasets import load_digits  # lazy: sklearn import costs ~0.5 s

        d = load_digits()
        images = sklearn_to_28(d.images)
        labels = d.target.astype(np.int64)
    elif source == "mnist":
        from neuralbrain.sensing.readers import read_idx

        root = Path(str(data_root))
        images = read_idx(root / MNIST_IMAGES).astype(np.uint8)
        labels = read_idx(root / MNIST_LABELS).astype(np.int64)
        if images.shape[1:] != (28, 28) or labels.shape != images.shape[:1]:
            raise DataError(
                f"MNIST under {root}: images {images.shape} / labels {labels.shape}, "
                "expected (N, 28, 28) and (N,)"
            )
    else:
        raise ConfigError(f"digit source {source!r}: expected 'sklearn' or 'mnist'")
    images.setflags(write=False)
    labels.setflags(write=False)
    by_class = tuple(np.flatnonzero(labels == d) for d in range(10))
    return DigitBank(source, images, labels, by_class)


def write_png(path: Path, rgb: np.ndarray) -> None:
    """Write an 8-bit RGB PNG (no filtering), which pybullet's texture loader reads."""
    import struct
    import zlib

    h, w, _ = rgb.shape
    raw = np.zeros((h, 1 + 3 * w), dtype=np.uint8)  # each row: filter byte 0 + RGB bytes
    raw[:, 1:] = np.ascontiguousarray(rgb, dtype=np.uint8).reshape(h, 3 * w)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw.tobytes(), 6))
    png += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


_FSDD_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")


@functools.lru_cache(maxsize=4)
def _fsdd_listing(folder: str) -> tuple[tuple[int, str, int, str], ...]:
    rows = []
    for name in sorted(os.listdir(folder)):
        m = _FSDD_NAME.match(name)
        if m:
            rows.append((int(m.group(1)), m.group(2), int(m.group(3)), name))
    return tuple(rows)


def fsdd_index(
    data_root: Path | None,
    speakers: tuple[str, ...] | None,
    takes: tuple[int, ...] | None,
) -> tuple[tuple[Path, ...], ...]:
    """For each digit 0..9, the FSDD recordings that match ``speakers`` and ``takes``.

    Raises ``DataError`` naming the folder when the data is absent or no file matches a digit.
    """
    if data_root is None:
        raise DataError(
            "instruction='speech' needs FSDD recordings: set $NEURALBRAIN_DATA (or data_root) "
            f"to a folder holding {FSDD_DIR}/<digit>_<speaker>_<take>.wav"
        )
    folder = data_root / FSDD_DIR
    if not folder.is_dir():
        raise DataError(
            f"instruction='speech' needs FSDD recordings in {folder} "
            "(<digit>_<speaker>_<take>.wav): folder not found"
        )
    rows = _fsdd_listing(str(folder))
    per_digit: list[list[Path]] = [[] for _ in range(10)]
    for digit, speaker, take, name in rows:
        if speakers is not None and speaker not in speakers:
            continue
        if takes is not None and take not in takes:
            continue
        per_digit[digit].append(folder / name)
    empty = [d for d in range(10) if not per_digit[d]]
    if empty:
        known = sorted({r[1] for r in rows})
        raise DataError(
            f"no FSDD recording in {folder} for digits {empty} with speakers={speakers} "
            f"takes={takes} (speakers present: {known})"
        )
    return tuple(tuple(p) for p in per_digit)


def load_audio(path: Path, n_samples: int = AUDIO_RATE_HZ) -> np.ndarray:
    """A recording as float32 in [-1, 1], zero-padded or clipped to ``n_samples``."""
    from neuralbrain.sensing.readers import read_wav

    rate, samples = read_wav(path)
    if rate != AUDIO_RATE_HZ:
        raise DataError(f"{path}: sample rate {rate} Hz, expected {AUDIO_RATE_HZ} Hz")
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 2:  # stereo -> mono
        samples = samples.mean(axis=1)
    out = np.zeros(n_samples, dtype=np.float32)
    k = min(n_samples, samples.shape[0])
    out[:k] = samples[:k]
    return out

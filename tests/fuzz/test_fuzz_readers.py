"""Fuzz every recording reader: N-MNIST, AEDAT, N-TIDIGITS (HDF5), IDX, WAV.

Seeds are small synthetic files written by our own writers plus, when ``$NEURALBRAIN_DATA``
holds them, real files (a real N-MNIST recording, the start of a real NAS AEDAT recording,
the MNIST test labels, an FSDD recording). See ``mutate.py`` for the mutations and the
property: success or a one-line ``neuralbrain`` error naming the file.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from scipy.io import wavfile

from neuralbrain.sensing.aedat import encode_aedat, read_aedat
from neuralbrain.sensing.events import make_events
from neuralbrain.sensing.readers import (
    encode_nmnist,
    ntidigits_keys,
    read_idx,
    read_nmnist,
    read_ntidigits,
    read_wav,
    write_ntidigits,
)

from .mutate import FUZZ, check, mutated

# A reader that warns and carries on (an overflowing cast, a scipy chunk warning) is a bug
# too (DESIGN.md rule 7): warnings are errors here.
pytestmark = [pytest.mark.filterwarnings("error::RuntimeWarning"),
              pytest.mark.filterwarnings("error::UserWarning")]

DATA = Path(os.environ.get("NEURALBRAIN_DATA", "/nonexistent"))
RNG = np.random.default_rng(17)


def _real(rel: str, limit: int | None = None, multiple: int = 1) -> list[bytes]:
    path = DATA / rel
    if not path.is_file():
        return []
    raw = path.read_bytes()
    if limit is not None:
        raw = raw[: limit - limit % multiple]
    return [raw]


def _events(n: int, w: int, h: int, t_max: int) -> np.ndarray:
    t = np.sort(RNG.integers(0, t_max, n))
    return make_events(RNG.integers(0, w, n), RNG.integers(0, h, n), t, RNG.integers(0, 2, n))


def _first_nmnist() -> list[bytes]:
    folder = DATA / "nmnist" / "Train"
    if not folder.is_dir():
        return []
    for sub in sorted(folder.iterdir()):
        files = sorted(sub.glob("*.bin")) if sub.is_dir() else []
        if files:
            return [files[0].read_bytes()[: 5 * 2000]]
    return []


NMNIST_SEEDS = [
    encode_nmnist(_events(200, 34, 34, 300_000)),
    encode_nmnist(_events(50, 34, 34, 2**23 + 40_000)),  # with timestamp-overflow markers
    *_first_nmnist(),
]


@FUZZ
@given(data=mutated(NMNIST_SEEDS))
def test_nmnist(tmp_path, data):
    path = tmp_path / "x.bin"
    path.write_bytes(data)
    ev = check(lambda: read_nmnist(path), path)
    if isinstance(ev, np.ndarray) and ev.size:
        assert ev["x"].max() < 34 and ev["y"].max() < 34 and np.all(np.diff(ev["t"]) >= 0)


AEDAT_NAME = "x_mono_32ch_ONOFF_addr2b_ts02.aedat"
AEDAT_SEEDS = [
    encode_aedat(_events(300, 32, 1, 1_000_000), 2, 0.2, 32),
    b"#!AER-DAT2.0\r\n# This is a header\r\n" + encode_aedat(_events(40, 32, 1, 9000), 2, 0.2, 32),
    *_real("nas_cochlea/sound_mono_32ch_ONOFF_addr2b_ts02.aedat", 6 * 2000, 6),
]


@FUZZ
@given(data=mutated(AEDAT_SEEDS))
def test_aedat(tmp_path, data):
    path = tmp_path / AEDAT_NAME
    path.write_bytes(data)
    ev = check(lambda: read_aedat(path), path)
    if isinstance(ev, np.ndarray) and ev.size:
        assert ev["x"].max() < 32 and ev["y"].max() == 0


def _ntidigits_seed() -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "n.hdf5"
        write_ntidigits(
            path,
            {"man-ab-1": _events(30, 64, 1, 900_000), "woman-cd-z": _events(20, 64, 1, 500_000)},
            {"boy-ef-7": _events(10, 64, 1, 100_000)},
        )
        return path.read_bytes()


NTIDIGITS_SEEDS = [_ntidigits_seed()]


@FUZZ
@given(data=mutated(NTIDIGITS_SEEDS))
def test_ntidigits(tmp_path, data):
    path = tmp_path / "n.hdf5"
    path.write_bytes(data)
    keys = check(lambda: ntidigits_keys(path, "train"), path)
    if isinstance(keys, list):
        for k in keys[:3]:
            check(lambda k=k: read_ntidigits(path, k, "train"), path)
    check(lambda: read_ntidigits(path, 0, "test"), path)


def _idx(arr: np.ndarray, code: int) -> bytes:
    head = bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
    return head + arr.tobytes()


IDX_SEEDS = [
    _idx(RNG.integers(0, 256, (3, 5, 4), dtype=np.uint8), 0x08),
    _idx(RNG.integers(0, 10, 12, dtype=np.uint8), 0x08),
    _idx(RNG.normal(size=(2, 3)).astype(">f4"), 0x0D),
    gzip.compress(_idx(RNG.integers(0, 256, (4, 6), dtype=np.uint8), 0x08)),
    *_real("mnist/t10k-labels-idx1-ubyte.gz"),
]


@FUZZ
@given(data=mutated(IDX_SEEDS))
def test_idx(tmp_path, data):
    path = tmp_path / "x-idx-ubyte"
    path.write_bytes(data)
    check(lambda: read_idx(path), path)


def _wav(rate: int, samples: np.ndarray) -> bytes:
    buf = io.BytesIO()
    wavfile.write(buf, rate, samples)
    return buf.getvalue()


WAV_SEEDS = [
    _wav(8000, (RNG.normal(size=400) * 3000).astype(np.int16)),
    _wav(16000, RNG.integers(0, 256, (100, 2), dtype=np.uint8)),
    _wav(8000, RNG.uniform(-1, 1, 200).astype(np.float32)),
    *_real("fsdd/recordings/0_george_0.wav"),
]


@FUZZ
@given(data=mutated(WAV_SEEDS))
def test_wav(tmp_path, data):
    path = tmp_path / "x.wav"
    path.write_bytes(data)
    out = check(lambda: read_wav(path), path)
    if isinstance(out, tuple):
        rate, samples = out
        assert samples.dtype == np.float32 and np.all(np.abs(samples) <= 1.0)

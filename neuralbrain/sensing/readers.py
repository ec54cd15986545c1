"""Readers (and the small writers the tests need) for the data formats neuralbrain uses.

Every reader returns plain numpy data and raises ``neuralbrain.errors.DataError`` naming the
file and the byte offset / record for truncated, empty or malformed input; no numpy error
escapes from inside.

- ``read_idx(path)``        MNIST IDX (raw or gzip) -> ndarray of the stored dtype and shape
- ``read_wav(path)``        WAV -> (rate_hz, float32 samples in [-1, 1]) ((n,) mono, (n, c) else)
- ``read_nmnist(path)``     N-MNIST ``.bin`` -> ``EVENT_DTYPE`` array (34x34, t in us)
- ``write_nmnist(path, ev)``  the inverse (atomic), for round-trip tests and derived data
- ``read_ntidigits(path, sample_id, split)``  one recording of the N-TIDIGITS HDF5 file
- ``ntidigits_keys(path, split)``             the sample keys of a split, in file order
- ``write_ntidigits(path, train, test)``      writes the same layout (tests, derived data)

N-MNIST format (Orchard et al. 2015, and the ``Read_Ndataset.m`` reader published with it):
5 bytes per event, x = b0, y = b1, p = b2 >> 7, t = (b2 & 127) << 16 | b3 << 8 | b4 (us,
23 bits). A record with y == 240 is not an event but a timestamp-overflow marker: the original
Matlab reader and tonic's ``read_mnist_file`` add 2**13 us to the timestamps of that record and
of every later one and drop the marker. We do the same (vectorized with a cumulative sum).
The 1,000 real files here contain no marker, so the behaviour is pinned by a synthetic test.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path

import numpy as np

from neuralbrain.errors import DataError
from neuralbrain.sensing.events import EVENT_DTYPE, NMNIST_SENSOR_SIZE, make_events

PathLike = str | os.PathLike

NMNIST_RECORD_BYTES = 5
NMNIST_OVERFLOW_Y = 240
NMNIST_OVERFLOW_US = 2**13
_NMNIST_WORD = np.dtype({"names": ["w"], "formats": [">u4"], "offsets": [1], "itemsize": 5})


def _read_bytes(path: PathLike) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and ``os.replace``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# --------------------------------------------------------------------------- MNIST IDX

_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file (MNIST images/labels), raw or gzip-compressed (detected by magic).

    Returns an array of the stored shape and dtype in native byte order (uint8 for MNIST).
    """
    raw = _read_bytes(path)
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise DataError(f"{path}: broken gzip stream ({e})") from None
    if len(raw) < 4:
        raise DataError(f"{path}: {len(raw)} bytes, expected an IDX header of at least 4 bytes")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(
            f"{path}: bad IDX magic {raw[:4].hex()} at byte 0, expected 0000<type><ndim> with "
            f"type in {[hex(k) for k in _IDX_DTYPES]}"
        )
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    head = 4 + 4 * ndim
    if len(raw) < head:
        raise DataError(f"{path}: header needs {head} bytes for {ndim} dims, file has {len(raw)}")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    need = head + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != need:
        raise DataError(
            f"{path}: shape {shape} of {dtype} needs {need} bytes, file has {len(raw)} "
            f"(data ends or overruns at byte {min(len(raw), need)})"
        )
    return np.frombuffer(raw, dtype, offset=head).reshape(shape).astype(dtype.newbyteorder("="))


# --------------------------------------------------------------------------- WAV


def read_wav(path: PathLike) -> tuple[int, np.ndarray]:
    """Read a PCM or float WAV file -> ``(rate_hz, samples)`` as float32 in [-1, 1].

    Integer PCM is scaled by its full scale (int16 / 32768, uint8 centred on 128, ...).
    Mono gives shape ``(n,)``, multi-channel ``(n, channels)``.
    """
    import warnings

    from scipy.io import wavfile

    size = _file_size(path)
    if size == 0:
        raise DataError(f"{path}: empty file, expected a RIFF/WAVE header")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # scipy warns on truncated chunks: make it an error
            rate, data = wavfile.read(path)
    except (ValueError, OSError, EOFError, wavfile.WavFileWarning) as e:
        raise DataError(f"{path}: not a readable WAV file ({e})") from None
    if data.dtype == np.uint8:
        out = (data.astype(np.float32) - 128.0) / 128.0
    elif data.dtype.kind == "i":
        out = data.astype(np.float32) / float(2 ** (8 * data.dtype.itemsize - 1))
    elif data.dtype.kind == "f":
        out = data.astype(np.float32)
        if out.size and not np.all(np.isfinite(out)):
            raise DataError(f"{path}: float WAV contains NaN or inf samples")
    else:
        raise DataError(f"{path}: unsupported WAV sample type {data.dtype}")
    return int(rate), np.clip(out, -1.0, 1.0)


def _file_size(path: PathLike) -> int:
    try:
        return os.path.getsize(path)
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None


# --------------------------------------------------------------------------- N-MNIST


def decode_nmnist(
    raw: bytes | np.ndarray,
    name: str = "<bytes>",
    sensor_size: tuple[int, int, int] = NMNIST_SENSOR_SIZE,
) -> np.ndarray:
    """Decode the bytes of an N-MNIST ``.bin`` recording (see module docstring)."""
    buf = np.frombuffer(raw, np.uint8) if isinstance(raw, bytes | bytearray) else raw
    n_bytes = buf.size
    if n_bytes == 0:
        raise DataError(f"{name}: empty file, expected 5-byte N-MNIST event records")
    if n_bytes % NMNIST_RECORD_BYTES:
        whole = n_bytes // NMNIST_RECORD_BYTES
        raise DataError(
            f"{name}: {n_bytes} bytes is not a multiple of {NMNIST_RECORD_BYTES}; truncated "
            f"record {whole} at byte offset {whole * NMNIST_RECORD_BYTES}"
        )
    rec = buf.reshape(-1, NMNIST_RECORD_BYTES)
    # One unaligned big-endian read of bytes 1..4 gives y | p | t (8 | 1 | 23 bits).
    word = buf.view(_NMNIST_WORD)["w"].astype(np.uint32)
    x = rec[:, 0]
    y = rec[:, 1]
    b2 = rec[:, 2]
    t = (word & 0x7FFFFF).astype(np.int64)
    marker = y == NMNIST_OVERFLOW_Y
    if marker.any():
        t += NMNIST_OVERFLOW_US * np.cumsum(marker, dtype=np.int64)
        keep = ~marker
        x, y, b2, t = x[keep], y[keep], b2[keep], t[keep]
        index = np.flatnonzero(keep)
    else:
        index = None
    w, h, _ = sensor_size
    bad = np.flatnonzero((x >= w) | (y >= h)) if x.max() >= w or y.max() >= h else ()
    if len(bad):
        i = int(bad[0]) if index is None else int(index[bad[0]])
        raise DataError(
            f"{name}: record {i} (byte offset {i * NMNIST_RECORD_BYTES}) has x={int(rec[i, 0])}, "
            f"y={int(rec[i, 1])}; expected x < {w}, y < {h} (or y == 240 overflow marker)"
        )
    back = np.flatnonzero(t[1:] < t[:-1])
    if back.size:
        j = int(back[0]) + 1
        i = j if index is None else int(index[j])
        raise DataError(
            f"{name}: record {i} (byte offset {i * NMNIST_RECORD_BYTES}) has t={int(t[j])} us "
            f"before the previous event's t={int(t[j - 1])} us; expected non-decreasing time"
        )
    ev = np.empty(t.size, dtype=EVENT_DTYPE)
    ev["x"] = x
    ev["y"] = y
    ev["t"] = t
    ev["p"] = (b2 >> 7) & 1
    return ev


def read_nmnist(
    path: PathLike, sensor_size: tuple[int, int, int] = NMNIST_SENSOR_SIZE
) -> np.ndarray:
    """Read one original N-MNIST (or N-Caltech101 with its sensor size) ``.bin`` recording."""
    try:
        raw = np.fromfile(path, np.uint8)
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    return decode_nmnist(raw, str(path), sensor_size)


def encode_nmnist(events: np.ndarray) -> bytes:
    """Encode events to N-MNIST bytes; times beyond 23 bits get overflow markers (y == 240)."""
    ev = np.asarray(events)
    x, y, t, p = (ev[k].astype(np.int64) for k in ("x", "y", "t", "p"))
    if ev.size and (x.min() < 0 or x.max() > 255 or y.min() < 0 or y.max() >= NMNIST_OVERFLOW_Y):
        raise DataError("N-MNIST encoding needs 0 <= x < 256 and 0 <= y < 240")
    if ev.size and (t.min() < 0 or np.any(np.diff(t) < 0)):
        raise DataError("N-MNIST encoding needs non-negative, non-decreasing t")
    # Number of overflow markers that must precede each event so its residual fits in 23 bits.
    k = np.maximum(0, (t - (2**23 - 1) + NMNIST_OVERFLOW_US - 1) // NMNIST_OVERFLOW_US)
    n_markers = int(k[-1]) if ev.size else 0
    out = np.zeros((ev.size + n_markers, NMNIST_RECORD_BYTES), np.uint8)
    # Event i lands after k[i] markers; markers are placed just before the first event needing them.
    pos = np.arange(ev.size) + k
    resid = t - NMNIST_OVERFLOW_US * k
    out[pos, 0] = x
    out[pos, 1] = y
    out[pos, 2] = (p.astype(np.uint8) << 7) | ((resid >> 16) & 127)
    out[pos, 3] = (resid >> 8) & 255
    out[pos, 4] = resid & 255
    marker_rows = np.setdiff1d(np.arange(ev.size + n_markers), pos)
    out[marker_rows, 1] = NMNIST_OVERFLOW_Y
    # A marker's own timestamp field is ignored by readers; keep it at the previous residual.
    return out.tobytes()


def write_nmnist(path: PathLike, events: np.ndarray) -> None:
    """Write events as an N-MNIST ``.bin`` file (atomically)."""
    atomic_write_bytes(path, encode_nmnist(events))


# --------------------------------------------------------------------------- N-TIDIGITS

NTIDIGITS_CHANNELS = 64
NTIDIGITS_SPLITS = ("train", "test")


def _open_h5(path: PathLike):
    import h5py

    if _file_size(path) == 0:
        raise DataError(f"{path}: empty file, expected an N-TIDIGITS HDF5 file")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise DataError(f"{path}: not a readable HDF5 file ({e})") from None


def _split_name(split: str) -> str:
    if split not in NTIDIGITS_SPLITS:
        raise DataError(f"N-TIDIGITS split {split!r}: expected one of {NTIDIGITS_SPLITS}")
    return split


def _keys_from(h5, path: PathLike, split: str) -> list[str]:
    name = f"{split}_labels"
    for need in (name, f"{split}_addresses", f"{split}_timestamps"):
        if need not in h5:
            raise DataError(
                f"{path}: missing {need!r}; expected the N-TIDIGITS layout with datasets "
                f"train_labels/test_labels and groups <split>_addresses/<key>, "
                f"<split>_timestamps/<key>; found {sorted(h5.keys())}"
            )
    labels = h5[name]
    if not hasattr(labels, "shape") or labels.ndim != 1:
        raise DataError(f"{path}: {name!r} must be a 1-D dataset of sample keys")
    return [k.decode() if isinstance(k, bytes) else str(k) for k in labels[()]]


def ntidigits_keys(path: PathLike, split: str = "train") -> list[str]:
    """Sample keys of a split (e.g. ``"man-im-a-7557"``: the spoken digits are the last part)."""
    split = _split_name(split)
    with _open_h5(path) as h5:
        return _keys_from(h5, path, split)


def _ntidigits_sample(h5, path: PathLike, split: str, key: str) -> np.ndarray:
    where = f"{path}: {split} sample {key!r}"
    try:
        a_ds = h5[f"{split}_addresses"][key]
        t_ds = h5[f"{split}_timestamps"][key]
    except KeyError:
        raise DataError(
            f"{where}: no dataset under {split}_addresses/ and {split}_timestamps/"
        ) from None
    addr = np.asarray(a_ds[()])
    ts = np.asarray(t_ds[()])
    if addr.ndim != 1 or ts.ndim != 1 or addr.shape != ts.shape:
        raise DataError(
            f"{where}: addresses shape {addr.shape} and timestamps shape {ts.shape}; "
            "expected two 1-D arrays of equal length"
        )
    if addr.size and (addr.dtype.kind not in "iu" or addr.min() < 0
                      or addr.max() >= NTIDIGITS_CHANNELS):
        bad = int(np.flatnonzero((addr < 0) | (addr >= NTIDIGITS_CHANNELS))[0]) if \
            addr.dtype.kind in "iu" else 0
        raise DataError(
            f"{where}: address record {bad} is {addr[bad].item()!r} ({addr.dtype}); "
            "expected integer "
            f"channels 0..{NTIDIGITS_CHANNELS - 1}"
        )
    if ts.dtype.kind not in "fiu" or (ts.size and not np.all(np.isfinite(ts))):
        raise DataError(f"{where}: timestamps must be finite numbers in seconds, got {ts.dtype}")
    # tonic's NTIDIGITS18 reads timestamps as seconds and multiplies by 1e6.
    t_us = np.rint(ts.astype(np.float64) * 1e6).astype(np.int64)
    back = np.flatnonzero(np.diff(t_us) < 0)
    if back.size:
        j = int(back[0]) + 1
        raise DataError(
            f"{where}: timestamp record {j} ({ts[j]} s) is before record {j - 1} ({ts[j - 1]} s)"
        )
    # The CochleaAMS recordings in N-TIDIGITS carry no polarity (tonic sets p = 1).
    return make_events(addr, 0, t_us, 1)


def read_ntidigits(
    path: PathLike, sample_id: str | int = 0, split: str = "train"
) -> np.ndarray:
    """Read one recording from the N-TIDIGITS HDF5 file (layout of tonic's ``NTIDIGITS18``).

    ``sample_id`` is a key such as ``"man-im-a-7557"`` or an index into ``<split>_labels``.
    Returns events with ``x`` = channel (0..63), ``y`` = 0, ``t`` in us, ``p`` = 1.
    """
    split = _split_name(split)
    with _open_h5(path) as h5:
        keys = _keys_from(h5, path, split)
        if isinstance(sample_id, int | np.integer):
            if not 0 <= sample_id < len(keys):
                raise DataError(
                    f"{path}: {split} sample index {sample_id} out of range 0..{len(keys) - 1}"
                )
            sample_id = keys[int(sample_id)]
        return _ntidigits_sample(h5, path, split, str(sample_id))


def write_ntidigits(
    path: PathLike,
    train: dict[str, np.ndarray],
    test: dict[str, np.ndarray] | None = None,
) -> None:
    """Write recordings (key -> events with x = channel) in the N-TIDIGITS HDF5 layout.

    Addresses are stored as uint8 channels and timestamps as float32 seconds, as in the file
    tonic reads. Written to a temp file and renamed.
    """
    import h5py

    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as h5:
            for split, recs in (("train", train), ("test", test or {})):
                ga = h5.create_group(f"{split}_addresses")
                gt = h5.create_group(f"{split}_timestamps")
                for key, ev in recs.items():
                    ga.create_dataset(key, data=np.asarray(ev["x"], np.uint8))
                    gt.create_dataset(key, data=np.asarray(ev["t"], np.float64) / 1e6,
                                      dtype=np.float32)
                h5.create_dataset(
                    f"{split}_labels", data=np.array([k.encode() for k in recs], dtype="S")
                )
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise

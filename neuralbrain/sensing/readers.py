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

Recordings come from outside, so every reader is bounded:

- a file larger than the size limit is refused by its size before a byte is read. The limit
  is the reader's ``max_bytes`` argument, else ``$NEURALBRAIN_MAX_FILE_BYTES``, else
  ``DEFAULT_MAX_FILE_BYTES`` (2 GiB); a gzip IDX file may not decompress beyond it either;
- a length field that claims more bytes than the file holds is a ``DataError`` naming the
  field, its value and the bytes there are: IDX dimensions, every RIFF chunk of a WAV file
  (walked before scipy reads it, so no buffer is sized from a forged field), and an HDF5
  dataset whose stored (uncompressed) size exceeds the file;
- whatever a third-party parser (scipy's WAV reader, h5py) raises on a damaged file becomes
  a one-line ``DataError`` naming the file.
"""

from __future__ import annotations

import math
import os
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np

from neuralbrain.errors import ConfigError, DataError
from neuralbrain.sensing.events import EVENT_DTYPE, NMNIST_SENSOR_SIZE, make_events

PathLike = str | os.PathLike

NMNIST_RECORD_BYTES = 5
NMNIST_OVERFLOW_Y = 240
NMNIST_OVERFLOW_US = 2**13
_NMNIST_WORD = np.dtype({"names": ["w"], "formats": [">u4"], "offsets": [1], "itemsize": 5})


DEFAULT_MAX_FILE_BYTES = 2 * 2**30
MAX_FILE_BYTES_ENV = "NEURALBRAIN_MAX_FILE_BYTES"


def max_file_bytes(max_bytes: int | None = None) -> int:
    """The recording size limit: ``max_bytes``, else ``$NEURALBRAIN_MAX_FILE_BYTES``, else 2 GiB."""
    if max_bytes is None:
        raw = os.environ.get(MAX_FILE_BYTES_ENV)
        if raw is None or not raw.strip():
            return DEFAULT_MAX_FILE_BYTES
        try:
            max_bytes = int(raw)
        except ValueError:
            raise ConfigError(
                f"{MAX_FILE_BYTES_ENV}={raw!r}: expected a whole number of bytes"
            ) from None
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
        raise ConfigError(f"max_bytes={max_bytes!r}: expected a whole number of bytes > 0")
    return max_bytes


def check_file_size(path: PathLike, max_bytes: int | None = None) -> int:
    """The size of ``path``; ``DataError`` if it cannot be read or is over the size limit."""
    size = _file_size(path)
    limit = max_file_bytes(max_bytes)
    if size > limit:
        raise DataError(
            f"{path}: {size} bytes, expected at most {limit} (the recording size limit: pass "
            f"max_bytes= or set {MAX_FILE_BYTES_ENV})"
        )
    return size


def _read_bytes(path: PathLike, max_bytes: int | None = None) -> bytes:
    check_file_size(path, max_bytes)
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None


def _gunzip(raw: bytes, path: PathLike, limit: int) -> bytes:
    """Decompress all gzip members of ``raw``, refusing output over ``limit`` bytes."""
    out = bytearray()
    data = raw
    while data:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += d.decompress(data, limit + 1 - len(out))
        except zlib.error as e:
            raise DataError(f"{path}: broken gzip stream ({e})") from None
        if len(out) > limit:
            raise DataError(
                f"{path}: gzip stream inflates beyond {limit} bytes, expected at most that "
                f"(the recording size limit: pass max_bytes= or set {MAX_FILE_BYTES_ENV})"
            )
        if not d.eof:
            raise DataError(f"{path}: gzip stream ends early at {len(raw)} compressed bytes")
        data = d.unused_data
        if data and data[:2] != b"\x1f\x8b":
            break  # trailing bytes that are not another member: gzip ignores them too
    return bytes(out)


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


def read_idx(path: PathLike, max_bytes: int | None = None) -> np.ndarray:
    """Read an IDX file (MNIST images/labels), raw or gzip-compressed (detected by magic).

    Returns an array of the stored shape and dtype in native byte order (uint8 for MNIST).
    The file and its decompressed content are each limited to ``max_bytes`` (module docs).
    """
    raw = _read_bytes(path, max_bytes)
    if raw[:2] == b"\x1f\x8b":
        raw = _gunzip(raw, path, max_file_bytes(max_bytes))
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
    need = head + math.prod(shape) * dtype.itemsize  # exact: a forged shape cannot overflow
    if len(raw) != need:
        raise DataError(
            f"{path}: shape {shape} of {dtype} needs {need} bytes, file has {len(raw)} "
            f"(data ends or overruns at byte {min(len(raw), need)})"
        )
    return np.frombuffer(raw, dtype, offset=head).reshape(shape).astype(dtype.newbyteorder("="))


# --------------------------------------------------------------------------- WAV


def check_riff_chunks(path: PathLike, size: int) -> None:
    """Walk the RIFF chunk headers of a WAV file: each chunk must fit in the file.

    Reads only the 8-byte chunk headers. ``RIFF`` (little-endian) and ``RIFX`` (big-endian);
    ``RF64`` (sizes in a ds64 chunk) is refused.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[8:12] != b"WAVE" or head[:4] not in (b"RIFF", b"RIFX"):
                raise DataError(
                    f"{path}: starts with {head[:4]!r}...{head[8:12]!r}, expected a "
                    "'RIFF'/'RIFX' header with form 'WAVE' (RF64 is not supported)"
                )
            order = "<" if head[:4] == b"RIFF" else ">"
            pos = 12
            while pos + 8 <= size:
                fh.seek(pos)
                cid, n = struct.unpack(order + "4sI", fh.read(8))
                if pos + 8 + n > size:
                    raise DataError(
                        f"{path}: chunk {cid!r} at byte {pos} declares {n} bytes, the file has "
                        f"{size - pos - 8} after its header; expected the chunk inside the file"
                    )
                pos += 8 + n + (n & 1)
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None


def read_wav(path: PathLike, max_bytes: int | None = None) -> tuple[int, np.ndarray]:
    """Read a PCM or float WAV file -> ``(rate_hz, samples)`` as float32 in [-1, 1].

    Integer PCM is scaled by its full scale (int16 / 32768, uint8 centred on 128, ...).
    Mono gives shape ``(n,)``, multi-channel ``(n, channels)``. Size limit and chunk checks:
    see the module docstring.
    """
    import warnings

    from scipy.io import wavfile

    size = check_file_size(path, max_bytes)
    if size == 0:
        raise DataError(f"{path}: empty file, expected a RIFF/WAVE header")
    check_riff_chunks(path, size)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # scipy warns on truncated chunks: make it an error
            rate, data = wavfile.read(path)
    except Exception as e:  # scipy's parser on a damaged file: ValueError, ZeroDivisionError...
        raise DataError(
            f"{path}: not a readable WAV file ({type(e).__name__}: {_one_line(e)})"
        ) from None
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


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:300]


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
    bad = np.flatnonzero((x >= w) | (y >= h)) if x.size and (x.max() >= w or y.max() >= h) \
        else ()
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
    path: PathLike,
    sensor_size: tuple[int, int, int] = NMNIST_SENSOR_SIZE,
    max_bytes: int | None = None,
) -> np.ndarray:
    """Read one original N-MNIST (or N-Caltech101 with its sensor size) ``.bin`` recording.

    Files over the size limit (module docstring) are refused before they are read.
    """
    check_file_size(path, max_bytes)
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


def _open_h5(path: PathLike, max_bytes: int | None = None):
    import h5py

    if check_file_size(path, max_bytes) == 0:
        raise DataError(f"{path}: empty file, expected an N-TIDIGITS HDF5 file")
    try:
        return h5py.File(path, "r")
    except Exception as e:  # h5py raises OSError, and others on a damaged superblock
        raise DataError(
            f"{path}: not a readable HDF5 file ({type(e).__name__}: {_one_line(e)})"
        ) from None


def _h5_read(ds, path: PathLike, what: str, max_bytes: int | None = None) -> np.ndarray:
    """Read a whole HDF5 dataset after checking its declared size against the file.

    An uncompressed dataset cannot hold more bytes than the file; a compressed one is
    limited by the recording size limit.
    """
    shape = getattr(ds, "shape", None)
    dtype = getattr(ds, "dtype", None)
    if shape is None or dtype is None:
        raise DataError(f"{path}: {what} is a group, expected a dataset")
    nbytes = math.prod(shape) * dtype.itemsize
    size = _file_size(path)
    limit = max_file_bytes(max_bytes) if ds.compression else size
    if nbytes > limit:
        raise DataError(
            f"{path}: {what} declares shape {shape} of {dtype} = {nbytes} bytes, expected at "
            f"most {limit} ({'the size limit' if ds.compression else 'the file size'})"
        )
    try:
        return np.asarray(ds[()])
    except Exception as e:  # h5py on damaged storage: OSError, ValueError, TypeError...
        raise DataError(
            f"{path}: {what} cannot be read ({type(e).__name__}: {_one_line(e)})"
        ) from None


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
    keys = _h5_read(labels, path, repr(name))
    try:
        return [k.decode() if isinstance(k, bytes) else str(k) for k in keys]
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: {name!r} holds a key that is not UTF-8 ({e.reason})") from None


def ntidigits_keys(
    path: PathLike, split: str = "train", max_bytes: int | None = None
) -> list[str]:
    """Sample keys of a split (e.g. ``"man-im-a-7557"``: the spoken digits are the last part)."""
    split = _split_name(split)
    with _open_h5(path, max_bytes) as h5:
        return _guard_h5(path, lambda: _keys_from(h5, path, split))


def _guard_h5(path: PathLike, read):  # noqa: ANN001, ANN202
    """Run ``read``; what h5py raises on a damaged file (not our DataError) becomes one."""
    try:
        return read()
    except DataError:
        raise
    except Exception as e:
        raise DataError(
            f"{path}: damaged HDF5 structure ({type(e).__name__}: {_one_line(e)})"
        ) from None


def _ntidigits_sample(h5, path: PathLike, split: str, key: str) -> np.ndarray:
    where = f"{path}: {split} sample {key!r}"
    try:
        a_ds = h5[f"{split}_addresses"][key]
        t_ds = h5[f"{split}_timestamps"][key]
    except KeyError:
        raise DataError(
            f"{where}: no dataset under {split}_addresses/ and {split}_timestamps/"
        ) from None
    addr = _h5_read(a_ds, path, f"{split}_addresses/{key}")
    ts = _h5_read(t_ds, path, f"{split}_timestamps/{key}")
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
    if ts.size and float(np.abs(ts).max()) >= 9.2e12:  # t_us must fit in int64
        bad = int(np.argmax(np.abs(ts)))
        raise DataError(
            f"{where}: timestamp record {bad} is {ts[bad]} s; expected |t| < 9.2e12 s"
        )
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
    path: PathLike, sample_id: str | int = 0, split: str = "train", max_bytes: int | None = None
) -> np.ndarray:
    """Read one recording from the N-TIDIGITS HDF5 file (layout of tonic's ``NTIDIGITS18``).

    ``sample_id`` is a key such as ``"man-im-a-7557"`` or an index into ``<split>_labels``.
    Returns events with ``x`` = channel (0..63), ``y`` = 0, ``t`` in us, ``p`` = 1.
    """
    split = _split_name(split)
    with _open_h5(path, max_bytes) as h5:

        def read() -> np.ndarray:
            keys = _keys_from(h5, path, split)
            sid = sample_id
            if isinstance(sid, int | np.integer):
                if not 0 <= sid < len(keys):
                    raise DataError(
                        f"{path}: {split} sample index {sid} out of range 0..{len(keys) - 1}"
                    )
                sid = keys[int(sid)]
            return _ntidigits_sample(h5, path, split, str(sid))

        return _guard_h5(path, read)


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

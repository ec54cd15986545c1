"""AEDAT (headerless, or AEDAT 2 with ``#`` header lines) from the Neuromorphic Auditory Sensor.

Record layout (big-endian, as pyNAVIS's ``loadAERDATA`` documents the NAS files): an address
of ``address_bytes`` (2 or 4) followed by a 4-byte timestamp counted in ticks of ``tick_us``
(0.2 us or 1 us). Address meaning for an ON/OFF NAS with ``n_channels`` per ear::

    address = ear * (2 * n_channels) + 2 * channel + polarity_bit

where ear is 0 (left / mono) or 1 (right), and polarity_bit 0 is the positive half-wave
(ON) and 1 the negative (OFF) (pyNAVIS's phase-lock treats a 0 -> 1 change as ON -> OFF).
Channel 0 of the NAS is its *highest* frequency band (its filters form a cascade from high
to low cut-off): a 523 Hz tone peaks about 12 channels below a 130 Hz tone in the recordings
(see benchmarks/bench_sensing_realism.py). We keep the device's channel numbers.

Events: ``x`` = channel, ``y`` = ear, ``t`` = microseconds on the device clock (ticks x
``tick_us``, rounded to whole us as tonic's dtype stores them), ``p`` = 1 ON / 0 OFF.

When ``address_bytes``, ``tick_us``, ``n_channels`` or ``stereo`` are not given they are
read from the file name as the NAS recordings name them: ``addr2b``/``addr4b``,
``ts02``/``ts1``, ``64ch``, ``mono``/``stereo``.

A file over the recording size limit (``max_bytes``, else ``$NEURALBRAIN_MAX_FILE_BYTES``,
else 2 GiB; see ``readers.py``) is refused before it is read. The format has no length
field: a body that is not a whole number of records is a ``DataError`` naming the offset.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from neuralbrain.errors import DataError
from neuralbrain.sensing.events import EVENT_DTYPE
from neuralbrain.sensing.readers import atomic_write_bytes, check_file_size

PathLike = str | os.PathLike


def _header_length(raw: bytes) -> int:
    pos = 0
    while raw[pos : pos + 1] == b"#":
        nl = raw.find(b"\n", pos)
        if nl < 0:
            return len(raw)
        pos = nl + 1
    return pos


def infer_format(path: PathLike) -> dict:
    """Format fields named in a NAS file name (``..._64ch_ONOFF_addr2b_ts02.aedat``)."""
    name = Path(path).name.lower()
    out: dict = {}
    m = re.search(r"addr(\d)b", name)
    if m:
        out["address_bytes"] = int(m.group(1))
    m = re.search(r"ts(\d+)(?![\d])", name)
    if m:
        digits = m.group(1)
        # "ts02" = 0.2 us, "ts1" = 1 us: a leading zero marks a decimal point after it
        out["tick_us"] = float("0." + digits[1:]) if digits.startswith("0") else float(digits)
    m = re.search(r"(\d+)ch", name)
    if m:
        out["n_channels"] = int(m.group(1))
    if "stereo" in name:
        out["stereo"] = True
    elif "mono" in name:
        out["stereo"] = False
    return out


def read_aedat(
    path: PathLike,
    address_bytes: int | None = None,
    tick_us: float | None = None,
    n_channels: int | None = None,
    stereo: bool | None = None,
    max_bytes: int | None = None,
) -> np.ndarray:
    """Read a NAS AEDAT recording -> ``EVENT_DTYPE`` events (see module docstring)."""
    given = {"address_bytes": address_bytes, "tick_us": tick_us, "n_channels": n_channels,
             "stereo": stereo}
    guessed = infer_format(path)
    fmt = {k: (v if v is not None else guessed.get(k)) for k, v in given.items()}
    missing = [k for k, v in fmt.items() if v is None]
    if missing:
        raise DataError(
            f"{path}: cannot tell {missing} from the name; pass them to read_aedat "
            "(e.g. address_bytes=2, tick_us=0.2, n_channels=64, stereo=False)"
        )
    ab, tick, nch, st = fmt["address_bytes"], float(fmt["tick_us"]), int(fmt["n_channels"]), \
        bool(fmt["stereo"])
    if ab not in (2, 4):
        raise DataError(f"{path}: address_bytes={ab}, expected 2 or 4")
    if not tick > 0 or not np.isfinite(tick):
        raise DataError(f"{path}: tick_us={tick}, expected a finite number > 0")
    if nch <= 0:
        raise DataError(f"{path}: n_channels={nch}, expected > 0")
    check_file_size(path, max_bytes)
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    head = _header_length(raw)
    body = len(raw) - head
    rec = ab + 4
    if body == 0:
        raise DataError(f"{path}: no event records after {head} header bytes (empty recording)")
    if body % rec:
        whole = body // rec
        raise DataError(
            f"{path}: {body} data bytes is not a multiple of the {rec}-byte record; truncated "
            f"record {whole} at byte offset {head + whole * rec}"
        )
    r = np.frombuffer(raw, np.uint8, offset=head).reshape(-1, rec)
    addr_dt = ">u2" if ab == 2 else ">u4"
    addr = r[:, :ab].copy().view(addr_dt).ravel().astype(np.int64)
    ts = r[:, ab:].copy().view(">u4").ravel().astype(np.int64)
    n_addr = 2 * nch * (2 if st else 1)
    bad = np.flatnonzero(addr >= n_addr)
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{path}: record {i} (byte offset {head + i * rec}) has address {int(addr[i])}; "
            f"expected < {n_addr} for {nch} ON/OFF channels {'stereo' if st else 'mono'}"
        )
    back = np.flatnonzero(np.diff(ts) < 0)
    if back.size:
        i = int(back[0]) + 1
        raise DataError(
            f"{path}: record {i} (byte offset {head + i * rec}) has timestamp {int(ts[i])} "
            f"before the previous {int(ts[i - 1])}; expected non-decreasing ticks"
        )
    ev = np.empty(addr.size, EVENT_DTYPE)
    ev["x"] = (addr % (2 * nch)) // 2
    ev["y"] = addr // (2 * nch)
    ev["p"] = 1 - (addr & 1)
    ev["t"] = np.rint(ts * tick).astype(np.int64)
    return ev


def encode_aedat(
    events: np.ndarray, address_bytes: int = 2, tick_us: float = 0.2, n_channels: int = 64
) -> bytes:
    """Inverse of ``read_aedat`` (no header): x = channel, y = ear, p = 1 ON / 0 OFF."""
    ev = np.asarray(events)
    if address_bytes not in (2, 4):
        raise DataError(f"address_bytes={address_bytes}, expected 2 or 4")
    if ev.size and (ev["x"].min() < 0 or ev["x"].max() >= n_channels or ev["y"].min() < 0
                    or ev["y"].max() > 1):
        raise DataError(f"AEDAT encoding needs 0 <= x < {n_channels} and y in (0, 1)")
    addr = ev["y"].astype(np.int64) * 2 * n_channels + 2 * ev["x"].astype(np.int64) + \
        (1 - ev["p"].astype(np.int64))
    ticks = np.rint(ev["t"] / tick_us).astype(np.int64)
    if ev.size and (ticks.min() < 0 or ticks.max() >= 2**32):
        raise DataError("AEDAT encoding needs 0 <= t / tick_us < 2**32")
    out = np.empty((ev.size, address_bytes + 4), np.uint8)
    out[:, :address_bytes] = addr.astype(">u2" if address_bytes == 2 else ">u4").view(
        np.uint8).reshape(-1, address_bytes)
    out[:, address_bytes:] = ticks.astype(">u4").view(np.uint8).reshape(-1, 4)
    return out.tobytes()


def write_aedat(
    path: PathLike,
    events: np.ndarray,
    address_bytes: int = 2,
    tick_us: float = 0.2,
    n_channels: int = 64,
) -> None:
    """Write a headerless NAS AEDAT file (atomically)."""
    atomic_write_bytes(path, encode_aedat(events, address_bytes, tick_us, n_channels))

"""The one event dtype of neuralbrain, and the names of its readers.

An event recording is a 1-D numpy structured array of ``EVENT_DTYPE``::

    x  int16  column (vision) or frequency channel (audio, cochlea)
    y  int16  row (vision); 0 for audio
    t  int64  time in microseconds (from the recording's start, or the device clock for
              AEDAT), non-decreasing
    p  int8   polarity: 1 = ON (brightness / envelope went up), 0 = OFF

Field names and units are the ones tonic uses (``tonic.io.events_struct`` and its dataset
dtypes), so tonic transforms (``tonic.transforms.ToFrame``, ``Denoise``, ...) apply to our
arrays unchanged; audio follows tonic's convention of putting the channel in ``x`` with a
sensor size ``(channels, 1, 2)``.

The readers live in their own modules and are re-exported here lazily (so that importing the
dtype never imports h5py or scipy):

- ``read_nmnist(path)``      original N-MNIST / N-Caltech101 ``.bin`` (5 bytes per event)
- ``read_ntidigits(path, sample_id, split)``  one recording of the N-TIDIGITS HDF5 file
- ``read_aedat(path, ...)``  headerless AEDAT from the Neuromorphic Auditory Sensor
  (``x`` = channel, ``y`` = ear)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neuralbrain.errors import DataError, ShapeError

EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int8)])

# Sensor sizes in tonic's (width, height, polarities) convention.
NMNIST_SENSOR_SIZE = (34, 34, 2)
AUDIO_SENSOR_SIZE = (64, 1, 2)


def make_events(x: Any, y: Any, t: Any, p: Any) -> np.ndarray:
    """Pack equally long coordinate arrays (or scalars for y/p) into an ``EVENT_DTYPE`` array."""
    x = np.asarray(x)
    n = x.shape[0] if x.ndim else 1
    ev = np.empty(n, dtype=EVENT_DTYPE)
    for name, v in (("x", x), ("y", y), ("t", t), ("p", p)):
        v = np.asarray(v)
        if v.ndim and v.shape[0] != n:
            raise ShapeError(f"event field {name!r} has {v.shape[0]} values, expected {n}")
        ev[name] = v
    return ev


def empty_events() -> np.ndarray:
    """A recording with no events."""
    return np.empty(0, dtype=EVENT_DTYPE)


def check_events(
    events: np.ndarray,
    sensor_size: tuple[int, int, int] | None = None,
    what: str = "events",
) -> np.ndarray:
    """Check an event array: right dtype fields, coordinates inside ``sensor_size``, time sorted.

    Returns the array unchanged; raises ``ShapeError`` naming the first offending event.
    """
    if not isinstance(events, np.ndarray) or events.dtype.names is None:
        raise ShapeError(f"{what}: expected a structured array with fields x, y, t, p")
    missing = [f for f in ("x", "y", "t", "p") if f not in events.dtype.names]
    if missing:
        raise ShapeError(f"{what}: missing fields {missing}; have {events.dtype.names}")
    if events.size == 0:
        return events
    if sensor_size is not None:
        w, h, _ = sensor_size
        for name, hi in (("x", w), ("y", h)):
            bad = np.flatnonzero((events[name] < 0) | (events[name] >= hi))
            if bad.size:
                i = int(bad[0])
                raise ShapeError(
                    f"{what}: event {i} has {name}={int(events[name][i])}, expected 0..{hi - 1}"
                )
    back = np.flatnonzero(np.diff(events["t"]) < 0)
    if back.size:
        i = int(back[0]) + 1
        raise ShapeError(
            f"{what}: event {i} has t={int(events['t'][i])} us before the previous "
            f"t={int(events['t'][i - 1])} us; expected non-decreasing time"
        )
    return events


_LAZY = {
    "read_nmnist": "neuralbrain.sensing.readers",
    "write_nmnist": "neuralbrain.sensing.readers",
    "read_ntidigits": "neuralbrain.sensing.readers",
    "read_aedat": "neuralbrain.sensing.aedat",
    "write_aedat": "neuralbrain.sensing.aedat",
}


def __getattr__(name: str) -> Any:
    # Lazy re-export: the readers import this module for the dtype, so importing them at the
    # top would be circular; `from neuralbrain.sensing.events import read_nmnist` still works.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "EVENT_DTYPE",
    "NMNIST_SENSOR_SIZE",
    "AUDIO_SENSOR_SIZE",
    "DataError",
    "make_events",
    "empty_events",
    "check_events",
    *_LAZY,
]

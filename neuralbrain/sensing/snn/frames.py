"""Events -> per-time-step event counts, the input of the SNN (a pure, frozen transform).

``EventCounts(time_steps, sensor_size, window_us)(events)`` returns float32 counts of shape
``(T, 2, H, W)`` (OFF in channel 0, ON in channel 1): the events of time bin ``k`` are those
with ``t0 + k*window/T <= t < t0 + (k+1)*window/T``, ``t0`` the first event's time. Events
after the window are dropped (a stream longer than one saccade sequence is cut, not squeezed)
and a window of ``None`` spans the whole stream. Coordinates outside the sensor raise
``ShapeError`` naming the event; an empty stream gives all-zero counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuralbrain.errors import ConfigError
from neuralbrain.sensing.events import check_events


def event_counts(
    events: np.ndarray,
    time_steps: int,
    sensor_size: tuple[int, int, int],
    window_us: float | None = None,
) -> np.ndarray:
    """The pure function behind ``EventCounts`` (see the module docstring)."""
    check_events(events, sensor_size)
    w, h, _ = sensor_size
    out = np.zeros((time_steps, 2, h, w), np.float32)
    if events.size == 0:
        return out
    t = events["t"].astype(np.int64)
    t0 = int(t.min())
    span = float(window_us) if window_us is not None else float(t.max() - t0 + 1)
    k = np.floor((t - t0) * (time_steps / span)).astype(np.int64)
    keep = k < time_steps
    p = (events["p"][keep] > 0).astype(np.int64)
    np.add.at(out, (k[keep], p, events["y"][keep].astype(np.int64),
                    events["x"][keep].astype(np.int64)), 1.0)
    return out


@dataclass(frozen=True)
class EventCounts:
    """Frozen transform: an event array -> (T, 2, H, W) counts (see the module docstring)."""

    time_steps: int = 8
    sensor_size: tuple[int, int, int] = (34, 34, 2)
    window_us: float | None = 306_000.0

    def __post_init__(self) -> None:
        if self.time_steps < 1:
            raise ConfigError(f"time_steps = {self.time_steps}: expected >= 1")
        if self.window_us is not None and not self.window_us > 0:
            raise ConfigError(f"window_us = {self.window_us}: expected > 0 or None")
        if len(self.sensor_size) != 3 or min(self.sensor_size) < 1:
            raise ConfigError(f"sensor_size = {self.sensor_size}: expected (width, height, 2)")

    def __call__(self, events: np.ndarray) -> np.ndarray:
        return event_counts(events, self.time_steps, self.sensor_size, self.window_us)

"""Events -> dense per-time-bin counts, the reservoir's input (a pure, frozen transform).

``BinEvents`` keeps the events inside a centred ``crop`` of the sensor (N-MNIST: 16x16 of
34x34, as Lin et al. 2025; audio: all 64 channels, ``y`` = 0), merges polarities, and counts
events per input channel in ``n_steps`` bins of ``bin_us`` from the start of the recording;
events after ``n_steps * bin_us`` are dropped. Channel index = ``row * crop_width + column``.
Counts saturate at 255 (uint8). Calling it twice on the same events gives the same array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.sensing.events import check_events


@dataclass(frozen=True)
class BinEvents:
    """Events of a ``sensor`` (width, height) -> uint8 counts (n_steps, crop_w * crop_h)."""

    sensor: tuple[int, int] = (34, 34)
    crop: tuple[int, int] = (16, 16)
    n_steps: int = 50
    bin_us: int = 6000

    def __post_init__(self) -> None:
        if any(s < 1 for s in self.sensor) or len(self.sensor) != 2:
            raise ConfigError(f"sensor = {self.sensor}: expected (width, height) >= 1")
        if len(self.crop) != 2 or not all(1 <= c <= s for c, s in zip(self.crop, self.sensor,
                                                                          strict=True)):
            raise ConfigError(f"crop = {self.crop}: expected 1..sensor {self.sensor} per axis")
        if self.n_steps < 1 or self.bin_us < 1:
            raise ConfigError(
                f"n_steps = {self.n_steps}, bin_us = {self.bin_us}: expected both >= 1"
            )

    @property
    def n_channels(self) -> int:
        return self.crop[0] * self.crop[1]

    def __call__(self, events: np.ndarray) -> np.ndarray:
        return bin_events(events, self.sensor, self.crop, self.n_steps, self.bin_us)


def bin_events(
    events: np.ndarray,
    sensor: tuple[int, int],
    crop: tuple[int, int],
    n_steps: int,
    bin_us: int,
) -> np.ndarray:
    """The function behind ``BinEvents`` (see the module docstring)."""
    w, h = sensor
    check_events(events, (w, h, 2), "events")
    cw, ch = crop
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    x = events["x"].astype(np.int64) - x0
    y = events["y"].astype(np.int64) - y0
    step = events["t"].astype(np.int64) // bin_us
    keep = (x >= 0) & (x < cw) & (y >= 0) & (y < ch) & (step < n_steps)
    flat = step[keep] * (cw * ch) + y[keep] * cw + x[keep]
    counts = np.bincount(flat, minlength=n_steps * cw * ch)
    return np.minimum(counts, 255).astype(np.uint8).reshape(n_steps, cw * ch)


def stack_binned(samples: list[np.ndarray], what: str = "samples") -> np.ndarray:
    """Stack binned samples (steps, k) into (batch, steps, k), checking they agree."""
    if not samples:
        raise ShapeError(f"{what}: empty list, expected at least one binned sample")
    shape = samples[0].shape
    for i, s in enumerate(samples):
        if s.shape != shape:
            raise ShapeError(f"{what}[{i}] has shape {s.shape}, expected {shape} like [0]")
    return np.stack(samples)

"""Saccade emulator: a static digit image -> an N-MNIST-like event recording.

N-MNIST (Orchard, Jayawant, Cohen & Thakor, Front. Neurosci. 9:437, 2015) was recorded by an
ATIS camera on a pan-tilt unit looking at MNIST digits on a monitor. The unit made three
saccades along a triangle, about 100 ms each, ~300 ms in all, and the 34x34 crop around the
28x28 digit kept the events. We reproduce that geometry and feed it to the DVS model:

1. The image (28x28 MNIST, or an 8x8 scikit-learn digit upscaled to a 20x20 box padded to
   28x28 as MNIST does) becomes monitor luminance ``I = background + (1 - background) * img``.
2. It is blurred by the optics (Gaussian, ``blur_sigma_px``) and placed in a 34x34 canvas at
   ``start_xy_px``; the canvas is translated along the triangle legs
   ``(0, +A) -> (+A, -A) -> (-A, 0)`` (x, y; A = ``amplitude_px``), leg k moving during
   ``saccades_s[k]`` with a raised-sine velocity profile (position ``(1 - cos(pi u)) / 2``),
   and rendered every ``frame_dt_s`` with bilinear interpolation.
3. ``neuralbrain.sensing.dvs`` turns the frame sequence into events.

Default timing, direction and amplitude were read off the 1,000 real recordings (mean event
rate per 2 ms bin and event centroid per 5 ms bin; see benchmarks/bench_sensing_realism.py):
leg 1 moves down in y over 0-80 ms, leg 2 up-right over 100-190 ms, leg 3 left over
224-300 ms, each by about 4.5 px.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.sensing.dvs import DVS
from neuralbrain.sensing.dvs import Config as DVSConfig

CANVAS = 34
DIGIT = 28


def _default_dvs() -> DVSConfig:
    return DVSConfig(
        on_threshold=0.25,
        off_threshold=0.25,
        threshold_sigma=0.05,
        refractory_s=0.001,
        leak_rate_hz=0.05,
        shot_noise_rate_hz=0.5,
    )


@dataclass(frozen=True)
class Config:
    amplitude_px: float = 4.5
    start_xy_px: tuple[float, float] = (0.5, 1.0)
    saccades_s: tuple[tuple[float, float], ...] = ((0.0, 0.080), (0.100, 0.190), (0.224, 0.300))
    duration_s: float = 0.306
    frame_dt_s: float = 0.002
    blur_sigma_px: float = 0.6
    background: float = 0.05  # monitor black level as a fraction of white
    dvs: DVSConfig = field(default_factory=_default_dvs)

    def __post_init__(self) -> None:
        if not (0 < self.amplitude_px <= CANVAS - DIGIT):
            raise ConfigError(
                f"saccade.amplitude_px = {self.amplitude_px}: expected 0 < A <= {CANVAS - DIGIT}"
            )
        x0, y0 = self.start_xy_px
        if not (0 <= x0 <= CANVAS - DIGIT - self.amplitude_px and y0 >= 0 and
                y0 + self.amplitude_px <= CANVAS - DIGIT):
            raise ConfigError(
                f"saccade.start_xy_px = {self.start_xy_px}: the digit must stay inside the "
                f"{CANVAS}x{CANVAS} canvas over the triangle of side {self.amplitude_px}"
            )
        if len(self.saccades_s) != 3 or any(
            not (0 <= a < b <= self.duration_s) for a, b in self.saccades_s
        ):
            raise ConfigError(
                f"saccade.saccades_s = {self.saccades_s}: expected three (start, end) windows "
                f"inside [0, duration_s={self.duration_s}]"
            )
        if not (0 < self.frame_dt_s <= 0.01):
            raise ConfigError(f"saccade.frame_dt_s = {self.frame_dt_s}: expected (0, 0.01] s")
        if not (self.blur_sigma_px >= 0):
            raise ConfigError(f"saccade.blur_sigma_px = {self.blur_sigma_px}: expected >= 0")
        if not (0 < self.background < 1):
            raise ConfigError(f"saccade.background = {self.background}: expected 0 < b < 1")
        if not isinstance(self.dvs, DVSConfig):
            raise ConfigError("saccade.dvs: expected a neuralbrain.sensing.dvs.Config")


def to_mnist_frame(image: np.ndarray) -> np.ndarray:
    """A digit image -> float (28, 28) in [0, 1].

    28x28 images pass through (uint8 / 255, float scaled by its max if above 1); any other
    size (e.g. 8x8 scikit-learn digits, values 0..16) is resized to a 20x20 box and padded
    by 4 on each side, the way MNIST centres its digits.
    """
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2 or min(img.shape) < 2:
        raise ShapeError(f"image shape {img.shape}: expected a 2-D digit image like (28, 28)")
    if not np.all(np.isfinite(img)) or img.min() < 0:
        raise ShapeError("image values must be finite and >= 0")
    peak = 255.0 if np.asarray(image).dtype == np.uint8 else max(1.0, float(img.max()))
    img = img / peak
    if img.shape == (DIGIT, DIGIT):
        return img
    box = ndimage.zoom(img, (20 / img.shape[0], 20 / img.shape[1]), order=1, grid_mode=True,
                       mode="nearest")
    out = np.zeros((DIGIT, DIGIT))
    out[4:24, 4:24] = np.clip(box[:20, :20], 0, 1)
    return out


def trajectory(cfg: Config, times_s: np.ndarray) -> np.ndarray:
    """Canvas offset (x, y) in pixels of the digit's top-left corner at ``times_s``."""
    a = cfg.amplitude_px
    legs = np.array([[0.0, a], [a, -a], [-a, 0.0]])
    pos = np.tile(np.asarray(cfg.start_xy_px, dtype=np.float64), (times_s.size, 1))
    for (t0, t1), leg in zip(cfg.saccades_s, legs, strict=True):
        u = np.clip((times_s - t0) / (t1 - t0), 0.0, 1.0)
        pos += ((1.0 - np.cos(np.pi * u)) / 2.0)[:, None] * leg
    return pos


def render(image: np.ndarray, cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """The frame sequence the camera sees: (T, 34, 34) luminance and its times in seconds."""
    img = to_mnist_frame(image)
    lum = cfg.background + (1.0 - cfg.background) * img
    canvas = np.full((CANVAS, CANVAS), cfg.background)
    canvas[:DIGIT, :DIGIT] = lum
    if cfg.blur_sigma_px > 0:
        canvas = ndimage.gaussian_filter(canvas, cfg.blur_sigma_px, mode="nearest")
    n = int(round(cfg.duration_s / cfg.frame_dt_s)) + 1
    times = np.arange(n) * cfg.frame_dt_s
    pos = trajectory(cfg, times)
    frames = np.empty((n, CANVAS, CANVAS))
    for k, (x, y) in enumerate(pos):
        ndimage.shift(canvas, (y, x), output=frames[k], order=1, mode="constant",
                      cval=cfg.background)
    return frames, times


def saccade_events(image: np.ndarray, cfg: Config, seed: int | None = None) -> np.ndarray:
    """Pure function behind ``Saccades``: one digit image -> 34x34 events, t in us."""
    frames, times = render(image, cfg)
    return DVS(cfg.dvs)(frames, times, seed=seed)


@dataclass(frozen=True)
class Saccades:
    """Frozen, stateless N-MNIST-style recorder: ``Saccades(cfg)(image, seed=None)``.

    ``seed`` picks the noise realisation (defaults to ``cfg.dvs.seed``); pixel mismatch is
    fixed by ``cfg.dvs.seed`` like one physical camera.
    """

    config: Config = field(default_factory=Config)

    def __call__(self, image: np.ndarray, seed: int | None = None) -> np.ndarray:
        return saccade_events(image, self.config, seed)

"""DVS (event camera) emulator: a frame sequence -> brightness-change events.

Model (ESIM, Rebecq et al., CoRL 2018; v2e, Hu, Liu & Delbruck, CVPR-W 2021):

- Each pixel sees log intensity ``L = linlog(I)``: ``ln I`` above ``linlog_cutoff`` = c and
  its tangent ``ln c + (I - c) / c`` below (after v2e's lin-log mapping, which keeps dark
  pixels from producing log-domain noise; ours is continuous in value and slope).
  RGB frames are turned into luma ``0.299 R + 0.587 G + 0.114 B`` first; uint8 frames are
  scaled to [0, 1].
- Between two frames ``L`` is interpolated linearly in time. A pixel remembers a reference
  ``L_ref``; whenever ``L - L_ref`` crosses ``+C_on`` (``-C_off``) it emits an ON (OFF) event at
  the interpolated crossing time and moves ``L_ref`` by one threshold. Several crossings in one
  frame interval give several events at their own interpolated times.
- Threshold mismatch: ``C_on`` and ``C_off`` are drawn once per pixel,
  ``C = C_mean * (1 + sigma * N(0, 1))`` clipped to at least ``min_threshold``, from
  ``Config.seed`` (the identity of this camera: same seed, same pixels).
- Refractory period: after an event a pixel ignores crossings for ``refractory_s``; the
  reference still follows the signal meanwhile (the pixel is held in reset), so the change
  is lost, as in the sensor.
- Leak: the reference drifts down by ``leak_rate_hz * C_on`` per second (junction leakage in
  the reset switch), which produces ON events at about ``leak_rate_hz`` in a static scene.
- Shot noise: Poisson events at ``shot_noise_rate_hz`` per pixel, random polarity, uniform in
  time, drawn from the per-call noise seed.

``DVS(Config)(frames, times_s, seed=None)`` is stateless: the pixel state starts from the first
frame (``L_ref = L(frame 0)``) on every call. ``seed`` selects the noise realisation and
defaults to ``Config.seed``; the same inputs and seeds give identical events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.sensing.events import EVENT_DTYPE


@dataclass(frozen=True)
class Config:
    """DVS pixel parameters (defaults: typical DVS/ATIS values used by v2e)."""

    on_threshold: float = 0.2  # mean log-intensity step for an ON event
    off_threshold: float = 0.2  # mean log-intensity step for an OFF event
    threshold_sigma: float = 0.03  # pixel-to-pixel mismatch, std as a fraction of the mean
    min_threshold: float = 0.01
    refractory_s: float = 0.0005
    leak_rate_hz: float = 0.1  # ON leak events per pixel per second in a static scene
    shot_noise_rate_hz: float = 0.0  # noise events per pixel per second
    linlog_cutoff: float = 20.0 / 255.0  # intensities (0..1) below this map linearly
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("on_threshold", "off_threshold", "min_threshold", "linlog_cutoff"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and v > 0 and np.isfinite(v)):
                raise ConfigError(f"dvs.{name} = {v!r}: expected a finite number > 0")
        for name in ("threshold_sigma", "refractory_s", "leak_rate_hz", "shot_noise_rate_hz"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and v >= 0 and np.isfinite(v)):
                raise ConfigError(f"dvs.{name} = {v!r}: expected a finite number >= 0")
        if self.linlog_cutoff > 1:
            raise ConfigError(f"dvs.linlog_cutoff = {self.linlog_cutoff}: expected <= 1")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ConfigError(f"dvs.seed = {self.seed!r}: expected an int >= 0")


def to_luma(frames: np.ndarray) -> np.ndarray:
    """(T,H,W) or (T,H,W,3) uint8/float frames -> float64 (T,H,W) intensity in [0, ...]."""
    f = np.asarray(frames)
    if f.ndim == 4:
        if f.shape[-1] not in (3, 4):
            raise ShapeError(f"frames shape {f.shape}: expected (T,H,W) or (T,H,W,3)")
        f = f[..., 0] * 0.299 + f[..., 1] * 0.587 + f[..., 2] * 0.114
        scale = 255.0 if np.asarray(frames).dtype == np.uint8 else 1.0
        return f.astype(np.float64) / scale
    if f.ndim != 3:
        raise ShapeError(f"frames shape {f.shape}: expected (T,H,W) or (T,H,W,3)")
    if f.dtype == np.uint8:
        return f.astype(np.float64) / 255.0
    if f.dtype.kind not in "fiu":
        raise ShapeError(f"frames dtype {f.dtype}: expected uint8 or float")
    return f.astype(np.float64)


def linlog(intensity: np.ndarray, cutoff: float) -> np.ndarray:
    """Lin-log photoreceptor: ``ln I`` above ``cutoff``, its tangent line below."""
    lin = np.log(cutoff) + (intensity - cutoff) / cutoff
    return np.where(intensity < cutoff, lin, np.log(np.maximum(intensity, cutoff)))


def pixel_thresholds(cfg: Config, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel ON and OFF thresholds, fixed by ``cfg.seed`` (the camera's mismatch)."""
    rng = np.random.default_rng([cfg.seed, 0xD5])
    on = cfg.on_threshold * (1.0 + cfg.threshold_sigma * rng.standard_normal(shape))
    off = cfg.off_threshold * (1.0 + cfg.threshold_sigma * rng.standard_normal(shape))
    return np.maximum(on, cfg.min_threshold), np.maximum(off, cfg.min_threshold)


@numba.njit(cache=True, nogil=True)
def _log_row(src, k, weights, scale, cutoff, out):  # pragma: no cover - numba
    """Lin-log luminance of frame ``k`` of ``src`` (T, P, C) into ``out`` (P,)."""
    log_c = np.log(cutoff)
    for i in range(src.shape[1]):
        v = 0.0
        for c in range(src.shape[2]):
            v += weights[c] * src[k, i, c]
        v /= scale
        out[i] = log_c + (v - cutoff) / cutoff if v < cutoff else np.log(v)


@numba.njit(cache=True, nogil=True)
def _crossings(src, weights, scale, cutoff, times_us, c_on, c_off, leak_per_us,
               refr_us, lref, last, init_ref):  # pragma: no cover - numba
    """Threshold crossings of linearly interpolated log frames (see module docstring).

    ``src`` is (T, P, C) raw frames (C = 1 grey or 3 RGB, any numeric dtype); luminance and
    lin-log are computed row by row so no (T, P) float copy of the video is ever made.
    ``lref`` (reference levels) and ``last`` (last event time, us) are updated in place;
    ``init_ref`` sets the references to frame 0 first (a fresh camera).
    """
    n_frames, n_pix = src.shape[0], src.shape[1]
    cap = 1024
    out_t = np.empty(cap, np.float64)
    out_i = np.empty(cap, np.int64)
    out_p = np.empty(cap, np.int8)
    n = 0
    cur = np.empty(n_pix)
    nxt = np.empty(n_pix)
    _log_row(src, 0, weights, scale, cutoff, cur)
    if init_ref:
        lref[:] = cur
    for k in range(n_frames - 1):
        _log_row(src, k + 1, weights, scale, cutoff, nxt)
        t0 = times_us[k]
        dt = times_us[k + 1] - t0
        for i in range(n_pix):
            drift = leak_per_us[i] * dt
            a = cur[i] - lref[i]
            b = nxt[i] - lref[i] + drift
            if b >= c_on[i]:
                c = c_on[i]
                m = int(b / c)
                sign = 1
            elif b <= -c_off[i]:
                c = c_off[i]
                m = int(-b / c)
                sign = -1
            else:
                lref[i] -= drift
                continue
            span = b - a
            for j in range(1, m + 1):
                level = sign * j * c
                frac = (level - a) / span if span != 0.0 else 1.0
                if frac < 0.0:
                    frac = 0.0
                elif frac > 1.0:
                    frac = 1.0
                t = t0 + frac * dt
                if t - last[i] < refr_us:
                    continue
                last[i] = t
                if n == cap:
                    cap *= 2
                    nt = np.empty(cap, np.float64)
                    ni = np.empty(cap, np.int64)
                    npol = np.empty(cap, np.int8)
                    nt[:n] = out_t[:n]
                    ni[:n] = out_i[:n]
                    npol[:n] = out_p[:n]
                    out_t, out_i, out_p = nt, ni, npol
                out_t[n] = t
                out_i[n] = i
                out_p[n] = 1 if sign > 0 else 0
                n += 1
            lref[i] += sign * m * c - drift
        cur, nxt = nxt, cur
    return out_t[:n], out_i[:n], out_p[:n]


def _as_source(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Frames -> ((T, P, C) array without copying when possible, luma weights, scale)."""
    f = np.asarray(frames)
    if f.dtype.kind not in "fiu" or f.dtype == np.bool_:
        raise ShapeError(f"frames dtype {f.dtype}: expected uint8 or float")
    scale = 255.0 if f.dtype == np.uint8 else 1.0
    if f.ndim == 4 and f.shape[-1] in (3, 4):
        src = f[..., :3].reshape(f.shape[0], -1, 3) if f.shape[-1] == 3 else \
            np.ascontiguousarray(f[..., :3]).reshape(f.shape[0], -1, 3)
        return np.ascontiguousarray(src), np.array([0.299, 0.587, 0.114]), scale
    if f.ndim == 3:
        return np.ascontiguousarray(f).reshape(f.shape[0], -1, 1), np.ones(1), scale
    raise ShapeError(f"frames shape {f.shape}: expected (T,H,W) or (T,H,W,3)")


def dvs_events(
    frames: np.ndarray, times_s: np.ndarray, cfg: Config, seed: int | None = None
) -> np.ndarray:
    """Pure function behind ``DVS``: frames (T,H,W[,3]) at ``times_s`` (T,) -> events."""
    src, weights, scale = _as_source(frames)
    times_s = np.asarray(times_s, dtype=np.float64)
    n_frames, h, w = np.shape(frames)[:3]
    if times_s.shape != (n_frames,):
        raise ShapeError(f"times_s shape {times_s.shape}: expected ({n_frames},), one per frame")
    if n_frames < 2:
        raise ShapeError(f"{n_frames} frame(s): expected at least 2 to see a change")
    if not np.all(np.isfinite(times_s)) or np.any(np.diff(times_s) <= 0):
        raise ShapeError("times_s must be finite and strictly increasing")
    if src.dtype.kind == "f" and not np.all(np.isfinite(src)):
        raise ShapeError("frame intensities must be finite")
    if src.dtype.kind in "fi" and src.size and src.min() < 0:
        raise ShapeError("frame intensities must be >= 0")
    if h >= 2**15 or w >= 2**15:
        raise ShapeError(f"frame size {h}x{w}: expected < 32768 per side (int16 coordinates)")
    c_on, c_off = pixel_thresholds(cfg, (h, w))
    times_us = (times_s - times_s[0]) * 1e6
    leak = np.full(h * w, cfg.leak_rate_hz * 1e-6) * c_on.ravel()
    t, idx, pol = _crossings(
        src, weights, scale, float(cfg.linlog_cutoff), times_us, c_on.ravel(), c_off.ravel(),
        leak, cfg.refractory_s * 1e6, np.empty(h * w), np.full(h * w, -1e18), True,
    )
    return _finish(t, idx, pol, times_s, (h, w), cfg, [cfg.seed if seed is None else seed])


def _finish(t, idx, pol, times_s, shape, cfg: Config, noise_key: list[int]) -> np.ndarray:
    """Add shot noise (seeded by ``noise_key``), sort, pack into ``EVENT_DTYPE``."""
    h, w = shape
    duration_s = times_s[-1] - times_s[0]
    if cfg.shot_noise_rate_hz > 0:
        rng = np.random.default_rng([*noise_key, 0x5407])
        k = rng.poisson(cfg.shot_noise_rate_hz * h * w * duration_s)
        t = np.concatenate([t, rng.uniform(0, duration_s * 1e6, k)])
        idx = np.concatenate([idx, rng.integers(0, h * w, k)])
        pol = np.concatenate([pol, rng.integers(0, 2, k).astype(np.int8)])
    t_us = np.rint(t + times_s[0] * 1e6).astype(np.int64)
    order = np.argsort(t_us, kind="stable")
    ev = np.empty(order.size, dtype=EVENT_DTYPE)
    ev["t"] = t_us[order]
    ev["x"] = idx[order] % w
    ev["y"] = idx[order] // w
    ev["p"] = pol[order]
    return ev


@dataclass(frozen=True)
class DVSState:
    """What a DVS pixel array remembers between frames, for streaming (see ``DVS.step``).

    Arrays are never modified in place: ``DVS.step`` returns a new state.
    """

    frame: np.ndarray  # last frame as given (H, W[, 3])
    time_s: float
    ref: np.ndarray  # reference log level per pixel (H*W,)
    last_event_us: np.ndarray  # time of the last event per pixel, us on the stream clock
    step: int  # frames consumed after the first, picks the noise realisation
    seed: int


@dataclass(frozen=True)
class DVS:
    """Frozen DVS emulator.

    - ``DVS(cfg)(frames, times_s, seed=None) -> events``: a whole clip, stateless.
    - Streaming with explicit state (e.g. one Gymnasium ``render()`` per step):
      ``state = dvs.start(frame0, t0_s, seed)`` then
      ``events, state = dvs.step(state, frame, t_s)``; the pixel references, refractory
      clocks and threshold mismatch carry over between steps, so a stream cut into steps
      gives the same crossings as the clip in one call (shot noise is drawn per step).
    """

    config: Config = Config()

    def __call__(
        self, frames: np.ndarray, times_s: np.ndarray, seed: int | None = None
    ) -> np.ndarray:
        return dvs_events(frames, times_s, self.config, seed)

    def start(self, frame: np.ndarray, time_s: float = 0.0, seed: int | None = None) -> DVSState:
        """A fresh camera looking at ``frame`` at ``time_s``: references set to that frame."""
        src, weights, scale = _as_source(np.asarray(frame)[None])
        n_pix = src.shape[1]
        ref = np.empty(n_pix)
        _log_row(src, 0, weights, scale, float(self.config.linlog_cutoff), ref)
        return DVSState(np.array(frame, copy=True), float(time_s), ref,
                        np.full(n_pix, -1e18), 0, self.config.seed if seed is None else seed)

    def step(
        self, state: DVSState, frame: np.ndarray, time_s: float
    ) -> tuple[np.ndarray, DVSState]:
        """Events between ``state``'s frame and ``frame`` (at ``time_s``), and the new state."""
        frame = np.asarray(frame)
        if frame.shape != state.frame.shape:
            raise ShapeError(f"frame shape {frame.shape}: expected {state.frame.shape} "
                             "as in the stream so far")
        if not time_s > state.time_s:
            raise ShapeError(f"time_s = {time_s}: expected > the previous {state.time_s}")
        pair = np.stack([state.frame, frame])
        src, weights, scale = _as_source(pair)
        h, w = pair.shape[1:3]
        cfg = self.config
        c_on, c_off = pixel_thresholds(cfg, (h, w))
        times_s = np.array([state.time_s, float(time_s)])
        ref = state.ref.copy()
        # the kernel works on a clock starting at this step's first frame
        last = state.last_event_us - state.time_s * 1e6
        t, idx, pol = _crossings(
            src, weights, scale, float(cfg.linlog_cutoff), (times_s - times_s[0]) * 1e6,
            c_on.ravel(), c_off.ravel(), np.full(h * w, cfg.leak_rate_hz * 1e-6) * c_on.ravel(),
            cfg.refractory_s * 1e6, ref, last, False,
        )
        ev = _finish(t, idx, pol, times_s, (h, w), cfg, [state.seed, state.step])
        new = DVSState(np.array(frame, copy=True), float(time_s), ref,
                       last + state.time_s * 1e6, state.step + 1, state.seed)
        return ev, new

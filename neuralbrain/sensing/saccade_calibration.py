"""Calibrating the saccade emulator on one half of the real N-MNIST recordings.

The emulator's defaults were set by hand on statistics of the same 1,000
real recordings that measure sim-to-real transfer. This module makes the calibration a
stated, reproducible procedure that sees only half of them.

Split rule (``split_by_id``): a real recording's id is the integer in its file name
(``nmnist/Train/<label>/<id>.bin``; the shared copy holds ids 1..1000, the MNIST train digits
it shows). **Even id -> calibration half, odd id -> evaluation half** (500 + 500). The
calibration half is only ever compared with emulated statistics; the evaluation half alone
scores sim-to-real transfer (``benchmarks/bench_sensing_realism.py``).

Statistics (``per_recording``): for every recording, real or emulated,

- ``events``: number of events;
- ``on_fraction``: fraction of ON events;
- ``active_pixels``: pixels with at least one event;
- ``pause_events``: events in 85-100 ms (the quiet stretch after saccade 1 in the real
  recordings: noise, leak and the tail of the motion);
- ``profile``: events per 5 ms bin over 0-300 ms (60 bins: the timing of the saccades);
- ``centroids``: mean (x, y) of the events in each leg's window (``LEG_WINDOWS_US``): where
  the triangle's corners are.

Distance (``distance``): for each statistic, the difference between the emulated and the
real mean, divided by the real per-recording standard deviation (floored at 1e-3 of the
group's largest mean and, for counts, at 1 event, so near-empty profile bins cannot
dominate), squared and averaged over the statistic's components (60 bins, 6 centroid
coordinates, 1 otherwise). ``D`` is the mean of these six group terms: 0 = identical
means; 1 = every mean off by one recording-to-recording standard deviation. The scales
come from the target half itself. No classifier score enters ``D``.

Search (``calibrate``): deterministic coordinate (pattern) search, common random numbers
(the same ``n_images`` MNIST images, image ``i`` emulated with noise seed ``i``, at every
evaluation). Each sweep:

1. corners: the leg centroids are linear in the corners (leg k's centroid moves by the mean
   of its two end corners), so one step ``V += M^-1 (c_real - c_emulated)`` is tried
   (``corner_step``);
2. timing: each of the six saccade boundaries (start/end of each leg) is moved by +step,
   or else -step (step 4 ms, halved down to 1 ms);
3. physics: ``dvs.on_threshold``, ``dvs.off_threshold``, ``blur_sigma_px`` and
   ``dvs.shot_noise_rate_hz`` are multiplied, or else divided, by a factor (1.25, shrunk as
   ``1 + (f - 1) / 2`` down to 1.03).

A move is kept only if it lowers ``D``, and a kept move is repeated while it keeps lowering
it. A sweep with no kept move shrinks the steps; the search stops when no move is kept at
the smallest steps or after ``max_evals`` evaluations (the real run converges in ~224).

These are the parameters ``saccade.py``'s docstring says were calibrated (timing, corners,
contrast threshold, blur, noise). Not fitted, kept at their values: the threshold mismatch,
refractory period, leak, background level, frame rate, display and the velocity profile
(a model choice: trying ``"sine"`` as a discrete move sent the greedy search to a worse
optimum, D 0.441 against 0.385).

Command: ``python -m neuralbrain.sensing.saccade_calibration [--n-images 100] [--max-evals 250]
[--json]`` (reads ``$NEURALBRAIN_DATA``; about 2-3 CPU minutes on one core).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from neuralbrain.errors import ConfigError, DataError, Error
from neuralbrain.sensing.dvs import Config as DVSConfig
from neuralbrain.sensing.saccade import Config, saccade_events

# Leg windows for the centroids (us): each leg's saccade plus the pause that follows it.
LEG_WINDOWS_US = ((0, 95_000), (95_000, 210_000), (210_000, 10**9))
PROFILE_BIN_US = 5_000
PROFILE_BINS = 60  # 0..300 ms; real recordings last 297-315 ms
PAUSE_US = (85_000, 100_000)
SCALE_FLOOR = 1e-3  # times the group's largest mean, see Target.from_stats
GROUPS = ("events", "on_fraction", "active_pixels", "pause_events", "profile", "centroids")
# Calibration emulates MNIST test images from this index on: disjoint from the first 3,000
# that train the sim-to-real classifiers in bench_sensing_realism.py.
CALIBRATION_IMAGE_OFFSET = 9000

PHYSICAL = ("dvs.on_threshold", "dvs.off_threshold", "blur_sigma_px", "dvs.shot_noise_rate_hz")
PHYSICAL_BOUNDS = {
    "dvs.on_threshold": (0.05, 2.0),
    "dvs.off_threshold": (0.05, 2.0),
    "blur_sigma_px": (0.0, 3.0),
    "dvs.shot_noise_rate_hz": (0.0, 20.0),
}


def hand_set_config() -> Config:
    """The emulator parameters set by hand before (on all 1,000 recordings).

    Written out here, not taken from ``Config()``, so the comparison survives a change of
    the defaults.
    """
    return Config(
        vertices_px=((0.2, 1.8), (1.4, 6.6), (6.6, 1.3)),
        saccades_s=((0.007, 0.087), (0.108, 0.192), (0.224, 0.300)),
        blur_sigma_px=0.3,
        dvs=DVSConfig(on_threshold=0.43, off_threshold=0.43, threshold_sigma=0.05,
                      refractory_s=0.001, leak_rate_hz=0.05, shot_noise_rate_hz=0.4),
    )


# ------------------------------------------------------------------------- split


def recording_id(path: str | os.PathLike) -> int:
    """The id of a real N-MNIST recording: the integer of its file name (``00384.bin`` -> 384)."""
    stem = Path(path).stem.strip()
    if not stem.isdigit():
        raise DataError(f"{path}: file name {Path(path).name!r}, expected <integer id>.bin")
    return int(stem)


def split_by_id(ids: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the calibration half (even id) and the evaluation half (odd id).

    Every index lands in exactly one half; ids must be distinct integers >= 0.
    """
    arr = np.asarray(ids)
    if arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "iu":
        raise DataError(f"recording ids {arr.shape} {arr.dtype}: expected a 1-D array of ints")
    if arr.min() < 0:
        raise DataError(f"recording id {int(arr.min())}: expected ids >= 0")
    if np.unique(arr).size != arr.size:
        vals, counts = np.unique(arr, return_counts=True)
        dup = int(vals[counts > 1][0])
        raise DataError(f"recording id {dup} appears twice: expected distinct ids")
    idx = np.arange(arr.size)
    return idx[arr % 2 == 0], idx[arr % 2 == 1]


# ------------------------------------------------------------------------- statistics


@dataclass(frozen=True, eq=False)
class RecordingStats:
    """Per-recording statistics of a set of recordings (see the module docstring)."""

    events: np.ndarray  # (n,)
    on_fraction: np.ndarray  # (n,)
    active_pixels: np.ndarray  # (n,)
    pause_events: np.ndarray  # (n,)
    profile: np.ndarray  # (n, PROFILE_BINS)
    centroids: np.ndarray  # (n, 6): x, y of legs 1, 2, 3 (nan if a leg has no event)
    on_minus_off_y: np.ndarray = field(repr=False)  # (n, 3): report only

    def means(self) -> dict[str, np.ndarray]:
        return {g: np.atleast_1d(np.nanmean(getattr(self, g), axis=0)) for g in GROUPS}

    def stds(self) -> dict[str, np.ndarray]:
        return {g: np.atleast_1d(np.nanstd(getattr(self, g), axis=0)) for g in GROUPS}

    def summary(self) -> dict:
        """Means for a report: the figures bench_sensing_realism.py prints."""
        cen = np.nanmean(self.centroids, 0)
        prof = self.profile.mean(0)
        return {
            "n": int(self.events.size),
            "events_mean": float(self.events.mean()),
            "events_std": float(self.events.std()),
            "on_fraction": float(self.on_fraction.mean()),
            "active_pixels": float(self.active_pixels.mean()),
            "events_85_100ms": float(self.pause_events.mean()),
            "leg_centroids_xy": [[round(float(cen[2 * k]), 2), round(float(cen[2 * k + 1]), 2)]
                                 for k in range(3)],
            "leg_on_minus_off_y": [round(float(v), 2) for v in np.nanmean(self.on_minus_off_y, 0)],
            "profile_10ms": prof[0::2] + prof[1::2],
        }


def per_recording(recs: Sequence[np.ndarray]) -> RecordingStats:
    """Statistics of each recording (structured arrays with x, y, p, t in us)."""
    if len(recs) == 0:
        raise DataError("no recordings: expected at least one event array")
    n = len(recs)
    ev, on, pix, pause = (np.zeros(n) for _ in range(4))
    prof = np.zeros((n, PROFILE_BINS))
    cen = np.full((n, 6), np.nan)
    dy = np.full((n, 3), np.nan)
    for i, r in enumerate(recs):
        t = r["t"].astype(np.int64)
        x, y, p = r["x"].astype(np.int64), r["y"].astype(np.int64), r["p"]
        ev[i] = r.size
        on[i] = p.mean() if r.size else np.nan
        pix[i] = np.unique(x * 34 + y).size
        pause[i] = ((t >= PAUSE_US[0]) & (t < PAUSE_US[1])).sum()
        b = t // PROFILE_BIN_US
        prof[i] = np.bincount(b[b < PROFILE_BINS], minlength=PROFILE_BINS)
        for k, (a, e) in enumerate(LEG_WINDOWS_US):
            m = (t >= a) & (t < e)
            if m.any():
                cen[i, 2 * k], cen[i, 2 * k + 1] = x[m].mean(), y[m].mean()
                mon, moff = m & (p == 1), m & (p == 0)
                if mon.any() and moff.any():
                    dy[i, k] = y[mon].mean() - y[moff].mean()
    return RecordingStats(ev, on, pix, pause, prof, cen, dy)


@dataclass(frozen=True, eq=False)
class Target:
    """The real statistics a calibration aims at: their means and their scales."""

    means: dict[str, np.ndarray]
    scales: dict[str, np.ndarray]

    @classmethod
    def from_stats(cls, stats: RecordingStats) -> Target:
        """Means and per-recording stds of ``stats``; each std floored at SCALE_FLOOR times
        the largest mean of its group (or 1 event for counts), so a near-empty bin cannot
        dominate ``D``."""
        means, stds = stats.means(), stats.stds()
        scales = {}
        for g in GROUPS:
            floor = max(SCALE_FLOOR * float(np.max(np.abs(means[g]))), 1e-9)
            if g in ("events", "active_pixels", "pause_events", "profile"):
                floor = max(floor, 1.0)
            scales[g] = np.maximum(np.nan_to_num(stds[g], nan=floor), floor)
        return cls(means, scales)


def distance_terms(emulated: RecordingStats, target: Target) -> dict[str, float]:
    """Per-group mean squared standardized difference of means (see module docstring)."""
    m = emulated.means()
    out = {}
    for g in GROUPS:
        z = (np.nan_to_num(m[g], nan=1e6) - target.means[g]) / target.scales[g]
        out[g] = float(np.mean(z**2))
    return out


def distance(emulated: RecordingStats, target: Target) -> float:
    """``D``: the mean of the six group terms of ``distance_terms``."""
    return float(np.mean(list(distance_terms(emulated, target).values())))


# ------------------------------------------------------------------------- parameters


def get_param(cfg: Config, name: str) -> float:
    """A physical parameter by dotted name (``"dvs.on_threshold"``, ``"blur_sigma_px"``)."""
    obj: object = cfg
    for part in name.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"saccade parameter {name!r}: expected one of {PHYSICAL}")
        obj = getattr(obj, part)
    return float(obj)  # type: ignore[arg-type]


def set_param(cfg: Config, name: str, value: float) -> Config:
    """A copy of ``cfg`` with a physical parameter changed (validated by the configs)."""
    if name not in PHYSICAL:
        raise ConfigError(f"saccade parameter {name!r}: expected one of {PHYSICAL}")
    if name.startswith("dvs."):
        return replace(cfg, dvs=replace(cfg.dvs, **{name[4:]: float(value)}))
    return replace(cfg, **{name: float(value)})


def scale_param(cfg: Config, name: str, factor: float) -> Config | None:
    """``cfg`` with a physical parameter multiplied by ``factor`` (a zero value steps to
    0.05 upwards); None if that leaves ``PHYSICAL_BOUNDS`` or changes nothing."""
    lo, hi = PHYSICAL_BOUNDS[name]
    v = get_param(cfg, name)
    nv = round(v * factor, 6) if v > 0 else (0.05 if factor > 1 else 0.0)
    if nv == v or not (lo <= nv <= hi):
        return None
    return set_param(cfg, name, nv)


def fitted_params(cfg: Config) -> dict:
    """The fitted parameters of ``cfg`` as plain numbers (for reports and JSON)."""
    out: dict = {n: round(get_param(cfg, n), 4) for n in PHYSICAL}
    out["velocity_profile"] = cfg.velocity_profile
    out["saccades_ms"] = [[round(a * 1e3, 2), round(b * 1e3, 2)] for a, b in cfg.saccades_s]
    out["vertices_px"] = [[round(x, 2), round(y, 2)] for x, y in cfg.vertices_px]
    return out


def corner_step(cfg: Config, emulated: RecordingStats, target: Target) -> Config | None:
    """Corners moved so the leg centroids would match the target if the map were exact.

    Leg k (corner k -> corner k+1) has its centroid near a constant plus the mean of its end
    corners, ``c_k = (V_k + V_{k+1}) / 2``; inverting, ``dV_A = d_0 - d_1 + d_2`` and its
    rotations, with ``d_k`` the centroid error of leg k (per axis). None if the step would
    leave the range ``saccade.Config`` allows (or a leg had no event).
    """
    d = (target.means["centroids"] - np.nanmean(emulated.centroids, 0)).reshape(3, 2)
    v = np.asarray(cfg.vertices_px, dtype=np.float64)
    dv = np.stack([d[0] - d[1] + d[2], d[1] - d[2] + d[0], d[2] - d[0] + d[1]])
    try:
        return replace(cfg, vertices_px=tuple((float(a), float(b)) for a, b in v + dv))
    except ConfigError:
        return None


def shift_boundary(cfg: Config, k: int, delta_s: float, min_leg_s: float = 0.01) -> Config | None:
    """``cfg`` with saccade boundary k (0..5: start/end of legs 1..3) moved by ``delta_s``;
    None if the legs would overlap, shrink below ``min_leg_s`` or leave [0, duration]."""
    b = [t for leg in cfg.saccades_s for t in leg]
    b[k] = round(b[k] + delta_s, 6)
    ok = b[0] >= 0 and b[5] <= cfg.duration_s and all(
        b[i + 1] - b[i] >= (min_leg_s if i % 2 == 0 else 0.0) for i in range(5))
    if not ok:
        return None
    return replace(cfg, saccades_s=((b[0], b[1]), (b[2], b[3]), (b[4], b[5])))


# ------------------------------------------------------------------------- search


def emulate(cfg: Config, images: np.ndarray, seeds: Sequence[int]) -> list[np.ndarray]:
    """Image i -> an emulated recording with noise seed ``seeds[i]``."""
    return [saccade_events(img, cfg, seed=int(s)) for img, s in zip(images, seeds, strict=True)]


@dataclass(frozen=True, eq=False)
class Calibration:
    """The result of ``calibrate``."""

    config: Config
    start: Config
    distance: float
    start_distance: float
    terms: dict[str, float]
    start_terms: dict[str, float]
    n_evals: int
    history: tuple[tuple[str, float], ...]  # (kept move, D after it)


def calibrate(
    target: Target,
    images: np.ndarray,
    start: Config | None = None,
    seeds: Sequence[int] | None = None,
    max_evals: int = 250,
    fit: Sequence[str] = ("corners", "timing", "physics"),
    log: Callable[[str], None] | None = None,
) -> Calibration:
    """Coordinate search for the emulator parameters that minimise ``D`` to ``target``.

    ``images`` are emulated at every evaluation with the same ``seeds`` (default 0..n-1),
    so ``D`` is a deterministic function of the parameters and so is the search.
    """
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[0] == 0:
        raise DataError(f"calibration images shape {images.shape}: expected (n >= 1, H, W)")
    if max_evals < 1:
        raise ConfigError(f"calibrate max_evals = {max_evals}: expected >= 1")
    bad = set(fit) - {"corners", "timing", "physics"}
    if bad:
        raise ConfigError(f"calibrate fit = {tuple(fit)}: expected a subset of "
                          "('corners', 'timing', 'physics')")
    seeds = list(range(len(images))) if seeds is None else list(seeds)
    cfg = hand_set_config() if start is None else start
    n_evals = 0
    cache: dict[Config, tuple[float, RecordingStats]] = {}

    def evaluate(c: Config) -> tuple[float, RecordingStats]:
        nonlocal n_evals
        if c not in cache:
            st = per_recording(emulate(c, images, seeds))
            cache[c] = (distance(st, target), st)
            n_evals += 1
        return cache[c]

    best_d, best_st = evaluate(cfg)
    start_d, start_terms = best_d, distance_terms(best_st, target)
    history: list[tuple[str, float]] = []
    t_step, factor = 0.004, 1.25

    def try_move(label: str, cand: Config | None) -> bool:
        nonlocal cfg, best_d, best_st
        if cand is None or n_evals >= max_evals:
            return False
        d, st = evaluate(cand)
        if d < best_d - 1e-12:
            cfg, best_d, best_st = cand, d, st
            history.append((label, d))
            if log:
                log(f"  D = {d:.4f} after {label} ({n_evals} evaluations)")
            return True
        return False

    while n_evals < max_evals:
        kept = False
        if "corners" in fit:
            kept |= try_move("corners", corner_step(cfg, best_st, target))
        if "timing" in fit:
            for k in range(6):
                for sign in (1, -1):
                    moved = False
                    # keep stepping while it helps, then go on to the next coordinate
                    while try_move(f"boundary {k} {sign * t_step * 1e3:+.0f} ms",
                                   shift_boundary(cfg, k, sign * t_step)):
                        moved = True
                    if moved:
                        kept = True
                        break
        if "physics" in fit:
            for name in PHYSICAL:
                for f in (factor, 1 / factor):
                    moved = False
                    while try_move(f"{name} x{f:.3f}", scale_param(cfg, name, f)):
                        moved = True
                    if moved:
                        kept = True
                        break
        if not kept:
            if t_step <= 0.001 + 1e-12 and factor <= 1.03 + 1e-12:
                break
            t_step = max(t_step / 2, 0.001)
            factor = max(1 + (factor - 1) / 2, 1.03)
    return Calibration(cfg, hand_set_config() if start is None else start, best_d, start_d,
                       distance_terms(best_st, target), start_terms, n_evals, tuple(history))


# ------------------------------------------------------------------------- data + command


def load_halves(root: str | os.PathLike | None = None) -> tuple[list[np.ndarray], np.ndarray,
                                                                  np.ndarray, np.ndarray, np.ndarray]:
    """Real N-MNIST recordings, their labels, ids, and the calibration / evaluation indices."""
    from neuralbrain.sensing.datasets import NMNIST

    real = NMNIST(root=root, split="train")
    if not real.files:
        raise DataError("no real N-MNIST recordings: set NEURALBRAIN_DATA (nmnist/Train/...)")
    recs = [real[i][0] for i in range(len(real))]
    ids = np.array([recording_id(f) for f in real.files], dtype=np.int64)
    cal, ev = split_by_id(ids)
    return recs, np.asarray(real.labels), ids, cal, ev


def calibration_images(root: str | os.PathLike | None, n_images: int) -> np.ndarray:
    """MNIST test images CALIBRATION_IMAGE_OFFSET .. + n_images (noise seed = position)."""
    from neuralbrain.sensing.datasets import load_mnist

    images, _ = load_mnist(root, "test")
    if not (1 <= n_images <= images.shape[0] - CALIBRATION_IMAGE_OFFSET):
        raise ConfigError(f"n_images = {n_images}: expected 1.."
                          f"{images.shape[0] - CALIBRATION_IMAGE_OFFSET}")
    return images[CALIBRATION_IMAGE_OFFSET:CALIBRATION_IMAGE_OFFSET + n_images]


def run(root: str | os.PathLike | None = None, n_images: int = 100, max_evals: int = 250,
        log: Callable[[str], None] | None = None) -> Calibration:
    """The stated procedure: fit on the calibration half (even ids) from the hand-set start."""
    recs, _, _, cal, _ = load_halves(root)
    target = Target.from_stats(per_recording([recs[i] for i in cal]))
    return calibrate(target, calibration_images(root, n_images), max_evals=max_evals, log=log)


def main(argv: Sequence[str] | None = None) -> None:
    import argparse
    import json
    import time

    ap = argparse.ArgumentParser(description="Fit the saccade emulator on the even-id half "
                                 "of the real N-MNIST recordings")
    ap.add_argument("--n-images", type=int, default=100, help="emulated images per evaluation")
    ap.add_argument("--max-evals", type=int, default=250)
    ap.add_argument("--json", action="store_true", help="print one JSON object only")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    try:
        res = run(None, args.n_images, args.max_evals, log=None if args.json else print)
    except Error as e:  # bad input: one line naming the value, no traceback
        raise SystemExit(f"saccade_calibration: {e}") from None
    out = {
        "split": "calibration = even recording id, evaluation = odd id",
        "n_images": args.n_images,
        "n_evals": res.n_evals,
        "seconds": round(time.perf_counter() - t0, 1),
        "distance_start": round(res.start_distance, 4),
        "distance_fitted": round(res.distance, 4),
        "terms_start": {k: round(v, 4) for k, v in res.start_terms.items()},
        "terms_fitted": {k: round(v, 4) for k, v in res.terms.items()},
        "start": fitted_params(res.start),
        "fitted": fitted_params(res.config),
        "fitted_equals_saccade_defaults": res.config == Config(),
    }
    if not args.json:
        print(f"calibration-half distance D: hand-set {res.start_distance:.4f} -> fitted "
              f"{res.distance:.4f} ({res.n_evals} evaluations, {out['seconds']} s)")
    print(json.dumps(out))


if __name__ == "__main__":
    main()

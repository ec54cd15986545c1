"""How close are the emulators to the real sensors?

Part 1, saccades vs the real N-MNIST recordings (ATIS, Orchard et al. 2015):
  events per recording, ON fraction, active pixels, events between saccades, the time
  profile (events per 10 ms bin; Pearson correlation of the mean profiles), and sim-to-real
  transfer: classifiers trained ONLY on emulated recordings of MNIST *test* images, tested
  on the 1,000 real recordings (of MNIST *train* digits 1..1000).
Part 2, the software cochlea vs the FPGA Neuromorphic Auditory Sensor (pyNAVIS recordings
  of a 130 Hz and a 523 Hz tone): which channels fire, the peak channel and the spread of
  the tone-driven activity, for our default cochlea and for the NAS-like preset.

The emulator parameters are the defaults in neuralbrain/sensing/saccade.py and cochlea.py;
they were calibrated on the statistics printed here (never on the classifier score).
Single thread. Ends with one JSON line.
Run: NEURALBRAIN_DATA=/path/to/data python benchmarks/bench_sensing_realism.py [--quick]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

LEG_WINDOWS_US = ((0, 95_000), (95_000, 210_000), (210_000, 10**9))


# ------------------------------------------------------------------------- saccades


def recording_stats(recs: list[np.ndarray]) -> dict:
    n = np.array([r.size for r in recs], dtype=float)
    pix = np.array([np.unique(r["x"].astype(int) * 34 + r["y"]).size for r in recs])
    gap = np.array([((r["t"] > 85_000) & (r["t"] < 100_000)).sum() for r in recs])
    prof = np.mean([np.bincount(np.minimum(r["t"] // 10_000, 31), minlength=32) for r in recs], 0)
    cen = []
    for r in recs:
        row = []
        for a, b in LEG_WINDOWS_US:
            m = (r["t"] >= a) & (r["t"] < b)
            on, off = m & (r["p"] == 1), m & (r["p"] == 0)
            row += [r["x"][m].mean(), r["y"][m].mean(), r["y"][on].mean() - r["y"][off].mean()]
        cen.append(row)
    cen = np.nanmean(np.array(cen), 0)
    return {
        "events_mean": float(n.mean()),
        "events_std": float(n.std()),
        "on_fraction": float(np.mean([r["p"].mean() for r in recs])),
        "active_pixels": float(pix.mean()),
        "events_85_100ms": float(gap.mean()),
        "leg_centroids_xy": [
            [round(float(cen[3 * k]), 2), round(float(cen[3 * k + 1]), 2)] for k in range(3)
        ],
        "leg_on_minus_off_y": [round(float(cen[3 * k + 2]), 2) for k in range(3)],
        "profile_10ms": prof,
    }


def features(ev: np.ndarray, pool: int = 2) -> np.ndarray:
    """Event counts per (saccade, polarity, pool x pool block), L1-normalised, square-rooted."""
    side = 34 // pool
    out = []
    for a, b in LEG_WINDOWS_US:
        sel = (ev["t"] >= a) & (ev["t"] < b)
        for p in (0, 1):
            e = ev[sel & (ev["p"] == p)]
            out.append(
                np.bincount((e["y"] // pool) * side + e["x"] // pool, minlength=side * side)[: side * side]
            )
    f = np.concatenate(out).astype(float)
    return np.sqrt(f / max(1.0, f.sum()))


def saccade_part(root: Path, n_train: int, n_stats: int, mlp: bool) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    from neuralbrain.sensing.datasets import NMNIST, load_mnist
    from neuralbrain.sensing.saccade import Saccades

    real = NMNIST(root=root, split="train")
    real_recs = [real[i][0] for i in range(len(real))]
    images, labels = load_mnist(root, "test")
    emu = Saccades()
    t0 = time.perf_counter()
    emu_recs = [emu(images[i], seed=i) for i in range(n_train)]
    emu_s = time.perf_counter() - t0
    R = recording_stats(real_recs)
    E = recording_stats(emu_recs[:n_stats])
    corr = float(np.corrcoef(R["profile_10ms"][:31], E["profile_10ms"][:31])[0, 1])
    print(
        f"Saccades: {len(real_recs)} real N-MNIST recordings vs {n_stats} emulated "
        f"(MNIST test images; {n_train} emulated in {emu_s:.0f} s)"
    )
    rows = [
        ("events / recording", "events_mean", "{:.0f}"),
        ("  std", "events_std", "{:.0f}"),
        ("ON fraction", "on_fraction", "{:.3f}"),
        ("active pixels", "active_pixels", "{:.0f}"),
        ("events 85-100 ms (pause)", "events_85_100ms", "{:.1f}"),
        ("leg centroids (x, y)", "leg_centroids_xy", "{}"),
        ("ON-OFF mean y per leg", "leg_on_minus_off_y", "{}"),
    ]
    print(f"  {'':28s} {'real':>24s} {'emulated':>24s}")
    for name, key, fmt in rows:
        print(f"  {name:28s} {fmt.format(R[key]):>24s} {fmt.format(E[key]):>24s}")
    print("  events per 10 ms bin (mean):")
    print("    real " + " ".join(f"{v:.0f}" for v in R["profile_10ms"][:31]))
    print("    emu  " + " ".join(f"{v:.0f}" for v in E["profile_10ms"][:31]))
    print(f"  time-profile correlation {corr:.3f}")

    Xs = np.stack([features(r) for r in emu_recs])
    ys = labels[:n_train]
    Xr = np.stack([features(r) for r in real_recs])
    yr = real.labels
    acc = {}
    clfs = [("logreg", LogisticRegression(C=1.0, max_iter=3000))]
    if mlp:
        clfs.append(("mlp", MLPClassifier((256,), alpha=1e-3, max_iter=300, random_state=0)))
    for name, clf in clfs:
        t0 = time.perf_counter()
        clf.fit(Xs, ys)
        acc[name] = float((clf.predict(Xr) == yr).mean())
        print(
            f"  sim-to-real {name}: trained on {n_train} emulated, accuracy on the "
            f"{len(yr)} real recordings {acc[name]:.3f} ({time.perf_counter() - t0:.0f} s)"
        )
    return {"real": R, "emulated": E, "profile_corr": corr, "sim_to_real": acc, "n_train": n_train}


# ------------------------------------------------------------------------- cochlea


def tone_histogram(
    ev: np.ndarray, freq: float, n_channels: int = 64, lock_min: float = 0.3
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts per channel, phase-locking to ``freq`` per channel, and the tone-driven counts.

    Phase locking R = |mean(exp(2 pi i f t))| over a channel's ON events; channels with
    R < lock_min fire independently of the tone (the NAS's top channels do) and are zeroed
    in the tone-driven histogram.
    """
    ev = ev[ev["p"] == 1]
    counts = np.bincount(ev["x"], minlength=n_channels).astype(float)
    lock = np.zeros(n_channels)
    for c in range(n_channels):
        t = ev["t"][ev["x"] == c]
        if t.size >= 20:
            lock[c] = abs(np.exp(2j * np.pi * freq * t * 1e-6).mean())
    return counts, lock, np.where(lock >= lock_min, counts, 0.0)


def shape(hist: np.ndarray) -> dict:
    peak = int(np.argmax(hist))
    above = np.flatnonzero(hist >= hist[peak] / 2)
    w = hist / max(hist.sum(), 1)
    centroid = float((w * np.arange(hist.size)).sum())
    return {
        "peak": peak,
        "half_max_lo": int(above.min()),
        "half_max_hi": int(above.max()),
        "half_max_width": int(above.max() - above.min() + 1),
        "centroid_minus_peak": round(centroid - peak, 2),
        "active_channels": int((hist > 0.01 * hist[peak]).sum()),
    }


def cochlea_part(root: Path) -> dict:
    from neuralbrain.sensing.aedat import read_aedat
    from neuralbrain.sensing.cochlea import NAS64, Cochlea, Config, centre_frequencies

    files = {
        130.0: "130Hz_mono_64ch_ONOFF_addr2b_ts02.aedat",
        523.0: "523Hz_stereo_64ch_ONOFF_addr2b_ts02.aedat",
    }
    out: dict = {"tones": {}}
    real_tone = {}
    print("Cochlea vs the NAS recordings (left ear, ON events):")
    for f, name in files.items():
        ev = read_aedat(root / "nas_cochlea" / name)
        ev = ev[ev["y"] == 0]
        counts, lock, tone = tone_histogram(ev, f)
        real_tone[f] = tone
        top = counts[:16].sum() / counts.sum()
        s = shape(tone)
        out["tones"][f"{f:.0f}"] = {
            "real": s,
            "real_untuned_top16_fraction": round(float(top), 3),
            "real_locked_channels": [
                int(np.flatnonzero(lock >= 0.3).min()),
                int(np.flatnonzero(lock >= 0.3).max()),
            ],
        }
        print(
            f"  {f:.0f} Hz real: phase-locked channels {out['tones'][f'{f:.0f}']['real_locked_channels']}, "
            f"tone peak channel {s['peak']}, half-max channels {s['half_max_lo']}..{s['half_max_hi']} "
            f"(width {s['half_max_width']}), centroid - peak {s['centroid_minus_peak']:+.1f}; "
            f"channels 0-15 carry {top:.0%} of events and are not locked to the tone"
        )
    t130, t523 = out["tones"]["130"], out["tones"]["523"]
    p130, p523 = t130["real"]["peak"], t523["real"]["peak"]
    e130, e523 = t130["real_locked_channels"][1], t523["real_locked_channels"][1]
    octaves = np.log2(523.0 / 130.0)
    print(
        f"  NAS channel order: the 523 Hz tone peaks {p130 - p523} channels and its locked "
        f"channels end {e130 - e523} channels BELOW the 130 Hz tone's -> channel 0 is the "
        f"highest frequency (reversed); {(e130 - e523) / octaves:.2f} channels/octave from the "
        f"sharp low-frequency edges ({(p130 - p523) / octaves:.1f} from the flat-topped peaks)"
    )
    out["nas_reversed"] = bool(p523 < p130 and e523 < e130)
    out["nas_channels_per_octave"] = round(float((e130 - e523) / octaves), 2)

    rate = 48_000
    t = np.arange(rate // 2) / rate
    configs = {
        "default (ERB 100-3600 Hz, low->high)": Config(),
        "NAS64 preset": NAS64,
    }
    for label, cfg in configs.items():
        key = "default" if label.startswith("default") else "nas64"
        out[key] = {}
        for f in files:
            ev = Cochlea(cfg)(0.5 * np.sin(2 * np.pi * f * t), rate)
            _, _, tone = tone_histogram(ev, f, cfg.n_channels)
            s = shape(tone)
            cf = centre_frequencies(cfg)[s["peak"]]
            corr = float(np.corrcoef(tone, real_tone[f])[0, 1]) if key == "nas64" else None
            out[key][f"{f:.0f}"] = {**s, "peak_cf_hz": round(float(cf), 1), "hist_corr": corr}
            print(
                f"  {f:.0f} Hz ours [{label}]: peak channel {s['peak']} (f_c {cf:.0f} Hz), "
                f"half-max {s['half_max_lo']}..{s['half_max_hi']} (width "
                f"{s['half_max_width']}), centroid - peak {s['centroid_minus_peak']:+.1f}"
                + (f", histogram correlation with NAS {corr:.2f}" if corr is not None else "")
            )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=3000, help="emulated training recordings")
    ap.add_argument("--stats", type=int, default=1000, help="emulated recordings for stats")
    ap.add_argument("--no-mlp", action="store_true", help="skip the MLP (logistic only)")
    ap.add_argument("--quick", action="store_true", help="--train 1000 --stats 300 --no-mlp")
    args = ap.parse_args()
    if args.quick:
        args.train, args.stats, args.no_mlp = 1000, 300, True
    root = os.environ.get("NEURALBRAIN_DATA")
    if not root:
        raise SystemExit("set NEURALBRAIN_DATA to the data root")
    root = Path(root)
    sac = saccade_part(root, args.train, min(args.stats, args.train), not args.no_mlp)
    coch = cochlea_part(root)
    figures = {
        "nmnist_events_real": round(sac["real"]["events_mean"]),
        "nmnist_events_emulated": round(sac["emulated"]["events_mean"]),
        "on_fraction_real": round(sac["real"]["on_fraction"], 3),
        "on_fraction_emulated": round(sac["emulated"]["on_fraction"], 3),
        "active_pixels_real": round(sac["real"]["active_pixels"]),
        "active_pixels_emulated": round(sac["emulated"]["active_pixels"]),
        "time_profile_corr": round(sac["profile_corr"], 3),
        "sim_to_real_acc": {k: round(v, 3) for k, v in sac["sim_to_real"].items()},
        "sim_to_real_n_train": sac["n_train"],
        "nas_reversed": coch["nas_reversed"],
        "nas_channels_per_octave": coch["nas_channels_per_octave"],
        "nas_peak_channel": {k: v["real"]["peak"] for k, v in coch["tones"].items()},
        "nas_half_max_width": {k: v["real"]["half_max_width"] for k, v in coch["tones"].items()},
        "nas64_peak_channel": {k: v["peak"] for k, v in coch["nas64"].items()},
        "nas64_half_max_width": {k: v["half_max_width"] for k, v in coch["nas64"].items()},
        "nas64_hist_corr": {k: round(v["hist_corr"], 3) for k, v in coch["nas64"].items()},
        "default_half_max_width": {k: v["half_max_width"] for k, v in coch["default"].items()},
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

"""How close are the emulators to the real sensors?

Part 1, saccades vs the real N-MNIST recordings (ATIS, Orchard et al. 2015), calibration kept
apart from evaluation. The 1,000 real recordings are split by id
(neuralbrain/sensing/saccade_calibration.py): even id = calibration half, odd id =
evaluation half. For each emulator parameter set -- the earlier hand-set values
(chosen by eye on all 1,000 recordings) and, with --calibrate, the set fitted by the stated
coordinate search on the calibration half only -- it prints
  the statistics of both halves beside the emulator's: events per recording, ON fraction,
  active pixels, events between saccades, leg centroids, the time profile (events per 10 ms
  bin; Pearson correlation of the mean profiles), and the calibration distance D to each
  half (0 = same means; 1 = every mean one recording-to-recording std off);
  sim-to-real transfer: classifiers trained ONLY on emulated recordings of MNIST *test*
  images 0..n_train-1, tested on the 500 real recordings of the EVALUATION half (odd ids;
  MNIST *train* digits). The calibration half never scores.
Part 2, the software cochlea vs the FPGA Neuromorphic Auditory Sensor (pyNAVIS recordings
  of a 130 Hz and a 523 Hz tone): which channels fire, the peak channel and the spread of
  the tone-driven activity, for our default cochlea and for the NAS-like preset.

No parameter is ever chosen on a classifier score. Single thread. Ends with one JSON line.
Run: NEURALBRAIN_DATA=/path/to/data python benchmarks/bench_sensing_realism.py \
       [--calibrate] [--quick]
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

from neuralbrain.sensing.saccade_calibration import LEG_WINDOWS_US  # noqa: E402

# ------------------------------------------------------------------------- saccades


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


ROWS = (
    ("events / recording", "events_mean", "{:.0f}"),
    ("  std", "events_std", "{:.0f}"),
    ("ON fraction", "on_fraction", "{:.3f}"),
    ("active pixels", "active_pixels", "{:.0f}"),
    ("events 85-100 ms (pause)", "events_85_100ms", "{:.1f}"),
    ("leg centroids (x, y)", "leg_centroids_xy", "{}"),
    ("ON-OFF mean y per leg", "leg_on_minus_off_y", "{}"),
)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def saccade_part(root: Path, n_train: int, n_stats: int, mlp: bool, calibrate: bool,
                 n_cal_images: int, max_evals: int) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    from neuralbrain.sensing import saccade_calibration as sc
    from neuralbrain.sensing.datasets import load_mnist
    from neuralbrain.sensing.saccade import Config, saccade_events

    recs, labels, ids, cal, evl = sc.load_halves(root)
    halves = {"calibration": cal, "evaluation": evl}
    real = {h: sc.per_recording([recs[i] for i in idx]) for h, idx in halves.items()}
    targets = {h: sc.Target.from_stats(s) for h, s in real.items()}
    R = {h: s.summary() for h, s in real.items()}
    print(
        f"Saccades: {len(recs)} real N-MNIST recordings split by id: calibration half = even "
        f"ids ({cal.size}), evaluation half = odd ids ({evl.size}); disjoint: "
        f"{not set(ids[cal]) & set(ids[evl])}"
    )
    configs: dict[str, Config] = {"hand-set": sc.hand_set_config()}
    out: dict = {"split": "even id = calibration, odd id = evaluation",
                 "n_calibration": int(cal.size), "n_evaluation": int(evl.size), "sets": {}}
    if calibrate:
        t0 = time.perf_counter()
        images_cal = sc.calibration_images(root, n_cal_images)
        res = sc.calibrate(targets["calibration"], images_cal, max_evals=max_evals)
        cal_s = time.perf_counter() - t0
        print(
            f"  calibration on the even-id half: coordinate search over corners, timing and "
            f"{', '.join(sc.PHYSICAL)} on {n_cal_images} emulated MNIST test images "
            f"({sc.CALIBRATION_IMAGE_OFFSET}..): D {res.start_distance:.4f} -> "
            f"{res.distance:.4f} in {res.n_evals} evaluations, {cal_s:.0f} s"
        )
        print(f"    hand-set  {sc.fitted_params(res.start)}")
        print(f"    fitted    {sc.fitted_params(res.config)}")
        configs["calibrated"] = res.config
        out["calibration"] = {"n_images": n_cal_images, "n_evals": res.n_evals,
                              "seconds": round(cal_s, 1),
                              "distance_start": round(res.start_distance, 4),
                              "distance_fitted": round(res.distance, 4)}
    if calibrate:
        print(f"  fitted set == current saccade.Config() defaults: {configs['calibrated'] == Config()}")
    if all(Config() != c for c in configs.values()):
        configs["current defaults"] = Config()

    images, mlabels = load_mnist(root, "test")
    Xr = np.stack([features(recs[i]) for i in evl])
    yr = labels[evl]
    for name, cfg in configs.items():
        t0 = time.perf_counter()
        emu_recs = [saccade_events(images[i], cfg, seed=i) for i in range(n_train)]
        emu_s = time.perf_counter() - t0
        E_st = sc.per_recording(emu_recs[:n_stats])
        E = E_st.summary()
        d = {h: sc.distance(E_st, t) for h, t in targets.items()}
        terms = {h: sc.distance_terms(E_st, t) for h, t in targets.items()}
        corr = {h: _corr(R[h]["profile_10ms"], E["profile_10ms"]) for h in halves}
        print(f"\n  [{name}] {sc.fitted_params(cfg)}")
        print(f"  {n_stats} emulated (MNIST test images 0..{n_stats - 1}; {n_train} emulated in "
              f"{emu_s:.0f} s)")
        print(f"  {'':28s} {'real calibration':>22s} {'real evaluation':>22s} {'emulated':>22s}")
        for label, key, fmt in ROWS:
            print(f"  {label:28s} {fmt.format(R['calibration'][key]):>22s} "
                  f"{fmt.format(R['evaluation'][key]):>22s} {fmt.format(E[key]):>22s}")
        print("  events per 10 ms bin (mean):")
        for h in halves:
            print(f"    {h[:5]} " + " ".join(f"{v:.0f}" for v in R[h]["profile_10ms"]))
        print("    emu   " + " ".join(f"{v:.0f}" for v in E["profile_10ms"]))
        for h in halves:
            t = " ".join(f"{g} {v:.3f}" for g, v in terms[h].items())
            print(f"  {h} half: time-profile correlation {corr[h]:.3f}; D {d[h]:.4f} ({t})")
        Xs = np.stack([features(r) for r in emu_recs])
        ys = mlabels[:n_train]
        acc = {}
        clfs = [("logreg", LogisticRegression(C=1.0, max_iter=3000))]
        if mlp:
            clfs.append(("mlp", MLPClassifier((256,), alpha=1e-3, max_iter=300, random_state=0)))
        for cname, clf in clfs:
            t0 = time.perf_counter()
            clf.fit(Xs, ys)
            acc[cname] = float((clf.predict(Xr) == yr).mean())
            print(
                f"  sim-to-real {cname}: trained on {n_train} emulated, accuracy on the "
                f"{yr.size} real recordings of the evaluation half {acc[cname]:.3f} "
                f"({time.perf_counter() - t0:.0f} s)"
            )
        out["sets"][name] = {
            "params": sc.fitted_params(cfg),
            "emulated": {k: v for k, v in E.items() if k != "profile_10ms"},
            "distance": {h: round(v, 4) for h, v in d.items()},
            "profile_corr": {h: round(v, 3) for h, v in corr.items()},
            "sim_to_real_eval_half": {k: round(v, 3) for k, v in acc.items()},
        }
    out["real"] = {h: {k: v for k, v in r.items() if k != "profile_10ms"} for h, r in R.items()}
    out["n_train"], out["n_stats"] = n_train, n_stats
    return out


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
    ap.add_argument("--calibrate", action="store_true",
                    help="also fit the emulator on the calibration half and report that set")
    ap.add_argument("--cal-images", type=int, default=100,
                    help="emulated images per calibration evaluation")
    ap.add_argument("--cal-evals", type=int, default=250, help="calibration evaluation budget")
    ap.add_argument("--no-cochlea", action="store_true", help="skip part 2")
    args = ap.parse_args()
    if args.quick:
        args.train, args.stats, args.no_mlp = 1000, 300, True
    if args.train < 10 or args.stats < 10:
        raise SystemExit(f"--train {args.train} / --stats {args.stats}: expected >= 10 each")
    root = os.environ.get("NEURALBRAIN_DATA")
    if not root:
        raise SystemExit("set NEURALBRAIN_DATA to the data root")
    root = Path(root)
    from neuralbrain.errors import Error

    try:
        sac = saccade_part(root, args.train, min(args.stats, args.train), not args.no_mlp,
                           args.calibrate, args.cal_images, args.cal_evals)
    except Error as e:  # bad input or data: one line naming the value
        raise SystemExit(f"bench_sensing_realism: {e}") from None
    figures: dict = {
        "split": sac["split"],
        "on_fraction_real": {h: round(r["on_fraction"], 3) for h, r in sac["real"].items()},
        "nmnist_events_real": {h: round(r["events_mean"]) for h, r in sac["real"].items()},
        "sim_to_real_n_train": sac["n_train"],
        "sim_to_real_tested_on": f"{sac['n_evaluation']} real recordings, odd ids",
    }
    for name, s in sac["sets"].items():
        key = name.replace(" ", "_").replace("-", "_")
        figures[key] = {
            "nmnist_events_emulated": round(s["emulated"]["events_mean"]),
            "on_fraction_emulated": round(s["emulated"]["on_fraction"], 3),
            "active_pixels_emulated": round(s["emulated"]["active_pixels"]),
            "distance": s["distance"],
            "time_profile_corr": s["profile_corr"],
            "sim_to_real_acc_eval_half": s["sim_to_real_eval_half"],
            "params": s["params"],
        }
    if "calibration" in sac:
        figures["calibration"] = sac["calibration"]
    if not args.no_cochlea:
        coch = cochlea_part(root)
        figures.update({
            "nas_reversed": coch["nas_reversed"],
            "nas_channels_per_octave": coch["nas_channels_per_octave"],
            "nas_peak_channel": {k: v["real"]["peak"] for k, v in coch["tones"].items()},
            "nas_half_max_width": {k: v["real"]["half_max_width"]
                                   for k, v in coch["tones"].items()},
            "nas64_peak_channel": {k: v["peak"] for k, v in coch["nas64"].items()},
            "nas64_half_max_width": {k: v["half_max_width"] for k, v in coch["nas64"].items()},
            "nas64_hist_corr": {k: round(v["hist_corr"], 3) for k, v in coch["nas64"].items()},
            "default_half_max_width": {k: v["half_max_width"]
                                       for k, v in coch["default"].items()},
        })
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

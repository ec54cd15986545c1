"""Event IO and DVS emulation speed, against tonic measured in the same run.

1. Reads all N-MNIST ``.bin`` files under ``$NEURALBRAIN_DATA/nmnist`` with our reader
   (``neuralbrain.sensing.events.read_nmnist``) and with tonic's
   (``tonic.io.read_mnist_file``), alternating, ``--repeats`` passes each; reports the best
   pass of each (events/s) and the ratio ours / tonic (goal >= 1).
2. DVS emulator throughput on rendered frames: CartPole ``render()`` frames (600x400 RGB) and
   the saccade emulator's 34x34 frames, events/s and frames/s.

Single thread (set before numpy loads): both readers and the DVS kernel are single-threaded
code, so there is no 2-thread figure to print beside it. Ends with one JSON line.
Run: NEURALBRAIN_DATA=/path/to/data python benchmarks/bench_event_io.py
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402


def bench_readers(files: list[Path], repeats: int) -> dict:
    import tonic

    from neuralbrain.sensing.events import read_nmnist

    names = [str(f) for f in files]

    def ours() -> int:
        return sum(read_nmnist(f).size for f in names)

    def theirs() -> int:
        return sum(tonic.io.read_mnist_file(f, dtype=tonic.io.events_struct).size for f in names)

    best = {"ours": np.inf, "tonic": np.inf}
    counts = {}
    ours(), theirs()  # warm the page cache and imports
    for _ in range(repeats):
        for name, fn in (("ours", ours), ("tonic", theirs)):
            t0 = time.perf_counter()
            counts[name] = fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    if counts["ours"] != counts["tonic"]:
        raise SystemExit(f"event counts differ: ours {counts['ours']} tonic {counts['tonic']}")
    return {
        "files": len(files),
        "events": counts["ours"],
        "ours_events_per_s": counts["ours"] / best["ours"],
        "tonic_events_per_s": counts["tonic"] / best["tonic"],
        "ratio": best["tonic"] / best["ours"],
    }


def cartpole_frames(n: int) -> np.ndarray:
    import gymnasium as gym

    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env.reset(seed=0)
    frames = [env.render()]
    rng = np.random.default_rng(0)
    for _ in range(n - 1):
        _, _, term, trunc, _ = env.step(int(rng.integers(2)))
        if term or trunc:
            env.reset()
        frames.append(env.render())
    env.close()
    return np.stack(frames)


def bench_dvs(n_frames: int) -> dict:
    from neuralbrain.sensing.dvs import DVS
    from neuralbrain.sensing.saccade import Saccades, render

    out: dict = {}
    dvs = DVS()
    try:
        frames = cartpole_frames(n_frames)
    except Exception as e:  # pygame missing: report instead of failing the whole benchmark
        print(f"CartPole frames unavailable ({e}); skipping", file=sys.stderr)
        frames = None
    if frames is not None:
        times = np.arange(len(frames)) / 50.0  # CartPole runs at 50 Hz
        dvs(frames[:2], times[:2])  # numba compile / cache load outside the timing
        t0 = time.perf_counter()
        ev = dvs(frames, times)
        dt = time.perf_counter() - t0
        out["cartpole"] = {"frames": int(len(frames)), "shape": list(frames.shape[1:]),
                           "events": int(ev.size), "events_per_s": ev.size / dt,
                           "frames_per_s": len(frames) / dt}
    img = np.zeros((28, 28), np.uint8)
    img[5:23, 10:18] = 255
    sac = Saccades()
    lum, times = render(img, sac.config)
    t0 = time.perf_counter()
    total = 0
    for k in range(50):
        total += sac(img, seed=k).size
    dt = time.perf_counter() - t0
    out["saccade"] = {"recordings_per_s": 50 / dt, "events_per_s": total / dt,
                      "frames_per_recording": int(len(times))}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--frames", type=int, default=100)
    args = ap.parse_args()
    root = os.environ.get("NEURALBRAIN_DATA")
    if not root:
        raise SystemExit("set NEURALBRAIN_DATA to the data root")
    files = sorted(Path(root).glob("nmnist/Train/*/*.bin")) + sorted(
        Path(root).glob("nmnist/Test/*/*.bin"))
    if not files:
        raise SystemExit(f"no N-MNIST files under {root}/nmnist")
    io = bench_readers(files, args.repeats)
    print(f"N-MNIST read, {io['files']} files, {io['events']:,} events, best of "
          f"{args.repeats}, 1 thread:")
    print(f"  ours  {io['ours_events_per_s']:.3g} events/s")
    print(f"  tonic {io['tonic_events_per_s']:.3g} events/s")
    print(f"  ratio ours/tonic {io['ratio']:.2f}")
    dvs = bench_dvs(args.frames)
    if "cartpole" in dvs:
        c = dvs["cartpole"]
        print(f"DVS on {c['frames']} CartPole frames {c['shape']}: {c['events']:,} events, "
              f"{c['events_per_s']:.3g} events/s, {c['frames_per_s']:.1f} frames/s")
    s = dvs["saccade"]
    print(f"saccade emulator: {s['recordings_per_s']:.1f} recordings/s "
          f"({s['events_per_s']:.3g} events/s, {s['frames_per_recording']} frames each)")
    figures = {
        "ours_events_per_s": round(io["ours_events_per_s"]),
        "tonic_events_per_s": round(io["tonic_events_per_s"]),
        "ratio": round(io["ratio"], 3),
        "files": io["files"],
        "events": io["events"],
        "threads": 1,
        "dvs_cartpole_events_per_s": round(dvs["cartpole"]["events_per_s"])
        if "cartpole" in dvs else None,
        "dvs_cartpole_frames_per_s": round(dvs["cartpole"]["frames_per_s"], 1)
        if "cartpole" in dvs else None,
        "saccade_recordings_per_s": round(s["recordings_per_s"], 1),
        "saccade_events_per_s": round(s["events_per_s"]),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

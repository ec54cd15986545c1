"""LSM reservoir throughput: our ``cpu`` backend (numba, event driven) against Brian2.

Both simulate the paper's N-MNIST reservoir (256 inputs, 200 LIF neurons, 50 steps, decay 0.9,
threshold 5.0) on the same weights and the same binned recordings (real N-MNIST from
``$NEURALBRAIN_DATA``; without it, emulated digits), the spikes are checked to be identical,
and samples/s are printed for both. Brian2 is used the way it is fastest: all samples in one
``run()`` laid end to end in time (a reset between samples), in runtime mode with Cython code
generation and with the C++ standalone device (the binary re-run without recompiling); compile
times reported separately. ``ratio_vs_best`` compares with the faster of the two. Ours runs on 1 thread (the
figure to compare); the 2-thread figure (two batches on two threads, the kernel releases the
GIL) is printed beside it.

    OMP_NUM_THREADS=1 python benchmarks/bench_lsm.py [--samples 500] [--brian2-target cython]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neuralbrain.hardware import make_backend  # noqa: E402
from neuralbrain.hardware.brian2_backend import Config as Brian2Config  # noqa: E402
from neuralbrain.hardware.brian2_backend import simulate  # noqa: E402
from neuralbrain.memory import lsm, tasks  # noqa: E402


def load_inputs(n: int) -> tuple[np.ndarray, str]:
    root = os.environ.get("NEURALBRAIN_DATA")
    vision = tasks.VisionData(max_samples=n)
    if root and (Path(root) / "nmnist").is_dir():
        x, _, source = tasks.nmnist(Path(root), "all", vision)
        return x, source
    from neuralbrain.sensing.datasets import EmulatedNMNIST, embedded_digits

    images, labels = embedded_digits("all")
    ds = EmulatedNMNIST(images[:n], labels[:n])
    return np.stack([vision.binner(ds[i][0]) for i in range(len(ds))]), ds.source


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def standalone(x, w_in, w_rec, cfg: lsm.Config, repeats: int) -> tuple[np.ndarray, float, float]:
    """Brian2's C++ standalone device on the same network (``simulate``'s): (spikes, seconds
    per run of the built binary, compile-and-first-run seconds). Switches Brian2's device for
    the rest of the process, so it runs last."""
    import tempfile

    import brian2 as b2

    with tempfile.TemporaryDirectory() as build_dir:
        b2.set_device("cpp_standalone", directory=build_dir, build_on_run=True)
        t0 = time.perf_counter()
        spikes = simulate(x, w_in, w_rec, cfg.decay, cfg.threshold, "cython")
        first = time.perf_counter() - t0
        run = best_of(lambda: b2.device.run(with_output=False), repeats)
    return spikes, run, first


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--brian2-target", choices=("cython", "numpy"), default="cython")
    args = ap.parse_args()

    cfg = lsm.Config()  # the paper's N-MNIST reservoir
    w_in, w_rec = lsm.reservoir_weights(cfg, seed=0)
    x, source = load_inputs(args.samples)
    n = len(x)
    print(f"{n} recordings ({source}); reservoir {cfg.n_inputs}x{cfg.n_neurons}, "
          f"{x.shape[1]} steps", file=sys.stderr)

    cpu = make_backend("cpu")
    t0 = time.perf_counter()
    cpu.lif_reservoir(x[:2], w_in, w_rec, cfg.decay, cfg.threshold)  # numba compile / load
    ours_compile = time.perf_counter() - t0
    ours, _ = cpu.lif_reservoir(x, w_in, w_rec, cfg.decay, cfg.threshold)
    t1 = best_of(lambda: cpu.lif_reservoir(x, w_in, w_rec, cfg.decay, cfg.threshold),
                 args.repeats)
    halves = (x[: n // 2], x[n // 2:])
    with ThreadPoolExecutor(2) as pool:
        t2 = best_of(lambda: list(pool.map(
            lambda part: cpu.lif_reservoir(part, w_in, w_rec, cfg.decay, cfg.threshold), halves)),
            args.repeats)

    b2 = make_backend("brian2", Brian2Config(codegen_target=args.brian2_target, chunk_samples=n))
    # The first run generates and compiles code (Cython bakes array sizes into it, so the
    # warm-up uses the same shapes); the timed runs reuse the cached extension modules.
    t0 = time.perf_counter()
    theirs, _ = b2.lif_reservoir(x, w_in, w_rec, cfg.decay, cfg.threshold)
    first = time.perf_counter() - t0
    tb = best_of(lambda: b2.lif_reservoir(x, w_in, w_rec, cfg.decay, cfg.threshold),
                 max(1, args.repeats - 1))
    brian2_compile = max(0.0, first - tb)

    standalone_spikes, ts, ts_first = standalone(x, w_in, w_rec, cfg, max(1, args.repeats - 1))
    identical = bool(np.array_equal(ours, theirs) and np.array_equal(ours, standalone_spikes))
    best = max(n / tb, n / ts)
    result = {
        "samples": n,
        "mean_spikes_per_sample": float(ours.sum() / n),
        "spikes_identical": identical,
        "ours_samples_per_s": n / t1,
        "ours_2thread_samples_per_s": n / t2,
        "brian2_samples_per_s": n / tb,
        "ratio": (n / t1) / (n / tb),
        "brian2_standalone_samples_per_s": n / ts,
        "ratio_vs_best": (n / t1) / best,
        "brian2_standalone_compile_s": max(0.0, ts_first - ts),
        "ours_compile_s": ours_compile,
        "brian2_compile_s": brian2_compile,
        "brian2_target": args.brian2_target,
    }
    print(f"ours (cpu, numba, 1 thread): {n / t1:,.0f} samples/s; 2 threads: {n / t2:,.0f}; "
          f"brian2 ({args.brian2_target}, one run): {n / tb:,.0f} samples/s; ratio "
          f"{result['ratio']:.1f}x; brian2 C++ standalone: {n / ts:,.0f} samples/s, ratio "
          f"{result['ratio_vs_best']:.1f}x (vs the faster Brian2); spikes identical: {identical}",
          file=sys.stderr)
    print(json.dumps(result))
    if not identical:
        sys.exit(1)


if __name__ == "__main__":
    main()

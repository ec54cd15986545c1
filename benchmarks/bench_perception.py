"""In-sensor SNN perception: energy per step against the cpu, and DigitPick cube reading.

Peers measured in the same run: the same perception config on ``cpu`` (reference), on
``neuromorphic`` alone, and with its first layer ``in_sensor`` (+ ``neuromorphic``).

1. N-MNIST (real held-out recordings when ``$NEURALBRAIN_DATA/nmnist`` exists, else the
   embedded emulated digits): accuracy and energy per sample on each configuration.
2. DigitPick-v0 (``--scenes`` seeded scenes, 256 px overhead camera): every visible cube
   (not covered by another) is matched to the nearest detection; we report the fraction read
   correctly (overall, and for digits whose MNIST index the training never saw), missed cubes,
   extra detections, the world-xy localization error against ``info["cube_positions"]``,
   the fraction localized within the suction cup's reach (``--reach-m``, default 3 cm = half a
   cube: the tip must be over the top face) and the energy per perception step.
3. ``--overlap N`` (needs MNIST): does having trained on emulated recordings of an image help
   on new recordings of it? Fresh emulated recordings (noise seeds no training used) of N
   MNIST test images the training drew from (index < 5000) against N it never used.

Usage (1 thread):
    NEURALBRAIN_DATA=/work/shared/data OMP_NUM_THREADS=1 \\
        .venv/bin/python benchmarks/bench_perception.py --scenes 200
Ends with one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

CONFIGS = {
    "cpu": ("cpu", "cpu"),
    "neuromorphic": ("neuromorphic", "neuromorphic"),
    "in_sensor+neuromorphic": ("neuromorphic", "in_sensor"),
}
UNSEEN_FROM = 5000  # cube recordings for training use MNIST test digits with index < 5000


def _perception_config(path: Path):
    from neuralbrain.config import load_config

    return load_config(path).params.perception


def nmnist_energy(pcfg, n: int) -> dict:
    from dataclasses import replace

    from neuralbrain.sensing.perception import Perception
    from neuralbrain.sensing.snn.data import load_real, real_files
    from neuralbrain.sensing.snn.frames import EventCounts

    root = os.environ.get("NEURALBRAIN_DATA")
    tr = EventCounts(pcfg.snn.time_steps, (34, 34, 2), pcfg.window_us)
    if root and (Path(root) / "nmnist").is_dir():
        items = real_files(Path(root), "heldout")[:n]
        x, y = load_real(items, tr)
        source = "real N-MNIST held-out"
    else:
        from neuralbrain.sensing.datasets import NMNIST

        ds = NMNIST(split="test")
        x = np.stack([tr(ds[i][0]) for i in range(min(n, len(ds)))])
        y = np.asarray(ds.labels[: len(x)])
        source = ds.source
    out = {"source": source, "n": int(len(y))}
    for name, (backend, sensor) in CONFIGS.items():
        m = Perception(replace(pcfg, backend=backend, sensor_backend=sensor))
        m.reset(0)
        pred = np.concatenate([
            m.classify(x[i : i + 64].astype(np.float32)).argmax(1) for i in range(0, len(y), 64)
        ])
        out[name] = {
            "accuracy": float((pred == y).mean()),
            "energy_per_sample_j": m.ledger.total.energy_j / len(y),
            "latency_per_sample_s": m.ledger.total.latency_s / len(y),
        }
    return out


def digitpick(pcfg, scenes: int, reach_m: float) -> dict:
    from dataclasses import replace

    import gymnasium as gym

    from neuralbrain.sensing.perception import Perception

    env = gym.make("neuralbrain/DigitPick-v0", image_size=pcfg.sensor_width)
    modules = {
        name: Perception(replace(pcfg, backend=b, sensor_backend=s))
        for name, (b, s) in CONFIGS.items()
    }
    energy = {name: 0.0 for name in modules}
    n = correct = unseen_n = unseen_ok = missed = extra = 0
    errors: list[float] = []
    t0 = time.time()
    camera = modules["cpu"].camera
    size = (pcfg.sensor_width, pcfg.sensor_height, 2)
    for seed in range(scenes):
        obs, info = env.reset(seed=seed)
        # one event recording per scene, read by every configuration (what
        # ``Perception.step`` does with a frame, done once instead of three times)
        events = camera(obs["image"], seed=seed)
        results = {}
        for name, m in modules.items():
            m.reset(seed)
            results[name] = m.detect(events, info, size, camera.mean_offset_px())
            energy[name] += m.ledger.pending().energy_j
            m.ledger.drain()
        dets = results["in_sensor+neuromorphic"]
        covered = {int(i) for i in info["on_top_of"] if i >= 0}
        positions = np.asarray(info["cube_positions"])
        used: set[int] = set()
        for i, digit in enumerate(info["cube_digits"]):
            if i in covered:
                continue
            n += 1
            unseen = info["cube_samples"][i] >= UNSEEN_FROM
            unseen_n += unseen
            cand = [
                (np.hypot(*(np.asarray(w[:2]) - positions[i, :2])), j)
                for j, w in enumerate(d.world for d in dets) if w is not None and j not in used
            ]
            if not cand or min(cand)[0] > 0.06:
                missed += 1
                continue
            err, j = min(cand)
            used.add(j)
            errors.append(float(err))
            ok = dets[j].digit == digit
            correct += ok
            unseen_ok += ok and unseen
        extra += len(dets) - len(used)
    errs = np.asarray(errors) if errors else np.zeros(1)
    return {
        "scenes": scenes,
        "visible_cubes": n,
        "digit_accuracy": correct / max(n, 1),
        "digit_accuracy_unseen_digits": unseen_ok / max(unseen_n, 1),
        "unseen_cubes": unseen_n,
        "missed": missed,
        "extra_detections": extra,
        "loc_error_mean_m": float(errs.mean()),
        "loc_error_p95_m": float(np.percentile(errs, 95)),
        "loc_error_max_m": float(errs.max()),
        "within_reach": float((errs <= reach_m).mean()),
        "energy_per_step_j": {k: v / scenes for k, v in energy.items()},
        "seconds": round(time.time() - t0, 1),
    }


def pick_check(pcfg, episodes: int, max_steps: int = 400) -> dict:
    """Closed loop: pick the target cube at the position perception reports, place it in the
    tray with the IK skills, and count env successes; the same seeds with the oracle's
    position give the upper bound. Scenes whose target is under another cube are skipped
    (unstacking needs stack perception, which this module does not provide). The target's
    digit is taken from ``info["target_digit"]`` in place of an instruction parser."""
    import gymnasium as gym

    from neuralbrain.control.skills import SceneFacts, SkillConfig, make_skill
    from neuralbrain.sensing.perception import Perception

    env = gym.make("neuralbrain/DigitPick-v0", image_size=pcfg.sensor_width)
    m = Perception(pcfg)
    tried = ok = oracle_ok = no_read = 0
    seed = 0
    while tried < episodes and seed < 10 * episodes:
        seed += 1
        obs, info = env.reset(seed=seed)
        target = int(info["target_cube"])
        if any(int(s) == target for s in info["on_top_of"]):
            continue
        tried += 1
        m.reset(seed)
        dets = [d for d in m.step({"obs": obs, "info": info})["detections"].cubes
                if d.digit == int(info["target_digit"]) and d.world is not None]
        if not dets:
            no_read += 1
        for use_perception in (True, False):
            if use_perception and not dets:
                continue
            obs, info = env.reset(seed=seed)
            pos = np.array(info["cube_positions"], dtype=np.float64)
            if use_perception:
                x, y, z = max(dets, key=lambda d: d.confidence).world
                pos[target] = (x, y, z - info["workspace"].half)
            facts = SceneFacts(cube_positions=pos, tray_position=np.asarray(info["tray_position"]),
                               workspace=info["workspace"])
            success = False
            for call in (f"pick(cube_{target})", "place(tray)"):
                if call == "place(tray)":
                    facts = SceneFacts.from_info(info)
                skill = make_skill(call, facts, SkillConfig(), np.asarray(obs["proprio"])[7:9])
                for _ in range(max_steps):
                    obs, _, terminated, truncated, info = env.step(skill.step(obs["proprio"]))
                    success = success or bool(info["is_success"])
                    if skill.done or skill.failed or terminated or truncated:
                        break
                if skill.failed:
                    break
            if use_perception:
                ok += success
            else:
                oracle_ok += success
    return {"episodes": tried, "success_with_perception": ok / max(tried, 1),
            "success_with_oracle_positions": oracle_ok / max(tried, 1),
            "target_digit_not_read": no_read}


def overlap_check(pcfg, n: int) -> dict:
    from neuralbrain.sensing.datasets import load_mnist
    from neuralbrain.sensing.perception import Perception
    from neuralbrain.sensing.snn.data import emulate
    from neuralbrain.sensing.snn.task import event_counts

    module = Perception(replace(pcfg, backend="cpu", sensor_backend="cpu"))
    images, labels = load_mnist(None, "test")
    rng = np.random.default_rng(777)
    out = {}
    for name, lo, hi in [("trained_on_images", 0, UNSEEN_FROM),
                         ("never_trained_images", UNSEEN_FROM, len(labels))]:
        pick = rng.choice(np.arange(lo, hi), n, replace=False)
        # noise seeds from 900000 on: training recordings use seeds below 10,000
        x, y = emulate(images[pick], labels[pick], event_counts(pcfg.snn, pcfg), 900000 + lo)
        pred = np.concatenate([module.classify(x[i:i + 100].astype(np.float32)).argmax(1)
                               for i in range(0, n, 100)])
        out[name] = float(np.mean(pred == y))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=Path("agents/configs/insensor_nmnist.toml"))
    ap.add_argument("--checkpoint", type=Path, required=True,
                    help="output of `neuralbrain train agents/configs/insensor_nmnist.toml --out CK`")
    ap.add_argument("--nmnist", type=int, default=200, help="N-MNIST samples for the energy peer")
    ap.add_argument("--scenes", type=int, default=200, help="DigitPick scenes (0 = skip)")
    ap.add_argument("--reach-m", type=float, default=0.03)
    ap.add_argument("--pick", type=int, default=0, help="closed-loop pick episodes (0 = skip)")
    ap.add_argument("--overlap", type=int, default=0,
                    help="images per group for the training-overlap check (0 = skip)")
    args = ap.parse_args()
    pcfg = replace(_perception_config(args.config), weights=str(args.checkpoint / "snn.npz"))
    out: dict = {"nmnist": nmnist_energy(pcfg, args.nmnist)}
    e = out["nmnist"]
    out["energy_ratio_cpu_over_in_sensor"] = (
        e["cpu"]["energy_per_sample_j"] / e["in_sensor+neuromorphic"]["energy_per_sample_j"]
    )
    for name in CONFIGS:
        print(f"N-MNIST {name}: accuracy {e[name]['accuracy']:.4f}, "
              f"{e[name]['energy_per_sample_j'] * 1e6:.2f} uJ/sample")
    print(f"cpu / in_sensor+neuromorphic energy: {out['energy_ratio_cpu_over_in_sensor']:.2f}x")
    if args.scenes:
        d = digitpick(pcfg, args.scenes, args.reach_m)
        out["digitpick"] = d
        ep = d["energy_per_step_j"]
        out["digitpick_energy_ratio_cpu_over_in_sensor"] = ep["cpu"] / ep["in_sensor+neuromorphic"]
        print(f"DigitPick {d['scenes']} scenes, {d['visible_cubes']} visible cubes: digit "
              f"accuracy {d['digit_accuracy']:.4f} (unseen digits {d['digit_accuracy_unseen_digits']:.4f}),"
              f" missed {d['missed']}, extra {d['extra_detections']}, xy error mean "
              f"{d['loc_error_mean_m'] * 100:.2f} cm, max {d['loc_error_max_m'] * 100:.2f} cm")
        print(f"DigitPick energy per step cpu / in_sensor+neuromorphic: "
              f"{out['digitpick_energy_ratio_cpu_over_in_sensor']:.2f}x")
    if args.overlap:
        out["overlap"] = overlap_check(pcfg, args.overlap)
        print(f"fresh emulated recordings: {out['overlap']}")
    if args.pick:
        out["pick"] = pick_check(pcfg, args.pick)
        print(f"pick with perceived positions: {out['pick']}")
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()

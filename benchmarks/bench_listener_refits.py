"""What the listener's refits cost: one user's utterances through the ``listener`` module.

The ``listener`` trained by ``lsm_fsdd.toml`` refits its SVM readout every
``readout.self_train_every`` utterances (``memory.adaptation.UserStream``). This runs one
speaker's recordings through it, one episode each, as a user would speak them, and prints
the listener's energy per utterance by trace row (op / backend), what one refit costs
(energy and modelled latency as booked, and the host's wall time) and the refits' share of
the listener's energy. It prints no accuracy: the checkpoint was trained on every speaker
(takes 10-49), so this stream is not a new voice (the leave-one-speaker-out report's
``leave_one_speaker_out_stream`` is, and runs the same ``UserStream``).

    OMP_NUM_THREADS=1 NEURALBRAIN_DATA=... python benchmarks/bench_listener_refits.py --checkpoint CK
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neuralbrain.config import load_config  # noqa: E402
from neuralbrain.core import Trained  # noqa: E402
from neuralbrain.memory import tasks  # noqa: E402
from neuralbrain.memory.listener import Config, Listener  # noqa: E402
from neuralbrain.sensing.readers import read_wav  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, required=True, help="folder of a trained lsm_fsdd")
    ap.add_argument("--config", type=Path, default=ROOT / "agents/configs/lsm_fsdd.toml")
    ap.add_argument("--speaker", default="nicolas")
    ap.add_argument("--backend", default="rram", help="the listener's (reservoir's) backend")
    ap.add_argument("--set", nargs="*", default=[], help="task overrides, KEY=VALUE")
    args = ap.parse_args(argv)
    cfg = load_config(args.config, args.set)
    listener = Listener(Config(backend=args.backend), {}, Trained(cfg, args.checkpoint))
    folder = tasks.resolve_root(None) / "fsdd" / "recordings"
    paths = sorted(folder.glob(f"*_{args.speaker}_*.wav"),
                   key=lambda p: (int(p.stem.split("_")[2]), int(p.stem.split("_")[0])))
    if not paths:
        raise SystemExit(f"no recordings of speaker {args.speaker!r} in {folder}")
    per_row: dict[str, float] = defaultdict(float)
    refit_j, refit_s, refit_wall = [], [], []
    for path in paths:  # take by take, every digit of a take before the next take
        listener.reset(0)
        audio = read_wav(path)[1]
        t0 = time.perf_counter()
        listener.step({"obs": {"audio": audio}})
        wall = time.perf_counter() - t0
        rows = listener.ledger.drain()
        for b in rows:
            per_row[f"{b.op} / {b.backend}"] += b.cost.energy_j
        fit = [b for b in rows if b.op in ("readout_fit", "svm_place")]
        if fit:  # this utterance's svm row also holds the ranking of those heard so far
            refit_j.append(sum(b.cost.energy_j for b in fit))
            refit_s.append(sum(b.cost.latency_s for b in fit))
            refit_wall.append(wall)
    n = len(paths)
    total = sum(per_row.values())
    fits = per_row.get("readout_fit / cpu", 0.0) + sum(
        v for k, v in per_row.items() if k.startswith("svm_place"))
    return {"speaker": args.speaker, "utterances": n, "refits": listener.stream.refits,
            "self_train_every": cfg.params.readout.self_train_every,
            "energy_j_per_utterance_by_row": {k: v / n for k, v in sorted(per_row.items())},
            "energy_j_per_utterance": total / n,
            "refit_energy_j": refit_j, "refit_modelled_latency_s": refit_s,
            "refit_utterance_wall_s": [round(w, 2) for w in refit_wall],
            "refit_share_of_energy (fit and placement; the ranking is in the svm row)":
                fits / total if total else 0.0}


if __name__ == "__main__":
    from neuralbrain.errors import Error

    try:
        print(json.dumps(main(), indent=1))
    except Error as err:  # a bad checkpoint, config or data root: its one line, no traceback
        raise SystemExit(f"bench_listener_refits: {err}") from None

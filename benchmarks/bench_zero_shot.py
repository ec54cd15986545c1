"""Zero-shot audio -> image retrieval on every held-out pair of digits, not only 8 and 9.

With two unseen digits a retrieval is a two-way choice, and one pair says little about a
method: which of two unseen digits lands where can be luck. This holds out each of the 45
pairs in turn (the other eight digits are the seen ones), and reports top-1 retrieval of the
pair's spoken recordings among its image prototypes:

- ``names``: through the digits' rendered names (``neuralbrain.memory.names``), anchors in
  the reservoir feature space, centred per domain with the *seen* digits' real recordings;
- ``contrastive`` (with ``--contrastive``; ~30 s per pair): the paper's method, projections
  trained on the seen pairs and the audio embedding matched to the image prototypes directly.

Queries are the ``--split`` recordings (FSDD takes 0-4 and held-out N-MNIST by default);
nothing of a held-out pair is used before it is scored. Features come from the config's
reservoirs (``--set reservoir.backend=cpu audio_reservoir.backend=cpu`` for ideal weights).

    OMP_NUM_THREADS=1 NEURALBRAIN_DATA=... python benchmarks/bench_zero_shot.py [--contrastive]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neuralbrain.config import load_config  # noqa: E402
from neuralbrain.core import module_seed  # noqa: E402
from neuralbrain.memory import names, projection, tasks  # noqa: E402
from neuralbrain.memory.lsm_tasks import LsmZeroShot  # noqa: E402


def named_top1(pair, fa, ya, fi, yi, seen_fa, seen_fi, anchors, temperature) -> float:
    audio_anchors, image_anchors = anchors
    score = projection.through_names(audio_anchors[list(pair)], image_anchors[list(pair)],
                                     temperature)
    ua, ui = np.isin(ya, pair), np.isin(yi, pair)
    qa = names.centred(fa[ua], names.domain_mean(seen_fa))
    gi = names.centred(fi[ui], names.domain_mean(seen_fi))
    return projection.retrieval_top1(qa, ya[ua], gi, yi[ui], score=score)


def contrastive_top1(pair, cfg, train, test) -> float:
    fi, yi, fa, ya = train
    si, sa = ~np.isin(yi, pair), ~np.isin(ya, pair)
    pi, pa, _ = projection.train_projections(cfg.params.projection, fi[si], yi[si], fa[sa],
                                             ya[sa], seed=module_seed(cfg.seed, "projection"))
    fi, yi, fa, ya = test
    ua, ui = np.isin(ya, pair), np.isin(yi, pair)
    return projection.retrieval_top1(pa.embed(fa[ua]), ya[ua], pi.embed(fi[ui]), yi[ui])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="agents/configs/lsm_zeroshot.toml")
    ap.add_argument("--set", nargs="*", default=[], help="config overrides, key=value")
    ap.add_argument("--split", default="test", choices=["train", "test"])
    ap.add_argument("--contrastive", action="store_true", help="also the paper's method")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    cfg = load_config(args.config, args.set)
    root = tasks.resolve_root(None)
    fi_tr, yi_tr, fa_tr, ya_tr, _ = LsmZeroShot.split_features(cfg, root, "train")
    test = (LsmZeroShot.split_features(cfg, root, args.split)[:4] if args.split == "test"
            else (fi_tr, yi_tr, fa_tr, ya_tr))
    fi, yi, fa, ya = test
    rfa, rya, rfi, ryi = LsmZeroShot.rendered_names(cfg)
    anchors = (names.anchors(rfa, rya)[1], names.anchors(rfi, ryi)[1])  # rows = digits 0-9

    rows = []
    print(f"{'pair':>5} {'queries':>7} {'names':>6}" + (" contrastive" if args.contrastive else ""))
    for pair in itertools.combinations(range(10), 2):
        seen_fa, seen_fi = fa_tr[~np.isin(ya_tr, pair)], fi_tr[~np.isin(yi_tr, pair)]
        row = {"pair": list(pair), "n": int(np.isin(ya, pair).sum()),
               "names": named_top1(pair, fa, ya, fi, yi, seen_fa, seen_fi, anchors,
                                   cfg.params.names.temperature)}
        if args.contrastive:
            row["contrastive"] = contrastive_top1(pair, cfg, (fi_tr, yi_tr, fa_tr, ya_tr), test)
        rows.append(row)
        print(f"{pair[0]}/{pair[1]:<3} {row['n']:>7} {row['names']:>6.3f}"
              + (f" {row['contrastive']:>11.3f}" if args.contrastive else ""), flush=True)

    summary = {"split": args.split, "pairs": len(rows)}
    for method in ("names", "contrastive") if args.contrastive else ("names",):
        v = np.array([r[method] for r in rows])
        summary[method] = {"mean": float(v.mean()), "median": float(np.median(v)),
                           "min": float(v.min()), "share_at_least_0.9": float((v >= 0.9).mean()),
                           "pair_8_9": float(v[[r["pair"] == [8, 9] for r in rows]][0])}
    print(json.dumps(summary, indent=1))
    if args.json:
        from neuralbrain.atomic import atomic_path

        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps({"summary": summary, "pairs": rows}, indent=1))


if __name__ == "__main__":
    main()

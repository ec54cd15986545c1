"""``neuralbrain data info``: what data is under a root, per dataset.

For each dataset folder found under ``--root`` (default ``$NEURALBRAIN_DATA``) it reports
the number of files, the number of events (event datasets) or audio samples, and the number
of samples per label. ``--json`` prints one JSON object. With nothing found it says so and
reports the embedded default the dataset API would serve instead.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from neuralbrain.errors import DataError


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="inspect the datasets under a data root")
    sub = data.add_subparsers(dest="data_command", required=True)
    info = sub.add_parser("info", help="files, events and samples per label of each dataset")
    info.add_argument("--root", type=Path, default=None,
                      help="data root (default: $NEURALBRAIN_DATA)")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(func=cmd_data_info)


def _per_label(labels) -> dict[str, int]:
    import numpy as np

    values, counts = np.unique(np.asarray(labels), return_counts=True)
    return {str(v): int(c) for v, c in zip(values, counts, strict=True)}


def _nmnist(root: Path) -> dict | None:
    from neuralbrain.sensing.datasets import NMNIST
    from neuralbrain.sensing.readers import read_nmnist

    if not (root / "nmnist").is_dir():
        return None
    out: dict = {"path": str(root / "nmnist"), "splits": {}}
    for split in ("train", "test"):
        try:
            ds = NMNIST(root=root, split=split)
        except DataError:
            continue
        events = sum(int(read_nmnist(f).size) for f in ds.files)
        out["splits"][split] = {"files": len(ds.files), "events": events,
                                "samples_per_label": _per_label(ds.labels)}
    if not out["splits"]:
        raise DataError(f"{root / 'nmnist'}: no Train/ or Test/ recordings")
    out["files"] = sum(s["files"] for s in out["splits"].values())
    out["events"] = sum(s["events"] for s in out["splits"].values())
    return out


def _mnist(root: Path) -> dict | None:
    from neuralbrain.sensing.datasets import load_mnist

    folder = root / "mnist"
    if not folder.is_dir():
        return None
    out: dict = {"path": str(folder), "files": len([p for p in folder.iterdir() if p.is_file()]),
                 "splits": {}}
    for split in ("train", "test"):
        try:
            images, labels = load_mnist(root, split)
        except DataError:
            continue
        out["splits"][split] = {"samples": int(labels.size), "image_shape": list(images.shape[1:]),
                                "samples_per_label": _per_label(labels)}
    return out


def _fsdd(root: Path) -> dict | None:
    from neuralbrain.sensing.datasets import FSDD
    from neuralbrain.sensing.readers import read_wav

    if not (root / "fsdd" / "recordings").is_dir():
        return None
    ds = FSDD(root, "all")
    n_audio = 0
    rates = set()
    for f in ds.files:
        rate, audio = read_wav(f)
        n_audio += int(audio.shape[0])
        rates.add(rate)
    test = FSDD(root, "test")
    return {"path": str(root / "fsdd"), "files": len(ds.files), "audio_samples": n_audio,
            "rate_hz": sorted(rates), "audio_s": round(n_audio / max(rates), 3),
            "speakers": sorted(set(ds.speakers)), "samples_per_label": _per_label(ds.labels),
            "splits": {"train": len(ds) - len(test), "test": len(test)}}


def _nas(root: Path) -> dict | None:
    import numpy as np

    from neuralbrain.sensing.aedat import infer_format, read_aedat

    folder = root / "nas_cochlea"
    if not folder.is_dir():
        return None
    files = {}
    for f in sorted(folder.glob("*.aedat")):
        ev = read_aedat(f)
        files[f.name] = {"events": int(ev.size), "channels": infer_format(f)["n_channels"],
                         "active_channels": int(np.unique(ev["x"]).size),
                         "ears": int(ev["y"].max()) + 1,
                         "duration_s": round(float(ev["t"][-1] - ev["t"][0]) * 1e-6, 4)}
    return {"path": str(folder), "files": len(files),
            "events": sum(v["events"] for v in files.values()), "recordings": files}


def _ntidigits(root: Path) -> dict | None:
    from neuralbrain.sensing.datasets import NTIDIGITS, _ntidigits_file

    path = _ntidigits_file(root)
    if path is None:
        return None
    out: dict = {"path": str(path), "files": 1, "splits": {}}
    for split in ("train", "test"):
        ds = NTIDIGITS(root=root, split=split, single_digits=False)
        events = sum(int(ds[i][0].size) for i in range(len(ds)))
        out["splits"][split] = {"samples": len(ds), "events": events,
                                "samples_per_label": _per_label(ds.labels)}
    return out


def data_info(root: Path | None) -> dict:
    """The report ``neuralbrain data info`` prints (see module docstring)."""
    if root is None:
        env = os.environ.get("NEURALBRAIN_DATA")
        root = Path(env) if env else None
    if root is not None and not root.is_dir():
        raise DataError(f"--root {str(root)!r} is not a directory: expected a data root")
    found: dict = {}
    if root is not None:
        for name, fn in (("nmnist", _nmnist), ("mnist", _mnist), ("fsdd", _fsdd),
                         ("nas_cochlea", _nas), ("ntidigits", _ntidigits)):
            rep = fn(root)
            if rep is not None:
                found[name] = rep
    report: dict = {"root": str(root) if root else None, "datasets": found}
    if "nmnist" not in found:
        from neuralbrain.sensing.datasets import EMBEDDED_SOURCE

        report["embedded_default"] = EMBEDDED_SOURCE
    return report


def cmd_data_info(args: argparse.Namespace) -> int:
    report = data_info(args.root)
    if args.json:
        print(json.dumps(report, sort_keys=True))
        return 0
    print(f"data root: {report['root']}")
    if not report["datasets"]:
        print("no datasets found")
    for name, rep in report["datasets"].items():
        events = rep.get("events")
        line = f"{name:12s} {rep['files']:6d} files"
        if events is not None:
            line += f"  {events:,} events"
        if "audio_s" in rep:
            line += f"  {rep['audio_s']:.0f} s of audio"
        print(line)
        labels = rep.get("samples_per_label")
        for split, srep in rep.get("splits", {}).items():
            if isinstance(srep, dict) and "samples_per_label" in srep:
                print(f"  {split:6s} per label: {srep['samples_per_label']}")
        if labels:
            print(f"  per label: {labels}")
    if "embedded_default" in report:
        print(f"no N-MNIST found; the dataset API serves: {report['embedded_default']}")
    return 0

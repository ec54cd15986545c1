"""``neuralbrain insensor report [--json]``: the ICASSP 2023 figures from our cost model."""

from __future__ import annotations

import argparse
import json


def cmd_report(args: argparse.Namespace) -> int:
    from neuralbrain.sensing.insensor_report import report

    result = report(spike_rate=args.spike_rate)
    if args.json:
        print(json.dumps(result, sort_keys=True))
        return 0
    paper = result["paper"]
    for key in ("bandwidth_reduction_min", "bandwidth_reduction_max", "energy_ratio"):
        ok = "ok" if result["within_10pct"][key] else "NOT within 10 %"
        print(
            f"{key}: ours {result[key]:.3g} ({result['config_for'][key]}), "
            f"paper {paper[key]:.3g} -> {ok}"
        )
    for c in result["configs"]:
        print(
            f"  {c['name']}: bandwidth x{c['bandwidth_reduction']:.1f}, energy "
            f"{c['conventional_total_j'] * 1e6:.1f} uJ -> {c['in_sensor_total_j'] * 1e6:.1f} uJ "
            f"(x{c['energy_ratio']:.2f})"
        )
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("insensor", help="in-sensor computing (P2M / ICASSP 2023) tools")
    sub = p.add_subparsers(dest="insensor_command", required=True, metavar="COMMAND")
    r = sub.add_parser("report", help="bandwidth and energy figures next to the paper's")
    r.add_argument("--json", action="store_true", help="print one JSON object")
    r.add_argument(
        "--spike-rate", type=float, default=0.1,
        help="average backbone spiking activity per time step (an assumption; default 0.1)",
    )
    r.set_defaults(func=cmd_report)

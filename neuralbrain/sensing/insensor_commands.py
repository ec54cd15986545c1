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
    print(f"paper: {result['paper_source']}")
    for key in ("bandwidth_reduction_min", "bandwidth_reduction_max", "energy_ratio"):
        ok = "within 10 %" if result["within_10pct"][key] else "NOT within 10 %"
        print(
            f"{key}: ours {result[key]:.3g} ({result['config_for'][key]}), "
            f"paper {paper[key]:.3g} -> {ok}"
        )
    ref = result["reference"]
    print("reference configuration (fixed in advance, not chosen by its result):")
    for name, why in ref["why"].items():
        print(f"  {name}: {why}")
    for side in ("conventional", "in_sensor"):
        parts = ", ".join(f"{k[:-2]} {v * 1e6:.1f} uJ" for k, v in ref[side].items())
        print(f"  {side}: {ref[side + '_total_j'] * 1e6:.1f} uJ ({parts})")
    lo, hi = result["energy_ratio_range"]
    print(f"sensitivity (backbone x in-pixel layer x spike rate, not a reproduction): "
          f"x{lo:.2f} .. x{hi:.2f}")
    for row in result["sensitivity"]:
        print(f"  {row['backbone']}/{row['in_pixel']} r={row['spike_rate']:g}: "
              f"x{row['energy_ratio']:.2f}")
    for backbone, rate in result["implied_spike_rate_for_paper_ratio"].items():
        shown = "none in (0, 1]" if rate is None else f"{rate:.3f}"
        print(f"spike rate our model would need for x{paper['energy_ratio']} with {backbone}: "
              f"{shown} (diagnostic, not used)")
    c = result["consistency_with_abstract"]
    print(
        f"conventional energy shares: first-layer MACs "
        f"{c['conventional_first_layer_share'] * 100:.0f} %, link "
        f"{c['conventional_link_share'] * 100:.0f} %, sensor "
        f"{c['conventional_sensor_share'] * 100:.0f} % (abstract: {c['abstract_says']})"
    )
    print("missing to reproduce the energy ratio:")
    for item in result["missing"]:
        print(f"  - {item}")
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("insensor", help="in-sensor computing (P2M / ICASSP 2023) tools")
    sub = p.add_subparsers(dest="insensor_command", required=True, metavar="COMMAND")
    r = sub.add_parser("report", help="bandwidth and energy figures next to the paper's")
    r.add_argument("--json", action="store_true", help="print one JSON object")
    r.add_argument(
        "--spike-rate", type=float, default=None,
        help="override the reference's assumed backbone spiking activity per time step "
        "(default: the reference's 0.1, an assumption)",
    )
    r.set_defaults(func=cmd_report)

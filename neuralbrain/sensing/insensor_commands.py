"""``neuralbrain insensor report [--json] [--checkpoint CK]``: the group's figures from our
cost model, every constant with its source or its assumption range.

Sections of the report: the ICASSP 2023 figures (``insensor_report``); ``constants`` (each
in-sensor and link constant: source, or ASSUMPTION and range); ``icassp_restated`` (the 2.32x
comparison over those ranges, ``p2m_reproduction``); ``p2m_reproduction`` (Neuromorphic-P2M's
~2x backend energy: the paper's figure, why it cannot be reproduced offline, and with
``--checkpoint`` our N-MNIST analogue); ``link_sensitivity`` (with ``--checkpoint``: the
cpu / in-sensor ratio of the README's N-MNIST row as the link price and AER width vary,
``insensor_link``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = "insensor_nmnist"
DEFAULT_SAMPLES = 200  # the README row's N-MNIST energy peer (bench_perception --nmnist)


def build_report(
    spike_rate: float | None = None,
    checkpoint: str | Path | None = None,
    config: str | Path = DEFAULT_CONFIG,
    samples: int = DEFAULT_SAMPLES,
) -> dict[str, Any]:
    """Every section of ``neuralbrain insensor report`` as one dict (see the module docstring).

    ``checkpoint``: a directory holding the trained ``snn.npz`` of ``config`` (``neuralbrain
    train ... --out CK``); without it nothing is measured and ``link_sensitivity`` is None.
    """
    from neuralbrain.hardware.in_sensor import CONSTANTS
    from neuralbrain.sensing.insensor_link import LINK_CONSTANTS, link_sensitivity, measure
    from neuralbrain.sensing.insensor_report import report
    from neuralbrain.sensing.p2m_reproduction import icassp_restated, neuromorphic_p2m

    result = report(spike_rate=spike_rate)
    result["constants"] = {k: c.as_dict() for k, c in {**CONSTANTS, **LINK_CONSTANTS}.items()}
    measured = None
    if checkpoint is not None:
        measured = _measure(Path(checkpoint), config, samples, measure)
    result["icassp_restated"] = icassp_restated()
    result["p2m_reproduction"] = neuromorphic_p2m(measured)
    result["link_sensitivity"] = link_sensitivity(measured) if measured else None
    if measured:
        result["link_sensitivity"]["samples_source"] = measured["source"]
        result["link_sensitivity"]["samples"] = measured["samples"]
    else:
        result["link_sensitivity_note"] = (
            "needs the trained SNN: `neuralbrain insensor report --json --checkpoint CK`"
        )
    return result


def _measure(ck: Path, config: str | Path, samples: int, measure: Any) -> dict[str, Any]:
    from neuralbrain.config import load_config
    from neuralbrain.errors import CheckpointError
    from neuralbrain.sensing.insensor_link import samples as load_samples
    from neuralbrain.sensing.perception import load_weights

    pcfg = getattr(load_config(config).params, "perception", None)
    if pcfg is None:
        raise CheckpointError(f"config {str(config)!r} has no [perception] section: expected "
                              "the in-sensor N-MNIST task (insensor_nmnist)")
    params = load_weights(ck / "snn.npz" if ck.is_dir() else ck, pcfg.snn)
    x, source = load_samples(pcfg, samples)
    out = measure(pcfg, params, x)
    out["source"] = source
    return out


def cmd_report(args: argparse.Namespace) -> int:
    result = build_report(args.spike_rate, args.checkpoint, args.config, args.samples)
    if args.json:
        print(json.dumps(result, sort_keys=True))
        return 0
    _print_constants(result["constants"])
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
    _print_restated(result["icassp_restated"])
    _print_p2m(result["p2m_reproduction"])
    _print_link(result["link_sensitivity"], result.get("link_sensitivity_note"))
    return 0


def _print_constants(constants: dict[str, dict[str, Any]]) -> None:
    print("constants (source, or ASSUMPTION with the range the report sweeps):")
    for name, c in constants.items():
        span = f" [{c['range'][0]:.4g} .. {c['range'][1]:.4g}]" if c["assumption"] else ""
        print(f"  {name} = {c['value']:.4g} {c['unit']}{span}: {c['source']}")


def _print_restated(r: dict[str, Any]) -> None:
    lo, hi = r["range_over_assumptions"]
    print(f"2.32x restated ({r['reference']}): ours {r['ours']:.3g}, paper {r['paper']:.3g}; "
          f"over the constants' assumption ranges x{lo:.2f} .. x{hi:.2f}")


def _print_p2m(r: dict[str, Any]) -> None:
    p = r["paper"]
    print(f"Neuromorphic-P2M: paper ~{p['backend_energy_ratio']:g}x lower backend energy, "
          f"{p['front_end']} front-end ({p['dataset']}); reproduced: {r['reproduced']}")
    for item in r["missing"]:
        print(f"  - {item}")
    a = r["analogue"]
    if a is None:
        print(f"  analogue: {r.get('analogue_note', 'not measured')}")
        return
    front = "n/a" if a["front_end_ratio"] is None else f"{a['front_end_ratio']:.2f}"
    print(f"  analogue on our N-MNIST SNN ({a['samples']} samples, not a reproduction): "
          f"backend ratio {a['backend_energy_ratio']:.2f} (gap {a['gap_to_paper'] * 100:+.0f} "
          f"% to the paper's ~2x), front-end in-pixel / DVS {front} (similar within 10 %: "
          f"{a['front_end_similar']})")


def _print_link(r: dict[str, Any] | None, note: str | None) -> None:
    if r is None:
        print(f"link sensitivity: {note}")
        return
    print(f"link sensitivity ({r['samples']} {r['samples_source']}): measured cpu / in-sensor "
          f"x{r['measured_ratio']:.2f}, with a free link x{r['ratio_free_link']:.2f} "
          f"(the link carries {r['link_carries'] * 100:.0f} % of the ratio above 1)")
    lo, hi = r["ratio_range_over_link_assumptions"]
    share = r["link_share_of_energy"]
    print(f"  link share of the energy: cpu {share['cpu'] * 100:.0f} %, in-sensor "
          f"{share['in_sensor'] * 100:.0f} %; ratio over the link assumption ranges "
          f"x{lo:.2f} .. x{hi:.2f}")
    a = r["in_sensor_address_coded"]
    if a["ratio"] is not None:
        print(f"  in-pixel spikes as {a['bits_per_spike']}-bit addresses instead of a bitmap: "
              f"{a['link_bits_per_sample']:.0f} bits/sample, x{a['ratio']:.2f} (not booked)")
    print("  by e_bit (pJ/bit): " + ", ".join(
        f"{k}: x{v:.2f}" for k, v in r["by_e_bit_pj"].items()))
    print("  by AER word (bits): " + ", ".join(
        f"{k}: x{v:.2f}" for k, v in r["by_aer_bits"].items()))


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
    r.add_argument("--checkpoint", type=Path, default=None,
                   help="trained SNN (`neuralbrain train agents/configs/insensor_nmnist.toml "
                   "--out CK`): measures link_sensitivity and the Neuromorphic-P2M analogue")
    r.add_argument("--config", default=DEFAULT_CONFIG,
                   help=f"task config of that checkpoint (default {DEFAULT_CONFIG})")
    r.add_argument("--samples", type=int, default=DEFAULT_SAMPLES,
                   help=f"N-MNIST held-out samples to measure (default {DEFAULT_SAMPLES})")
    r.set_defaults(func=cmd_report)

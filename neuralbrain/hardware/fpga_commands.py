"""``neuralbrain fpga report``: the fixed-point SVM on the modelled Zynq, beside Afifi et al. 2019.

Protocol (deterministic, nothing fitted to the paper's outputs):

1. Data: scikit-learn's embedded Wisconsin breast-cancer set (569 cases, 30 features), split
   stratified 60 / 20 / 20 into train / validation / test (``random_state=0``).
2. Settings on validation only: RBF kernel (the assumed design), ``C`` in ``C_GRID`` and
   ``gamma = m / d`` for ``m`` in ``GAMMA_MULT`` (``1 / d`` is scikit-learn's "scale" on
   standardized features); the best float validation accuracy wins, ties to the first in grid
   order. Trained on the training split only.
3. Width: every operand ``W`` bits for ``W`` in the sweep, integer bits sized from the model
   (``fpga.sized_config``); the chosen width is the smallest whose fixed-point validation
   accuracy is at least the float one (no validation case lost). Test accuracy is reported
   once, for float and for every width.
4. Cost at the chosen width: ``fpga.svm_cycles`` / ``resources`` / ``power_w`` and the ARM
   model ``arm_seconds`` for the trained model's support vectors and features.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from neuralbrain.errors import ConfigError

C_GRID = (0.1, 1.0, 10.0, 100.0)
GAMMA_MULT = (0.25, 0.5, 1.0, 2.0, 4.0)
PAPER = {"accuracy": 0.979, "speedup": 21.0, "resource_fraction": 0.03, "power_w": 1.69,
         "source": "Afifi, GholamHosseini, Sinha, Microprocessors and Microsystems 65 (2019) "
         "57-68, arXiv 2109.14840, abstract (the only part readable here): 'classification "
         "accuracy of 97.9%, ... hardware acceleration rate of 21 with only 3% resources "
         "utilization and 1.69W for power consumption'; accuracy on their melanoma images"}


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("fpga", help="the FPGA (Zynq, HLS) fixed-point SVM model")
    sub = p.add_subparsers(dest="fpga_command", required=True)
    r = sub.add_parser("report", help="accuracy, latency, speed-up, resources and power of the "
                       "fixed-point SVM, beside the paper's figures, with a width sweep")
    r.add_argument("--json", action="store_true", help="print one JSON object")
    r.add_argument("--widths", default="8..24",
                   help="operand widths to sweep: 'A..B' or 'A,B,C' (bits, 4..32)")
    r.set_defaults(func=cmd_report)


def parse_widths(text: str) -> list[int]:
    """``'8..24'`` -> [8, ..., 24]; ``'8,12,16'`` -> [8, 12, 16]; anything else: ConfigError."""
    try:
        if ".." in text:
            lo, hi = (int(t) for t in text.split(".."))
            widths = list(range(lo, hi + 1))
        else:
            widths = [int(t) for t in text.split(",")]
    except ValueError:
        raise ConfigError(f"--widths {text!r}: expected 'A..B' or 'A,B,C' with integer bits") \
            from None
    if not widths or any(not 4 <= w <= 32 for w in widths):
        raise ConfigError(f"--widths {text!r}: expected a non-empty range of widths in 4..32")
    return sorted(set(widths))


def _splits(seed: int = 0) -> tuple[np.ndarray, ...]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    x, y = load_breast_cancer(return_X_y=True)
    x_tr, x_rest, y_tr, y_rest = train_test_split(x, y, test_size=0.4, stratify=y,
                                                  random_state=seed)
    x_va, x_te, y_va, y_te = train_test_split(x_rest, y_rest, test_size=0.5, stratify=y_rest,
                                              random_state=seed)
    return x_tr, y_tr, x_va, y_va, x_te, y_te


def build_report(widths: list[int]) -> dict[str, Any]:
    """The whole report as one JSON-able dict (module docstring)."""
    from neuralbrain.hardware import fpga
    from neuralbrain.memory.svm import Config, SvmClassifier, svm_decision_float, train_svm

    x_tr, y_tr, x_va, y_va, x_te, y_te = _splits()
    d = x_tr.shape[1]

    def float_acc(model: Any, x: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(model.vote(svm_decision_float(model, model.standardize(x))) == y))

    best = None
    for c in C_GRID:
        for m in GAMMA_MULT:
            model = train_svm(x_tr, y_tr, Config(kernel="rbf", c=c, gamma=m / d))
            acc = float_acc(model, x_va, y_va)
            if best is None or acc > best[0]:
                best = (acc, c, m, model)
    assert best is not None
    val_float, c_best, m_best, model = best
    test_float = float_acc(model, x_te, y_te)
    in_max = float(np.abs(model.standardize(x_tr)).max())
    base = fpga.FpgaConfig()
    n_sv = len(model.support)

    def at_width(w: int) -> dict[str, Any]:
        cfg = fpga.sized_config(base, w, "rbf", model.support, model.coef, model.intercept,
                                in_max)
        row: dict[str, Any] = {"width": w, "formats": {
            k: str(getattr(cfg, k)) for k in ("input_fmt", "coef_fmt", "acc_fmt", "kernel_fmt")}}
        try:
            clf = SvmClassifier(model, fpga.FpgaBackend(cfg))
        except fpga.FixedOverflowError as err:
            return {**row, "error": str(err)}
        res = fpga.resources(cfg, n_sv, d)
        return {**row, "val_accuracy": clf.accuracy(x_va, y_va),
                "test_accuracy": clf.accuracy(x_te, y_te),
                "exp_table_max_abs_error": fpga.exp_table_error(cfg.kernel_fmt, cfg.exp_addr_bits,
                                                                cfg.exp_z_max),
                "resources": {k: res[k] for k in ("dsp", "lut", "ff", "bram18")},
                "resource_fraction": res["resource_fraction"],
                "power_w": fpga.power_w(cfg, res), "_cfg": cfg}

    sweep = [at_width(w) for w in widths]
    ok = [r for r in sweep if "error" not in r and r["val_accuracy"] >= val_float]
    chosen = ok[0] if ok else max((r for r in sweep if "error" not in r),
                                  key=lambda r: r["val_accuracy"], default=None)
    if chosen is None:
        raise ConfigError(f"--widths {widths}: every width overflows the model (see the errors)")
    cfg = chosen["_cfg"]
    latency = fpga.svm_cycles(cfg, n_sv, d) / cfg.clock_hz
    arm = fpga.arm_seconds(cfg, n_sv, d)
    res = fpga.resources(cfg, n_sv, d)
    power = fpga.power_w(cfg, res)
    figures = {"speedup": arm / latency, "resource_fraction": res["resource_fraction"],
               "power_w": power}
    for r in sweep:
        r.pop("_cfg", None)
    # one assumption at a time moved within its stated range (shown, never used to choose)
    from dataclasses import replace

    sensitivity = {}
    for name, changes in (("unroll_5", {"unroll": 5}), ("unroll_1", {"unroll": 1}),
                          ("axi_setup_20", {"axi_setup_cycles": 20}),
                          ("axi_setup_500", {"axi_setup_cycles": 500}),
                          ("clock_200MHz", {"clock_hz": 200e6}),
                          ("arm_2_cycles_per_mac", {"arm_cycles_per_mac": 2.0}),
                          ("ps_power_1.2W", {"ps_power_w": 1.2})):
        alt = replace(cfg, **changes)
        alt_res = fpga.resources(alt, n_sv, d)
        sensitivity[name] = {
            "speedup": fpga.arm_seconds(alt, n_sv, d)
            / (fpga.svm_cycles(alt, n_sv, d) / alt.clock_hz),
            "resource_fraction": alt_res["resource_fraction"],
            "power_w": fpga.power_w(alt, alt_res)}
    return {
        "latency_s": latency, "arm_latency_s": arm, **figures,
        "energy_per_decision_j": power * latency,
        "accuracy": {"dataset": "sklearn breast_cancer (569 x 30), stratified 60/20/20 split, "
                     "random_state=0", "float_test": test_float,
                     "fixed_test": chosen["test_accuracy"], "float_val": val_float,
                     "fixed_val": chosen["val_accuracy"], "width": chosen["width"],
                     "fixed_minus_float_test_points": 100 * (chosen["test_accuracy"] - test_float)},
        "model": {"kernel": "rbf", "c": c_best, "gamma": m_best / d, "n_support": n_sv,
                  "n_features": d, "selected_on": "validation accuracy over C_GRID x GAMMA_MULT"},
        "resources": {k: res[k] for k in ("dsp", "lut", "ff", "bram18")},
        "resource_fractions": {k: res[f"{k}_fraction"] for k in ("dsp", "lut", "ff", "bram18")},
        "pipeline": {"cycles": fpga.svm_cycles(cfg, n_sv, d), "depth": fpga.pipeline_depth(cfg, d),
                     "ii": cfg.ii, "unroll": cfg.unroll or d, "clock_hz": cfg.clock_hz},
        "exp_table_max_abs_error": chosen["exp_table_max_abs_error"],
        "formats": chosen["formats"],
        "paper": PAPER,
        "ratio_to_paper": {k: figures[k] / PAPER[k] for k in figures},
        "within_25pct_of_paper": {k: bool(abs(figures[k] / PAPER[k] - 1) <= 0.25)
                                  for k in figures},
        "assumptions": fpga.ASSUMPTIONS,
        "sensitivity": sensitivity,
        "sweep": sweep,
    }


def cmd_report(args: argparse.Namespace) -> int:
    report = build_report(parse_widths(args.widths))
    if args.json:
        print(json.dumps(report))
        return 0
    p, a = report["paper"], report["accuracy"]
    print(f"fixed-point RBF SVM, {report['model']['n_support']} support vectors x "
          f"{report['model']['n_features']} features, width {a['width']} bits")
    print(f"  accuracy (test)  float {a['float_test']:.4f}  fixed {a['fixed_test']:.4f}   "
          f"paper {p['accuracy']} (melanoma)")
    print(f"  latency          {report['latency_s'] * 1e6:.2f} us "
          f"(ARM {report['arm_latency_s'] * 1e6:.2f} us)")
    for k in ("speedup", "resource_fraction", "power_w"):
        print(f"  {k:<16} {report[k]:.4g}   paper {p[k]}   ratio {report['ratio_to_paper'][k]:.2f}")
    print("  width  val    test   DSP  LUT   FF    BRAM18  frac    power_w")
    for r in report["sweep"]:
        if "error" in r:
            print(f"  {r['width']:>5}  overflow: {r['error']}")
            continue
        rs = r["resources"]
        print(f"  {r['width']:>5}  {r['val_accuracy']:.4f} {r['test_accuracy']:.4f} "
              f"{rs['dsp']:>4} {rs['lut']:>5} {rs['ff']:>5} {rs['bram18']:>6}  "
              f"{r['resource_fraction']:.4f}  {r['power_w']:.3f}")
    print("every design parameter is an assumption (the paper's body was not readable): "
          "see --json 'assumptions'")
    return 0

"""`neuralbrain insensor report`: figures derived from the cost model, with their configs."""

from __future__ import annotations

import argparse
import json

import pytest

from neuralbrain.errors import ConfigError, Error, UnknownNameError
from neuralbrain.hardware.in_sensor import InSensorConfig
from neuralbrain.sensing.insensor_commands import add_commands
from neuralbrain.sensing.insensor_report import (
    PAPER,
    REFERENCE,
    InPixelLayer,
    ReferenceConfig,
    energy_breakdown,
    implied_spike_rate,
    report,
    resnet18_macs,
    vgg16_macs,
)


def _run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def test_backbone_macs_match_the_published_counts():
    assert sum(vgg16_macs()) / 1e9 == pytest.approx(15.5, rel=0.01)  # VGG16: 15.5 GMACs
    assert sum(resnet18_macs()) / 1e9 == pytest.approx(1.82, rel=0.02)  # ResNet18: 1.8 GMACs


def test_energy_terms_follow_the_equations():
    e = energy_breakdown(InPixelLayer(4, 8, 1), "vgg16", spike_rate=0.1)
    cfg = InSensorConfig()
    n_raw = 224 * 224 * 3 * 4 / 3
    assert e["conventional"]["link_j"] == pytest.approx(n_raw * 12 * cfg.e_bit_pj * 1e-12)
    assert e["in_sensor"]["link_j"] == pytest.approx(56 * 56 * 8 * cfg.e_bit_pj * 1e-12)
    assert e["conventional"]["first_layer_j"] == pytest.approx(vgg16_macs()[0] * 4.6e-12)
    assert e["in_sensor"]["backbone_j"] == pytest.approx(sum(vgg16_macs()[1:]) * 0.1 * 0.9e-12)
    assert e["energy_ratio"] == pytest.approx(e["conventional_total_j"] / e["in_sensor_total_j"])
    # more backbone activity dilutes the front-end saving
    assert energy_breakdown(InPixelLayer(4, 8, 1), "vgg16", spike_rate=0.3)["energy_ratio"] < (
        e["energy_ratio"]
    )


def test_headline_is_the_declared_reference_not_a_selection():
    r = report()
    ref = energy_breakdown(REFERENCE.in_pixel, REFERENCE.backbone, spike_rate=REFERENCE.spike_rate)
    assert r["energy_ratio"] == pytest.approx(ref["energy_ratio"])
    assert r["reference"]["backbone"] == REFERENCE.backbone
    assert set(r["reference"]["why"]) >= {"backbone", "in_pixel", "spike_rate", "downstream"}
    # the sensitivity table spans every other configuration and contains the reference
    lo, hi = r["energy_ratio_range"]
    assert lo <= r["energy_ratio"] <= hi
    assert len(r["sensitivity"]) == 12
    # the verdict is computed from the numbers, both ways
    assert r["within_10pct"]["energy_ratio"] == (
        abs(r["energy_ratio"] - PAPER["energy_ratio"]) / PAPER["energy_ratio"] <= 0.10
    )
    assert r["reproduced"] == all(r["within_10pct"].values())
    assert r["missing"]


def test_implied_spike_rate_solves_the_model():
    layer = InPixelLayer(4, 8, 1)
    for backbone in ("vgg16", "resnet18"):
        rate = implied_spike_rate(layer, backbone, 2.32)
        assert rate is not None and 0 < rate <= 1
        got = energy_breakdown(layer, backbone, spike_rate=rate)["energy_ratio"]
        assert got == pytest.approx(2.32, rel=1e-9)
    # a ratio above what the front end alone can give has no solution
    assert implied_spike_rate(layer, "vgg16", 1e6) is None


def test_override_spike_rate_is_reported_as_the_assumption():
    r = report(spike_rate=0.2)
    assert r["assumptions"]["backbone_spike_rate"] == 0.2
    assert r["energy_ratio"] == pytest.approx(
        energy_breakdown(REFERENCE.in_pixel, REFERENCE.backbone, spike_rate=0.2)["energy_ratio"]
    )
    assert report() == report()  # deterministic


def test_bad_input_is_a_clear_error():
    with pytest.raises(UnknownNameError, match="alexnet"):
        energy_breakdown(InPixelLayer(4, 8, 1), "alexnet")
    for rate in (0, -0.1, 1.5, float("nan")):
        with pytest.raises(ConfigError, match="spike rate"):
            report(spike_rate=rate)
    with pytest.raises(ConfigError, match="stride"):
        InPixelLayer(0, 8, 1)
    with pytest.raises(ConfigError, match="channels"):
        InPixelLayer(4, 2.5, 1)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="backbone"):
        ReferenceConfig(backbone="lenet")
    with pytest.raises(ConfigError, match="target energy ratio"):
        implied_spike_rate(InPixelLayer(4, 8, 1), "vgg16", 0.5)
    with pytest.raises(Error):
        _run_cli(["insensor", "report", "--spike-rate", "-1"])


def test_report_keys_and_the_cli(capsys):
    r = report()
    for key in ("bandwidth_reduction_min", "bandwidth_reduction_max", "energy_ratio"):
        assert key in r and key in r["paper"] and key in r["config_for"]
    assert r["paper"] == PAPER
    assert r["bandwidth_reduction_min"] <= r["bandwidth_reduction_max"]
    assert _run_cli(["insensor", "report", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["energy_ratio"] == pytest.approx(r["energy_ratio"])
    assert _run_cli(["insensor", "report"]) == 0
    text = capsys.readouterr().out
    assert "paper 2.32" in text and f"ours {r['energy_ratio']:.3g}" in text
    assert "missing to reproduce" in text


def test_report_cites_every_constant_and_restates_the_comparisons(capsys):
    from neuralbrain.sensing.insensor_commands import build_report

    r = build_report()
    for name, c in r["constants"].items():
        assert c["source"].strip(), name
        assert not c["assumption"] or c["range"][0] <= c["value"] <= c["range"][1], name
    assert {"e_bit_pj", "aer_bits_per_event", "in_sensor_bits_per_output"} <= set(r["constants"])
    assert r["icassp_restated"]["ours"] == pytest.approx(r["energy_ratio"])
    assert r["p2m_reproduction"]["reproduced"] is False
    assert r["p2m_reproduction"]["paper"]["backend_energy_ratio"] == 2.0
    assert r["link_sensitivity"] is None and "--checkpoint" in r["link_sensitivity_note"]
    assert _run_cli(["insensor", "report"]) == 0
    text = capsys.readouterr().out
    assert "ASSUMPTION" in text and "Neuromorphic-P2M" in text and "2.32x restated" in text


def test_report_with_a_checkpoint_measures_the_link_sensitivity(tmp_path, capsys):
    import numpy as np

    from neuralbrain.config import load_config
    from neuralbrain.sensing.snn.model import init_params

    snn = load_config("insensor_nmnist").params.perception.snn
    np.savez(tmp_path / "snn.npz", **init_params(snn, 0))
    argv = ["insensor", "report", "--json", "--checkpoint", str(tmp_path), "--samples", "2"]
    assert _run_cli(argv) == 0
    out = json.loads(capsys.readouterr().out)
    s = out["link_sensitivity"]
    assert s["samples"] == 2
    assert s["by_e_bit_pj"]["75"] == pytest.approx(s["measured_ratio"])
    assert out["p2m_reproduction"]["analogue"]["backend_energy_ratio"] > 0
    with pytest.raises(Error, match="samples = 0"):
        _run_cli(["insensor", "report", "--checkpoint", str(tmp_path), "--samples", "0"])
    with pytest.raises(Error, match="do not exist"):
        _run_cli(["insensor", "report", "--checkpoint", str(tmp_path / "nope")])

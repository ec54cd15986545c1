"""`neuralbrain insensor report`: figures derived from the cost model, with their configs."""

from __future__ import annotations

import argparse
import json

import pytest

from neuralbrain.hardware.in_sensor import InSensorConfig
from neuralbrain.sensing.insensor_commands import add_commands
from neuralbrain.sensing.insensor_report import (
    PAPER,
    InPixelLayer,
    energy_breakdown,
    report,
    resnet18_macs,
    vgg16_macs,
)


def test_backbone_macs_match_the_published_counts():
    assert sum(vgg16_macs()) / 1e9 == pytest.approx(15.5, rel=0.01)  # VGG16: 15.5 GMACs
    assert sum(resnet18_macs()) / 1e9 == pytest.approx(1.82, rel=0.02)  # ResNet18: 1.8 GMACs


def test_energy_terms_follow_the_equations():
    e = energy_breakdown(InPixelLayer(4, 8, 1), "vgg16", spike_rate=0.1)
    cfg = InSensorConfig()
    n_raw = 224 * 224 * 3 * 4 / 3
    assert e["conventional"]["link_j"] == pytest.approx(n_raw * 12 * cfg.e_bit_pj * 1e-12)
    assert e["in_sensor"]["link_j"] == pytest.approx(56 * 56 * 8 * cfg.e_bit_pj * 1e-12)
    assert e["energy_ratio"] > 1
    # more backbone activity dilutes the front-end saving
    assert energy_breakdown(InPixelLayer(4, 8, 1), "vgg16", spike_rate=0.3)["energy_ratio"] < (
        e["energy_ratio"]
    )


def test_report_keys_and_the_cli(capsys):
    r = report()
    for key in ("bandwidth_reduction_min", "bandwidth_reduction_max", "energy_ratio"):
        assert key in r and key in r["paper"] and key in r["config_for"]
    assert r["paper"] == PAPER
    assert r["bandwidth_reduction_min"] <= r["bandwidth_reduction_max"]
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers())
    args = parser.parse_args(["insensor", "report", "--json"])
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["energy_ratio"] == pytest.approx(r["energy_ratio"])

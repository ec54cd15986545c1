"""``neuralbrain fpga report``: keys, determinism, bad input."""

from __future__ import annotations

import json

import pytest

from neuralbrain.cli import main
from neuralbrain.errors import ConfigError
from neuralbrain.hardware.fpga_commands import build_report, parse_widths

KEYS = {"latency_s", "speedup", "resource_fraction", "power_w", "accuracy", "paper",
        "assumptions", "sweep"}


def test_report_json_keys_and_sweep(capsys):
    assert main(["fpga", "report", "--json", "--widths", "8,16"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= KEYS
    assert report["paper"]["speedup"] == 21.0 and report["paper"]["power_w"] == 1.69
    assert [r["width"] for r in report["sweep"]] == [8, 16]
    for r in report["sweep"]:
        assert "error" in r or {"val_accuracy", "test_accuracy", "resources"} <= set(r)
    assert report["latency_s"] > 0 and report["speedup"] > 1


def test_report_is_deterministic():
    assert json.dumps(build_report([16])) == json.dumps(build_report([16]))


@pytest.mark.parametrize("text", ["x", "3..8", "16..8", "", "8,40"])
def test_bad_widths(text):
    with pytest.raises(ConfigError, match="--widths"):
        parse_widths(text)


def test_bad_widths_exit_with_one_line(capsys):
    assert main(["fpga", "report", "--widths", "a..b"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--widths" in err

"""``neuralbrain t3 report``: keys, the headline figures against the paper, errors, the plot."""

from __future__ import annotations

import json

import pytest

from neuralbrain.cli import main
from neuralbrain.hardware.t3_commands import build_report


@pytest.fixture(scope="module")
def report():
    return build_report()


def test_report_keys_and_rows(report):
    for key in ("geomean_speedup", "max_speedup"):
        assert set(report[key]) >= {"ideal", "t3", "t3_mca"}
        assert set(report["paper"][key]) >= {"ideal", "t3", "t3_mca"}
    for key in ("dram_traffic_reduction_geomean", "dram_traffic_reduction_max"):
        assert 0 < report[key] < 1 and 0 < report["paper"][key] < 1
    assert report["assumptions"] and all(isinstance(a, str) for a in report["assumptions"])
    for sens in report["sensitivity"].values():
        assert sens["geomean_speedup"]["t3_mca"] > 1
    # 2 models x 2 TP degrees + 2 models x 1, four sublayers each (forward and backward)
    assert len(report["sublayers"]) == 24
    assert {r["pass"] for r in report["sublayers"]} == {"fwd", "bwd"}
    for r in report["sublayers"]:
        assert set(r["speedup"]) == {"ideal", "t3", "t3_mca", "ideal_nmc"}
        assert all(v > 1 for v in r["speedup"].values())


def test_paper_speedups_are_ratios(report):
    # "30% faster" is stored as 1.30 (a ratio t_seq / t, as ours), not as 0.30
    assert report["paper"]["geomean_speedup"]["t3_mca"] == pytest.approx(1.30)
    assert report["paper"]["max_speedup"]["ideal"] == pytest.approx(1.50)


def test_headline_goals_reached(report):
    ours, paper = report, report["paper"]
    # T3-MCA geomean within 3 points of the paper's 30%, max within 5 points of 47%
    assert abs(ours["geomean_speedup"]["t3_mca"] - paper["geomean_speedup"]["t3_mca"]) <= 0.03
    assert abs(ours["max_speedup"]["t3_mca"] - paper["max_speedup"]["t3_mca"]) <= 0.05
    # DRAM traffic reduction geomean within 3 points of the paper's 22%
    assert abs(ours["dram_traffic_reduction_geomean"]
               - paper["dram_traffic_reduction_geomean"]) <= 0.03


def test_known_gaps_stay_what_the_report_says(report):
    # Not reached (see the report): Ideal is ~5.4 points under the paper's 35% and T3 without
    # arbitration ~5.0 points over its 20% (our FCFS contention is weaker than the paper's
    # cycle-level one). Pin the direction so a change of the model shows up here.
    assert report["geomean_speedup"]["ideal"] < report["paper"]["geomean_speedup"]["ideal"]
    assert report["geomean_speedup"]["t3"] > report["paper"]["geomean_speedup"]["t3"]
    assert report["geomean_speedup"]["t3"] <= report["geomean_speedup"]["t3_mca"]


def test_cli_json_is_one_object(capsys):
    assert main(["t3", "report", "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    rep = json.loads(out)
    assert rep["geomean_speedup"]["t3_mca"] > 1


def test_cli_table_shows_the_paper_beside_ours(capsys):
    assert main(["t3", "report"]) == 0
    out = capsys.readouterr().out
    assert "paper" in out and "T-NLG" in out and "DRAM traffic reduction" in out


def test_cli_bad_input_exit_2_one_line(capsys, tmp_path):
    assert main(["t3", "report", "--tokens", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--tokens 0" in err and "expected" in err
    a_file = tmp_path / "f.txt"
    a_file.write_text("x")
    assert main(["t3", "report", "--plot", str(a_file)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "expected a directory" in err


def test_cli_plot_writes_a_png(capsys, tmp_path):
    assert main(["t3", "report", "--json", "--plot", str(tmp_path / "plots")]) == 0
    rep = json.loads(capsys.readouterr().out)
    pngs = list((tmp_path / "plots").glob("*.png"))
    assert len(pngs) == 1 and str(pngs[0]) == rep["plot"]
    assert pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list((tmp_path / "plots").glob(".*.tmp"))  # no temp file left behind

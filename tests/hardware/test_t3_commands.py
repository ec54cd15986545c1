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


def test_ideal_within_five_points_t3_gap_as_reported(report):
    ours, paper = report["geomean_speedup"], report["paper"]["geomean_speedup"]
    # Ideal-GEMM-RS-Overlap as max(GEMM, whole RS) + AG: 1.301 against 1.35, within 5 points
    assert abs(ours["ideal"] - paper["ideal"]) <= 0.05
    assert ours["ideal"] < paper["ideal"]
    # Not reached: T3 without arbitration 1.250 against 1.20, 5.0 points over (the 5-point band
    # is missed by less than 0.01 point): our contention model is milder than the paper's
    # cycle-level DRAM queues. Pin the direction and size so a change of the model shows here.
    assert paper["t3"] < ours["t3"] <= paper["t3"] + 0.06
    assert ours["t3"] <= ours["t3_mca"]


def test_rs_nmc_speedup_is_below_the_papers(report):
    # our baseline RS exposes one CU reduction (3C / HBM): NMC saves 3.2% / 1.5% of the RS at
    # TP 8 / 16, the paper's RS 7% / 3% (its simulated RCCL reductions cost more)
    ours, paper = report["rs_nmc_speedup"], report["paper"]["rs_nmc_speedup"]
    assert set(ours) == {"tp8", "tp16"}
    assert 1.0 < ours["tp16"] < ours["tp8"] < paper["tp8"]
    assert ours["tp16"] < paper["tp16"]


def test_every_paper_figure_has_its_provenance(report):
    prov, paper = report["paper_provenance"], report["paper"]
    for key, where in prov.items():
        head, _, sub = key.partition(".")
        assert head in paper and (not sub or sub in paper[head]), key
        assert "abstract" in where or "via summary" in where
    # the figures the abstract gives were checked against it
    for key in ("geomean_speedup.t3_mca", "max_speedup.t3_mca",
                "dram_traffic_reduction_geomean", "dram_traffic_reduction_max",
                "geomean_speedup_500b.t3_mca"):
        assert prov[key].startswith("abstract")


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

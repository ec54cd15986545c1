import argparse
import json

import pytest

from neuralbrain.errors import Error
from neuralbrain.reasoning.gl.commands import add_commands
from neuralbrain.reasoning.gl.mpl import theories_dir


def _parse(argv):
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="cmd"))
    return parser.parse_args(argv)


def test_prove_prints_one_json_object(tmp_path, capsys):
    targets = tmp_path / "t.mpl"
    targets.write_text("(theorem add_comm (forall ((a N) (b N) (c N)) "
                       "(implies (+ a b c) (+ b a c))))\n")
    args = _parse(["prove", str(theories_dir() / "peano.mpl"), "--targets", str(targets),
                   "--html", str(tmp_path / "h"), "--json", "--budget-s", "20"])
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"proved", "laws_found", "checked", "seconds", "peak_mb"} <= set(out)
    assert out["checked"] is True and "add_comm" in out["laws_found"]
    assert (tmp_path / "h" / "index.html").exists()


def test_syntax_error_is_an_error_with_position(tmp_path):
    bad = tmp_path / "bad.mpl"
    bad.write_text("(sort N)\n(constant 0 N\n")
    args = _parse(["prove", str(bad), "--json"])
    with pytest.raises(Error, match=r"bad.mpl:2:1"):
        args.func(args)


def test_budget_exhausted_is_reported_not_an_error(capsys):
    args = _parse(["prove", str(theories_dir() / "peano.mpl"), "--json", "--budget-s", "0.001"])
    assert args.func(args) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["budget_exhausted"] is True
    assert out["rejected"] == []  # whatever it proved in time is still checked


def test_check_proofs_replays_a_document(peano_run, capsys):
    theory = str(theories_dir() / "peano.mpl")
    args = _parse(["check-proofs", theory, str(peano_run["dir"] / "proofs.json"), "--json"])
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and len(out["accepted"]) == len(peano_run["doc"]["theorems"])
    args = _parse(["check-proofs", theory, str(peano_run["dir"] / "missing.json")])
    with pytest.raises(Error, match="missing.json"):
        args.func(args)


def test_memory_cap_from_the_command_line_is_reported(capsys, monkeypatch):
    from neuralbrain.reasoning.gl import prover

    rss = iter(range(0, 10**12, 2**20))  # 1 MiB more at every look
    monkeypatch.setattr(prover, "resident_bytes", lambda: next(rss))
    monkeypatch.setattr(prover, "_MEMORY_EVERY", 1)
    args = _parse(["prove", str(theories_dir() / "peano.mpl"), "--max-memory-mb", "10"])
    assert args.func(args) == 1
    out = capsys.readouterr().out
    assert "budget exhausted: the run stopped early at its memory limit" in out
    args = _parse(["prove", str(theories_dir() / "peano.mpl"), "--json", "--budget-s", "0.001"])
    args.func(args)
    assert json.loads(capsys.readouterr().out)["exhausted_by"] == "time"


def test_a_theory_over_the_size_limit_is_refused_before_reading(tmp_path, monkeypatch):
    from pathlib import Path

    from neuralbrain.reasoning.gl import mpl, run

    monkeypatch.setattr(run, "MAX_MPL_CHARS", 10)
    big = tmp_path / "big.mpl"
    big.write_text(";" * 41)
    monkeypatch.setattr(Path, "read_text", lambda *a, **k: pytest.fail("the file was read"))
    args = _parse(["prove", str(big)])
    with pytest.raises(Error, match=r"MPL theory '.*big.mpl' is 41 bytes, expected at most 40"):
        args.func(args)
    assert mpl.MAX_MPL_CHARS == 1_000_000  # the parser's own limit is untouched

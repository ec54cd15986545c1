"""The README's cheap figures are what their commands print (``benchmarks/readme_figures.py``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_cheap_readme_figures_match_their_commands():
    done = subprocess.run([sys.executable, "benchmarks/readme_figures.py", "--cheap"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " README figures match" in done.stdout


def test_a_figure_that_differs_is_reported(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import readme_figures as rf
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    fig = rf.Figure("| answer |", ("neuralbrain", "backends", "--json"),
                    lambda r: [f"{len(r)} backends"])
    n = len(rf.run(fig.command))
    assert rf.check((fig,), f"| answer | {n} backends |\n") == {}
    assert "prints" in rf.check((fig,), f"| answer | {n + 1} backends |\n")["| answer |"][0]
    assert "0 README lines" in rf.check((fig,), "nothing\n")["| answer |"][0]

"""Run the commands the README prints next to its figures and check each figure is what they print.

Each ``Figure`` names a README table row (a text its line starts with), the command written
in that row (run here with this interpreter, from the repository root) and how the figure
reads in the README, rendered from the command's JSON output. A figure passes when its line
contains that text. Only deterministic figures are checked: simulated latencies, accuracies
and counts of seeded runs; wall-clock rates vary from run to run and are not.

``--cheap`` runs the figures whose commands take seconds (CI runs these:
``tests/test_readme_figures.py``); without it every figure listed is run (minutes: the
planner on t3). Exit status 1 on any mismatch, which is printed with the README line.

    python benchmarks/readme_figures.py [--cheap] [--only TEXT]
"""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


@dataclass(frozen=True)
class Figure:
    row: str                                  # the README line starts with this
    command: tuple[str, ...]                  # as written in the README's command column
    render: Callable[[dict], list[str]]       # the texts the line must contain
    cheap: bool = True


def sci(x: float) -> str:
    """``2.0e-6`` (the README's way of writing 2.0e-06)."""
    mantissa, exp = f"{x:.1e}".split("e")
    return f"{mantissa}e{int(exp)}"


def _pair(r: dict, kind: str, scheme: str) -> str:
    return f"{r[f'geomean_{kind}'][scheme]:.3f} / {r[f'max_{kind}'][scheme]:.3f}"


def _t3_planner(r: dict, tp: int, scheme: str) -> str:
    run = r["runs"][str(tp)][scheme]
    return (f"| {run['prefill_s_per_token'] * 1e6:.1f} ({run['prefill_comm_s_per_token'] * 1e6:.1f})"
            f" | {run['decode_s_per_token'] * 1e6:.1f} ({run['decode_comm_s_per_token'] * 1e6:.1f})"
            " |")


T3 = ("neuralbrain", "t3", "report", "--json")
T3_GPU = ("python", "benchmarks/bench_t3.py")
INSENSOR = ("neuralbrain", "insensor", "report", "--json")
FIGURES = (
    Figure("| T3-MCA geomean / max |", T3, lambda r: [f"**{_pair(r, 'speedup', 't3_mca')}**"]),
    Figure("| Ideal overlap geomean / max |", T3, lambda r: [
        f"**{r['geomean_speedup']['ideal']:.3f}** / {r['max_speedup']['ideal']:.3f}"]),
    Figure("| T3 without arbitration geomean / max |", T3,
           lambda r: [_pair(r, "speedup", "t3")]),
    Figure("| T3-MCA geomean / max, PaLM and MT-NLG at TP 32 |", T3,
           lambda r: [f"| {_pair(r, 'speedup_500b', 't3_mca')} |"]),
    Figure("| DRAM traffic, T3-MCA vs sequential", T3,
           lambda r: [f"**{100 * r['dram_traffic_reduction_geomean']:.1f}%** / "
                      f"{100 * r['dram_traffic_reduction_max']:.1f}%"]),
    Figure("| discovery from `theories/peano.mpl` alone", (
        "neuralbrain", "prove", "neuralbrain/reasoning/gl/theories/peano.mpl", "--json"),
        lambda r: [f"{len(r['proved'])} theorems in",
                   f"all {len(r['proved'])} accepted by the independent checker"
                   if r["checked"] else "NOT CHECKED"]),
    Figure("| `lut` vs float32 `cpu`, the planner's logits", (
        "python", "benchmarks/bench_planner.py", "--deviation-only"),
        lambda r: [f"max deviation {sci(r['lut_exact_logit_max_rel_dev'])} of the largest logit",
                   f"int8 tables: {sci(r['lut_int8_logit_max_rel_dev'])}",
                   f"top-1 {round(r['lut_int8_top1_agreement'] * r['deviation_tokens'])}/"
                   f"{r['deviation_tokens']} ({100 * r['lut_int8_top1_agreement']:.1f}%)"]),
    Figure("| paper: total energy 2.32x lower |", INSENSOR, lambda r: [
        f"{r['energy_ratio']:.2f}x for the reference fixed in advance",
        "ratio spans {:.2f}x-{:.2f}x".format(*r["icassp_restated"]["range_over_assumptions"]),
        "the link price moves it most: {:.2f}x-{:.2f}x".format(*sorted(
            r["icassp_restated"]["one_at_a_time"]["e_bit_pj"][k]
            for k in ("ratio_at_low", "ratio_at_high"))),
        "0.2}}: {:.2f}x-{:.1f}x".format(*r["energy_ratio_range"])]),
    Figure("| paper: bandwidth reduction 12x-96x |", INSENSOR, lambda r: [
        f"| {r['bandwidth_reduction_min']:.0f}x (stride 2, 16 channels, T=1) to "
        f"{r['bandwidth_reduction_max']:.0f}x (stride 4, 8 channels, T=1)"]),
    Figure("| paper GPU | 1 | - |", T3_GPU, lambda r: [_t3_planner(r, 1, "sequential")], False),
    Figure("| paper GPU | 3 | sequential |", T3_GPU,
           lambda r: [_t3_planner(r, 3, "sequential")], False),
    Figure("| paper GPU | 3 | T3-MCA |", T3_GPU, lambda r: [_t3_planner(r, 3, "t3_mca")], False),
    Figure("| paper GPU | 2 | sequential |", T3_GPU,
           lambda r: [_t3_planner(r, 2, "sequential")], False),
    Figure("| paper GPU | 4 | sequential |", T3_GPU,
           lambda r: [_t3_planner(r, 4, "sequential")], False),
    Figure("| paper GPU | 8 | sequential |", T3_GPU,
           lambda r: [_t3_planner(r, 8, "sequential")], False),
)


@functools.cache
def run(command: tuple[str, ...]) -> dict:
    """The command's last line of output, parsed as JSON (every command listed ends so)."""
    if command[0] == "neuralbrain":
        argv = [sys.executable, "-m", "neuralbrain", *command[1:]]
    else:  # "python script ...": this interpreter
        argv = [sys.executable, *command[1:]]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def check(figures: tuple[Figure, ...], readme: str) -> dict[str, list[str]]:
    """Per row whose README line lacks what its command printed, what is wrong."""
    lines = readme.splitlines()
    problems: dict[str, list[str]] = {}
    for fig in figures:
        found = [line for line in lines if line.startswith(fig.row)]
        if len(found) != 1:
            problems[fig.row] = [f"{len(found)} README lines start so (expected 1)"]
            continue
        for text in fig.render(run(fig.command)):
            if text not in found[0]:
                problems.setdefault(fig.row, []).append(
                    f"`{' '.join(fig.command)}` prints {text!r}; the line reads:\n    {found[0]}")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cheap", action="store_true", help="only figures whose commands take seconds")
    ap.add_argument("--only", default="", help="only rows containing this text")
    args = ap.parse_args(argv)
    figures = tuple(f for f in FIGURES if (f.cheap or not args.cheap) and args.only in f.row)
    problems = check(figures, README.read_text())
    for row, messages in problems.items():
        for message in messages:
            print(f"MISMATCH {row!r}: {message}")
    print(f"{len(figures) - len(problems)} of {len(figures)} README figures match their commands")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

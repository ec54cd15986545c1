"""Checkpoints and data are loaded without pickle: a file cannot run code."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from neuralbrain.errors import CheckpointError

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("neuralbrain", "agents", "envs", "benchmarks")


def _np_load_calls_without_allow_pickle_false() -> list[str]:
    bad = []
    for folder in SCANNED:
        for file in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(file.read_text(encoding="utf-8"), str(file))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                f = node.func
                if not (isinstance(f, ast.Attribute) and f.attr == "load"
                        and isinstance(f.value, ast.Name) and f.value.id in ("np", "numpy")):
                    continue
                ok = any(k.arg == "allow_pickle" and isinstance(k.value, ast.Constant)
                         and k.value.value is False for k in node.keywords)
                if not ok:
                    bad.append(f"{file.relative_to(ROOT)}:{node.lineno}")
    return bad


def test_every_np_load_says_allow_pickle_false():
    calls = _np_load_calls_without_allow_pickle_false()
    assert calls == [], f"np.load without allow_pickle=False (explicit, a literal): {calls}"


def test_the_scan_sees_np_load_calls():
    # The scan is only worth something if it finds the call sites it checks (our .npz files
    # are read by neuralbrain.npz.read_npz; speech.py reads eSpeak's waves).
    found = 0
    for folder in SCANNED:
        for file in (ROOT / folder).rglob("*.py"):
            found += file.read_text(encoding="utf-8").count("np.load(")
    assert found >= 2


class _Payload:
    """Unpickling this object writes a marker file: proof that code ran."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "code ran"))


def test_a_pickled_checkpoint_is_a_checkpoint_error_and_runs_nothing(tmp_path):
    from neuralbrain.sensing.perception import load_weights
    from neuralbrain.sensing.snn.model import SNNConfig

    marker = tmp_path / "pwned"
    ck = tmp_path / "snn.npz"
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload(str(marker))
    np.savez(ck, **{"conv1.w": evil})
    with pytest.raises(CheckpointError, match=r"snn.npz' is not a readable .npz: Object arrays "
                                              r"cannot be loaded when allow_pickle=False"):
        load_weights(ck, SNNConfig())
    assert not marker.exists()

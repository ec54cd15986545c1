"""The library stands alone: it imports neither the repository's envs nor its agents, and the
installed package registers its Gymnasium ids in a fresh interpreter by itself."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "neuralbrain"
APPLICATION = ("envs", "agents", "neuralbrain_envs", "neuralbrain_agents")


def _imported(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_the_library_imports_no_application_package():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for name in _imported(ast.parse(path.read_text(), str(path))):
            if name.split(".")[0] in APPLICATION:
                offenders.append(f"{path.relative_to(PACKAGE.parent)}: {name}")
    assert not offenders, offenders


def test_a_fresh_interpreter_makes_the_envs_by_id(tmp_path):
    code = ("import gymnasium as gym\n"
            "for i in ('neuralbrain/DigitPick-v0', 'neuralbrain/EventCartPole-v1'):\n"
            "    print(gym.make(i).spec.id)\n")
    # from an empty folder, so nothing of the repository is importable by accident
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["neuralbrain/DigitPick-v0", "neuralbrain/EventCartPole-v1"]

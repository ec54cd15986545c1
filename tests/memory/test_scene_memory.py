"""Scene memory: what perception saw, kept across steps; when to look again."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.control.arm import Proprio, Workspace
from neuralbrain.memory.scene_memory import Config, SceneMemory
from neuralbrain.payloads import Detection, Detections, SkillReport

WS = Workspace(0.06, 0.08, 0.09, 0.01, (0.38, 0.72, -0.24, 0.24), 0.74)
SEEN = Detections((Detection(7, 0.9, (10.0, 20.0), (0.5, -0.1, 0.06)),
                   Detection(3, 0.8, (30.0, 20.0), (0.6, -0.1, 0.06))), tray=(0.56, 0.16, 0.0))


def _inputs(detections=None, report=None, holding=False):
    arm = Proprio(np.zeros(7), np.array([0.3, 0.0, 0.5]), holding, holding)
    return {"detections": detections, "obs": {"proprio": arm.to_vector()},
            "info": {"workspace": WS}, "report": report}


def test_remembers_what_it_saw_and_books_writes_and_reads_on_its_backend():
    memory = SceneMemory(Config(backend="rram"))
    memory.reset(0)
    first = memory.step(_inputs())
    assert first["look"] and first["facts"].atoms == ("location(table)",)
    out = memory.step(_inputs(SEEN))
    # named in reading order (top to bottom, left to right in the image)
    assert "shows(cube_0, 7)" in out["facts"].atoms and "location(tray)" in out["facts"].atoms
    assert not out["look"]
    digit, where = out["scene"].objects["cube_0"]
    assert digit == 7 and where == pytest.approx([0.5, -0.1, 0.03], abs=0.01)
    booked = {(b.op, b.backend) for b in memory.ledger.drain()}
    assert booked == {("write", "rram"), ("matmul", "rram")}


def test_a_place_moves_the_cube_in_memory_and_a_failure_looks_again():
    memory = SceneMemory(Config(backend="cpu"))
    memory.reset(0)
    memory.step(_inputs(SEEN))
    held = memory.step(_inputs(report=SkillReport("pick(cube_1)", "done", 3, (0.6, -0.1, 0.2)),
                               holding=True))
    assert "holding(cube_1)" in held["facts"].atoms and held["scene"].held == "cube_1"
    out = memory.step(_inputs(report=SkillReport("place(table)", "done", None, (0.45, 0.1, 0.2))))
    assert "set_aside(cube_1)" in out["facts"].atoms
    assert out["scene"].objects["cube_1"][1] == pytest.approx([0.45, 0.1, 0.03], abs=0.01)
    failed = memory.step(_inputs(report=SkillReport("pick(cube_0)", "failed", 7, (0.5, 0, 0.2))))
    assert failed["look"] and failed["settling"]

"""``scene_memory``: what is where, kept across steps in a plastic associative memory.

Keeps the digit and position of every cube seen (``neuralbrain.memory.plastic``: Hebbian
delta-rule writes, booked as ``weight_write`` per cell written, which the backend prices:
an RRAM cell programmed, a word written to DRAM; reads are matrix-vector products on the
backend, with its read noise). Cubes are named ``cube_<k>`` in the order their digit was
first seen. After a place, the moved cube is rewritten at the tool tip's position (no need
to look); after a failed skill, or with the memory disabled, the camera looks again.

Out: the scene as ground facts for the reasoner (``shows``, ``reachable``, ``set_aside``,
``holding``, ``location``), the same as a ``SceneMap`` for the skills, whether perception
must ``look`` at the next step, and ``settling`` (the scene changed and the facts will too
after that look).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuralbrain.control.arm import Proprio
from neuralbrain.control.executor import REST
from neuralbrain.core import Module, Needs
from neuralbrain.memory.plastic import AssociativeMemory, PlasticMemoryConfig
from neuralbrain.payloads import Detections, Facts, SceneMap, SkillReport

PLACES = ("location(tray)", "location(table)")  # where DigitPick's skills can put a cube


@dataclass(frozen=True)
class Config:
    backend: str = "rram"
    enabled: bool = True  # False: look every step (the ablation without plastic memory)
    plastic: PlasticMemoryConfig = field(default_factory=PlasticMemoryConfig)


class SceneMemory(Module):
    """The scene kept in a plastic associative memory (see the module docstring)."""

    Config = Config
    inputs = {"detections": Detections, "obs": object, "info": object, "report": SkillReport}
    outputs = {"facts": Facts, "scene": SceneMap, "look": bool, "settling": bool}
    requires = {"backend": Needs(ops={"matmul"}, actions={"weight_write"})}

    def __init__(self, config: Config, hardware: Mapping[str, Any] | None = None) -> None:
        super().__init__(config, hardware)
        self.memory = AssociativeMemory(config.plastic)

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self.memory.clear()
        self.names: dict[int, str] = {}
        self.held: int | None = None
        self.refresh_all = True
        self.tray: np.ndarray | None = None
        self.set_aside: set[int] = set()  # digits of the cubes this agent put on the table

    def _write(self, digit: int, position: np.ndarray | None) -> None:
        self.charge("weight_write", self.memory.write(digit, position), op="write")

    def _recall(self, digit: int) -> np.ndarray | None:
        """``W d`` computed on the backend (with its read noise, on rram), then decoded."""
        key = np.zeros(self.memory.weights.shape[1], np.float32)
        key[digit] = 1.0
        value = self.run("matmul", key, self.memory.weights.T.astype(np.float32))
        return self.memory.decode(value)

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        report: SkillReport | None = inputs["report"]
        seen: Detections | None = inputs["detections"]
        workspace = inputs["info"]["workspace"]
        half = workspace.half
        if report is not None and report.status == "done":
            if report.skill.startswith("pick"):
                self.held = report.digit
            elif self.held is not None and report.skill != REST:
                # placed: below the tip (the skill retreated upwards), on the table or tray
                self._write(self.held, np.array([report.tip[0], report.tip[1], half]))
                if report.skill == "place(table)":
                    self.set_aside.add(self.held)
                self.held = None
        if seen is not None:
            # After an unstack the arm is still over the table: keep what memory knows and only
            # add cubes seen for the first time; a failed skill (or no memory) rewrites all.
            written = set()
            for cube in sorted(seen.cubes, key=lambda d: (d.pixel[1], d.pixel[0])):
                if cube.world is None or cube.digit in written or cube.digit == self.held:
                    continue
                if cube.digit in self.names and not self.refresh_all:
                    continue
                written.add(cube.digit)
                self.names.setdefault(cube.digit, f"cube_{len(self.names)}")
                x, y, z = cube.world  # the top face: the centre is half a cube lower
                self._write(cube.digit, np.array([x, y, z - half]))
            if seen.tray is not None and (self.tray is None or self.refresh_all):
                self.tray = np.asarray(seen.tray, np.float64)
        holding = Proprio.from_vector(inputs["obs"]["proprio"]).holding
        facts = list(PLACES if self.tray is not None else ("location(table)",))
        objects = {}
        for digit, name in self.names.items():
            where = self._recall(digit)
            if where is None:
                continue
            objects[name] = (digit, where)
            facts += [f"shows({name}, {digit})", f"reachable({name})"]
            if digit in self.set_aside:
                facts.append(f"set_aside({name})")
        if holding and self.held is not None and self.held in self.names:
            facts.append(f"holding({self.names[self.held]})")
        failed = report is not None and report.status == "failed"
        # look again when a skill failed, or once the arm is back at rest after a cube went to
        # the table (an unstack can uncover a cube nobody has seen yet; the arm hides it until
        # it has moved away)
        unstacked = report is not None and report.skill == REST
        look = (not self.config.enabled or failed or unstacked or not self.names
                or self.tray is None)
        self.refresh_all = not self.config.enabled or failed or not self.names
        scene = SceneMap(objects, self.tray,
                         self.names.get(self.held) if self.held is not None else None, workspace)
        return {"facts": Facts(tuple(facts)), "scene": scene, "look": look,
                "settling": failed or unstacked}

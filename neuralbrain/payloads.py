"""What flows between modules: frozen payloads, one per kind of message.

A port is typed with one of these (or a plain Python type: ``int``, ``bool``, ``np.ndarray``);
the agent's graph check compares the types at both ends of every edge. Any port may also carry
``None``: "nothing (new) at this step" (perception that did not look, a skill that has not
finished, a request not heard). Payloads hold plain data only, never callables or modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from neuralbrain.control.arm import Workspace

Point = tuple[float, float, float]


@dataclass(frozen=True)
class Detection:
    """One object perception found: the digit it reads, how sure it is, where it is seen
    (pixel u, v), where that is in the world (None when the camera is not calibrated) and
    the height of its top face above the table in metres (None when there is no depth
    image; ``world`` then lies on perception's fixed plane, else on this height)."""

    digit: int
    confidence: float
    pixel: tuple[float, float]
    world: Point | None
    height_m: float | None = None


@dataclass(frozen=True)
class Detections:
    """What one look at the scene found: the cubes, and the tray if it was seen."""

    cubes: tuple[Detection, ...]
    tray: Point | None = None


@dataclass(frozen=True)
class Facts:
    """Ground atoms about the scene, ``"shows(cube_1, 7)"``, in a stable order."""

    atoms: tuple[str, ...]

    def __iter__(self):
        return iter(self.atoms)

    def __len__(self) -> int:
        return len(self.atoms)


@dataclass(frozen=True)
class Request:
    """What the person asked for: the digit (None while unknown) and the request as text."""

    digit: int | None
    text: str


@dataclass(frozen=True)
class TrayGoal:
    """What the language model read from a request: the digits to put in the tray, stacked in
    this order (bottom first); empty when the request names no cube. ``source`` names the
    reader (``llm:score``, say)."""

    tray: tuple[int, ...]
    source: str = ""


@dataclass(frozen=True)
class SceneMap:
    """Where memory believes every known object is: name -> (digit, centre xyz), the tray
    centre (None until seen), the object held (None) and the env's workspace."""

    objects: Mapping[str, tuple[int, np.ndarray]]
    tray: np.ndarray | None
    held: str | None
    workspace: Workspace

    def digit_of(self, name: str) -> int | None:
        return self.objects[name][0] if name in self.objects else None


@dataclass(frozen=True)
class Plan:
    """Skill calls to run in order (``pick(cube_2)``, ``place(tray)``)."""

    calls: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class SkillReport:
    """A skill that ended: the call, how it ended, the digit of the cube it concerned (None),
    the tool tip at the end and, when it failed, why."""

    skill: str
    status: Literal["done", "failed"]
    digit: int | None
    tip: Point
    reason: str = ""

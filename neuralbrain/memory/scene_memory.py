"""``scene_memory``: what is where, kept across steps in a plastic associative memory.

Keeps the digit and position (the cube's centre) of every cube seen
(``neuralbrain.memory.plastic``: Hebbian delta-rule writes, booked as ``weight_write`` per
cell written, which the backend prices: an RRAM cell programmed, a word written to DRAM;
reads are matrix-vector products on the backend, with its read noise). Cubes are named
``cube_<k>`` in the order their digit was first seen. A cube seen is written at its
detection's world point less half a cube (the point is on its top face, at the height
perception measured). Two detections of one place (within half a cube in xy and in top
height) are one cube, the more confidently read; a digit not known yet, read where a known
cube stands that this look does not read elsewhere, is that cube misread, not a new one.
Positions are recalled with their height on the nearest level a cube can rest at (a whole
number of cubes, at least one, up from the table or the tray floor). After a place, the
moved cube is rewritten below the tool tip, at the level it landed on (no need to look);
after a failed skill, or with the memory disabled, the camera looks again and every cube
seen is rewritten.

Out: ``facts``, the scene as ground atoms for the reasoner (in this order):

- ``location(tray)`` once the tray has been seen, and ``location(table)``;
- ``shows(cube_k, D)`` for every cube it knows, and ``reachable(cube_k)`` when the cube's
  xy distance from the arm's base (the origin) is at most ``workspace.reach_xy_m`` plus
  ``reach_margin_m``;
- ``object(hidden_<j>)`` for each unseen thing a known cube rests on (numbered in order of
  appearance, never reused);
- ``on(cube_a, X)``: ``a`` rests on ``X``, a known cube or a ``hidden_<j>``. From its own
  moves: a ``place(tray)`` done while the tray's top cube was ``b`` puts ``a`` on ``b``.
  From a look: a cube whose top is ``levels = round((top - base) / cube_size)`` >= 2 levels
  above its base (the table, or the tray floor for a cube inside the tray's inner footprint)
  rests on the known cube whose top is one level lower at the same xy (within half a cube),
  or, when there is none, on a new ``hidden_<j>``. A pick ends the picked cube's ``on``
  facts and every ``on`` fact naming it as the support; so does a look that (re)writes a
  cube: seen from above, nothing rests on it;
- ``in(cube_k, tray)`` for a cube in the tray: put there by its own ``place(tray)``, or
  seen with its xy inside the tray's inner footprint (``workspace.tray_inner_half_m`` around
  the tray centre, on both axes);
- ``holding(cube_k)`` while the gripper holds the cube it picked.

The facts always pass ``reasoning.planner.scene.parse_facts``: a cube only ever rests on a
cube whose top is lower, one support per cube, at most one held.

Also out: the same scene as a ``SceneMap`` for the skills (the known cubes, not the hidden
objects), whether perception must ``look`` at the next step (at the start, while the tray is
unseen, after a failed skill, and after the executor's ``rest`` following a ``place(table)``,
which may have uncovered a cube nobody has seen), and ``settling`` (the scene changed and the
facts will too after that look).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuralbrain.control.arm import Proprio, Workspace
from neuralbrain.control.executor import REST
from neuralbrain.core import Module, Needs
from neuralbrain.errors import ConfigError
from neuralbrain.memory.plastic import AssociativeMemory, PlasticMemoryConfig
from neuralbrain.payloads import Detection, Detections, Facts, SceneMap, SkillReport

HIDDEN = "hidden_"  # name prefix of the unseen things a cube is seen resting on


@dataclass(frozen=True)
class Config:
    backend: str = "rram"
    enabled: bool = True  # False: look every step (the ablation without plastic memory)
    plastic: PlasticMemoryConfig = field(default_factory=PlasticMemoryConfig)
    # ``reachable`` up to the workspace's reach plus this: DigitPick's suction grips that far
    # (its GRIP_REACH_MARGIN_M) and puts reachable cubes up to 0.744 m out (past the 0.74 m
    # reach), its out-of-reach cubes 0.77 m and farther; a margin of 0 would call the
    # outermost reachable cubes out of reach.
    reach_margin_m: float = 0.015

    def __post_init__(self) -> None:
        if not 0.0 <= self.reach_margin_m < 0.1:
            raise ConfigError(f"scene_memory.reach_margin_m = {self.reach_margin_m}: expected "
                              "0 <= margin < 0.1 m")


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
        # digit -> what that cube rests on: another cube's digit, or a hidden object's name
        self.support: dict[int, int | str] = {}
        self.in_tray: set[int] = set()  # digits of the cubes in the tray
        self.hidden_count = 0

    def _write(self, digit: int, position: np.ndarray | None) -> None:
        self.charge("weight_write", self.memory.write(digit, position), op="write")

    def _recall(self, digit: int) -> np.ndarray | None:
        """``W d`` computed on the backend (with its read noise, on rram), then decoded."""
        key = np.zeros(self.memory.weights.shape[1], np.float32)
        key[digit] = 1.0
        value = self.run("matmul", key, self.memory.weights.T.astype(np.float32))
        return self.memory.decode(value)

    def _positions(self, workspace: Workspace) -> dict[int, np.ndarray]:
        """Where every known cube is (digit -> centre xyz), recalled from the memory, its
        height put on the nearest level a cube can rest at (a whole number of cubes, at least
        one, up from the table or the tray floor): the height is one memory cell, not a
        population like x and y, so its read noise (rram: about 1 cm, up to 3) is not
        averaged away, and the skills aim at the top this height gives."""
        s, half = workspace.cube_size_m, workspace.half
        out = {}
        for digit in self.names:
            where = self._recall(digit)
            if where is not None:
                base, _ = self._base(where, workspace)
                level = max(1, round((where[2] + half - base) / s))
                out[digit] = np.array([where[0], where[1], base + level * s - half])
        return out

    def _base(self, xy: np.ndarray, workspace: Workspace) -> tuple[float, bool]:
        """(height of the surface under the bottom cube of a pile at ``xy``, whether that is
        the tray floor): a pile inside the tray's inner footprint stands on its floor."""
        if self.tray is not None and bool(
                np.all(np.abs(np.asarray(xy[:2]) - self.tray[:2]) < workspace.tray_inner_half_m)):
            return float(self.tray[2]) + workspace.tray_floor_m, True
        return workspace.table_z_m, False

    def _unsupport(self, digit: int) -> None:
        """Nothing rests on ``digit``'s cube (picked, or seen from above): every ``on`` naming
        it as the support goes."""
        self.support = {a: b for a, b in self.support.items() if b != digit}

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        report: SkillReport | None = inputs["report"]
        seen: Detections | None = inputs["detections"]
        workspace: Workspace = inputs["info"]["workspace"]
        if report is not None and report.status == "done":
            self._moved(report, workspace)
        if seen is not None:
            self._looked(seen, workspace)
        holding = Proprio.from_vector(inputs["obs"]["proprio"]).holding
        facts = ["location(tray)"] if self.tray is not None else []
        facts.append("location(table)")
        reach = workspace.reach_xy_m + self.config.reach_margin_m
        objects = {}
        for digit, where in self._positions(workspace).items():
            name = self.names[digit]
            objects[name] = (digit, where)
            facts.append(f"shows({name}, {digit})")
            if float(np.hypot(where[0], where[1])) <= reach:
                facts.append(f"reachable({name})")
        # ``names`` is in naming order (cube_0 first): so are the facts
        known = [d for d, n in self.names.items() if n in objects]
        on = []
        hidden = set()
        for digit in known:
            under = self.support.get(digit)
            if isinstance(under, str):
                hidden.add(under)
                on.append(f"on({self.names[digit]}, {under})")
            elif under in known:
                on.append(f"on({self.names[digit]}, {self.names[under]})")
        facts += [f"object({h})" for h in sorted(hidden, key=lambda h: int(h[len(HIDDEN):]))]
        facts += on
        facts += [f"in({self.names[d]}, tray)" for d in known if d in self.in_tray]
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

    def _moved(self, report: SkillReport, workspace: Workspace) -> None:
        """A skill the arm finished: a pick holds the cube, a place puts it down."""
        if report.skill.startswith("pick("):
            self.held = report.digit
            if report.digit is not None:
                self.support.pop(report.digit, None)
                self._unsupport(report.digit)
                self.in_tray.discard(report.digit)
            return
        if self.held is None or not report.skill.startswith("place("):
            return
        s, half = workspace.cube_size_m, workspace.half
        x, y = report.tip[0], report.tip[1]  # the skill let go below the tip and rose
        self.support.pop(self.held, None)
        if report.skill == "place(tray)":
            # the tray is a stack: the cube lands on its top cube, or on the floor
            floor = (float(self.tray[2]) if self.tray is not None
                     else workspace.table_z_m) + workspace.tray_floor_m
            where = self._positions(workspace)
            stack = [d for d in self.in_tray if d != self.held and d in where]
            level = 1
            if stack:
                top = max(stack, key=lambda d: (where[d][2], d))
                self.support[self.held] = top
                level = max(1, round((where[top][2] + half - floor) / s)) + 1
            self.in_tray.add(self.held)
            self._write(self.held, np.array([x, y, floor + level * s - half]))
        else:
            self.in_tray.discard(self.held)
            self._write(self.held, np.array([x, y, workspace.table_z_m + half]))
        self.held = None

    def _looked(self, seen: Detections, workspace: Workspace) -> None:
        """A look: new cubes (or, after a failure, every cube seen) written with what they
        rest on and whether they are in the tray; the tray's centre."""
        if seen.tray is not None and (self.tray is None or self.refresh_all):
            self.tray = np.asarray(seen.tray, np.float64)
        s, half = workspace.cube_size_m, workspace.half
        # the tops of the cubes memory knows, before this look
        tops = {d: p + np.array([0.0, 0.0, half]) for d, p in self._positions(workspace).items()
                if d != self.held}
        cubes = _one_per_place(seen.cubes, half)
        read = {c.digit for c in cubes}
        # After an unstack the arm is still over the table: keep what memory knows and only
        # add cubes seen for the first time; a failed skill (or no memory) rewrites all.
        looked: dict[int, np.ndarray] = {}
        for cube in sorted(cubes, key=lambda d: (d.pixel[1], d.pixel[0])):
            if cube.digit == self.held:
                continue
            if cube.digit in looked or (cube.digit in self.names and not self.refresh_all):
                continue
            if cube.digit not in self.names and any(
                    _same_place(top, cube.world, half) for d, top in tops.items() if d not in read):
                continue  # where a known cube stands, not read elsewhere: that cube, misread
            self.names.setdefault(cube.digit, f"cube_{len(self.names)}")
            looked[cube.digit] = np.asarray(cube.world, np.float64)  # a point of its top face
        if not looked:
            return
        for digit, top in looked.items():
            self._write(digit, np.array([top[0], top[1], top[2] - half]))
        where = self._positions(workspace)
        for digit, top in looked.items():
            self._unsupport(digit)  # seen from above: nothing rests on it
            base, inside = self._base(top, workspace)
            if inside:
                self.in_tray.add(digit)
            else:
                self.in_tray.discard(digit)
            if round((top[2] - base) / s) < 2:
                self.support.pop(digit, None)  # on the table or the tray floor
                continue
            # one level down at the same xy: a known cube there, else something unseen
            under = [d for d, p in where.items()
                     if d != digit and d != self.held and abs(p[2] + half - (top[2] - s)) < half
                     and np.hypot(p[0] - top[0], p[1] - top[1]) < half]
            if under:
                self.support[digit] = min(
                    under, key=lambda d: (np.hypot(where[d][0] - top[0], where[d][1] - top[1]), d))
            elif not isinstance(self.support.get(digit), str):  # keep a hidden one's name
                self.support[digit] = f"{HIDDEN}{self.hidden_count}"
                self.hidden_count += 1


def _same_place(a: Any, b: Any, half: float) -> bool:
    """Whether two top-face points are one cube's: within half a cube in xy and in height."""
    return bool(np.hypot(a[0] - b[0], a[1] - b[1]) < half and abs(a[2] - b[2]) < half)


def _one_per_place(cubes: tuple[Detection, ...], half: float) -> list[Detection]:
    """The located detections, one per place (``_same_place``): the most confident of those
    at one place (one cube's top seen twice, say its outline and its digit as two blobs)."""
    kept: list[Detection] = []
    for cube in sorted((c for c in cubes if c.world is not None), key=lambda c: -c.confidence):
        if not any(_same_place(cube.world, k.world, half) for k in kept):
            kept.append(cube)
    return kept

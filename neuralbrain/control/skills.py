"""Pick and place skills as small state machines over end-effector targets (pure numpy).

A skill is made from a call string and the facts it needs (where the cubes and the tray
are, in world coordinates, from the env's privileged ``info`` or from perception, and the
env's ``Workspace``):

    skill = make_skill("pick(cube_2)", facts)
    while not (skill.done or skill.failed):
        obs, ... = env.step(skill.step(obs["proprio"]))

Each ``step(proprio)`` reads the tool tip and the holding flag (``arm.Proprio``) and returns
the 5-float action ``(x, y, z, gripper, cannot)`` of DigitPick (``arm_action``): the next
Cartesian target, at most ``speed_m_per_step`` from the tip along a straight line to the
current waypoint, the suction command (+1 on / -1 off) and 0 for "cannot" (a skill never
reports that the request cannot be done; a planner's ``cannot(...)`` call does).

Valid calls (parsed exactly, no spaces): ``pick(cube_<i>)``, ``place(tray)``,
``place(table)``.

- ``pick(cube_i)``: rise to travel height, move above the cube, descend with suction on
  until the cube is held, lift. Fails at once if already holding or if another cube rests
  on cube i (unstack first); fails if the descent ends without a grip or the cube drops.
- ``place(tray)``: (holding) rise, move above the tray's centre, or above the top cube of
  what the tray already holds (the tray is a stack: an ordered request builds one, first
  cube at the bottom), lower until the cube is ``release_gap_m`` above the tray floor or
  that cube's top, release, retreat upwards. Fails at once when the tray's stack is
  ``TRAY_LEVELS`` high ("the tray is full").
- ``place(table)``: as ``place(tray)`` onto the free table spot nearest to the tip (a
  deterministic grid search inside the workspace's ``table_region`` and the arm's reach
  (``reach_xy_m`` from the base at the origin) keeping clear of every cube, the held
  one's recorded place included, and of the tray).

Cost: ``Skill.ops_per_step`` (= ``OPS_PER_STEP``) counts the arithmetic of one ``step``:
tip-to-waypoint difference (3 sub), distance (3 mul + 2 add + 1 sqrt), arrival test (1 cmp),
speed scale (1 div + 1 cmp/min), next target (3 mul + 3 add), grip/holding test (1 cmp),
step budget (1 add + 1 cmp) = 21. ``Skill.setup_ops`` counts the one-off arithmetic of
choosing the waypoints (e.g. the free-spot search).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuralbrain.control.arm import Proprio, Workspace
from neuralbrain.errors import ConfigError, ShapeError

SKILL_FORMS = ("pick(cube_<i>)", "place(tray)", "place(table)")
OPS_PER_STEP = 21
ACTION_SIZE = 5  # DigitPick's action: tip x, y, z, gripper, cannot
TRAY_LEVELS = 3  # the tray takes a stack this high (DigitPick counts it in the tray)
_PICK = re.compile(r"pick\(cube_(0|[1-9][0-9]*)\)")
_PLACE = re.compile(r"place\((tray|table)\)")


def arm_action(xyz, grip: float, cannot: bool = False) -> np.ndarray:
    """DigitPick's action (float32, ``ACTION_SIZE``): tip target, gripper (+1 on, -1 off) and
    the "cannot" report (1.0: the request cannot be done, 0.0: no report)."""
    x, y, z = (float(v) for v in xyz)
    return np.array([x, y, z, float(grip), 1.0 if cannot else 0.0], dtype=np.float32)


@dataclass(frozen=True)
class SkillCall:
    """A parsed call: ``verb`` is "pick" or "place"; ``arg`` a cube index or "tray"/"table"."""

    verb: str
    arg: int | str

    def __str__(self) -> str:
        return f"pick(cube_{self.arg})" if self.verb == "pick" else f"place({self.arg})"


def parse_skill_call(text: str) -> SkillCall:
    """Parse ``pick(cube_<i>)`` / ``place(tray)`` / ``place(table)`` exactly."""
    if isinstance(text, str):
        m = _PICK.fullmatch(text)
        if m:
            return SkillCall("pick", int(m.group(1)))
        m = _PLACE.fullmatch(text)
        if m:
            return SkillCall("place", m.group(1))
    raise ConfigError(f"skill call {text!r}: expected one of {list(SKILL_FORMS)}")


@dataclass(frozen=True)
class SceneFacts:
    """What a skill needs to know about the scene (world frame, metres): where the cubes and
    the tray are, which cube is held, and the env's fixed ``Workspace``."""

    cube_positions: np.ndarray
    tray_position: np.ndarray
    workspace: Workspace
    holding: int = -1

    def __post_init__(self) -> None:
        cubes = np.asarray(self.cube_positions, dtype=np.float64)
        if cubes.ndim != 2 or cubes.shape[1] != 3 or not np.all(np.isfinite(cubes)):
            raise ShapeError(f"SceneFacts.cube_positions of shape {cubes.shape}: expected finite (n, 3)")
        tray = np.asarray(self.tray_position, dtype=np.float64)
        if tray.shape != (3,) or not np.all(np.isfinite(tray)):
            raise ShapeError(f"SceneFacts.tray_position {tray.tolist()}: expected 3 finite floats")
        if not -1 <= int(self.holding) < cubes.shape[0]:
            raise ConfigError(
                f"SceneFacts.holding={self.holding}: expected -1 or a cube index < {len(cubes)}"
            )
        if not isinstance(self.workspace, Workspace):
            raise ConfigError(f"SceneFacts.workspace = {self.workspace!r}: expected an "
                              "arm.Workspace (DigitPick gives it in info['workspace'])")
        object.__setattr__(self, "cube_positions", cubes)
        object.__setattr__(self, "tray_position", tray)

    @classmethod
    def from_info(cls, info: Mapping[str, Any]) -> SceneFacts:
        """Facts from a DigitPick ``info`` dict (privileged: the true cube positions)."""
        return cls(
            cube_positions=np.asarray(info["cube_positions"]),
            tray_position=np.asarray(info["tray_position"]),
            workspace=info["workspace"],
            holding=int(info.get("holding", -1)),
        )

    @property
    def cube_size_m(self) -> float:
        return self.workspace.cube_size_m

    def resting_on(self, i: int) -> list[int]:
        """Indices of the cubes whose centre sits about one cube size above cube ``i``."""
        c, s = self.cube_positions, self.cube_size_m
        d = c - c[i]
        hit = (np.abs(d[:, 2] - s) < 0.25 * s) & (np.abs(d[:, 0]) < 0.8 * s) & (np.abs(d[:, 1]) < 0.8 * s)
        hit[i] = False
        return [int(j) for j in np.flatnonzero(hit)]


@dataclass(frozen=True)
class SkillConfig:
    """Motion settings of the skills (metres, control steps)."""

    speed_m_per_step: float = 0.03
    tolerance_m: float = 0.012
    clearance_m: float = 0.05
    min_travel_z_m: float = 0.20
    grip_overshoot_m: float = 0.01
    release_gap_m: float = 0.012
    release_steps: int = 4
    phase_timeout_steps: int = 60
    max_steps: int = 240

    def __post_init__(self) -> None:
        for name in ("speed_m_per_step", "tolerance_m", "clearance_m", "min_travel_z_m"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"SkillConfig.{name}={getattr(self, name)!r}: expected > 0")
        for name in ("release_steps", "phase_timeout_steps", "max_steps"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise ConfigError(f"SkillConfig.{name}={v!r}: expected an int >= 1")


@dataclass
class _Phase:
    name: str
    target: np.ndarray | None  # None: up to travel height from where the tip is at the start
    grip: float  # +1 suction on, -1 off
    kind: str  # "move" (until reached), "grip" (until holding), "wait" (fixed steps)
    needs_holding: bool = False
    wait_steps: int = 0


@dataclass
class Skill:
    """A running skill. ``step`` until ``done`` or ``failed`` (then ``reason`` says why)."""

    call: SkillCall
    phases: list[_Phase]
    config: SkillConfig
    travel_z: float
    setup_ops: int = 0
    requires_free: bool = False  # pick: the gripper must hold nothing when it starts
    status: str = "running"
    reason: str = ""
    steps: int = 0
    ops_per_step: int = OPS_PER_STEP
    _k: int = 0
    _phase_steps: int = 0
    _last: np.ndarray = field(default_factory=lambda: np.zeros(ACTION_SIZE, dtype=np.float32))

    @property
    def done(self) -> bool:
        return self.status == "done"

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def phase(self) -> str:
        return self.phases[self._k].name if self._k < len(self.phases) else "end"

    def _fail(self, reason: str) -> None:
        self.status, self.reason = "failed", f"{self.call}: {reason}"

    def step(self, proprio: np.ndarray) -> np.ndarray:
        """The next action ``(x, y, z, gripper, 0)`` as float32 (holds still once finished)."""
        arm = Proprio.from_vector(proprio)
        tip, holding = arm.tip, arm.holding
        cfg = self.config
        if self.status == "running" and self.steps == 0 and self.requires_free and holding:
            self._fail("already holding a cube")
        if self.status == "running":
            self.steps += 1
            if self.steps > cfg.max_steps:
                self._fail(f"step budget {cfg.max_steps} exhausted in phase {self.phase}")
        while self.status == "running":
            ph = self.phases[self._k]
            if ph.target is None:  # straight up to travel height (never down: stay clear)
                ph.target = np.array([tip[0], tip[1], max(self.travel_z, tip[2])])
            if ph.needs_holding and not holding:
                self._fail(f"lost the cube in phase {ph.name}")
                break
            delta = ph.target - tip
            dist = float(np.sqrt(delta @ delta))
            if ph.kind == "grip" and holding:
                self._advance()
                continue
            stalled = self._phase_steps > cfg.phase_timeout_steps
            if ph.kind == "grip" and (dist < cfg.tolerance_m or stalled):
                self._fail("descended onto the cube but the suction did not grip")
                break
            if ph.kind == "move" and dist < cfg.tolerance_m:
                self._advance()
                continue
            if ph.kind == "move" and stalled:
                self._fail(f"did not reach the waypoint of phase {ph.name} (off by {dist:.3f} m)")
                break
            if ph.kind == "wait" and self._phase_steps >= ph.wait_steps:
                self._advance()
                continue
            self._phase_steps += 1
            scale = min(1.0, cfg.speed_m_per_step / dist) if dist > 0 else 0.0
            nxt = tip + delta * scale
            self._last = arm_action(nxt, ph.grip)
            return self._last.copy()
        # finished: hold the tip where it is, keep the gripper as it was
        grip = self._last[3] if self.steps > 1 else (1.0 if holding else -1.0)
        return arm_action(tip, grip)

    def _advance(self) -> None:
        self._k += 1
        self._phase_steps = 0
        if self._k >= len(self.phases):
            self.status = "done"


def _travel_height(facts: SceneFacts, cfg: SkillConfig, exclude: int) -> float:
    """Height of the tip for transfers: above every cube top with a carried cube below."""
    c = facts.cube_positions
    keep = np.ones(len(c), dtype=bool)
    if 0 <= exclude < len(c):
        keep[exclude] = False
    top = (float(c[keep, 2].max()) + facts.cube_size_m / 2 if keep.any()
           else facts.workspace.table_z_m)
    return max(cfg.min_travel_z_m, top + facts.cube_size_m + cfg.clearance_m)


def _tray_slot(facts: SceneFacts) -> tuple[np.ndarray | None, float, int]:
    """Where ``place(tray)`` lets go: (x, y) and the height of the surface the cube lands on
    (the tray floor, or the top of the tray's top cube); None when the stack is full."""
    t, s, ws = facts.tray_position, facts.cube_size_m, facts.workspace
    floor = t[2] + ws.tray_floor_m
    c = facts.cube_positions
    inside = np.all(np.abs(c[:, :2] - t[:2]) < ws.tray_inner_half_m, axis=1)
    if facts.holding >= 0:
        inside[facts.holding] = False
    ops = 5 * len(c)
    if not inside.any():
        return t[:2].copy(), floor, ops
    top = int(np.flatnonzero(inside)[np.argmax(c[inside, 2])])
    surface = float(c[top, 2]) + s / 2
    if surface > floor + (TRAY_LEVELS - 0.5) * s:  # the top cube is at the last level
        return None, surface, ops
    return c[top, :2].copy(), surface, ops + len(c)


def _table_spot(facts: SceneFacts, tip_xy: np.ndarray | None) -> tuple[np.ndarray | None, int]:
    s = facts.cube_size_m
    x0, x1, y0, y1 = facts.workspace.table_region
    xs = np.arange(x0, x1 + 1e-9, 0.75 * s)
    ys = np.arange(y0, y1 + 1e-9, 0.75 * s)
    grid = np.stack(np.meshgrid(xs, ys, indexing="ij"), axis=-1).reshape(-1, 2)
    # Clear of every cube, the held one's recorded place included: in memory's facts that is
    # the pile it was lifted from, where a cube nobody has seen yet may still lie.
    others = facts.cube_positions
    free = np.ones(len(grid), dtype=bool)
    if len(others):
        d = np.hypot(grid[:, None, 0] - others[None, :, 0], grid[:, None, 1] - others[None, :, 1])
        free &= d.min(axis=1) >= 1.9 * s
    free &= np.hypot(grid[:, 0], grid[:, 1]) <= facts.workspace.reach_xy_m
    margin = facts.workspace.tray_outer_half_m + 0.75 * s
    t = facts.tray_position
    free &= (np.abs(grid[:, 0] - t[0]) > margin) | (np.abs(grid[:, 1] - t[1]) > margin)
    ops = 6 * len(grid) * (len(others) + 1)
    if not free.any():
        return None, ops
    cand = grid[free]
    ref = tip_xy if tip_xy is not None else np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    k = int(np.argmin(np.hypot(*(cand - ref).T)))
    return cand[k], ops + 5 * len(cand)


def make_skill(
    call: str | SkillCall,
    facts: SceneFacts | Mapping[str, Any],
    config: SkillConfig | None = None,
    tip_xy: np.ndarray | None = None,
) -> Skill:
    """Build the skill for ``call`` given the scene ``facts`` (or a DigitPick ``info``).

    ``tip_xy`` (optional) is the tool tip's current x, y: ``place(table)`` picks the free
    spot nearest to it (else nearest to the centre of the table region).
    """
    config = config if config is not None else SkillConfig()
    sc = call if isinstance(call, SkillCall) else parse_skill_call(call)
    f = facts if isinstance(facts, SceneFacts) else SceneFacts.from_info(facts)
    n = len(f.cube_positions)
    s = f.cube_size_m
    if sc.verb == "pick":
        i = int(sc.arg)
        if i >= n:
            raise ConfigError(f"skill call {str(sc)!r}: cube index {i} out of range [0, {n})")
        travel = _travel_height(f, config, exclude=-1)
        c = f.cube_positions[i]
        top = c[2] + s / 2
        phases = [
            _Phase("rise", None, -1.0, "move"),
            _Phase("over", np.array([c[0], c[1], travel]), -1.0, "move"),
            _Phase("descend", np.array([c[0], c[1], top - config.grip_overshoot_m]), 1.0, "grip"),
            _Phase("lift", np.array([c[0], c[1], travel]), 1.0, "move", needs_holding=True),
        ]
        sk = Skill(sc, phases, config, travel, setup_ops=8 * n, requires_free=True)
        if f.holding >= 0:
            sk._fail(f"already holding cube_{f.holding}")
        blockers = f.resting_on(i)
        if blockers:
            sk._fail(f"cube_{blockers[0]} rests on cube_{i}: move it first")
        return sk
    travel = _travel_height(f, config, exclude=f.holding)
    if sc.arg == "tray":
        spot, floor, ops = _tray_slot(f)
        where = f"the tray is full (a stack {TRAY_LEVELS} high)"
    else:
        spot, ops = _table_spot(f, tip_xy)
        floor = f.workspace.table_z_m
        where = "no free spot on the table"
    release_z = floor + s + config.release_gap_m
    if spot is None:
        sk = Skill(sc, [], config, travel, setup_ops=ops)
        sk._fail(where)
        return sk
    x, y = float(spot[0]), float(spot[1])
    phases = [
        _Phase("rise", None, 1.0, "move", needs_holding=True),
        _Phase("over", np.array([x, y, travel]), 1.0, "move", needs_holding=True),
        _Phase("lower", np.array([x, y, release_z]), 1.0, "move", needs_holding=True),
        _Phase("release", np.array([x, y, release_z]), -1.0, "wait", wait_steps=config.release_steps),
        _Phase("retreat", np.array([x, y, travel]), -1.0, "move"),
    ]
    return Skill(sc, phases, config, travel, setup_ops=ops)

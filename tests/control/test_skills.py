"""Skills: exact call parsing, facts validation, and full runs against a kinematic stand-in.

The stand-in moves the tip exactly to each commanded target and models the suction the
way DigitPick does (grip when on and within 1.5 cm above a cube top): enough to check the
state machines without pybullet (skills.py must not need it).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from neuralbrain.control.arm import Workspace
from neuralbrain.control.skills import (
    ACTION_SIZE,
    OPS_PER_STEP,
    TRAY_LEVELS,
    SceneFacts,
    SkillConfig,
    arm_action,
    make_skill,
    parse_skill_call,
)
from neuralbrain.errors import ConfigError, ShapeError

SIZE = 0.06
WORKSPACE = Workspace(cube_size_m=SIZE, tray_inner_half_m=0.08, tray_outer_half_m=0.09,
                      tray_floor_m=0.01, table_region=(0.44, 0.71, -0.22, 0.01), reach_xy_m=0.74)


def facts(holding: int = -1, stacked: bool = False) -> SceneFacts:
    cubes = np.array([[0.50, -0.10, 0.03], [0.62, -0.05, 0.03], [0.55, -0.18, 0.03]])
    if stacked:
        cubes[2] = cubes[0] + (0, 0, SIZE)
    return SceneFacts(
        cube_positions=cubes,
        tray_position=np.array([0.56, 0.165, 0.0]),
        workspace=WORKSPACE,
        holding=holding,
    )


class PointArm:
    """Tip goes where it is told (stopping on cube tops); suction grips the topmost cube
    just below the tip."""

    def __init__(self, f: SceneFacts, tip=(0.3, 0.0, 0.5)) -> None:
        self.cubes = f.cube_positions.copy()
        self.tip = np.array(tip, dtype=float)
        self.held = f.holding
        self.on = self.held >= 0
        self.max_move = 0.0

    def proprio(self) -> np.ndarray:
        p = np.zeros(12, dtype=np.float32)
        p[7:10] = self.tip
        p[10] = float(self.on)
        p[11] = float(self.held >= 0)
        return p

    def apply(self, a: np.ndarray) -> None:
        self.max_move = max(self.max_move, float(np.linalg.norm(a[:3] - self.tip)))
        self.on = bool(a[3] > 0)
        if not self.on and self.held >= 0:
            c = self.cubes[self.held]
            c[2] = SIZE / 2  # drops onto the table (the tray floor is ignored here)
            self.held = -1
        self.tip = np.asarray(a[:3], dtype=float).copy()
        below = np.all(np.abs(self.cubes[:, :2] - self.tip[:2]) < SIZE / 2, axis=1)
        below[self.held] = below[self.held] and self.held < 0
        if below.any():  # the tip cannot go through a cube top
            self.tip[2] = max(self.tip[2], float(np.max(self.cubes[below, 2])) + SIZE / 2)
        if self.held >= 0:
            self.cubes[self.held] = self.tip - (0, 0, SIZE / 2)
        elif self.on:
            gap = self.tip[2] - (self.cubes[:, 2] + SIZE / 2)
            over = np.all(np.abs(self.cubes[:, :2] - self.tip[:2]) < SIZE / 2, axis=1)
            ok = over & (gap >= -0.01) & (gap <= 0.015)
            if ok.any():
                self.held = int(np.flatnonzero(ok)[np.argmax(self.cubes[ok, 2])])

    def facts(self, f: SceneFacts) -> SceneFacts:
        return SceneFacts(
            cube_positions=self.cubes.copy(),
            tray_position=f.tray_position,
            workspace=f.workspace,
            holding=self.held,
        )


def run(skill, arm: PointArm, limit: int = 400) -> list[np.ndarray]:
    actions = []
    for _ in range(limit):
        a = skill.step(arm.proprio())
        if skill.done or skill.failed:
            break
        actions.append(a)
        arm.apply(a)
    return actions


@pytest.mark.parametrize(
    ("text", "verb", "arg"),
    [
        ("pick(cube_0)", "pick", 0),
        ("pick(cube_12)", "pick", 12),
        ("place(tray)", "place", "tray"),
        ("place(table)", "place", "table"),
    ],
)
def test_parse_valid_calls_round_trip(text, verb, arg):
    call = parse_skill_call(text)
    assert (call.verb, call.arg) == (verb, arg)
    assert str(call) == text


@pytest.mark.parametrize(
    "bad",
    [
        "pick(cube_)",
        "pick(cube_01)",
        "pick( cube_1)",
        "pick(cube_1) ",
        "PICK(cube_1)",
        "place(shelf)",
        "place()",
        "pick(2)",
        "",
        "pick(cube_-1)",
    ],
)
def test_parse_rejects_inexact_calls_naming_string_and_forms(bad):
    with pytest.raises(ConfigError) as e:
        parse_skill_call(bad)
    msg = str(e.value)
    assert repr(bad) in msg and "pick(cube_<i>)" in msg and "place(table)" in msg


def test_make_skill_rejects_cube_out_of_range():
    with pytest.raises(ConfigError, match=r"cube index 3 out of range \[0, 3\)"):
        make_skill("pick(cube_3)", facts())


def test_facts_validate_shapes_and_holding():
    with pytest.raises(ShapeError, match="cube_positions"):
        SceneFacts(cube_positions=np.zeros((3, 2)), tray_position=np.zeros(3), workspace=WORKSPACE)
    with pytest.raises(ShapeError, match="tray_position"):
        SceneFacts(cube_positions=np.zeros((3, 3)), tray_position=np.zeros(2), workspace=WORKSPACE)
    with pytest.raises(ConfigError, match="holding=5"):
        SceneFacts(cube_positions=np.zeros((3, 3)), tray_position=np.zeros(3), workspace=WORKSPACE,
                   holding=5)
    with pytest.raises(ConfigError, match="speed_m_per_step"):
        SkillConfig(speed_m_per_step=0.0)


def test_pick_then_place_in_tray_with_point_arm():
    f = facts()
    arm = PointArm(f)
    cfg = SkillConfig()
    pick = make_skill("pick(cube_1)", f, cfg)
    acts = run(pick, arm)
    assert pick.done, pick.reason
    # DigitPick's action: tip target, gripper, and never the "cannot" report
    assert all(a.shape == (ACTION_SIZE,) and a.dtype == np.float32 and a[4] == 0.0 for a in acts)
    assert arm.held == 1
    assert arm.tip[2] >= pick.travel_z - cfg.tolerance_m
    assert arm.max_move <= cfg.speed_m_per_step + 1e-6
    place = make_skill("place(tray)", arm.facts(f), cfg)
    run(place, arm)
    assert place.done, place.reason
    assert arm.held == -1
    cube = arm.cubes[1]
    assert np.all(np.abs(cube[:2] - f.tray_position[:2]) < f.workspace.tray_inner_half_m)
    assert pick.ops_per_step == OPS_PER_STEP == 21 and isinstance(place.setup_ops, int)


def test_skills_are_deterministic():
    outs = []
    for _ in range(2):
        f = facts()
        arm = PointArm(f)
        acts = run(make_skill("pick(cube_0)", f), arm)
        acts += run(make_skill("place(table)", arm.facts(f), tip_xy=arm.tip[:2]), arm)
        outs.append(np.array(acts))
    assert outs[0].shape == outs[1].shape and np.array_equal(outs[0], outs[1])


def test_place_table_picks_a_free_spot_clear_of_cubes_and_tray():
    f = facts()
    arm = PointArm(f)
    run(make_skill("pick(cube_0)", f), arm)
    f2 = arm.facts(f)
    place = make_skill("place(table)", f2, tip_xy=arm.tip[:2])
    spot = place.phases[1].target[:2]
    others = np.delete(f2.cube_positions, 0, axis=0)
    assert np.min(np.linalg.norm(others[:, :2] - spot, axis=1)) >= 1.9 * SIZE
    x0, x1, y0, y1 = f.workspace.table_region
    assert x0 <= spot[0] <= x1 + 1e-9 and y0 <= spot[1] <= y1 + 1e-9
    run(place, arm)
    assert place.done, place.reason and arm.held == -1
    assert np.allclose(arm.cubes[0][:2], spot, atol=0.02)


def test_place_table_keeps_clear_of_the_held_cubes_recorded_place():
    """Memory's facts keep a held cube where it was lifted from: an unseen cube it was
    covering may still lie there, so the spot is never back on that pile."""
    f = facts(holding=0)  # the held cube's recorded place is its pile, not the gripper
    spot = make_skill("place(table)", f, tip_xy=f.cube_positions[0, :2]).phases[1].target[:2]
    assert np.min(np.linalg.norm(f.cube_positions[:, :2] - spot, axis=1)) >= 1.9 * SIZE


def test_place_table_fails_when_no_spot_is_free():
    f = facts(holding=0)
    from dataclasses import replace

    tight = SceneFacts(
        cube_positions=f.cube_positions,
        tray_position=f.tray_position,
        workspace=replace(WORKSPACE, table_region=(0.50, 0.50, -0.10, -0.10)),  # one spot, taken
        holding=0,
    )
    sk = make_skill("place(table)", tight)
    assert sk.failed and "no free spot" in sk.reason


def test_pick_of_a_covered_cube_fails_with_reason():
    sk = make_skill("pick(cube_0)", facts(stacked=True))
    assert sk.failed and "cube_2 rests on cube_0" in sk.reason
    # the top one can be picked
    f = facts(stacked=True)
    arm = PointArm(f)
    top = make_skill("pick(cube_2)", f)
    run(top, arm)
    assert top.done and arm.held == 2


def test_place_without_a_cube_and_pick_while_holding_fail():
    f = facts()
    arm = PointArm(f)
    place = make_skill("place(tray)", f)
    run(place, arm)
    assert place.failed and "lost the cube" in place.reason
    arm.held, arm.on = 1, True
    pick = make_skill("pick(cube_0)", f)  # facts stale (holding -1), proprio says holding
    run(pick, arm)
    assert pick.failed and "already holding" in pick.reason


def test_skills_do_not_import_pybullet():
    code = (
        "import sys, neuralbrain.control.skills; "
        "sys.exit(1 if any(m.startswith('pybullet') for m in sys.modules) else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


TRAY = np.array([0.56, 0.165, 0.0])


def in_tray(levels: int, holding: bool = True) -> SceneFacts:
    """Cube 0 held over the table (or resting there), cubes 1.. stacked ``levels`` high in
    the tray, slightly off its centre as a real stack would be."""
    floor = TRAY[2] + WORKSPACE.tray_floor_m
    cubes = [[0.50, -0.10, 0.30 if holding else 0.03]]
    cubes += [[TRAY[0] + 0.01, TRAY[1] - 0.005, floor + SIZE / 2 + k * SIZE] for k in range(levels)]
    return SceneFacts(np.array(cubes), TRAY, WORKSPACE, holding=0 if holding else -1)


def test_place_tray_lands_on_the_floor_of_an_empty_tray():
    place = make_skill("place(tray)", in_tray(0), SkillConfig(release_gap_m=0.012))
    lower = place.phases[2]
    assert lower.name == "lower"
    assert np.allclose(lower.target, [*TRAY[:2], WORKSPACE.tray_floor_m + SIZE + 0.012])


@pytest.mark.parametrize("levels", [1, 2])
def test_place_tray_stacks_on_the_top_cube_of_the_tray(levels):
    f = in_tray(levels)
    place = make_skill("place(tray)", f, SkillConfig(release_gap_m=0.012))
    top = f.cube_positions[levels]
    lower = place.phases[2]
    assert np.allclose(lower.target[:2], top[:2])  # right above the stack, not beside it
    assert lower.target[2] == pytest.approx(top[2] + SIZE / 2 + SIZE + 0.012)
    # carried over everything, the held cube's bottom clears the stack's top
    assert place.travel_z - SIZE > top[2] + SIZE / 2


def test_place_tray_fails_when_the_stack_is_full():
    sk = make_skill("place(tray)", in_tray(TRAY_LEVELS))
    assert sk.failed and "the tray is full" in sk.reason and str(TRAY_LEVELS) in sk.reason


def test_arm_action_layout():
    a = arm_action((0.5, -0.1, 0.2), -1.0, cannot=True)
    assert a.dtype == np.float32 and a.tolist() == pytest.approx([0.5, -0.1, 0.2, -1.0, 1.0])
    assert arm_action(np.zeros(3), 1.0)[4] == 0.0

"""DigitPick's task family: the scene built from the request generator's Task, the goal in
``info``, success judged from the simulator (tray contents and order, the "cannot" report),
the depth observation, and configuration errors."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.control.skills import make_skill
from neuralbrain.errors import ConfigError
from neuralbrain.reasoning import requests as R
from neuralbrain_envs import instructions as I_
from neuralbrain_envs.digitpick import ACTION_SIZE, GRIP_REACH_MARGIN_M, DigitPickEnv

SEEDS = range(3)


@pytest.fixture(scope="module")
def envs():
    made: dict[str, DigitPickEnv] = {}

    def get(task: str, **kw) -> DigitPickEnv:
        key = task + repr(sorted(kw.items()))
        if key not in made:
            made[key] = DigitPickEnv(task=task, digit_source="sklearn", image_size=64, **kw)
        return made[key]

    yield get
    for env in made.values():
        env.close()


def still(info, cannot: bool = False) -> np.ndarray:
    """Hold the tip where it is (the rest pose), suction off."""
    a = np.zeros(ACTION_SIZE, np.float32)
    a[:3], a[3], a[4] = (0.28, 0.0, 0.50), -1.0, 1.0 if cannot else 0.0
    return a


@pytest.mark.parametrize("kind", R.KINDS)
def test_scene_is_the_task_drawn_from_the_seed(envs, kind):
    env = envs(kind)
    g = env.geometry
    for seed in SEEDS:
        obs, info = env.reset(seed=seed)
        # reset draws the Task first from the seeded generator, with the env's cube counts
        task = R.draw_task(kind, np.random.default_rng(seed), None, 3, 5)
        assert info["task_kind"] == kind
        assert tuple(info["cube_digits"]) == task.digits
        assert tuple(info["cube_reachable"]) == task.reachable
        assert info["request"] == task.request == obs["instruction"]
        assert tuple(info["goal_tray"]) == task.goal.tray
        assert info["goal_ordered"] == task.goal.ordered and info["goal_cannot"] == task.goal.cannot
        if kind != "single":  # single alone keeps the random stacking of stack_prob
            assert tuple(info["on_top_of"]) == task.on
        assert env.observation_space.contains(obs)
        assert len(obs["instruction"]) <= I_.MAX_LENGTH and set(obs["instruction"]) <= I_.CHARSET
        p = info["cube_positions"]
        for i, below in enumerate(info["on_top_of"]):
            if below >= 0:  # exactly above the cube it rests on
                assert np.allclose(p[i, :2], p[below, :2], atol=0.002)
                assert p[i, 2] - p[below, 2] == pytest.approx(g.cube_size_m, abs=0.003)
        on_table = [i for i, s in enumerate(info["on_top_of"]) if s < 0]
        for a in on_table:
            assert p[a, 2] == pytest.approx(g.half, abs=0.003)
            for b in on_table:
                if a < b:
                    assert np.hypot(*(p[a, :2] - p[b, :2])) >= g.min_cube_spacing_m - 1e-3
        tray = info["tray_position"]
        for i in range(len(p)):  # no cube on the tray's footprint
            outer = g.tray_inner_half_m + g.tray_wall_m + g.half
            assert np.abs(p[i, :2] - tray[:2]).max() > outer
        for i, ok in enumerate(info["cube_reachable"]):
            r = np.hypot(*p[i, :2])  # from the arm's base
            if ok:  # the suction grips it (the strip's far corner is just past place_reach_m)
                assert r <= g.place_reach_m + GRIP_REACH_MARGIN_M
            else:  # out of reach yet fully in the image
                assert r >= g.place_reach_m + g.half
                top = p[i, 2] + g.half
                corners = [[p[i, 0] + dx, p[i, 1] + dy, top] for dx in (-g.half, g.half)
                           for dy in (-g.half, g.half)]
                uv = env.camera.world_to_pixel(np.array(corners))
                assert np.all(uv >= 0) and np.all(uv <= env.config.image_size - 1)


def test_covered_targets_lie_under_one_or_two_cubes(envs):
    env = envs("covered")
    depths = set()
    for seed in range(6):
        _, info = env.reset(seed=seed)
        on, t = info["on_top_of"], info["target_cube"]
        assert on[t] == -1 and info["cube_digits"][t] == info["target_digit"]
        depth, below = 0, t
        while below in on:
            below = on.index(below)
            depth += 1
        depths.add(depth)
    assert depths == {1, 2}


def test_goal_info_per_kind(envs):
    _, info = envs("several").reset(seed=4)
    assert 2 <= len(info["goal_tray"]) <= 3 and not info["goal_ordered"]
    assert set(info["goal_tray"]) <= set(info["cube_digits"])
    assert info["target_digit"] == info["goal_tray"][0]
    assert info["cube_digits"][info["target_cube"]] == info["target_digit"]
    _, info = envs("ordered").reset(seed=4)
    assert info["goal_ordered"] and info["goal_cannot"] == ""
    env = envs("impossible")
    seen = set()
    for seed in range(10):
        _, info = env.reset(seed=seed)
        assert info["goal_tray"] == [] and info["goal_cannot"]
        if info["target_cube"] < 0:  # the digit named is on no cube
            assert info["target_digit"] not in info["cube_digits"]
            assert all(info["cube_reachable"])
            seen.add("missing")
        else:  # its cube is there, out of reach
            assert info["cube_digits"][info["target_cube"]] == info["target_digit"]
            assert info["cube_reachable"] == [i != info["target_cube"] for i in range(info["n_cubes"])]
            seen.add("far")
        assert str(info["target_digit"]) in info["goal_cannot"]
    assert seen == {"missing", "far"}


def test_same_seed_same_episode_other_seed_another(envs):
    a = envs("mixed")
    b = DigitPickEnv(task="mixed", digit_source="sklearn", image_size=64)
    try:
        b.reset(seed=3)  # another episode first must not matter
        oa, ia = a.reset(seed=12)
        ob, ib = b.reset(seed=12)
        for key in ("task_kind", "request", "cube_digits", "on_top_of", "cube_reachable"):
            assert ia[key] == ib[key]
        assert np.array_equal(ia["cube_positions"], ib["cube_positions"])
        assert np.array_equal(oa["image"], ob["image"]) and np.array_equal(oa["depth"], ob["depth"])
        act = still(ia)
        sa, sb = a.step(act), b.step(act)
        assert np.array_equal(sa[0]["depth"], sb[0]["depth"]) and sa[1:4] == sb[1:4]
        requests = {a.reset(seed=s)[1]["request"] for s in range(12, 16)}
        assert len(requests) > 1
    finally:
        b.close()


def test_mixed_kinds_are_drawn_from_the_seed(envs):
    kinds = {envs("mixed").reset(seed=s)[1]["task_kind"] for s in range(20)}
    assert len(kinds) >= 4 and kinds <= set(R.KINDS)


def test_cannot_on_an_untouched_impossible_task_succeeds(envs):
    env = envs("impossible")
    obs, info = env.reset(seed=0)
    obs, r, term, trunc, info = env.step(still(info, cannot=True))
    assert term and not trunc and r == 1.0 and info["is_success"] and info["cannot_reported"]


def test_cannot_on_a_possible_task_fails_and_ends_the_episode(envs):
    env = envs("several")
    obs, info = env.reset(seed=0)
    obs, r, term, trunc, info = env.step(still(info))
    assert not term and not info["cannot_reported"]
    obs, r, term, trunc, info = env.step(still(info, cannot=True))
    assert term and r == 0.0 and not info["is_success"] and info["cannot_reported"]


def test_cannot_after_moving_a_cube_fails(envs):
    env = envs("impossible")
    obs, info = env.reset(seed=0)
    i = 0 if info["target_cube"] != 0 else 1
    p = info["cube_positions"][i]
    env._client.resetBasePositionAndOrientation(env._cube_ids[i], (p[0] - 0.03, p[1], p[2]),
                                                (0, 0, 0, 1))
    obs, r, term, trunc, info = env.step(still(info, cannot=True))
    assert term and r == 0.0 and not info["is_success"]


def _put(env, cube: int, xy, level: int) -> None:
    g = env.geometry
    z = g.tray_floor_m + g.half + level * g.cube_size_m
    env._client.resetBasePositionAndOrientation(env._cube_ids[cube], (xy[0], xy[1], z),
                                                (0, 0, 0, 1))


def _settle(env, info, steps: int = 4):
    for _ in range(steps):
        obs, r, term, trunc, info = env.step(still(info))
    return r, term, info


def _ordered_three(env):
    for seed in range(20):
        _, info = env.reset(seed=seed)
        if len(info["goal_tray"]) == 3:
            return info
    raise AssertionError("no 3-cube ordered request in seeds 0..19")


def test_an_ordered_stack_counts_only_in_the_order_asked(envs):
    env = envs("ordered")
    info = _ordered_three(env)
    goal = [info["cube_digits"].index(d) for d in info["goal_tray"]]
    tray = info["tray_position"][:2]
    for level, cube in enumerate(goal):  # the right order, three high
        _put(env, cube, tray, level)
    r, term, info = _settle(env, info)
    assert info["tray_stack"] == goal and info["on_top_of"][goal[2]] == goal[1]
    assert r == 1.0 and term and info["is_success"]

    info = _ordered_three(env)  # the same request, the top two swapped
    goal = [info["cube_digits"].index(d) for d in info["goal_tray"]]
    for level, cube in enumerate([goal[0], goal[2], goal[1]]):
        _put(env, cube, tray, level)
    r, term, info = _settle(env, info)
    assert info["tray_stack"] == [goal[0], goal[2], goal[1]]
    assert r == 0.0 and not term and not info["is_success"]


def test_several_need_exactly_the_goal_cubes_in_the_tray_in_any_order(envs):
    env = envs("several")
    for seed in range(20):
        _, info = env.reset(seed=seed)
        if len(info["goal_tray"]) == 2 and info["n_cubes"] >= 3:
            break
    goal = [info["cube_digits"].index(d) for d in info["goal_tray"]]
    other = next(i for i in range(info["n_cubes"]) if i not in goal)
    tray = info["tray_position"]
    _put(env, goal[1], tray[:2] + (0.04, 0.0), 0)  # side by side, the later one first
    _put(env, goal[0], tray[:2] - (0.04, 0.0), 0)
    _put(env, other, tray[:2] + (0.04, 0.0), 1)  # and one not asked for, on top
    r, term, info = _settle(env, info)
    assert sorted(info["tray_stack"]) == sorted([*goal, other]) and not info["is_success"]
    p = info["cube_positions"][other]
    env._client.resetBasePositionAndOrientation(env._cube_ids[other], (0.5, 0.0, 0.03),
                                                (0, 0, 0, 1))
    assert p[2] > info["cube_positions"][goal[1], 2]  # it was on top
    r, term, info = _settle(env, info)
    assert sorted(info["tray_stack"]) == sorted(goal) and info["is_success"] and r == 1.0


def test_the_arm_cannot_take_a_cube_out_of_reach(envs):
    env = envs("impossible")
    for seed in range(10):
        obs, info = env.reset(seed=seed)
        if info["target_cube"] >= 0:
            break
    far = info["target_cube"]
    skill = make_skill(f"pick(cube_{far})", env.scene_facts(info))
    for _ in range(150):
        a = skill.step(obs["proprio"])
        if skill.done or skill.failed:
            break
        obs, r, term, trunc, info = env.step(a)
    assert skill.failed and "did not grip" in skill.reason and info["holding"] == -1


def test_depth_is_the_height_of_what_the_camera_sees(envs):
    env = envs("covered")
    s = env.geometry.cube_size_m
    for seed in range(10):  # a scene with a stack three high
        obs, info = env.reset(seed=seed)
        on = info["on_top_of"]
        levels = [1 + len(list(_chain(on, i))) for i in range(len(on))]
        if max(levels) == 3:
            break
    assert max(levels) == 3
    p, depth = info["cube_positions"], obs["depth"]
    for i in range(len(on)):
        if i not in on:  # a top cube (a covered one's top is not seen)
            u, v = env.camera.world_to_pixel(p[i] + (0, 0, s / 2))
            assert depth[int(round(v)), int(round(u))] == pytest.approx(levels[i] * s, abs=0.004)
    assert depth[0, 0] == 0.0  # a table corner far from the arm
    assert depth.min() >= 0.0 and depth.max() < 2.0


def _chain(on, i):
    """The cubes below cube ``i``, top to bottom."""
    while on[i] >= 0:
        i = on[i]
        yield i


@pytest.mark.parametrize(("task", "mode"), [("several", "speech"), ("ordered", "image"),
                                            ("relational", "image")])
def test_a_spoken_or_shown_request_names_one_digit(task, mode):
    with pytest.raises(ConfigError) as e:
        DigitPickEnv(task=task, instruction=mode)
    assert f"task={task!r}" in str(e.value) and f"instruction={mode!r}" in str(e.value)
    assert "expected" in str(e.value)


def test_mixed_shown_requests_draw_one_digit_kinds(envs):
    env = envs("mixed", instruction="image")
    kinds = set()
    for seed in range(12):
        obs, info = env.reset(seed=seed)
        kinds.add(info["task_kind"])
        label = env._bank.labels[int(info["instruction_source"].split(":")[1])]
        assert label == info["target_digit"]
        assert obs["instruction"] == I_.NEUTRAL["image"] and info["request"] != obs["instruction"]
    assert kinds <= set(R.ONE_DIGIT_KINDS) and len(kinds) >= 2


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"task": "juggle"}, "task='juggle': expected one of"),
    ({"task": ["single"]}, "task=['single']: expected one of"),
    ({"task": "several", "n_cubes": 2}, "n_cubes=2"),
])
def test_bad_task_config_is_a_config_error_naming_it(kwargs, needle):
    with pytest.raises(ConfigError) as e:
        DigitPickEnv(**kwargs)
    assert needle in str(e.value) and "expected" in str(e.value)

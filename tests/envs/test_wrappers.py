"""Skill-level DigitPick and the scripted (privileged) solution through the skills."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from neuralbrain.control.skills import make_skill
from neuralbrain.errors import ConfigError
from neuralbrain_envs.digitpick import DigitPickEnv
from neuralbrain_envs.oracle import scripted_calls
from neuralbrain_envs.wrappers import DigitPickSkills


def _seeds(n_plain: int, n_covered: int) -> tuple[list[int], list[int]]:
    """First seeds (stack_prob 0.5) whose target is / is not under another cube."""
    env = DigitPickEnv(digit_source="sklearn", stack_prob=0.5)
    plain, covered = [], []
    try:
        seed = 0
        while len(plain) < n_plain or len(covered) < n_covered:
            _, info = env.reset(seed=seed)
            is_covered = info["target_cube"] in info["on_top_of"]
            if is_covered and len(covered) < n_covered:
                covered.append(seed)
            elif not is_covered and len(plain) < n_plain:
                plain.append(seed)
            seed += 1
    finally:
        env.close()
    return plain, covered


def test_scripted_skill_solution_succeeds_including_stacked_scenes():
    plain, covered = _seeds(7, 3)
    env = DigitPickSkills(DigitPickEnv(digit_source="sklearn", stack_prob=0.5))
    results = {}
    try:
        for seed in plain + covered:
            obs, info = env.reset(seed=seed)
            first_plan = scripted_calls(info)
            terminated, calls = False, []
            for _ in range(8):
                call = scripted_calls(info)[0]
                calls.append(call)
                obs, reward, terminated, truncated, info = env.step(env.skill_names.index(call))
                if terminated or truncated:
                    break
            results[seed] = (terminated, info["is_success"], reward, first_plan, calls)
    finally:
        env.close()
    for seed in covered:  # these had to unstack first
        assert results[seed][3][1] == "place(table)", results[seed]
    failures = {s: r for s, r in results.items() if not (r[0] and r[1] and r[2] == 1.0)}
    assert not failures, failures


def test_skills_wrapper_contract_and_invalid_pick():
    env = DigitPickSkills(
        DigitPickEnv(digit_source="sklearn", n_cubes=3, render_mode="rgb_array"), max_skill_steps=15
    )
    try:
        assert env.action_space == gym.spaces.Discrete(6)
        assert env.skill_names == [
            "pick(cube_0)",
            "pick(cube_1)",
            "pick(cube_2)",
            "place(tray)",
            "place(table)",
            "cannot()",
        ]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            check_env(env)
        obs, info = env.reset(seed=0)
        obs, r, term, trunc, info = env.step(3)  # place(tray) holding nothing
        assert info["skill_status"] == "failed" and "lost the cube" in info["skill_reason"]
        obs, r, term, trunc, info = env.step(0)  # a pick cut short by max_skill_steps
        assert info["skill_status"] == "timeout" and info["skill_steps"] == 15
        assert "skill_ops" not in info  # the world's own controller: priced nowhere
        with pytest.raises(ConfigError, match="expected an int in"):
            env.step(7)
        # the answer "cannot" on a possible task: one step, the episode ends, a failure
        obs, r, term, trunc, info = env.step(5)
        assert info["skill_status"] == "done" and info["skill_steps"] == 1
        assert term and r == 0.0 and info["cannot_reported"] and not info["is_success"]
    finally:
        env.close()
    env5 = DigitPickSkills(DigitPickEnv(digit_source="sklearn", min_cubes=3, max_cubes=5))
    try:
        _, info = env5.reset(seed=0)
        if info["n_cubes"] < 5:
            _, _, _, _, info = env5.step(4)
            assert info["skill_status"] == "invalid" and info["skill_steps"] == 0
    finally:
        env5.close()


def test_skills_drive_the_low_level_env_directly():
    env = DigitPickEnv(digit_source="sklearn", stack_prob=0.0)
    try:
        obs, info = env.reset(seed=2)
        i = info["target_cube"]
        skill = make_skill(f"pick(cube_{i})", env.scene_facts(info))
        for _ in range(200):
            a = skill.step(obs["proprio"])
            if skill.done or skill.failed:
                break
            assert env.action_space.contains(a)
            obs, r, term, trunc, info = env.step(a)
        assert skill.done, skill.reason
        assert info["holding"] == i and obs["proprio"][11] == 1.0
        assert info["cube_positions"][i, 2] > 0.15  # lifted
        assert np.isclose(info["sim_time_s"], skill.steps / 24, atol=1 / 24)
    finally:
        env.close()


def _solve(env, seed: int):
    _, info = env.reset(seed=seed)
    start, calls = info, []
    for _ in range(12):
        calls.append(scripted_calls(info)[0])
        _, r, term, trunc, info = env.step(env.skill_names.index(calls[-1]))
        if term or trunc:
            break
    return start, info, r, term, calls


def test_scripted_solution_builds_a_three_stack_and_unstacks_two():
    # seed 0 asks for three digits in order; covered seed 0 has its target under two cubes
    env = DigitPickSkills(DigitPickEnv(digit_source="sklearn", task="ordered", image_size=64))
    try:
        start, info, r, term, calls = _solve(env, 0)
        goal = [start["cube_digits"].index(d) for d in start["goal_tray"]]
        assert len(goal) == 3 and calls == [c for g in goal for c in (f"pick(cube_{g})", "place(tray)")]
        assert term and r == 1.0 and info["tray_stack"] == goal
    finally:
        env.close()
    env = DigitPickSkills(DigitPickEnv(digit_source="sklearn", task="covered", image_size=64))
    try:
        start, info, r, term, calls = _solve(env, 0)
        assert start["on_top_of"].count(-1) == start["n_cubes"] - 2  # a stack three high
        assert calls[:4] == ["pick(cube_2)", "place(table)", "pick(cube_1)", "place(table)"]
        assert term and r == 1.0 and info["tray_stack"] == [start["target_cube"]]
    finally:
        env.close()

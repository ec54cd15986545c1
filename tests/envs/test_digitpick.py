"""DigitPick-v0: Gymnasium contract, determinism, observations, config errors, legibility."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import neuralbrain_envs
from neuralbrain.errors import ConfigError, DataError, ShapeError
from neuralbrain_envs import digits as D
from neuralbrain_envs.digitpick import DigitPickEnv
from neuralbrain_envs.instructions import WORDS
from neuralbrain_envs.scene import TABLE_RGB, _cube_mesh


def _check(env) -> None:
    with warnings.catch_warnings():
        # gymnasium's advice (normalised Box actions, finite proprio bounds) is not an error
        warnings.simplefilter("ignore", UserWarning)
        check_env(env, skip_render_check=False)


@pytest.mark.parametrize("env_id", neuralbrain_envs.ENV_IDS)
def test_check_env_on_every_registered_env(env_id):
    env = gym.make(env_id, render_mode="rgb_array", digit_source="sklearn")
    try:
        _check(env.unwrapped)
        assert env.spec.max_episode_steps is not None
    finally:
        env.close()


@pytest.mark.parametrize("mode", ["text", "image"])
def test_check_env_per_instruction_mode(mode):
    env = DigitPickEnv(instruction=mode, render_mode="rgb_array", digit_source="sklearn")
    try:
        _check(env)
    finally:
        env.close()


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and not isinstance(a, str):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return a.dtype == np.asarray(b).dtype and np.array_equal(a, b)
    return a == b


def _rollout(env, seed: int, actions) -> list:
    obs, info = env.reset(seed=seed)
    out = [(obs, info)]
    for a in actions:
        out.append(env.step(a))
    return out


def test_seeded_reset_and_trajectory_are_reproducible():
    a = DigitPickEnv(digit_source="sklearn", stack_prob=0.5)
    b = DigitPickEnv(digit_source="sklearn", stack_prob=0.5)
    try:
        space = a.action_space
        space.seed(7)
        actions = [space.sample() for _ in range(12)]
        for act in actions:
            act[4] = -1.0  # no "cannot" report: that would end the episode at once
        actions[6][3] = 1.0  # suction on for a while
        b.reset(seed=99)  # b ran another episode first: must not matter
        b.step(actions[0])
        ra, rb = _rollout(a, 5, actions), _rollout(b, 5, actions)
        assert _same(ra, rb)
        other = _rollout(a, 6, actions[:1])
        assert not _same(ra[0][1]["cube_positions"], other[0][1]["cube_positions"]) or (
            ra[0][1]["cube_digits"] != other[0][1]["cube_digits"]
        )
    finally:
        a.close()
        b.close()


def test_observation_and_info_contents_text_mode():
    env = DigitPickEnv(digit_source="sklearn", render_mode="rgb_array")
    try:
        counts, phrasings = set(), set()
        for seed in range(8):
            obs, info = env.reset(seed=seed)
            n = info["n_cubes"]
            counts.add(n)
            assert set(obs) == {"image", "proprio", "instruction", "audio", "instruction_image",
                                "depth"}
            assert obs["depth"].shape == (128, 128) and obs["depth"].dtype == np.float32
            assert obs["image"].shape == (128, 128, 3) and obs["image"].dtype == np.uint8
            assert obs["proprio"].shape == (12,) and obs["proprio"].dtype == np.float32
            assert not obs["audio"].any() and not obs["instruction_image"].any()
            digits = info["cube_digits"]
            assert len(set(digits)) == n == len(info["on_top_of"]) == info["cube_positions"].shape[0]
            assert info["target_digit"] == digits[info["target_cube"]]
            d = info["target_digit"]
            text = obs["instruction"]
            assert str(d) in text or WORDS[d] in text
            phrasings.add(text.replace(str(d), "#").replace(WORDS[d], "#"))
            assert info["sim_time_s"] == 0.0 and not info["is_success"]
            assert np.array_equal(env.render(), obs["image"])
            assert text == info["request"] and info["task_kind"] == "single"
            assert info["goal_tray"] == [d] and info["goal_cannot"] == "" and info["tray_stack"] == []
            obs, r, term, trunc, info = env.step(np.array([0.5, 0.0, 0.3, -1.0, 0.0], np.float32))
            assert info["sim_time_s"] == pytest.approx(1 / 24) and r == 0.0 and not term
        assert counts <= {3, 4, 5} and len(counts) >= 2
        assert len(phrasings) >= 4
    finally:
        env.close()


def test_stacked_scenes_report_support():
    env = DigitPickEnv(digit_source="sklearn", stack_prob=1.0, n_cubes=4)
    try:
        obs, info = env.reset(seed=3)
        on_top = info["on_top_of"]
        stacked = [i for i, s in enumerate(on_top) if s >= 0]
        assert len(stacked) == 1
        i = stacked[0]
        p = info["cube_positions"]
        assert p[i, 2] == pytest.approx(p[on_top[i], 2] + env.geometry.cube_size_m, abs=0.005)
    finally:
        env.close()


def test_image_instruction_is_another_sample_of_the_target_digit():
    env = DigitPickEnv(instruction="image", digit_source="sklearn")
    try:
        bank = D.load_bank("sklearn", None)
        for seed in range(4):
            obs, info = env.reset(seed=seed)
            src, idx = info["instruction_source"].split(":")
            assert src == "sklearn"
            assert bank.labels[int(idx)] == info["target_digit"]
            assert int(idx) != info["cube_samples"][info["target_cube"]]
            assert np.array_equal(obs["instruction_image"], bank.images[int(idx)])
            assert str(info["target_digit"]) not in obs["instruction"]
            assert not obs["audio"].any()
    finally:
        env.close()


def test_speech_mode_without_data_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="fsdd/recordings"):
        DigitPickEnv(instruction="speech", data_root=str(tmp_path))


@pytest.mark.data
def test_speech_instruction_plays_the_target_digit():
    from tests.conftest import data_root_or_skip

    root = data_root_or_skip("fsdd")
    env = DigitPickEnv(
        instruction="speech",
        data_root=str(root.parent),
        speakers=["george"],
        takes=[0, 1],
        digit_source="sklearn",
    )
    try:
        obs, info = env.reset(seed=1)
        name = info["instruction_source"].removeprefix("fsdd:")
        digit, speaker, take = name.removesuffix(".wav").split("_")
        assert int(digit) == info["target_digit"] and speaker == "george" and int(take) in (0, 1)
        assert obs["audio"].shape == (8000,) and obs["audio"].dtype == np.float32
        assert np.abs(obs["audio"]).max() > 0.01
        assert str(info["target_digit"]) not in obs["instruction"]
        assert not obs["instruction_image"].any()
        _check(env)
    finally:
        env.close()
    with pytest.raises(DataError, match="nobody"):
        DigitPickEnv(instruction="speech", data_root=str(root.parent), speakers=["nobody"])


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"n_cubes": 0}, "n_cubes=0"),
        ({"n_cubes": 9}, "n_cubes=9"),
        ({"instruction": "smell"}, "instruction='smell': expected one of ['text', 'speech', 'image']"),
        ({"image_size": 8}, "image_size=8"),
        ({"stack_prob": 1.5}, "stack_prob=1.5"),
        ({"min_cubes": 4, "max_cubes": 3}, "min_cubes=4"),
        ({"control_hz": 7}, "control_hz=7"),
        ({"digit_source": "emnist"}, "digit_source='emnist'"),
        ({"colour": "red"}, "unknown kwargs ['colour']"),
        ({"render_mode": "human"}, "render_mode='human'"),
    ],
)
def test_bad_kwargs_raise_config_error_naming_value(kwargs, needle):
    with pytest.raises(ConfigError) as e:
        DigitPickEnv(**kwargs)
    assert needle in str(e.value) and "expected" in str(e.value)


def test_bad_action_is_a_shape_error():
    env = DigitPickEnv(digit_source="sklearn")
    try:
        env.reset(seed=0)
        with pytest.raises(ShapeError, match="5 finite floats"):
            env.step(np.array([0.5, 0.0, np.nan, 1.0, 0.0]))
        with pytest.raises(ShapeError, match="5 finite floats"):
            env.step(np.zeros(4))  # the action before "cannot" was added
    finally:
        env.close()
    env.close()  # closing twice is harmless


def test_only_top_face_shows_the_digit():
    verts, idx, uvs, normals = _cube_mesh(0.03)
    tex = D.cube_texture(np.full((28, 28), 255, np.uint8))  # all-ink digit
    for n, uv in zip(normals, uvs, strict=True):
        col, row = int(uv[0] * D.TEXTURE_SIZE), int((1 - uv[1]) * D.TEXTURE_SIZE)
        if n[2] <= 0:  # side and bottom faces sample a plain border texel
            texel = tex[min(row, 31), min(col, 31)]
            assert np.allclose(texel, D.CUBE_RGB, atol=1)


def _face_crop(env, obs, p):
    g = env.geometry
    top = p[2] + g.half
    corners = np.array([[p[0] + g.half, p[1] + g.half, top], [p[0] - g.half, p[1] - g.half, top]])
    uv = env.camera.world_to_pixel(corners)  # (+x, +y) corner is the upper-left one
    c0, r0 = np.ceil(uv[0]).astype(int)
    c1, r1 = np.floor(uv[1]).astype(int)
    return obs["image"][r0 : r1 + 1, c0 : c1 + 1]


def _corr(a, b) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum() + 1e-9))


@pytest.mark.parametrize("source", ["sklearn", "mnist"])
def test_digits_are_legible_and_upright_on_cube_tops(source):
    if source == "mnist":
        from tests.conftest import data_root_or_skip

        root = str(data_root_or_skip("mnist").parent)
    else:
        root = None
    env = DigitPickEnv(digit_source=source, data_root=root, stack_prob=0.0)
    try:
        own, flipped, mirrored = [], [], []
        for seed in range(3):
            obs, info = env.reset(seed=seed)
            bank = env._bank
            for i, p in enumerate(info["cube_positions"]):
                crop = _face_crop(env, obs, p)
                h, w = crop.shape[:2]
                assert min(h, w) >= 14  # the top face spans at least 14 pixels
                ink = 255.0 - crop.astype(float).mean(-1)
                tex = 255.0 - D.cube_texture(bank.images[info["cube_samples"][i]]).mean(-1)
                ri = ((np.arange(h) + 0.5) * 32 / h).astype(int)
                ci = ((np.arange(w) + 0.5) * 32 / w).astype(int)
                t = tex[np.ix_(ri, ci)]
                own.append(_corr(ink, t))
                flipped.append(_corr(ink, t[::-1, ::-1]))
                mirrored.append(_corr(ink, t[:, ::-1]))
        assert np.mean(own) > 0.45
        assert np.mean(own) > np.mean(flipped) + 0.15 and np.mean(own) > np.mean(mirrored) + 0.15
    finally:
        env.close()


def test_pixel_to_world_lands_on_the_rendered_cubes():
    env = DigitPickEnv(digit_source="sklearn", stack_prob=0.0)
    try:
        obs, info = env.reset(seed=11)
        assert info["view_matrix"] == env.view_matrix == env.camera.view
        pts = info["cube_positions"].copy()
        pts[:, 2] += env.geometry.half
        px = env.camera.world_to_pixel(pts)
        for (u, v), p in zip(px, pts, strict=True):
            r, c = int(round(v)), int(round(u))
            assert not np.array_equal(obs["image"][r, c], TABLE_RGB)  # a cube is drawn here
            back = env.camera.pixel_to_world(np.array([u, v]), z=p[2])
            assert np.allclose(back, p, atol=1e-6)
        # the top image row sees the far table edge of the strip, beyond every cube and tray
        assert np.all(obs["image"][0] == TABLE_RGB)
        row = env.camera.pixel_to_world(np.array([[c, 0.0] for c in range(128)]), z=0.0)
        assert np.all(row[:, 0] > env.geometry.cube_x_range[1] + env.geometry.half)
    finally:
        env.close()


def test_importing_envs_registers_without_pybullet():
    import subprocess
    import sys

    code = (
        "import sys, envs, gymnasium; "
        "assert 'neuralbrain/DigitPick-v0' in gymnasium.registry; "
        "sys.exit(1 if any(m.startswith('pybullet') for m in sys.modules) else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_two_envs_coexist_each_with_its_own_client():
    a = DigitPickEnv(digit_source="sklearn")
    b = DigitPickEnv(digit_source="sklearn")
    try:
        oa, _ = a.reset(seed=1)
        ob, _ = b.reset(seed=2)
        assert a._client._client != b._client._client
        act = np.array([0.5, 0.1, 0.3, -1.0, 0.0], np.float32)
        for _ in range(3):
            oa2, *_ = a.step(act)
        b.close()  # closing one leaves the other running
        oa3, *_ = a.step(act)
        assert oa3["proprio"].shape == (12,)
    finally:
        a.close()

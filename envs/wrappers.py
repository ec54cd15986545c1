"""Skill-level DigitPick: one action = one pick/place skill run to completion.

``DigitPickSkills`` wraps a ``DigitPickEnv`` with a ``Discrete`` action space over
``pick(cube_0) .. pick(cube_{N-1})``, ``place(tray)``, ``place(table)``, ``cannot()`` (N =
the largest cube count the env can draw). ``cannot()`` is the answer that the request cannot
be done: one low-level step holding the arm still with the action's "cannot" element set,
which ends the episode (a success only on an impossible task left untouched); it is always
"done". Each other ``step(a)`` builds the skill from the current
privileged facts (``env.scene_facts(info)``), runs it on the low-level env for at most
``max_skill_steps`` control steps or until the episode ends, and returns the last
observation, the summed reward, and ``info`` extended with ``skill`` (the call),
``skill_status`` ("done"; "failed"; "timeout": ``max_skill_steps`` ran out; "interrupted":
the episode ended first, e.g. on success mid-retreat; "invalid"), ``skill_reason``,
``skill_steps`` (low-level steps taken). ``pick`` of a cube index the scene lacks is
"invalid" and takes no low-level step.

The skills run inside this wrapper, as part of the world: their arithmetic is not the
agent's and is priced nowhere. An agent whose energy should include running the skills acts
on ``DigitPick-v0`` with a skill-executing module (``plan_executor``, ``skill_control``),
which books it on its backend.
"""

from __future__ import annotations

import copy
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from neuralbrain.control.arm import Proprio
from neuralbrain.control.skills import SkillConfig, arm_action, make_skill
from neuralbrain.errors import ConfigError

CANNOT_CALL = "cannot()"


class DigitPickSkills(gym.Wrapper):
    """Discrete skill-call actions over a DigitPick env (see the module docstring)."""

    def __init__(
        self, env: gym.Env, max_skill_steps: int = 200, skill_config: SkillConfig | None = None
    ) -> None:
        super().__init__(env)
        if not (isinstance(max_skill_steps, int) and max_skill_steps >= 1):
            raise ConfigError(f"max_skill_steps={max_skill_steps!r}: expected an int >= 1")
        base = env.unwrapped
        if not hasattr(base, "scene_facts"):
            raise ConfigError(f"DigitPickSkills wraps a DigitPick env, got {type(base).__name__}")
        cfg = base.config
        self.n_max = cfg.n_cubes if cfg.n_cubes is not None else cfg.max_cubes
        self.skill_names = [f"pick(cube_{i})" for i in range(self.n_max)] + [
            "place(tray)",
            "place(table)",
            CANNOT_CALL,
        ]
        self.action_space = spaces.Discrete(len(self.skill_names))
        self.max_skill_steps = max_skill_steps
        self.skill_config = skill_config if skill_config is not None else SkillConfig()
        self._obs: dict[str, Any] | None = None
        self._info: dict[str, Any] | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._obs, self._info = obs, info
        return obs, info

    def step(self, action):
        if self._obs is None:
            raise ConfigError("DigitPickSkills.step called before reset()")
        a = int(action)
        if not 0 <= a < len(self.skill_names):
            raise ConfigError(f"skill action {action!r}: expected an int in [0, {len(self.skill_names)})")
        call = self.skill_names[a]
        base = self.env.unwrapped
        obs, info = self._obs, self._info
        total, terminated, truncated, steps = 0.0, False, False, 0
        if a < self.n_max and a >= info["n_cubes"]:
            status, reason = "invalid", f"{call}: the scene has {info['n_cubes']} cubes"
        elif call == CANNOT_CALL:
            arm = Proprio.from_vector(obs["proprio"])
            act = arm_action(arm.tip, 1.0 if arm.suction else -1.0, cannot=True)
            obs, r, terminated, truncated, info = self.env.step(act)
            total, steps, status, reason = float(r), 1, "done", ""
        else:
            tip_xy = Proprio.from_vector(obs["proprio"]).tip[:2]
            skill = make_skill(call, base.scene_facts(info), self.skill_config, tip_xy=tip_xy)
            while not (skill.done or skill.failed) and steps < self.max_skill_steps:
                act = skill.step(obs["proprio"])
                if skill.done or skill.failed:
                    break
                obs, r, terminated, truncated, info = self.env.step(act)
                total += float(r)
                steps += 1
                if terminated or truncated:
                    break
            status = skill.status if skill.status != "running" else "timeout"
            if status == "running" or (status == "timeout" and (terminated or truncated)):
                status = "interrupted"
            reason = skill.reason
        if steps == 0:  # no low-level step: hand out fresh data, never the stored objects
            obs, info = copy.deepcopy(obs), copy.deepcopy(info)
        info = dict(info)
        info.update(
            skill=call,
            skill_status=status,
            skill_reason=reason,
            skill_steps=steps,
        )
        self._obs, self._info = obs, info
        return obs, total, terminated, truncated, info


def make_digitpick_skills(
    max_skill_steps: int = 200, render_mode: str | None = None, **env_kwargs: Any
) -> DigitPickSkills:
    """Entry point of ``neuralbrain/DigitPickSkills-v0``: a DigitPickEnv in the wrapper."""
    from neuralbrain_envs.digitpick import DigitPickEnv

    return DigitPickSkills(DigitPickEnv(render_mode=render_mode, **env_kwargs), max_skill_steps)


__all__ = ["DigitPickSkills", "make_digitpick_skills"]

"""Gymnasium worlds of neuralbrain, registered under ``neuralbrain/...`` ids.

Importing this package only registers entry points (lazy strings): it does not import
pybullet nor connect to a physics server.
"""

from __future__ import annotations

import gymnasium

DIGITPICK_MAX_STEPS = 400  # control steps at 24 Hz: ~17 s, room for unstack + pick + place
DIGITPICK_SKILLS_MAX_CALLS = 12

if "neuralbrain/DigitPick-v0" not in gymnasium.registry:
    gymnasium.register(
        id="neuralbrain/DigitPick-v0",
        entry_point="envs.digitpick:DigitPickEnv",
        max_episode_steps=DIGITPICK_MAX_STEPS,
    )
if "neuralbrain/DigitPickSkills-v0" not in gymnasium.registry:
    gymnasium.register(
        id="neuralbrain/DigitPickSkills-v0",
        entry_point="envs.wrappers:make_digitpick_skills",
        max_episode_steps=DIGITPICK_SKILLS_MAX_CALLS,
    )

ENV_IDS = ("neuralbrain/DigitPick-v0", "neuralbrain/DigitPickSkills-v0")
if "neuralbrain/EventCartPole-v1" not in gymnasium.registry:  # CartPole-v1 as spikes / DVS events
    gymnasium.register(
        id="neuralbrain/EventCartPole-v1",
        entry_point="envs.event_cartpole:EventCartPoleEnv",
        max_episode_steps=500,
    )

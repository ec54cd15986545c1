"""Gymnasium worlds of neuralbrain, registered under ``neuralbrain/...`` ids.

Installed as ``neuralbrain_envs``. ``register_envs`` is this package's ``gymnasium.envs``
entry point: ``neuralbrain.plugins`` calls it when Gymnasium is imported, so a fresh
``gymnasium.make("neuralbrain/DigitPick-v0")`` works without importing this package first.
Registering only records lazy entry points: it imports neither pybullet nor the env modules.
"""

from __future__ import annotations

DIGITPICK_MAX_STEPS = 400  # control steps at 24 Hz: ~17 s, room for unstack + pick + place
DIGITPICK_SKILLS_MAX_CALLS = 12
CARTPOLE_MAX_STEPS = 500  # CartPole-v1's limit

# id -> (entry point, step limit)
ENVS = {
    "neuralbrain/DigitPick-v0": ("neuralbrain_envs.digitpick:DigitPickEnv", DIGITPICK_MAX_STEPS),
    "neuralbrain/DigitPickSkills-v0": ("neuralbrain_envs.wrappers:make_digitpick_skills",
                                       DIGITPICK_SKILLS_MAX_CALLS),
    # CartPole-v1 seen as spikes or DVS events
    "neuralbrain/EventCartPole-v1": ("neuralbrain_envs.event_cartpole:EventCartPoleEnv",
                                     CARTPOLE_MAX_STEPS),
}
ENV_IDS = ("neuralbrain/DigitPick-v0", "neuralbrain/DigitPickSkills-v0")  # the DigitPick family


def register_envs() -> None:
    """Register every id of ``ENVS`` with Gymnasium (ids already registered are kept)."""
    import gymnasium

    for env_id, (entry_point, max_steps) in ENVS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=entry_point, max_episode_steps=max_steps)


register_envs()

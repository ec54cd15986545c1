"""``neuralbrain/EventCartPole-v1``: Gymnasium's CartPole seen as spikes or as DVS events.

The dynamics, reward, termination, start distribution and 500-step limit are Gymnasium's
``CartPole-v1`` (``EventCartPoleEnv`` subclasses ``CartPoleEnv`` and calls its ``step`` and
``reset``); only the observation changes, chosen by the ``observation`` kwarg:

``"spikes"`` (shape ``(n_steps, 4 * n_per_dim)``, uint8 0/1)
    The state ``(x, x_dot, theta, theta_dot)`` population-coded over ``n_steps`` time bins
    (``encode_state``). Variable ``d`` is clipped to ``[-r_d, r_d]`` (``ranges``) and seen by
    ``n_per_dim`` neurons with Gaussian tuning curves, centres ``c_i`` evenly spaced over
    ``[-r_d, r_d]`` and width ``sigma = tuning_width * (c_{i+1} - c_i)``, so neuron ``i`` fires
    at rate ``p_i = exp(-(x_d - c_i)^2 / (2 sigma^2))`` spikes per bin (Pouget, Dayan & Zemel,
    "Information processing with population codes", Nat. Rev. Neurosci. 2000). The spikes are
    deterministic and regular (an integrate-and-fire encoder starting half-charged):
    ``s_t = floor((t + 1) p + 1/2) - floor(t p + 1/2)``, so a neuron emits ``round(n_steps p)``
    spikes per env step. The observation is a pure function of the current state.

``"events"`` (shape ``(2, height, width)``, uint8 event counts, polarity OFF=0 / ON=1)
    A small binary picture of the cart-pole (``render_frame``: numpy, not pygame; the track
    spans ``[-2.4, 2.4]`` m across the width, a bright cart and pole on a dark background) is
    fed to the DVS emulator ``neuralbrain.sensing.dvs`` with the previous step's frame; the
    observation counts the events each pixel emitted during the last step (``tau`` = 20 ms),
    clipped at 255. The emulator is stateless, so each step's pixel reference restarts from
    the previous frame: sub-threshold changes do not carry over between steps, which loses
    nothing here because every change of a binary frame is far above threshold. After
    ``reset`` no change has been seen yet: the counts are zero.

``info["sim_time_s"]`` is the simulated time ``steps * tau``; ``info["state"]`` is the true
4-d state (float64) for analysis (policies must not read it).

``cartpole_step`` is the same dynamics for a batch of states in numpy (the training-time
simulator of ``agents/snn_cartpole.py``); it repeats ``CartPoleEnv.step`` operation for
operation, and a test checks that both agree bit for bit, step for step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

from neuralbrain.errors import ConfigError, ShapeError

OBSERVATIONS = ("spikes", "events")

# CartPole-v1 constants (gymnasium.envs.classic_control.cartpole.CartPoleEnv.__init__).
GRAVITY = 9.8
MASSCART = 1.0
MASSPOLE = 0.1
TOTAL_MASS = MASSPOLE + MASSCART
LENGTH = 0.5  # half the pole's length
POLEMASS_LENGTH = MASSPOLE * LENGTH
FORCE_MAG = 10.0
TAU_S = 0.02
THETA_THRESHOLD = 12 * 2 * math.pi / 360
X_THRESHOLD = 2.4
MAX_EPISODE_STEPS = 500

# Luminances of the rendered frame (0..1): both above the DVS lin-log cutoff, log ratio ~1.4.
BACKGROUND = 0.25
FOREGROUND = 1.0


@dataclass(frozen=True)
class SpikeCode:
    """Population code of the 4-d state (see the module docstring for the equations)."""

    n_per_dim: int = 16
    n_steps: int = 8
    ranges: tuple[float, float, float, float] = (2.4, 2.0, 0.21, 2.0)
    tuning_width: float = 1.0

    def __post_init__(self) -> None:
        if not (isinstance(self.n_per_dim, int) and 2 <= self.n_per_dim <= 256):
            raise ConfigError(f"n_per_dim = {self.n_per_dim!r}: expected an integer in 2..256")
        if not (isinstance(self.n_steps, int) and 1 <= self.n_steps <= 256):
            raise ConfigError(f"n_steps = {self.n_steps!r}: expected an integer in 1..256")
        ranges = tuple(self.ranges)
        if len(ranges) != 4 or not all(
            isinstance(r, int | float) and math.isfinite(r) and r > 0 for r in ranges
        ):
            raise ConfigError(
                f"ranges = {self.ranges!r}: expected 4 finite numbers > 0 "
                "(half-ranges of x, x_dot, theta, theta_dot)"
            )
        object.__setattr__(self, "ranges", tuple(float(r) for r in ranges))
        if not (isinstance(self.tuning_width, int | float) and 0 < self.tuning_width < 100):
            raise ConfigError(f"tuning_width = {self.tuning_width!r}: expected a number in (0, 100)")

    @property
    def n_inputs(self) -> int:
        return 4 * self.n_per_dim

    def centres(self) -> np.ndarray:
        """(4, n_per_dim) tuning-curve centres."""
        r = np.asarray(self.ranges)[:, None]
        return r * np.linspace(-1.0, 1.0, self.n_per_dim)[None, :]

    def sigmas(self) -> np.ndarray:
        """(4,) tuning-curve widths."""
        return self.tuning_width * 2.0 * np.asarray(self.ranges) / (self.n_per_dim - 1)


def encode_state(states: np.ndarray, code: SpikeCode) -> np.ndarray:
    """(B, 4) float states -> (B, n_steps, 4 * n_per_dim) uint8 spikes (pure function)."""
    s = np.asarray(states, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] != 4:
        raise ShapeError(f"states has shape {s.shape}: expected (batch, 4)")
    r = np.asarray(code.ranges)
    clipped = np.clip(s, -r, r)
    z = (clipped[:, :, None] - code.centres()[None]) / code.sigmas()[None, :, None]
    rate = np.exp(-0.5 * z * z).reshape(s.shape[0], 1, -1)  # (B, 1, 4N)
    t = np.arange(code.n_steps + 1, dtype=np.float64)[None, :, None]
    fired = np.floor(t * rate + 0.5)  # spikes emitted by the end of each bin
    return np.diff(fired, axis=1).astype(np.uint8)


def cartpole_step(
    states: np.ndarray, actions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Batched CartPole-v1 Euler step: (B, 4) float64 states, (B,) 0/1 actions ->
    (next states, terminated). Same operations, in the same order, as ``CartPoleEnv.step``."""
    x, x_dot, theta, theta_dot = (states[:, i] for i in range(4))
    force = np.where(np.asarray(actions) == 1, FORCE_MAG, -FORCE_MAG)
    costheta = np.cos(theta)
    sintheta = np.sin(theta)
    temp = (force + POLEMASS_LENGTH * np.square(theta_dot) * sintheta) / TOTAL_MASS
    thetaacc = (GRAVITY * sintheta - costheta * temp) / (
        LENGTH * (4.0 / 3.0 - MASSPOLE * np.square(costheta) / TOTAL_MASS)
    )
    xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS
    x = x + TAU_S * x_dot
    x_dot = x_dot + TAU_S * xacc
    theta = theta + TAU_S * theta_dot
    theta_dot = theta_dot + TAU_S * thetaacc
    new = np.stack((x, x_dot, theta, theta_dot), axis=1)
    terminated = (
        (x < -X_THRESHOLD) | (x > X_THRESHOLD)
        | (theta < -THETA_THRESHOLD) | (theta > THETA_THRESHOLD)
    )
    return new, terminated


def render_frame(state: np.ndarray, height: int, width: int) -> np.ndarray:
    """A (height, width) float64 picture of the cart-pole: BACKGROUND with a FOREGROUND cart
    (0.5 m x 0.3 m) and pole (1 m, drawn as a 1-pixel line) at the state's x and theta."""
    x, _, theta, _ = (float(v) for v in state)
    frame = np.full((height, width), BACKGROUND)
    px_per_m = width / (2 * X_THRESHOLD)
    cx = (x + X_THRESHOLD) * px_per_m
    ground = height - max(2, height // 8)
    cart_h = max(2, round(0.3 * px_per_m))
    half_w = max(1, round(0.25 * px_per_m))
    top = ground - cart_h
    c0, c1 = math.floor(cx) - half_w, math.floor(cx) + half_w
    frame[max(top, 0):max(ground, 0), max(c0, 0):max(min(c1 + 1, width), 0)] = FOREGROUND
    pole_px = 2 * LENGTH * px_per_m
    n = max(2, math.ceil(pole_px) * 2)
    along = np.linspace(0.0, pole_px, n)
    cols = np.floor(cx + along * math.sin(theta)).astype(np.int64)
    rows = np.floor(top - along * math.cos(theta)).astype(np.int64)
    keep = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    frame[rows[keep], cols[keep]] = FOREGROUND
    return frame


def event_counts(events: np.ndarray, height: int, width: int) -> np.ndarray:
    """Structured events (t, x, y, p) -> (2, height, width) uint8 counts, clipped at 255."""
    counts = np.zeros((2, height, width), np.int64)
    np.add.at(counts, (events["p"].astype(np.int64), events["y"].astype(np.int64),
                       events["x"].astype(np.int64)), 1)
    return np.minimum(counts, 255).astype(np.uint8)


class EventCartPoleEnv(CartPoleEnv):
    """CartPole-v1 whose observation is spikes or DVS events (see the module docstring)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(
        self,
        observation: str = "spikes",
        n_per_dim: int = 16,
        n_steps: int = 8,
        ranges: tuple[float, float, float, float] | list[float] = (2.4, 2.0, 0.21, 2.0),
        tuning_width: float = 1.0,
        height: int = 32,
        width: int = 64,
        dvs: dict[str, Any] | None = None,
        render_mode: str | None = None,
    ) -> None:
        if observation not in OBSERVATIONS:
            raise ConfigError(f"observation = {observation!r}: expected one of {list(OBSERVATIONS)}")
        if render_mode not in (None, "rgb_array"):
            raise ConfigError(f"render_mode = {render_mode!r}: expected None or 'rgb_array'")
        super().__init__(render_mode=render_mode)
        self.observation_mode = observation
        self.code = SpikeCode(n_per_dim, n_steps, tuple(ranges), tuning_width)
        for name, value in (("height", height), ("width", width)):
            if not (isinstance(value, int) and 8 <= value <= 1024):
                raise ConfigError(f"{name} = {value!r}: expected an integer in 8..1024")
        self.height, self.width = height, width
        self._dvs = None
        if observation == "events":
            from neuralbrain.config import build
            from neuralbrain.sensing import dvs as dvs_mod

            self._dvs = dvs_mod.DVS(build(dvs_mod.Config, dict(dvs or {}), "env.dvs"))
            self.observation_space = spaces.Box(0, 255, (2, height, width), np.uint8)
        else:
            if dvs:
                raise ConfigError("dvs settings given but observation = 'spikes': expected none")
            self.observation_space = spaces.Box(0, 1, (n_steps, self.code.n_inputs), np.uint8)
        self._steps = 0
        self._frame: np.ndarray | None = None

    def _observe(self) -> np.ndarray:
        if self.observation_mode == "spikes":
            return encode_state(self.state[None], self.code)[0]
        frame = render_frame(self.state, self.height, self.width)
        prev, self._frame = self._frame, frame
        if prev is None:
            return np.zeros(self.observation_space.shape, np.uint8)
        t1 = self._steps * TAU_S
        seed = int(self.np_random.integers(2**31))  # the step's noise draw, from the env seed
        events = self._dvs(np.stack([prev, frame]), np.array([t1 - TAU_S, t1]), seed=seed)
        return event_counts(events, self.height, self.width)

    def _info(self) -> dict[str, Any]:
        return {"sim_time_s": self._steps * TAU_S, "state": np.array(self.state, np.float64)}

    def reset(
        self, *, seed: int | None = None, options: dict | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed, options=options)
        self._steps = 0
        self._frame = None
        return self._observe(), self._info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ShapeError(f"action {action!r} ({type(action).__name__}): expected 0 or 1")
        if self.state is None:
            raise ShapeError("step() before reset(): expected reset() first")
        _, reward, terminated, truncated, _ = super().step(action)
        self._steps += 1
        return self._observe(), float(reward), terminated, truncated, self._info()

    def render(self) -> np.ndarray | None:
        """``rgb_array``: the numpy frame (the one the DVS sees) as uint8 RGB."""
        if self.render_mode is None or self.state is None:
            return None
        gray = (render_frame(self.state, self.height, self.width) * 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)


"""``perception``: the event camera and the in-sensor SNN looking at a scene of digit cubes.

``ScenePerception`` is ``sensing.perception.Perception`` (the SNN, its backends, cube
detection and reading; see there) run as an agent's eyes:

- it looks (three saccades over the frame, every cube read; with ``obs["depth"]`` also the
  height of each cube's top, the plane its pixel is projected on) only when asked: at a step
  where the ``look`` input is not ``False`` (memory decides; unwired, it looks at every
  step), or, with ``once``, at the first step of an episode only, repeating what it saw
  afterwards;
- the same events also show the tray: the largest square blob of cube-detection's kind but of
  tray size (``[tray]``, allowed to touch the image border), projected to the world like the
  cubes;
- ``shown``: once per episode, the digit of ``obs["instruction_image"]`` when the request is
  an image (all zeros otherwise), looked at the way N-MNIST was recorded (the saccade
  emulator turns it into a 34x34 recording) and read by the same SNN.

Every look is booked on the module's backends (``in_sensor`` for the in-pixel layer and the
link, the main backend for the rest).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from neuralbrain.core import Trained
from neuralbrain.errors import ConfigError
from neuralbrain.payloads import Detections
from neuralbrain.sensing.perception import Config as PerceptionConfig
from neuralbrain.sensing.perception import Perception, depth_of, find_blobs, pixel_to_world
from neuralbrain.sensing.snn.task import CHECKPOINT


@dataclass(frozen=True)
class TrayConfig:
    """How the tray is found among the event blobs: a large square outline (pixels)."""

    min_size_px: int = 61
    max_size_px: int = 160
    rim_z_m: float = 0.0  # the plane its pixel centre is projected on

    def __post_init__(self) -> None:
        if not 1 <= self.min_size_px <= self.max_size_px:
            raise ConfigError(f"tray.min_size_px = {self.min_size_px}, max_size_px = "
                              f"{self.max_size_px}: expected 1 <= min <= max")


@dataclass(frozen=True)
class Config(PerceptionConfig):
    """``[modules.perception]``: ``sensing.perception.Config`` plus when to look and how to
    find the tray."""

    once: bool = False  # look at the first step of each episode only
    tray: TrayConfig = field(default_factory=TrayConfig)


class ScenePerception(Perception):
    """The in-sensor SNN perception as an agent's eyes (see the module docstring)."""

    Config = Config
    inputs = {"obs": object, "info": object, "look": bool}
    optional = frozenset({"look"})
    outputs = {"detections": Detections, "shown": int}
    tasks = ("insensor_nmnist",)

    def __init__(self, config: Config, hardware: Mapping[str, Any] | None,
                 trained: Trained) -> None:
        if trained.checkpoint is not None:  # the trained SNN, else ``weights`` (or an error)
            config = replace(config, weights=str(trained.checkpoint / CHECKPOINT))
        super().__init__(config, hardware)
        self.tray_detect = replace(config.detect, min_size_px=config.tray.min_size_px,
                                   max_size_px=config.tray.max_size_px, keep_cut=True,
                                   plane_z_m=config.tray.rim_z_m)

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        # the instruction image's saccades draw from their own stream: the scene's stay put
        self.glance_rng = np.random.default_rng([seed, 1])
        self.seen: Detections | None = None
        self.shown: int | None = None
        self.glanced = False

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        if not self.glanced:
            self.glanced = True
            self.shown = self.read_image(inputs["obs"])
        looks = inputs["look"] is not False and not (self.config.once and self.seen is not None)
        if looks:
            self.seen = self.look(inputs)
        return {"detections": self.seen if looks or self.config.once else None,
                "shown": self.shown}

    def look(self, inputs: Mapping[str, Any]) -> Detections:
        """Saccades over the frame: every cube read and located, and the tray."""
        events, info, size, offset = self.events(inputs)
        cubes = tuple(self.detect(events, info, size, offset, depth=depth_of(inputs)))
        tray = None
        blobs = find_blobs(events, size, self.tray_detect) if events.size and size else []
        if blobs:
            u, v, _ = max(blobs, key=lambda b: b[2])
            tray = pixel_to_world(u - offset[0], v - offset[1], info, size,
                                  self.tray_detect.plane_z_m)
        return Detections(cubes, tray)

    def read_image(self, obs: Any) -> int | None:
        """The digit of ``obs["instruction_image"]`` (None when there is none or it is blank)."""
        image = obs.get("instruction_image") if isinstance(obs, Mapping) else None
        if image is None or not np.asarray(image).any():
            return None
        from neuralbrain.sensing.saccade import Saccades

        events = Saccades()(np.asarray(image), seed=int(self.glance_rng.integers(2**31)))
        return int(np.argmax(self.classify(self.counts(events)[None])[0]))

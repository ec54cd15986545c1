"""What only the in-sensor picker (``insensor_picker.toml``) needs: facts from what it saw.

The picker reads DigitPick from its event camera (``perception``, looking once per episode)
and hands the scripted planner the facts it would get from the oracle, built from the
detections by ``perceived_facts`` (registered through the ``neuralbrain.modules`` entry
point). Stated shortcuts: the requested digit is read from the text by rule (no LLM), the
tray position comes from ``info``, and no stacks are perceived.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from neuralbrain.control.arm import Proprio
from neuralbrain.control.skills import SceneFacts
from neuralbrain.core import Module, Needs
from neuralbrain.payloads import Detection, Detections
from neuralbrain_envs.modules import OracleFacts

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def instruction_digit(text: str) -> int | None:
    """The digit a text instruction names ("put the 4 in the tray", "move the four cube")."""
    for token in re.findall(r"[a-z]+|\d", str(text).lower()):
        if token.isdigit():
            return int(token)
        if token in NUMBER_WORDS:
            return NUMBER_WORDS.index(token)
    return None


@dataclass(frozen=True)
class Config:
    backend: str = "cpu"


class PerceivedFacts(Module):
    """Scene facts for the scripted planner from what perception saw (not from ``info``).

    Cubes are the detections, in detection order; the target is the detection reading the
    digit the text instruction names (highest confidence); no stacks are perceived
    (``on_top_of`` all -1); ``holding`` is the target while the arm holds a cube.
    Privileged, stated: the tray position comes from ``info`` (this agent does not use the
    tray perception finds). Four ALU ops per detection.
    """

    Config = Config
    inputs = {"detections": Detections, "obs": object, "info": object}
    outputs = {"facts": OracleFacts, "scene": SceneFacts}
    requires = {"backend": Needs(actions={"alu_op"})}

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        seen: Detections = inputs["detections"]
        obs, info = inputs["obs"], inputs["info"]
        arm = Proprio.from_vector(obs["proprio"])
        half = info["workspace"].half
        digit = instruction_digit(obs["instruction"])
        self.charge("alu_op", 4 * max(len(seen.cubes), 1), op="facts")
        located = [d for d in seen.cubes if d.world is not None]
        if not located:
            # nothing seen: a pick below the tool tip, which grasps air and fails the episode
            located = [Detection(-1, 0.0, (0.0, 0.0), (arm.tip[0], arm.tip[1], 2 * half))]
        candidates = [j for j, d in enumerate(located) if d.digit == digit]
        # the digit not read anywhere: the most confident cube (a guess the env will judge)
        target = max(candidates or range(len(located)), key=lambda j: located[j].confidence)
        positions = [(d.world[0], d.world[1], d.world[2] - half) for d in located]
        facts = OracleFacts(target, (-1,) * len(located), target if arm.holding else -1)
        scene = SceneFacts(np.asarray(positions, np.float64).reshape(-1, 3),
                           np.asarray(info["tray_position"], np.float64), info["workspace"],
                           facts.holding)
        return {"facts": facts, "scene": scene}

"""``random_policy``: one module sampling uniformly from the env's action space.

The baseline every task is compared with, and the load of the runtime benchmark. It books
the sampling as integer ALU work on its backend (a handful of ops per action dimension), so
its trace rows carry a real, if tiny, cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium

from neuralbrain.core import Module, Needs
from neuralbrain.errors import ConfigError

ALU_OPS_PER_SAMPLE = 8  # an xorshift draw and a scale/offset per action dimension


@dataclass(frozen=True)
class Config:
    backend: str = "cpu"


class RandomPolicy(Module):
    """Samples an action uniformly from the env's action space (given by ``bind_spaces``)."""

    Config = Config
    inputs = {"obs": object}
    outputs = {"action": object}
    requires = {"backend": Needs(actions={"alu_op"})}

    def __init__(self, config: Config, hardware: Mapping[str, Any] | None = None) -> None:
        super().__init__(config, hardware)
        self.space: gymnasium.Space | None = None

    def bind_spaces(self, observation_space: Any, action_space: Any) -> None:
        self.space = action_space

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        if self.space is not None:
            self.space.seed(seed)

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        if self.space is None:
            raise ConfigError("random_policy has no action space: the runner binds the env's")
        size = int(gymnasium.spaces.flatdim(self.space))
        self.charge("alu_op", ALU_OPS_PER_SAMPLE * size, op="sample")
        return {"action": self.space.sample()}

"""A random agent: one module sampling uniformly from the env's action space.

The baseline every task is compared with, and the load for the runtime benchmark. Its one
module books the sampling as integer ALU work on its backend (a handful of ops per action
dimension) so that its trace rows carry a real, if tiny, cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium

from neuralbrain.config import ExperimentConfig
from neuralbrain.core import Agent, Module
from neuralbrain.errors import ConfigError

ALU_OPS_PER_SAMPLE = 8  # an xorshift draw and a scale/offset per action dimension


@dataclass(frozen=True)
class PolicyConfig:
    backend: str = "cpu"


class RandomPolicy(Module):
    """Samples an action uniformly from the bound action space."""

    Config = PolicyConfig
    inputs = {"obs": object}
    outputs = {"action": object}

    def __init__(self, config: PolicyConfig, hardware: Any = None) -> None:
        super().__init__(config, hardware)
        self.space: gymnasium.Space | None = None

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        if self.space is not None:
            self.space.seed(seed)

    def step(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if self.space is None:
            raise ConfigError("RandomPolicy has no action space: call bind_spaces first")
        size = int(gymnasium.spaces.flatdim(self.space))
        self.charge("alu_op", ALU_OPS_PER_SAMPLE * size, op="sample")
        return {"action": self.space.sample()}


@dataclass(frozen=True)
class RandomAgentConfig:
    policy: PolicyConfig = field(default_factory=PolicyConfig)


class RandomAgent(Agent):
    """Uniformly random actions (a baseline)."""

    Config = RandomAgentConfig

    @classmethod
    def from_config(cls, cfg: ExperimentConfig, checkpoint: Path | None = None) -> RandomAgent:
        policy = RandomPolicy(cfg.modules.policy, cfg.hardware)
        return cls({"policy": policy}, [("env.obs", "policy.obs"), ("policy.action", "action")])

    def bind_spaces(self, observation_space: Any, action_space: Any) -> None:
        self.modules["policy"].space = action_space

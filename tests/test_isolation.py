"""Modules in sandboxed worker processes (``isolation = "process"``, neuralbrain.isolation).

Results equal in-process runs; a worker that crashes, hangs past its deadline, exceeds its
address space or its CPU time fails that episode with an error naming the module and the
limit, the next episode runs on a fresh worker, and the finished episodes stay written.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neuralbrain.config import AgentConfig, Limits, load_config
from neuralbrain.control.random_policy import RandomPolicy
from neuralbrain.core import Module, module_seed
from neuralbrain.errors import ConfigError, IsolationError
from neuralbrain.isolation import isolated
from neuralbrain.modules import MODULES
from neuralbrain.runner import load_agent, make_env, read_run, run

CONFIGS = Path(__file__).resolve().parents[1] / "agents" / "configs"
FAIL_STEP = 3


@dataclass(frozen=True)
class FaultyConfig:
    backend: str = "cpu"
    mode: str = "ok"      # ok | crash | hang | alloc | spin | write | network
    fail_seed: int = -1   # the module seed of the episode that fails
    target: str = ""      # a path to write (mode "write")


class Faulty(RandomPolicy):
    """A random policy that misbehaves at step ``FAIL_STEP`` of the episode whose module seed
    is ``fail_seed`` (test only)."""

    Config = FaultyConfig

    def __init__(self, config: FaultyConfig, hardware: Mapping[str, Any] | None = None) -> None:
        if config.mode == "refuse":
            raise ConfigError(f"mode = {config.mode!r}: expected a mode that builds")
        super().__init__(config, hardware)

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self.seed, self.t = seed, 0

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        self.t += 1
        if self.seed == self.config.fail_seed and self.t == FAIL_STEP:
            mode = self.config.mode
            if mode == "crash":
                os._exit(7)
            elif mode == "hang":
                time.sleep(60)
            elif mode == "alloc":
                np.ones(2**31, dtype=np.uint8)  # 2 GB against a 1 GB address space
            elif mode == "spin":
                while True:
                    pass
            elif mode == "write":
                Path(self.config.target).write_text("escaped")
            elif mode == "network":
                socket.create_connection(("1.1.1.1", 53), timeout=2).close()
        return super().step(inputs)


if "iso_faulty" not in MODULES.names():
    MODULES.register("iso_faulty", Faulty)


def faulty_agent(tmp_path: Path, mode: str, limits: str, target: str = "") -> AgentConfig:
    """CartPole with the faulty policy isolated; it fails in episode 1 (seed 1)."""
    fail_seed = module_seed(1, "policy")
    path = tmp_path / "faulty.toml"
    path.write_text(f"""
seed = 0
edges = ["env.obs -> policy.obs", "policy.action -> action"]
[env]
id = "CartPole-v1"
max_episode_steps = 30
[run]
progress = false
[modules.policy]
type = "iso_faulty"
backend = "cpu"
mode = "{mode}"
fail_seed = {fail_seed}
target = "{target}"
isolation = "process"
[modules.policy.limits]
{limits}
""")
    return load_config(path, kind=AgentConfig)


def isolate_all(config: str) -> list[str]:
    cfg = load_config(CONFIGS / config, kind=AgentConfig)
    return [f"{name}.isolation=process" for name in cfg.modules]


@pytest.mark.parametrize("config", ["scripted_picker_debug.toml", "random_debug.toml"])
def test_isolated_run_equals_in_process_run(config: str) -> None:
    here = run(load_agent(CONFIGS / config), 2)
    agent = load_agent(CONFIGS / config, overrides=isolate_all(config))
    there = run(agent, 2)
    assert there.episodes.column("error").to_pylist() == [None, None]
    assert there.trace.equals(here.trace)
    assert there.episodes.equals(here.episodes)
    # and the actions themselves, step by step, through a fresh reset
    inproc = load_agent(CONFIGS / config)
    env = make_env(inproc.config.env)
    for a in (inproc, agent):
        a.bind_spaces(env.observation_space, env.action_space)
    obs, info = env.reset(seed=5)
    inproc.reset(5)
    agent.reset(5)
    for _ in range(5):
        want, got = inproc.act(obs, info), agent.act(obs, info)
        assert np.array_equal(np.asarray(want), np.asarray(got))
        obs, _, done, cut, info = env.step(want)
        if done or cut:
            break
    env.close()


def test_isolated_modules_under_run_workers() -> None:
    config = "scripted_picker_debug.toml"
    here = run(load_agent(CONFIGS / config), 3)
    there = run(load_agent(CONFIGS / config, overrides=isolate_all(config)), 3, workers=2)
    assert there.trace.equals(here.trace) and there.episodes.equals(here.episodes)


@pytest.mark.parametrize("mode, limits, words", [
    ("crash", "", ["crashed", "exit code 7"]),
    ("hang", "step_deadline_s = 1.0", ["step_deadline_s = 1.0 s while stepping"]),
    ("alloc", "address_space_mb = 1024", ["address_space_mb = 1024"]),
    ("spin", "cpu_s = 1.0", ["cpu_s = 1.0", "SIGXCPU"]),
])
def test_failed_worker_fails_one_episode(tmp_path: Path, mode: str, limits: str,
                                         words: list[str]) -> None:
    agent = load_agent(faulty_agent(tmp_path, mode, limits))
    first = agent.modules["policy"].worker
    result = run(agent, 3, out=tmp_path / "run", plot=False)
    errors = result.episodes.column("error").to_pylist()
    assert errors[0] is None and errors[2] is None, errors
    assert errors[1].startswith("IsolationError: module 'policy'"), errors[1]
    for word in words:
        assert word in errors[1], errors[1]
    steps = result.episodes.column("steps").to_pylist()
    assert steps[1] == FAIL_STEP - 1 and steps[0] > FAIL_STEP and steps[2] > FAIL_STEP
    assert agent.modules["policy"].worker is not first  # a fresh worker ran episode 2
    written = read_run(tmp_path / "run")
    assert written.episodes.equals(result.episodes)
    assert written.trace.equals(result.trace)
    agent.modules["policy"].close()


def test_worker_cannot_write_outside_its_scratch_dir(tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    agent = load_agent(faulty_agent(tmp_path, "write", "", str(target)))
    if "NOT" in agent.modules["policy"].guarantees["filesystem"]:
        pytest.skip("no Landlock on this kernel: writes are not restricted")
    result = run(agent, 2)
    error = result.episodes.column("error").to_pylist()[1]
    assert error is not None and "PermissionError" in error
    assert not target.exists()


def test_worker_has_no_network(tmp_path: Path) -> None:
    agent = load_agent(faulty_agent(tmp_path, "network", ""))
    if "NOT" in agent.modules["policy"].guarantees["network"]:
        pytest.skip("no network namespace nor Landlock net on this machine")
    result = run(agent, 2)
    error = result.episodes.column("error").to_pylist()[1]
    assert error is not None and ("OSError" in error or "PermissionError" in error), error


def test_bad_isolation_config_is_one_line(tmp_path: Path) -> None:
    base = load_config(CONFIGS / "random_debug.toml", kind=AgentConfig)
    with pytest.raises(ConfigError, match=r"isolation = 'thread': expected one of"):
        load_config(CONFIGS / "random_debug.toml", ["policy.isolation=thread"], kind=AgentConfig)
    with pytest.raises(ConfigError, match="limits apply only with isolation"):
        load_config(CONFIGS / "random_debug.toml", ["policy.limits.cpu_s=1"], kind=AgentConfig)
    with pytest.raises(ConfigError, match=r"limits.cpu_s = -1.0: expected a number > 0"):
        load_config(CONFIGS / "random_debug.toml",
                    ["policy.isolation=process", "policy.limits.cpu_s=-1"], kind=AgentConfig)
    assert base.modules["policy"].isolation == "none"
    dumped = load_config(CONFIGS / "random_debug.toml", ["policy.isolation=process"],
                         kind=AgentConfig)
    path = tmp_path / "dumped.toml"
    path.write_text(dumped.to_toml())
    assert load_config(path, kind=AgentConfig).modules["policy"] == dumped.modules["policy"]


def test_step_without_a_worker_names_the_module(tmp_path: Path) -> None:
    agent = load_agent(faulty_agent(tmp_path, "ok", ""))
    proxy = agent.modules["policy"]
    proxy.close()
    with pytest.raises(IsolationError, match="module 'policy'"):
        proxy.step({"obs": np.zeros(4)})
    proxy.reset(0)  # a fresh worker
    assert proxy.worker is not None and proxy.worker.alive
    proxy.close()


def test_module_that_cannot_be_built_raises_its_own_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mode = 'refuse': expected a mode that builds"):
        load_agent(faulty_agent(tmp_path, "refuse", ""))


@dataclass(frozen=True)
class Plan:
    calls: tuple[str, ...]


@dataclass(frozen=True)
class ProbeConfig:
    backend: str = "cpu"


class IdentityProbe(Module):
    """Says whether its input is a new object, and echoes the object it holds (test only)."""

    Config = ProbeConfig
    inputs = {"plan": Plan}
    outputs = {"new": bool, "held": Plan}

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self.plan: Plan | None = None

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        new = inputs["plan"] is not self.plan
        self.plan = inputs["plan"]
        return {"new": new, "held": self.plan}


def test_identity_survives_the_pipe() -> None:
    """A plan that is the last one is not a new plan, in a worker as in process."""
    proxy = isolated(IdentityProbe)("probe", (ProbeConfig(), {}), Limits())
    proxy.reset(0)
    first, equal = Plan(("pick(3)",)), Plan(("pick(3)",))
    outs = [proxy.step({"plan": p}) for p in (first, first, equal, equal)]
    assert [o["new"] for o in outs] == [True, False, True, False]
    assert outs[0]["held"] is outs[1]["held"] and outs[2]["held"] is outs[3]["held"]
    assert outs[1]["held"] is not outs[2]["held"] and outs[1]["held"] == outs[2]["held"]
    proxy.close()

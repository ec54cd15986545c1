"""The episode loop: env + agent -> trace rows and episode rows, in memory or on disk.

``load_agent(config, checkpoint)`` builds an agent from its TOML (a path or a registered
name); ``run(agent, episodes)`` evaluates it for N seeded episodes and returns a ``RunResult``
with the trace and episode tables (pyarrow). Episode ``i`` uses seed ``seed + i`` (the
config's seed unless given) for both ``env.reset`` and ``agent.reset``, so a run is
reproducible and any single episode can be replayed alone. After every step the runner
drains each module's ledger into the trace, one row per (module, op, backend that did the
work).

Nothing is written unless ``out`` is given. Then the resolved config is written first, as
``config.toml``, and after every episode ``trace.parquet`` and ``episodes.parquet`` are
rewritten atomically (a Ctrl-C leaves complete files for the finished episodes), and
``energy.png`` at the end; nothing is written outside ``out``. An exception from the env or
the agent mid-episode marks that episode failed (its ``error`` column says why) and keeps its
rows; after a crash the run goes on with a fresh env, after a neuralbrain ``Error`` (bad
input: a missing model, a wrong checkpoint) it stops with that error.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium
import pyarrow as pa
from tqdm import tqdm

from neuralbrain.atomic import atomic_write_text
from neuralbrain.config import AgentConfig, EnvConfig, load_config
from neuralbrain.core import Agent
from neuralbrain.errors import ConfigError, Error, UnknownNameError
from neuralbrain.plugins import register_gymnasium_envs
from neuralbrain.trace import TraceRecorder, plot_energy


def registered_envs() -> list[str]:
    """Ids of the neuralbrain Gymnasium envs (registered through their entry point)."""
    register_gymnasium_envs()
    return sorted(i for i in gymnasium.registry if i.startswith("neuralbrain/"))


def make_env(cfg: EnvConfig) -> gymnasium.Env:
    """``gymnasium.make`` with the config's kwargs, turning bad names/kwargs into ConfigErrors."""
    if cfg.id not in gymnasium.registry:
        register_gymnasium_envs()  # without the interpreter-start hook (python -S, say)
    if cfg.id not in gymnasium.registry:
        raise UnknownNameError("env", cfg.id, registered_envs(), also=gymnasium.registry)
    spec = gymnasium.spec(cfg.id)
    kwargs: dict[str, Any] = dict(cfg.kwargs)
    if cfg.max_episode_steps is not None:
        kwargs["max_episode_steps"] = cfg.max_episode_steps
    accepted = _accepted_kwargs(spec)
    if accepted is not None:
        unknown = sorted(set(cfg.kwargs) - accepted)
        if unknown:
            raise ConfigError(
                f"[env] has unknown key(s) {unknown} for {cfg.id}: expected some of "
                f"{sorted(accepted | {'id', 'max_episode_steps'})}"
            )
    return gymnasium.make(cfg.id, **kwargs)


def _accepted_kwargs(spec: gymnasium.envs.registration.EnvSpec) -> set[str] | None:
    entry = spec.entry_point
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        entry = getattr(__import__(module, fromlist=[attr]), attr)
    params = inspect.signature(entry).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.name != "self"} | {"render_mode"}


@dataclass(frozen=True)
class RunResult:
    """What a run produced: one row per episode, one per (episode, step, module, op,
    backend), and where they were written (None: in memory only)."""

    episodes: pa.Table
    trace: pa.Table
    out: Path | None = None

    def summary(self) -> dict[str, Any]:
        rows = self.episodes.to_pylist()
        n = max(len(rows), 1)
        return {
            "out": None if self.out is None else str(self.out),
            "episodes": len(rows),
            "success_rate": sum(r["success"] for r in rows) / n,
            "mean_return": math.fsum(r["return"] for r in rows) / n,
            "energy_j": math.fsum(r["energy_j"] for r in rows),
            "errors": sum(r["error"] is not None for r in rows),
        }


def load_agent(config: str | Path | AgentConfig, checkpoint: str | Path | None = None,
               overrides: list[str] | tuple[str, ...] = ()) -> Agent:
    """The agent a config describes (a path, a registered config name or an ``AgentConfig``),
    its trained modules loaded from ``checkpoint``; ``overrides`` as ``--set``."""
    from neuralbrain.assemble import build_agent

    cfg = config if isinstance(config, AgentConfig) else load_config(config, overrides,
                                                                     kind=AgentConfig)
    return build_agent(cfg, checkpoint)


def run(
    agent: Agent,
    episodes: int | None = None,
    *,
    out: str | Path | None = None,
    seed: int | None = None,
    progress: bool | None = None,
) -> RunResult:
    """Evaluate ``agent`` (from ``load_agent``) in its config's env (see the module docstring)."""
    cfg = agent.config
    if cfg is None:
        raise ConfigError("run: the agent has no config (env, seed): build it with load_agent")
    if cfg.env is None:
        raise ConfigError(f"{cfg.source or 'config'} has no [env] table: nothing to run the agent in")
    n_episodes = cfg.run.episodes if episodes is None else episodes
    if n_episodes < 1:
        raise ConfigError(f"episodes = {n_episodes}: expected >= 1")
    first_seed = cfg.seed if seed is None else seed
    show = (cfg.run.progress and out is not None) if progress is None else progress
    env = make_env(cfg.env)
    agent.bind_spaces(env.observation_space, env.action_space)
    out = Path(out) if out is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "config.toml", cfg.to_toml())
    recorder = TraceRecorder(tuple(agent.modules))
    bar = tqdm(total=n_episodes, desc="episodes", unit="ep", disable=not show, leave=False)
    try:
        for episode in range(n_episodes):
            episode_seed = first_seed + episode
            steps, ret, success, error, task = _episode(env, agent, recorder, episode,
                                                        episode_seed)
            fatal = isinstance(error, Error)
            message = None if error is None else f"{type(error).__name__}: {error}"
            recorder.finish_episode(episode, episode_seed, steps, ret, success, message, task)
            if out is not None:
                recorder.write(out)
            if fatal:  # bad input (a missing model, a wrong checkpoint): stop with its message
                raise error
            if error is not None:
                env.close()
                env = make_env(cfg.env)
            bar.update(1)
            bar.set_postfix(success=f"{sum(r['success'] for r in recorder.episodes)}/{episode + 1}")
    finally:
        bar.close()
        env.close()
    trace = recorder.finished_trace()
    if out is not None:
        plot_energy(trace, out / "energy.png")
    return RunResult(recorder.episodes_table(), trace, out)


def _control_period_s(env: gymnasium.Env) -> float:
    """Seconds of simulated time per env step when the env does not report ``sim_time_s``:
    MuJoCo-style ``dt`` or classic-control ``tau``; NaN when the env states neither."""
    inner = env.unwrapped
    return float(getattr(inner, "dt", getattr(inner, "tau", math.nan)))


def _episode(
    env: gymnasium.Env, agent: Any, recorder: TraceRecorder, episode: int, seed: int
) -> tuple[int, float, bool, Exception | None, str | None]:
    """One episode; returns (steps, return, success, the exception that ended it or None, the
    kind of task the env drew for it: ``info["task_kind"]`` when the env reports one)."""
    steps, ret = 0, 0.0
    terminated = truncated = False
    info: dict[str, Any] = {}
    try:
        obs, info = env.reset(seed=seed)
        agent.reset(seed)
        ledgers, backends = agent.ledgers, agent.backends()
        dt = _control_period_s(env)
        while not (terminated or truncated):
            sim_time = float(info.get("sim_time_s", steps * dt))
            action = agent.act(obs, info)
            recorder.record_step(episode, steps, sim_time, ledgers, backends)
            obs, reward, terminated, truncated, info = env.step(action)
            ret += float(reward)
            steps += 1
    except KeyboardInterrupt:
        raise
    except Exception as err:  # a crash fails this episode; the caller decides about the run
        return steps, ret, False, err, _task(info)
    if "is_success" in info:
        success = bool(info["is_success"])
    else:  # envs without a success flag (CartPole): surviving to the time limit
        success = bool(truncated and not terminated)
    return steps, ret, success, None, _task(info)


def _task(info: dict[str, Any]) -> str | None:
    kind = info.get("task_kind")
    return None if kind is None else str(kind)

"""The episode loop: env + agent -> trace rows and episode rows, in memory or on disk.

``load_agent(config, checkpoint)`` builds an agent from its TOML (a path or a registered
name); ``run(agent, episodes)`` evaluates it for N seeded episodes and returns a ``RunResult``
with the trace and episode tables (pyarrow). Episode ``i`` uses seed ``seed + i`` (the
config's seed unless given) for both ``env.reset`` and ``agent.reset``, so a run is
reproducible and any single episode can be replayed alone. After every step the runner
drains each module's ledger into the trace, one row per (module, op, backend that did the
work).

``workers=N`` (N > 1) spreads the episodes over N processes (``neuralbrain.engines``): each
builds the agent once from the agent's config and checkpoint and plays the episodes it is
handed; the returned tables and the files are the same rows, in the same order, with the same
sums as a one-worker run, because an episode depends on its seed only.

Nothing is written unless ``out`` is given. Then the resolved config is written first, as
``config.toml``; every finished episode appends one part to ``trace.parquet/`` and to
``episodes.parquet/`` (see ``neuralbrain.trace``: nothing written is rewritten, and a Ctrl-C
or kill -9 loses no finished episode); ``energy.png`` comes at the end (unless
``plot=False``); nothing is written outside ``out``. ``read_run(out)`` reads a run
directory back (either trace layout). An exception from the env or the agent mid-episode
marks that episode failed (its ``error`` column says why) and keeps its rows; after a crash
the run goes on with a fresh env, after a neuralbrain ``Error`` (bad input: a missing model,
a wrong checkpoint) it stops with that error. A worker process that dies mid-episode fails
that episode the same way, and so does an ``IsolationError`` (a module run with
``isolation = "process"`` whose worker crashed, hung or hit a limit: its next reset starts a
fresh worker).
"""

from __future__ import annotations

import inspect
import math
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium
import pyarrow as pa
from tqdm import tqdm

from neuralbrain.atomic import atomic_write_text
from neuralbrain.config import AgentConfig, EnvConfig, load_config
from neuralbrain.core import Agent
from neuralbrain.errors import ConfigError, Error, IsolationError, UnknownNameError
from neuralbrain.plugins import register_gymnasium_envs
from neuralbrain.trace import (
    TraceRecorder,
    plot_energy,
    read_run_tables,
    run_metadata,
)

# The checkpoint each agent built by ``load_agent`` was loaded from: worker processes of a
# parallel run rebuild the agent from its config and this checkpoint.
_CHECKPOINTS: weakref.WeakKeyDictionary[Agent, Path | None] = weakref.WeakKeyDictionary()


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
    agent = build_agent(cfg, checkpoint)
    _CHECKPOINTS[agent] = None if checkpoint is None else Path(checkpoint)
    return agent


def read_run(out: str | Path) -> RunResult:
    """A run directory written by ``run`` (or a version-1 one with single-file traces) as the
    ``RunResult`` that run returned."""
    episodes, trace = read_run_tables(Path(out))
    return RunResult(episodes, trace, Path(out))


def run(
    agent: Agent,
    episodes: int | None = None,
    *,
    out: str | Path | None = None,
    seed: int | None = None,
    progress: bool | None = None,
    workers: int = 1,
    plot: bool = True,
) -> RunResult:
    """Evaluate ``agent`` (from ``load_agent``) in its config's env (see the module docstring);
    ``plot=False``: no ``energy.png`` (a sweep's runs leave it to ``neuralbrain report``)."""
    cfg = agent.config
    if cfg is None:
        raise ConfigError("run: the agent has no config (env, seed): build it with load_agent")
    if cfg.env is None:
        raise ConfigError(f"{cfg.source or 'config'} has no [env] table: nothing to run the agent in")
    n_episodes = cfg.run.episodes if episodes is None else episodes
    if n_episodes < 1:
        raise ConfigError(f"episodes = {n_episodes}: expected >= 1")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers = {workers!r}: expected an integer >= 1")
    first_seed = cfg.seed if seed is None else seed
    show = (cfg.run.progress and out is not None) if progress is None else progress
    workers = min(workers, n_episodes)
    if workers > 1:
        _check_rebuildable(agent)
    envs = [make_env(cfg.env)]  # before anything is written: a bad env id fails here
    out = Path(out) if out is not None else None
    recorder = TraceRecorder(tuple(agent.modules),
                             run_metadata(cfg.to_toml(), first_seed, agent.backends()))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "config.toml", cfg.to_toml())
        recorder.prepare(out)
    bar = tqdm(total=n_episodes, desc="episodes", unit="ep", disable=not show, leave=False)
    try:
        if workers == 1:
            _serial(agent, envs, recorder, out, first_seed, n_episodes, bar)
        else:
            envs[0].close()
            _parallel(agent, recorder, out, first_seed, n_episodes, workers, bar)
    finally:
        bar.close()
        envs[0].close()
    trace = recorder.finished_trace()
    if out is not None and plot:
        plot_energy(trace, out / "energy.png")
    return RunResult(recorder.episodes_table(), trace, out)


def _serial(agent: Agent, envs: list[gymnasium.Env], recorder: TraceRecorder, out: Path | None,
            first_seed: int, n_episodes: int, bar: tqdm) -> None:
    """The episodes in this process; ``envs[0]`` is the env, replaced after a crash (the
    caller closes whichever is there at the end)."""
    cfg = agent.config
    env = envs[0]
    agent.bind_spaces(env.observation_space, env.action_space)
    successes = 0
    for episode in range(n_episodes):
        episode_seed = first_seed + episode
        steps, ret, success, error, task = _episode(env, agent, recorder, episode, episode_seed)
        fatal = _fatal(error)
        message = None if error is None else f"{type(error).__name__}: {error}"
        recorder.finish_episode(episode, episode_seed, steps, ret, success, message, task)
        if out is not None:
            recorder.write(out)
        if fatal:  # bad input (a missing model, a wrong checkpoint): stop with its message
            raise error
        if error is not None:
            env.close()
            env = envs[0] = make_env(cfg.env)
        successes += bool(success)
        bar.update(1)
        bar.set_postfix(success=f"{successes}/{episode + 1}")


def _check_rebuildable(agent: Agent) -> None:
    """Workers rebuild the agent from its config and checkpoint: refuse an agent they could
    not rebuild as it is."""
    cfg = agent.config
    if agent not in _CHECKPOINTS and any(cfg.task_of(name) is not None for name in cfg.modules):
        raise ConfigError("run with workers > 1: this agent has trained modules and was not built "
                          "by load_agent (whose checkpoint the workers load): build it with "
                          "load_agent(config, checkpoint)")
    built = {name: spec.config.backend for name, spec in cfg.modules.items()
             if hasattr(spec.config, "backend")}
    moved = {n: b for n, b in agent.backends().items() if n in built and built[n] != b}
    if moved:
        raise ConfigError(f"run with workers > 1: modules {sorted(moved)} were moved to other "
                          f"backends ({moved}) after building; workers rebuild the agent from its "
                          "config: pass the backends as overrides (--set NAME.backend=...)")


@dataclass
class _Worker:
    """What a worker process of a parallel run holds: the agent and env it built once."""

    agent: Agent
    env: gymnasium.Env
    modules: tuple[str, ...]
    metadata: dict[str, str]
    out: Path | None


def _worker_init(cfg: AgentConfig, checkpoint: Path | None, metadata: dict[str, str],
                 out: Path | None) -> _Worker:
    from neuralbrain.assemble import build_agent

    agent = build_agent(cfg, checkpoint)
    env = make_env(cfg.env)
    agent.bind_spaces(env.observation_space, env.action_space)
    return _Worker(agent, env, tuple(agent.modules), metadata, out)


def _worker_episode(worker: _Worker, task: tuple[int, int]) -> tuple[dict, pa.Table, Exception | None]:
    """Play episode ``task = (episode, seed)``; write its parts when the run has a directory;
    return its row, its trace rows and the fatal ``Error`` that should stop the run, if any."""
    episode, episode_seed = task
    recorder = TraceRecorder(worker.modules, worker.metadata)
    if worker.out is not None:
        recorder.adopt(worker.out)
    steps, ret, success, error, kind = _episode(worker.env, worker.agent, recorder, episode,
                                                episode_seed)
    message = None if error is None else f"{type(error).__name__}: {error}"
    row = recorder.finish_episode(episode, episode_seed, steps, ret, success, message, kind)
    if worker.out is not None:
        recorder.write(worker.out)
    if error is not None and not _fatal(error):
        worker.env.close()
        worker.env = make_env(worker.agent.config.env)
    return row, recorder.finished_trace(), error if _fatal(error) else None


def _fatal(error: Exception | None) -> bool:
    """Bad input stops the run; a crash, and a module worker's failure, fail one episode."""
    return isinstance(error, Error) and not isinstance(error, IsolationError)


def _parallel(agent: Agent, recorder: TraceRecorder, out: Path | None, first_seed: int,
              n_episodes: int, workers: int, bar: tqdm) -> None:
    """Episodes on ``workers`` processes; ``recorder`` ends up holding every episode's rows
    in episode order, as a serial run's would (the workers wrote the parts)."""
    from neuralbrain.engines import local_outcomes

    tasks = [(episode, first_seed + episode) for episode in range(n_episodes)]
    init_args = (agent.config, _CHECKPOINTS.get(agent), dict(recorder.metadata), out)
    done: dict[int, tuple[dict, pa.Table]] = {}
    fatal: Exception | None = None
    successes = 0
    for outcome in local_outcomes(_worker_episode, tasks, workers, _worker_init, init_args):
        episode, episode_seed = tasks[outcome.index]
        if outcome.ok:
            row, trace, error = outcome.value
            fatal = fatal or error
        else:  # the worker died (or the episode code itself failed): a failed, empty episode
            lost = TraceRecorder(recorder.modules, recorder.metadata)
            if out is not None:
                lost.adopt(out)
            row = lost.finish_episode(episode, episode_seed, 0, 0.0, False,
                                      f"{type(outcome.value).__name__}: {outcome.value}")
            if out is not None:
                lost.write(out)
            trace = lost.finished_trace()
        done[episode] = (row, trace)
        successes += bool(row["success"])
        bar.update(1)
        bar.set_postfix(success=f"{successes}/{len(done)}")
        if fatal is not None:
            break
    for episode in sorted(done):
        row, trace = done[episode]
        for name, values in trace.to_pydict().items():
            recorder.columns[name].extend(values)
        recorder.finish_episode(**{k: row[k] for k in ("episode", "seed", "steps", "success",
                                                       "error", "task")}, ret=row["return"])
    if fatal is not None:
        raise fatal


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

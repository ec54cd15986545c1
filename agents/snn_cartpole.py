"""A spiking policy for ``neuralbrain/EventCartPole-v1``, trained by evolution strategies.

What only the CartPole agent (``snn_cartpole.toml``) needs: the ``es_cartpole`` task that
trains the policy (``es_cartpole.toml``) and the ``snn_cartpole_policy`` module that runs the
trained network, both registered through entry points. Read top to bottom:

1. ``Config``: the task's tables, ``[policy]`` (the LIF network, see
   ``neuralbrain.control.snn_policy``) and ``[train]`` (evolution strategies, see
   ``neuralbrain.control.es``). The spike code of the observation is the env's (the task's
   ``[env]`` kwargs ``n_per_dim``, ``n_steps``, ``ranges``, ``tuning_width``); the policy
   reads the ``observation = "spikes"`` mode.
2. ``rollout_returns``: the training-time simulator. A whole ES population (P members) times
   K start states runs at once in numpy: ``envs.event_cartpole.cartpole_step`` (the env's
   dynamics, batched; tested to agree with the env bit for bit), ``encode_state`` (the env's
   spike code) and ``policy_forward`` (the same LIF function the module runs, with the
   members' weights stacked and products done by ``np.matmul``). Nothing here is booked in a
   ledger: costs are booked only when the module acts through ``neuralbrain run``.
3. ``EsCartPole.train``: OpenAI-ES on the flat parameter vector; every ``eval_every``
   generations the mean is evaluated on ``eval_episodes`` held-out start states and the best
   mean so far is kept; stops at ``target_return``, ``max_generations`` or the time budget.
   The checkpoint (``snn_cartpole.npz`` in ``--out``; ``neuralbrain.resumable``) is rewritten
   atomically every ``checkpoint_every`` generations with the whole ES state (mean, best,
   Adam's moments, the generator), so ``--resume`` continues a killed run to the same result,
   bit for bit.
4. ``CartPolePolicy``: ``SnnPolicy`` with the checkpoint's best weights (untrained: the
   initial weights drawn from the task's seed, a baseline), on the module's backend; it
   checks that the env it is bound to gives the observation shape it was trained on.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from neuralbrain.config import TaskConfig
from neuralbrain.control import snn_policy
from neuralbrain.control.es import Adam, EsConfig, antithetic_noise, es_gradient
from neuralbrain.control.snn_policy import Layout, SnnPolicy, policy_forward
from neuralbrain.core import Task, Trained
from neuralbrain.errors import CheckpointError, ConfigError
from neuralbrain.resumable import (
    Checkpointer,
    read_checkpoint,
    restore_rng,
    rng_state,
    task_config_sha256,
)

if TYPE_CHECKING:
    from neuralbrain_envs.event_cartpole import SpikeCode

ENV_ID = "neuralbrain/EventCartPole-v1"
CHECKPOINT = "snn_cartpole.npz"
# only decide when training stops: a resumed run may be given a larger budget
STOP_KEYS = ("train.max_generations", "train.time_budget_s", "train.target_return")
START_LOW, START_HIGH = -0.05, 0.05  # CartPole-v1's reset distribution, uniform per variable


@dataclass(frozen=True)
class Config:
    """The agent's TOML tables: ``[policy]`` and ``[train]``."""

    policy: snn_policy.Config = field(default_factory=snn_policy.Config)
    train: EsConfig = field(default_factory=EsConfig)


# -- the env as the agent sees it ---------------------------------------------------------------
def spike_code(cfg: TaskConfig) -> tuple[SpikeCode, int]:
    """The env's spike code and episode length, checked: the policy reads ``"spikes"``."""
    from neuralbrain_envs.event_cartpole import MAX_EPISODE_STEPS, EventCartPoleEnv

    if cfg.env is None or cfg.env.id != ENV_ID:
        got = None if cfg.env is None else cfg.env.id
        raise ConfigError(f"[env] id = {got!r}: the es_cartpole task expects {ENV_ID!r}")
    try:
        env = EventCartPoleEnv(**dict(cfg.env.kwargs))
    except TypeError as err:
        raise ConfigError(f"[env] for {ENV_ID}: {err}") from None
    if env.observation_mode != "spikes":
        raise ConfigError(
            f"env.observation = {env.observation_mode!r}: the CartPole policy is trained "
            "on and reads the 'spikes' observation"
        )
    return env.code, cfg.env.max_episode_steps or MAX_EPISODE_STEPS


# -- training-time simulator ------------------------------------------------------------------
def rollout_returns(
    thetas: np.ndarray,
    starts: np.ndarray,
    layout: Layout,
    pcfg: snn_policy.Config,
    code: SpikeCode,
    max_steps: int,
    record_actions: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Returns (P, K) of P parameter vectors each run from the K ``starts`` (K, 4).

    Reward is 1 per step up to and including the terminating step, as in CartPole-v1. With
    ``record_actions`` also returns the (P, K, max_steps) actions (-1 after termination).
    Members whose K episodes have all ended are dropped from the batch to save work.
    """
    from neuralbrain_envs.event_cartpole import cartpole_step, encode_state

    thetas = np.atleast_2d(thetas)
    n_pop, n_starts = thetas.shape[0], starts.shape[0]
    params = layout.unflatten(thetas)
    weights = {"w_in": params["w_in"][:, None], "w_out": params["w_out"][:, None]}
    biases = {"b_h": params["b_h"][:, None], "b_o": params["b_o"][:, None]}
    states = np.broadcast_to(np.asarray(starts, np.float64), (n_pop, n_starts, 4)).copy()
    state = (np.zeros((n_pop, n_starts, layout.n_hidden), np.float32),
             np.zeros((n_pop, n_starts, layout.n_out), np.float32))
    alive = np.ones((n_pop, n_starts), bool)
    returns = np.zeros((n_pop, n_starts))
    actions_log = np.full((n_pop, n_starts, max_steps), -1, np.int8) if record_actions else None
    members = np.arange(n_pop)  # original index of each row still in the batch

    def synapse(spikes: np.ndarray, name: str) -> np.ndarray:
        return np.matmul(spikes, weights[name])

    for t in range(max_steps):
        p = members.size
        spikes = encode_state(states.reshape(-1, 4), code).astype(np.float32)
        spikes = spikes.reshape(p, n_starts, code.n_steps, layout.n_in)
        scores, state, _ = policy_forward(
            spikes, state, biases, synapse, pcfg.decay, pcfg.threshold
        )
        actions = np.argmax(scores, axis=-1)
        new, terminated = cartpole_step(states.reshape(-1, 4), actions.reshape(-1))
        returns[members] += alive
        if actions_log is not None:
            actions_log[members, :, t] = np.where(alive, actions, -1)
        alive = alive & ~terminated.reshape(p, n_starts)
        states = new.reshape(p, n_starts, 4)
        keep = alive.any(axis=1)
        if not keep.all():
            if not keep.any():
                break
            members, states, alive = members[keep], states[keep], alive[keep]
            state = (state[0][keep], state[1][keep])
            weights = {k: w[keep] for k, w in weights.items()}
            biases = {k: b[keep] for k, b in biases.items()}
    return returns, actions_log


def start_states(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` CartPole-v1 start states (uniform in [-0.05, 0.05]^4)."""
    return rng.uniform(START_LOW, START_HIGH, size=(n, 4))


# -- checkpoints --------------------------------------------------------------------------------
def fingerprint_of(cfg: TaskConfig) -> tuple[str, dict[str, Any]]:
    """A hash of everything the weights' meaning depends on (network shape, LIF constants,
    spike code), and that description; the backend and training knobs are not part of it."""
    code, _ = spike_code(cfg)
    pol = asdict(cfg.params.policy)
    for key in ("backend", "init_scale"):
        pol.pop(key)
    desc = {"task": cfg.task, "env": ENV_ID, "spike_code": asdict(code), "policy": pol}
    text = json.dumps(desc, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16], json.loads(text)


def load_checkpoint(
    path: Path, cfg: TaskConfig
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Arrays and training state of a checkpoint (a directory or the .npz), checked to hold
    weights that mean the same thing under ``cfg`` (its fingerprint, not the whole config:
    the backend and the training knobs may differ)."""
    path = Path(path)
    file = path / CHECKPOINT if path.is_dir() else path
    if not file.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r}: no {CHECKPOINT} found (train first)")
    arrays, meta = read_checkpoint(file)
    state = meta["state"]
    fp, desc = fingerprint_of(cfg)
    if state.get("fingerprint") != fp:
        theirs = state.get("described", {})
        diff = sorted(k for k in set(theirs) | set(desc) if theirs.get(k) != desc.get(k))
        raise CheckpointError(
            f"checkpoint {str(file)!r} was written for config {state.get('config')!r} "
            f"(fingerprint {state.get('fingerprint')}), not for {str(cfg.source)!r} "
            f"(fingerprint {fp}); they differ in {diff}"
        )
    if not {"best", "mu"} <= set(arrays):
        raise CheckpointError(f"checkpoint {str(file)!r} lacks the policy weights ('best', 'mu')")
    return arrays, state


# -- the task and the module it trains ----------------------------------------------------------
class EsCartPole(Task):
    """OpenAI-ES on the policy's flat parameters (see the module docstring)."""

    Config = Config
    needs_data = False

    @classmethod
    def train(cls, cfg: TaskConfig, out: Path, data_root: Path | None, resume: bool) -> dict:
        code, max_steps = spike_code(cfg)
        pcfg: snn_policy.Config = cfg.params.policy
        tcfg: EsConfig = cfg.params.train
        layout = Layout(code.n_inputs, pcfg.n_hidden, pcfg.n_actions)
        fp, desc = fingerprint_of(cfg)
        out = Path(out)
        ckpt = Checkpointer(out / CHECKPOINT, task_config_sha256(cfg, STOP_KEYS),
                            tcfg.checkpoint_every, resume)
        t0 = time.perf_counter()
        # Held-out evaluation starts: fixed for the whole training, never trained on.
        eval_starts = start_states(np.random.default_rng([cfg.seed, 1]), tcfg.eval_episodes)
        adam = Adam(tcfg.learning_rate)
        saved = ckpt.load()
        if saved is not None:
            arrays, state = saved
            mu, best = arrays["mu"], arrays["best"]
            adam.m, adam.v, adam.t = arrays["adam_m"], arrays["adam_v"], int(state["adam_t"])
            generation, best_eval = int(state["step"]), float(state["best_eval"])
            rng = restore_rng(state["rng"])
        else:
            rng = np.random.default_rng([cfg.seed, 2])
            mu = layout.init(pcfg, rng)
            best, best_eval, generation = mu.copy(), -math.inf, 0

        def evaluate(theta: np.ndarray) -> float:
            returns, _ = rollout_returns(theta, eval_starts, layout, pcfg, code, max_steps)
            return float(returns.mean())

        def save() -> None:
            ckpt.save({"mu": mu, "best": best, "adam_m": adam.m, "adam_v": adam.v},
                      {"fingerprint": fp, "described": desc, "config": str(cfg.source),
                       "step": generation, "best_eval": best_eval, "adam_t": adam.t,
                       "rng": rng_state(rng), "eval_episodes": tcfg.eval_episodes})

        if best_eval == -math.inf:
            best_eval = evaluate(mu)
        stopped = "max_generations"
        gen_time = 0.0
        bar = tqdm(total=tcfg.max_generations, initial=generation, desc="ES generations",
                   unit="gen", leave=False)
        # A checkpoint is written only between generations (never from a ``finally``): an
        # interrupted generation would store a state no uninterrupted run passes through.
        try:
            while generation < tcfg.max_generations:
                if best_eval >= tcfg.target_return:
                    stopped = "target_return"
                    break
                elapsed = time.perf_counter() - t0
                if elapsed + gen_time > tcfg.time_budget_s:
                    stopped = "time_budget"
                    break
                g0 = time.perf_counter()
                noise = antithetic_noise(rng, tcfg.pairs, layout.size)
                starts = start_states(rng, tcfg.episodes_per_member)
                returns, _ = rollout_returns(
                    mu + tcfg.sigma * noise, starts, layout, pcfg, code, max_steps
                )
                fitness = returns.mean(axis=1)
                mu = adam.step(mu, es_gradient(noise, fitness, tcfg.sigma, mu, tcfg.weight_decay))
                generation += 1
                if generation % tcfg.eval_every == 0:
                    score = evaluate(mu)
                    if score > best_eval:
                        best, best_eval = mu.copy(), score
                bar.update(1)
                bar.set_postfix(pop=f"{fitness.mean():.0f}", best_eval=f"{best_eval:.1f}")
                gen_time = time.perf_counter() - g0
                if ckpt.due(generation):
                    save()
        finally:
            bar.close()
        save()
        return {
            "mean_return": best_eval,
            "eval_episodes": tcfg.eval_episodes,
            "generations": generation,
            "seconds": round(time.perf_counter() - t0, 3),
            "stopped": stopped,
            "checkpoint": str(ckpt.path),
        }

    @classmethod
    def evaluate(
        cls, cfg: TaskConfig, checkpoint: Path | None, data_root: Path | None, split: str
    ) -> dict:
        """Mean return of the checkpoint's policy on the training simulator, from
        ``train.eval_episodes`` start states that training never saw (any ``split``)."""
        code, max_steps = spike_code(cfg)
        pcfg: snn_policy.Config = cfg.params.policy
        layout = Layout(code.n_inputs, pcfg.n_hidden, pcfg.n_actions)
        if checkpoint is None:
            raise CheckpointError("es_cartpole evaluate needs --checkpoint (a trained --out)")
        theta = load_checkpoint(checkpoint, cfg)[0]["best"]
        starts = start_states(np.random.default_rng([cfg.seed, 3]), cfg.params.train.eval_episodes)
        returns, _ = rollout_returns(theta, starts, layout, pcfg, code, max_steps)
        return {
            "mean_return": float(returns.mean()),
            "success_rate": float((returns[0] >= max_steps).mean()),
            "episodes": int(starts.shape[0]),
        }


@dataclass(frozen=True)
class PolicyConfig:
    backend: str = "cpu"


class CartPolePolicy(SnnPolicy):
    """The trained spiking policy (``snn_policy.SnnPolicy``) built from its task: the network
    of the task's ``[policy]``, the best weights of its checkpoint, this module's backend."""

    Config = PolicyConfig
    tasks = ("es_cartpole",)

    def __init__(self, config: PolicyConfig, hardware: Any, trained: Trained) -> None:
        code, _ = spike_code(trained.task)
        pcfg = replace(trained.task.params.policy, backend=config.backend)
        layout = Layout(code.n_inputs, pcfg.n_hidden, pcfg.n_actions)
        if trained.checkpoint is None:
            theta = layout.init(pcfg, np.random.default_rng([trained.task.seed, 0]))
        else:
            theta = load_checkpoint(trained.checkpoint, trained.task)[0]["best"]
        super().__init__(pcfg, code.n_inputs, theta, hardware)
        self.code = code

    def bind_spaces(self, observation_space: Any, action_space: Any) -> None:
        want = (self.code.n_steps, self.code.n_inputs)
        if tuple(observation_space.shape) != want:
            raise ConfigError(
                f"the env gives observations of shape {tuple(observation_space.shape)}; the "
                f"policy was trained on {want} spikes (its task's [env]): use the same spike "
                "code in the agent's [env]")

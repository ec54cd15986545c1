"""Training-time simulator of snn_cartpole vs Gymnasium, on the same useful work.

Both sides evaluate the same population of spiking policies (P members x K start states, one
ES generation's worth of episodes) on EventCartPole-v1 with the "spikes" observation:

- ours: ``agents.snn_cartpole.rollout_returns`` (batched numpy dynamics and spike code, the
  whole population's LIF forward in one ``policy_forward`` call per env step); an episode
  that has ended is not stepped again;
- peer ``loop``: P*K ``neuralbrain/EventCartPole-v1`` envs in a Python list, each running
  env stepped with the env's own ``step`` and observation, the same batched
  ``policy_forward``: exactly the useful work of ours (same steps, an ended env not stepped);
- peer ``sync``: ``gymnasium.vector.SyncVectorEnv`` of the same P*K envs. It steps every
  sub-env at every step until the last episode ends (an ended one autoresets and runs on),
  so it does more env steps than are useful; its rate is counted in useful steps (those of
  episodes still running), i.e. the wasted steps count against it, as they would in training.

Untrained members (the first generations' workload): episodes last ~10-40 steps.
Figure: useful env steps per second, 1 thread; the ratio to each peer is printed with its
basis, and one line of JSON. Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_cartpole.py``.
"""

from __future__ import annotations

import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import gymnasium  # noqa: E402
import numpy as np  # noqa: E402

from neuralbrain.control import snn_policy  # noqa: E402
from neuralbrain.control.snn_policy import Layout, policy_forward  # noqa: E402
from neuralbrain_agents.snn_cartpole import rollout_returns  # noqa: E402
from neuralbrain_envs.event_cartpole import SpikeCode  # noqa: E402

P, K, MAX_STEPS = 32, 4, 200
REPEATS = 5


def population() -> tuple[np.ndarray, Layout, snn_policy.Config, SpikeCode]:
    code = SpikeCode()
    pcfg = snn_policy.Config()
    layout = Layout(code.n_inputs, pcfg.n_hidden, pcfg.n_actions)
    rng = np.random.default_rng(0)
    base = layout.init(pcfg, rng)
    return base + 0.05 * rng.standard_normal((P, layout.size)), layout, pcfg, code


def ours(thetas, layout, pcfg, code, seeds) -> tuple[float, float]:
    starts = np.stack([
        gymnasium.make("neuralbrain/EventCartPole-v1").reset(seed=int(s))[1]["state"]
        for s in seeds
    ])
    t0 = time.perf_counter()
    returns, _ = rollout_returns(thetas, starts, layout, pcfg, code, MAX_STEPS)
    return float(returns.sum()), time.perf_counter() - t0


def _policy(thetas, layout, pcfg, code):
    """The batched LIF forward over the whole population, with its state."""
    params = layout.unflatten(thetas)
    w = {"w_in": params["w_in"][:, None], "w_out": params["w_out"][:, None]}
    b = {"b_h": params["b_h"][:, None], "b_o": params["b_o"][:, None]}
    state = [np.zeros((P, K, layout.n_hidden), np.float32),
             np.zeros((P, K, layout.n_out), np.float32)]

    def act(obs: np.ndarray) -> np.ndarray:
        x = obs.astype(np.float32).reshape(P, K, code.n_steps, code.n_inputs)
        scores, new_state, _ = policy_forward(
            x, tuple(state), b, lambda s, n: np.matmul(s, w[n]), pcfg.decay, pcfg.threshold)
        state[:] = new_state
        return np.argmax(scores, axis=-1).reshape(-1)

    return act


def peer_sync(thetas, layout, pcfg, code, seeds) -> tuple[float, float, int]:
    """SyncVectorEnv: useful steps, seconds, and every env step it took."""
    vec = gymnasium.vector.SyncVectorEnv(
        [lambda: gymnasium.make("neuralbrain/EventCartPole-v1") for _ in range(P * K)]
    )
    act = _policy(thetas, layout, pcfg, code)
    obs, _ = vec.reset(seed=[int(s) for s in np.tile(seeds, P)])
    alive = np.ones(P * K, bool)
    steps = taken = 0
    t0 = time.perf_counter()
    for _ in range(MAX_STEPS):
        actions = act(obs)
        steps += int(alive.sum())
        taken += P * K  # it steps every sub-env, ended ones included
        obs, _, term, _, _ = vec.step(actions)
        alive &= ~term
        if not alive.any():
            break
    return float(steps), time.perf_counter() - t0, taken


def peer_loop(thetas, layout, pcfg, code, seeds) -> tuple[float, float]:
    """One env per episode in a list; only running episodes are stepped (ours' work)."""
    envs = [gymnasium.make("neuralbrain/EventCartPole-v1") for _ in range(P * K)]
    act = _policy(thetas, layout, pcfg, code)
    obs = np.stack([e.reset(seed=int(s))[0] for e, s in zip(envs, np.tile(seeds, P),
                                                           strict=True)])
    alive = np.ones(P * K, bool)
    steps = 0
    t0 = time.perf_counter()
    for _ in range(MAX_STEPS):
        actions = act(obs)  # the population's forward is batched either way
        for i in np.flatnonzero(alive):
            obs[i], _, term, _, _ = envs[i].step(int(actions[i]))
            alive[i] = not term
            steps += 1
        if not alive.any():
            break
    return float(steps), time.perf_counter() - t0


def main() -> None:
    thetas, layout, pcfg, code = population()
    seeds = np.arange(K)
    ours(thetas[:2], layout, pcfg, code, seeds)  # warm up imports
    # best of REPEATS: the machine is shared, the fastest run is the least disturbed one
    o_steps, o_s = min((ours(thetas, layout, pcfg, code, seeds) for _ in range(REPEATS)),
                       key=lambda r: r[1])
    l_steps, l_s = min((peer_loop(thetas, layout, pcfg, code, seeds) for _ in range(REPEATS)),
                       key=lambda r: r[1])
    s_steps, s_s, taken = min(
        (peer_sync(thetas, layout, pcfg, code, seeds) for _ in range(REPEATS)),
        key=lambda r: r[1])
    if len({o_steps, l_steps, s_steps}) != 1:
        print(f"note: useful steps differ (ours {o_steps:.0f}, loop {l_steps:.0f}, "
              f"sync {s_steps:.0f})")
    ours_rate, loop_rate, sync_rate = o_steps / o_s, l_steps / l_s, s_steps / s_s
    print(f"ours (batched numpy): {ours_rate:,.0f} useful env steps/s ({o_steps:.0f} steps)")
    print(f"peer loop (gymnasium envs, running ones stepped): {loop_rate:,.0f} env steps/s "
          f"-> ratio {ours_rate / loop_rate:.1f}x on the same work")
    print(f"peer SyncVectorEnv: {sync_rate:,.0f} useful steps/s ({taken} steps taken for "
          f"{s_steps:.0f} useful) -> ratio {ours_rate / sync_rate:.1f}x counting its extra "
          f"steps as waste; {taken / s_s:,.0f} steps/s of all it stepped "
          f"-> {ours_rate / (taken / s_s):.1f}x")
    print(json.dumps({
        "ours_env_steps_per_s": round(ours_rate, 1),
        "loop_env_steps_per_s": round(loop_rate, 1),
        "ratio_same_work": round(ours_rate / loop_rate, 2),
        "sync_vector_useful_steps_per_s": round(sync_rate, 1),
        "sync_vector_all_steps_per_s": round(taken / s_s, 1),
        "ratio_sync_useful": round(ours_rate / sync_rate, 2),
        "population": P, "starts": K, "threads": 1,
    }))


if __name__ == "__main__":
    main()

"""Training-time simulator of snn_cartpole vs Gymnasium's SyncVectorEnv, same work.

Both sides evaluate the same population of spiking policies (P members x K start states, one
ES generation's worth of episodes) on EventCartPole-v1 with the "spikes" observation:

- ours: ``agents.snn_cartpole.rollout_returns`` (batched numpy dynamics and spike code, the
  whole population's LIF forward in one ``policy_forward`` call per env step);
- peer: ``gymnasium.vector.SyncVectorEnv`` of P*K ``neuralbrain/EventCartPole-v1`` envs (the
  env's own ``step`` and observation per env) with the same batched ``policy_forward``; an
  env that terminates is not stepped again (its episode is over), as in ours.

Untrained members (the first generations' workload): episodes last ~10-40 steps.
Figure: useful env steps (steps of episodes still running) per second, 1 thread. Prints the
ratio and one line of JSON. Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_cartpole.py``.
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


def peer(thetas, layout, pcfg, code, seeds) -> tuple[float, float]:
    vec = gymnasium.vector.SyncVectorEnv(
        [lambda: gymnasium.make("neuralbrain/EventCartPole-v1") for _ in range(P * K)]
    )
    params = layout.unflatten(thetas)
    w = {"w_in": params["w_in"][:, None], "w_out": params["w_out"][:, None]}
    b = {"b_h": params["b_h"][:, None], "b_o": params["b_o"][:, None]}
    state = (np.zeros((P, K, layout.n_hidden), np.float32),
             np.zeros((P, K, layout.n_out), np.float32))
    obs, _ = vec.reset(seed=[int(s) for s in np.tile(seeds, P)])
    alive = np.ones(P * K, bool)
    steps = 0
    t0 = time.perf_counter()
    for _ in range(MAX_STEPS):
        x = obs.astype(np.float32).reshape(P, K, code.n_steps, code.n_inputs)
        scores, state, _ = policy_forward(
            x, state, b, lambda s, n: np.matmul(s, w[n]), pcfg.decay, pcfg.threshold
        )
        actions = np.argmax(scores, axis=-1).reshape(-1)
        steps += int(alive.sum())
        # SyncVectorEnv steps every sub-env; finished ones would autoreset, so stop early
        # once all have finished and count only the running ones.
        obs, _, term, _, _ = vec.step(actions)
        alive &= ~term
        if not alive.any():
            break
    return float(steps), time.perf_counter() - t0


def main() -> None:
    thetas, layout, pcfg, code = population()
    seeds = np.arange(K)
    ours(thetas[:2], layout, pcfg, code, seeds)  # warm up imports
    # best of REPEATS: the machine is shared, the fastest run is the least disturbed one
    o_runs = [ours(thetas, layout, pcfg, code, seeds) for _ in range(REPEATS)]
    p_runs = [peer(thetas, layout, pcfg, code, seeds) for _ in range(REPEATS)]
    o_steps, o_s = min(o_runs, key=lambda r: r[1])
    p_steps, p_s = min(p_runs, key=lambda r: r[1])
    if o_steps != p_steps:
        print(f"note: useful steps differ (ours {o_steps:.0f}, peer {p_steps:.0f})")
    ours_rate, peer_rate = o_steps / o_s, p_steps / p_s
    print(f"ours (batched numpy): {ours_rate:,.0f} env steps/s ({o_steps:.0f} steps, {o_s:.2f} s)")
    print(f"peer (SyncVectorEnv): {peer_rate:,.0f} env steps/s ({p_steps:.0f} steps, {p_s:.2f} s)")
    print(f"ratio ours/peer: {ours_rate / peer_rate:.1f}x")
    print(json.dumps({
        "ours_env_steps_per_s": round(ours_rate, 1),
        "sync_vector_env_steps_per_s": round(peer_rate, 1),
        "ratio": round(ours_rate / peer_rate, 2),
        "population": P, "starts": K, "threads": 1,
    }))


if __name__ == "__main__":
    main()

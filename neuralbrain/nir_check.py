"""Spike agreement of an exported NIR file run in snnTorch against our own simulator.

``neuralbrain export CONFIG --checkpoint CK --nir OUT.nir --check N`` reads ``OUT.nir`` back
and runs it through ``neuralbrain.nir_torch.to_snntorch`` (snnTorch's node import, nirtorch's
executor; needs the ``[interop]`` extra) on ``N`` inputs of the model's own kind, beside our
simulator on the same inputs, and reports, per spiking layer, the fraction of (sample, step,
neuron) entries where both spike or both stay silent, and the fraction of equal decisions:

- in-sensor SNN: ``N`` held-out N-MNIST recordings (``nmnist/Train``, every 5th per digit;
  without a data root the embedded digits through the saccade emulator), layers ``lif1``,
  ``lif2``, decisions = argmax of the readout after the last step;
- LSM: ``N`` N-MNIST test recordings binned as the task bins them, the reservoir's spikes;
- CartPole policy: ``N`` env steps of the task's env driven by the policy itself (episodes
  back to back, one continuous spike stream), layers ``hidden``, ``out``, decisions = the
  actions from the graph's ``[count, v_out/theta]`` output (``snn_policy_nir.env_step_scores``).

Agreement is a plain fraction; 1.0 means spike-for-spike equal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nir
import numpy as np

from neuralbrain.errors import ConfigError


def _agree(a: np.ndarray, b: np.ndarray) -> float:
    return float((np.asarray(a) == np.asarray(b)).mean())


def _names(graph: nir.NIRGraph, layers: tuple[str, ...]) -> list[str]:
    """The node whose output is each layer's spikes, in either reset form."""
    return [f"{k}_spike" if f"{k}_spike" in graph.nodes else k for k in layers]


def check_snn(graph: nir.NIRGraph, params: dict[str, np.ndarray], task: Any,
              data_root: Path | None, n: int) -> dict[str, Any]:
    """Our SNN against the graph in snnTorch on ``n`` held-out recordings."""
    from dataclasses import replace

    from neuralbrain.nir_torch import run_steps, to_snntorch
    from neuralbrain.sensing.snn.model import forward
    from neuralbrain.sensing.snn.task import _data

    mc = task.params
    cfg = mc.perception.snn
    x, _ = _data(data_root, "heldout", replace(mc, train=replace(mc.train, max_real=n)))
    x = x.astype(np.float32)
    logits, rec = forward(params, x, cfg)
    names = _names(graph, ("lif1", "lif2"))
    out, theirs = run_steps(to_snntorch(graph), x, names)
    ours = {}
    for key, (shape, c) in {"s1": (cfg.conv1_shape, cfg.conv1_channels),
                            "s2": (cfg.conv2_shape, cfg.conv2_channels)}.items():
        s = rec[key]
        ours[key] = s.reshape(*s.shape[:2], *shape, c).transpose(0, 1, 4, 2, 3)
    return {"samples": int(len(x)), "lif1": _agree(theirs[names[0]], ours["s1"]),
            "lif2": _agree(theirs[names[1]], ours["s2"]),
            "decisions": _agree(out[:, -1].argmax(1), logits.argmax(1)),
            "spike_rate": float((ours["s1"].mean() + ours["s2"].mean()) / 2)}


def check_lsm(graph: nir.NIRGraph, task: Any, data_root: Path | None, n: int) -> dict[str, Any]:
    """Our reservoir against the graph in snnTorch (float32) on ``n`` N-MNIST recordings."""
    from dataclasses import replace

    from neuralbrain.memory import tasks
    from neuralbrain.memory.lsm_nir import from_nir
    from neuralbrain.nir_torch import run_steps, to_snntorch

    if task.task != "lsm_nmnist":
        raise ConfigError(f"--check for task {task.task!r}: expected lsm_nmnist (its N-MNIST "
                          "test recordings are what the check runs)")
    root = tasks.resolve_root(data_root)
    x, _, _ = tasks.nmnist(root, "test", replace(task.params.vision, max_samples=n))
    ours = from_nir(graph).reservoir().encode(x)
    theirs, _ = run_steps(to_snntorch(graph), x.astype(np.float64))
    return {"samples": int(len(x)), "reservoir": _agree(theirs, ours),
            "spike_rate": float(ours.mean())}


def check_policy(graph: nir.NIRGraph, policy: Any, task: Any, n: int) -> dict[str, Any]:
    """Our policy against the graph in snnTorch on ``n`` env steps it drives itself."""
    from neuralbrain.control.snn_policy import lif_layer, policy_forward
    from neuralbrain.control.snn_policy_nir import env_step_scores
    from neuralbrain.nir_torch import run_steps, to_snntorch
    from neuralbrain.runner import make_env

    env = make_env(task.env)
    obs, _ = env.reset(seed=task.seed)
    stream = []
    policy.reset(task.seed)
    for _ in range(n):
        stream.append(np.asarray(obs, np.float32))
        obs, _, terminated, truncated, _ = env.step(policy.step({"obs": obs})["action"])
        if terminated or truncated:
            obs, _ = env.reset()
    env.close()
    x = np.concatenate(stream)[None]  # one continuous stream, membranes carried over
    n_steps = stream[0].shape[0]
    p, cfg = policy.params, policy.config
    state = (np.zeros((1, cfg.n_hidden), np.float32), np.zeros((1, cfg.n_actions), np.float32))
    scores, hidden, out_spikes = [], [], []
    for k in range(n):
        v_o = state[1]
        score, state, s_h = policy_forward(x[:, k * n_steps:(k + 1) * n_steps], state, p,
                                           lambda s, name: s @ p[name], cfg.decay, cfg.threshold)
        s_o, _ = lif_layer(s_h @ p["w_out"] + p["b_o"], v_o, cfg.decay, cfg.threshold)
        scores.append(score)
        hidden.append(s_h)
        out_spikes.append(s_o)
    names = _names(graph, ("hidden", "out"))
    out, theirs = run_steps(to_snntorch(graph), x, names)
    actions = np.stack(scores, 1).argmax(-1)
    return {"env_steps": n, "hidden": _agree(theirs[names[0]], np.concatenate(hidden, 1)),
            "out": _agree(theirs[names[1]], np.concatenate(out_spikes, 1)),
            "decisions": _agree(env_step_scores(out, n_steps).argmax(-1), actions),
            "spike_rate": float(np.concatenate(hidden, 1).mean())}

"""Export the spiking CartPole policy (``control/snn_policy.py``) to NIR, and back.

The policy's two LIF layers (``v = beta v + I``, ``s = [v >= theta]``, ``v <- v - theta s``,
``beta = exp(-dt_s / tau_mem_s)``, float32) are, in NIR 1.0 (Pedersen et al., Nat. Commun.
15:8122, 2024; node semantics in ``neuralbrain.nir_lif``)::

    input (n_in) -> w_in (Affine W_in^T, b_h) -> hidden (LIF) -> w_out (Affine W_out^T, b_o)
        -> out (LIF) -> count (I, r = 1/dt) -> output (n_actions)

``hidden`` and ``out``: ``tau = dt/(1-beta)``, ``r = tau/dt``, ``v_leak = 0``, ``v_threshold
= nextafter(theta, -inf)`` (float32: exactly our ``>=``), ``v_reset = 0`` with
``metadata["reset"] = "subtract"``, the deviation NIR 1.0 cannot avoid (it has no reset by
subtraction; ``nir_lif`` says what a consumer ignoring it runs). ``count`` integrates the
output spikes (Euler step ``dt r s = s``): its value is the running output spike count.

Two parts of the policy are not NIR and are documented in the graph's metadata instead:

- the score is ``count + v_out / theta`` (the charge left on the output membrane breaks
  ties); NIR nodes expose spikes, not membrane potentials, so the graph's output is the
  count alone, and an action from it can differ from ours only when two counts tie;
- one env step is ``n_steps`` time bins (metadata ``bins_per_env_step``) and the membranes
  carry over between env steps, so a consumer runs the graph continuously and takes the
  action of env step ``k`` from the count gained over bins ``k*n_steps .. (k+1)*n_steps - 1``.
"""

from __future__ import annotations

from pathlib import Path

import nir
import numpy as np

from neuralbrain.control.snn_policy import Config, Layout
from neuralbrain.errors import ConfigError
from neuralbrain.nir_lif import DT_S, graph_dt, lif_node, read_graph, read_lif, require_nodes, write_graph

CHAIN = ("input", "w_in", "hidden", "w_out", "out", "count", "output")


def to_nir(
    params: dict[str, np.ndarray], cfg: Config, n_steps: int | None = None, dt: float = DT_S,
) -> nir.NIRGraph:
    """The policy (``params``: ``w_in``, ``b_h``, ``w_out``, ``b_o``) as a NIR graph."""
    missing = [k for k in ("w_in", "b_h", "w_out", "b_o") if k not in params]
    if missing:
        raise ConfigError(f"policy parameters lack {missing}: expected w_in, b_h, w_out, b_o")
    w_in, w_out = (np.asarray(params[k], np.float32) for k in ("w_in", "w_out"))
    n_in, n_h = w_in.shape
    if w_out.shape != (n_h, cfg.n_actions) or n_h != cfg.n_hidden:
        raise ConfigError(f"policy weights {w_in.shape}, {w_out.shape}: expected (n_in, "
                          f"{cfg.n_hidden}) and ({cfg.n_hidden}, {cfg.n_actions})")
    f32 = lambda a: np.ascontiguousarray(a, np.float32).reshape(np.shape(a))  # noqa: E731
    nodes = {
        "input": nir.Input(input_type=np.array([n_in])),
        "w_in": nir.Affine(weight=f32(w_in.T), bias=f32(params["b_h"]).reshape(-1)),
        "hidden": lif_node(cfg.decay, cfg.threshold, (n_h,), "subtract", dt),
        "w_out": nir.Affine(weight=f32(w_out.T), bias=f32(params["b_o"]).reshape(-1)),
        "out": lif_node(cfg.decay, cfg.threshold, (cfg.n_actions,), "subtract", dt),
        "count": nir.I(r=np.full(cfg.n_actions, 1.0 / dt, np.float32),
                       metadata={"readout": "output spike count (score without v_out/theta)"}),
        "output": nir.Output(output_type=np.array([cfg.n_actions])),
    }
    meta = {"dt_s": dt, "producer": "neuralbrain", "model": "snn_policy",
            "policy_dt_s": cfg.dt_s, "tau_mem_s": cfg.tau_mem_s,
            "score": "count + v_out / threshold (the v_out term is not in the graph)",
            "state": "membranes carry over between env steps"}
    if n_steps is not None:
        meta["bins_per_env_step"] = int(n_steps)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(CHAIN[:-1], CHAIN[1:], strict=True)),
                        metadata=meta)


def from_nir(graph: nir.NIRGraph) -> tuple[dict[str, np.ndarray], Config]:
    """Parameters and ``snn_policy.Config`` of a graph of the shape ``to_nir`` writes.

    The config's ``tau_mem_s`` is ``-dt_s / ln(beta)`` at the graph's ``policy_dt_s`` (our
    default ``dt_s`` when absent), so ``Config.decay`` is the graph's ``beta``.
    """
    lif = (nir.LIF, nir.IF)
    types = (nir.Input, nir.Affine, lif, nir.Affine, lif, nir.I, nir.Output)
    require_nodes(graph, dict(zip(CHAIN, types, strict=True)))
    n = graph.nodes
    dt = graph_dt(graph)
    hidden, out = read_lif(n["hidden"], "hidden", dt), read_lif(n["out"], "out", dt)
    if (hidden.beta, hidden.threshold) != (out.beta, out.threshold):
        raise ConfigError("NIR nodes hidden and out differ in tau/threshold: expected one LIF type")
    for name, p in (("hidden", hidden), ("out", out)):
        if p.reset != "subtract":
            raise ConfigError(f"NIR node {name!r} resets to zero: the policy resets by subtraction "
                              "(expected metadata reset = 'subtract')")
    if not 0 < hidden.beta < 1:
        raise ConfigError(f"NIR policy beta = {hidden.beta}: expected 0 < beta < 1")
    meta = graph.metadata if isinstance(graph.metadata, dict) else {}
    policy_dt = float(meta.get("policy_dt_s", Config.dt_s))
    tau = float(meta.get("tau_mem_s", -policy_dt / np.log(hidden.beta)))
    w_in = np.asarray(n["w_in"].weight, np.float32).T.copy()
    w_out = np.asarray(n["w_out"].weight, np.float32).T.copy()
    cfg = Config(n_hidden=w_in.shape[1], n_actions=w_out.shape[1], dt_s=policy_dt, tau_mem_s=tau,
                 threshold=hidden.threshold)
    if np.float32(cfg.decay) != np.float32(hidden.beta):
        raise ConfigError(f"NIR policy: tau_mem_s = {tau} gives decay {cfg.decay}, the graph's "
                          f"beta is {hidden.beta}: expected them equal")
    params = {"w_in": w_in, "b_h": np.asarray(n["w_in"].bias, np.float32).reshape(-1),
              "w_out": w_out, "b_o": np.asarray(n["w_out"].bias, np.float32).reshape(-1)}
    return params, cfg


def flat_params(params: dict[str, np.ndarray], layout: Layout) -> np.ndarray:
    """The flat parameter vector ``SnnPolicy`` takes, from the named arrays."""
    return np.concatenate([np.asarray(params[k], np.float64).reshape(-1) for k in layout.shapes])


def export_nir(graph: nir.NIRGraph, path: str | Path) -> Path:
    """Write a policy graph as a ``.nir`` file, atomically."""
    return write_graph(graph, path)


def import_nir(path: str | Path) -> tuple[dict[str, np.ndarray], Config]:
    """The policy of a ``.nir`` file of the shape ``to_nir`` writes."""
    return from_nir(read_graph(path))

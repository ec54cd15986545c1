"""Export the spiking CartPole policy (``control/snn_policy.py``) to NIR, and back.

The policy's two LIF layers (``v = beta v + I``, ``s = [v >= theta]``, ``v <- v - theta s``,
``beta = exp(-dt_s / tau_mem_s)``, float32) are, in NIR 1.0 (Pedersen et al., Nat. Commun.
15:8122, 2024; node semantics in ``neuralbrain.nir_lif``)::

    input (n_in) -> w_in (Affine W_in^T, b_h) -> hidden (LIF) -> w_out (Affine W_out^T, b_o)
        -> out (LIF) -> count (I, r = 1/dt) -> count_out (Linear [1; 0]) -> score -> output
    w_out -> charge (LI) -> charge_out (Linear [0; 1/theta]) -> score (Scale 1, 2A values)
    out -> reset (Scale -theta) -> charge

``hidden`` and ``out`` are, with ``reset_form="graph"`` (the default), the standard-node form
of ``nir_lif.subtractive_nodes`` (``LI`` -> ``Threshold`` at ``nextafter(theta, -inf)``, a
``Scale`` by ``-beta theta`` on a cycle back; their spikes leave ``hidden_spike`` and
``out_spike``): exactly our neurons. With ``reset_form="lif"`` they are ``nir.LIF`` nodes
(``tau = dt/(1-beta)``, ``r = tau/dt``, ``v_leak = 0``, the same threshold, ``v_reset = 0``)
with ``metadata["reset"] = "subtract"``, the deviation NIR's LIF cannot avoid.

The score ``count + v_out / theta`` is in the graph. ``count`` integrates the output spikes
(Euler step ``dt r s = s``): the running spike count. NIR nodes expose spikes, not membrane
potentials, so ``charge`` rebuilds ``v_out``: an ``LI`` with the output layer's ``tau`` and
``r`` (Euler: ``c = beta c + I``) fed by the output layer's current and by ``-theta`` times its
spikes (``reset``), i.e. ``c[t] = beta c[t-1] + I[t] - theta s[t]``, which is our reset-by-
subtraction potential ``v_out[t]``. ``output`` (2 x n_actions values) is ``[count, v_out /
theta]``. The one thing left to the consumer, documented in the metadata: one env step is
``n_steps`` time bins (``bins_per_env_step``) and the membranes carry over between env steps,
so the graph runs continuously and the score of env step ``k`` is ``count[end of k] -
count[end of k-1] + charge[end of k]``; ``action = argmax`` of it (``env_step_scores``).
"""

from __future__ import annotations

from pathlib import Path

import nir
import numpy as np

from neuralbrain.control.snn_policy import Config, Layout
from neuralbrain.errors import ConfigError
from neuralbrain.nir_lif import (
    DT_S,
    graph_dt,
    lif_node,
    read_graph,
    read_lif,
    read_subtractive,
    require_nodes,
    use_subtractive_nodes,
    write_graph,
)

CHAIN = ("input", "w_in", "hidden", "w_out", "out")
EDGES = (("input", "w_in"), ("w_in", "hidden"), ("hidden", "w_out"), ("w_out", "out"),
         ("out", "count"), ("count", "count_out"), ("count_out", "score"),
         ("w_out", "charge"), ("out", "reset"), ("reset", "charge"), ("charge", "charge_out"),
         ("charge_out", "score"), ("score", "output"))


def to_nir(
    params: dict[str, np.ndarray], cfg: Config, n_steps: int | None = None, dt: float = DT_S,
    reset_form: str = "graph",
) -> nir.NIRGraph:
    """The policy (``params``: ``w_in``, ``b_h``, ``w_out``, ``b_o``) as a NIR graph."""
    if reset_form not in ("graph", "lif"):
        raise ConfigError(f"reset_form = {reset_form!r}: expected 'graph' or 'lif'")
    missing = [k for k in ("w_in", "b_h", "w_out", "b_o") if k not in params]
    if missing:
        raise ConfigError(f"policy parameters lack {missing}: expected w_in, b_h, w_out, b_o")
    w_in, w_out = (np.asarray(params[k], np.float32) for k in ("w_in", "w_out"))
    n_in, n_h = w_in.shape
    if w_out.shape != (n_h, cfg.n_actions) or n_h != cfg.n_hidden:
        raise ConfigError(f"policy weights {w_in.shape}, {w_out.shape}: expected (n_in, "
                          f"{cfg.n_hidden}) and ({cfg.n_hidden}, {cfg.n_actions})")
    f32 = lambda a: np.ascontiguousarray(a, np.float32)  # noqa: E731
    n_a = cfg.n_actions
    eye = np.eye(n_a, dtype=np.float32)
    out_lif = lif_node(cfg.decay, cfg.threshold, (n_a,), "subtract", dt)
    nodes = {
        "input": nir.Input(input_type=np.array([n_in])),
        "w_in": nir.Affine(weight=f32(w_in.T), bias=f32(params["b_h"]).reshape(-1)),
        "hidden": lif_node(cfg.decay, cfg.threshold, (n_h,), "subtract", dt),
        "w_out": nir.Affine(weight=f32(w_out.T), bias=f32(params["b_o"]).reshape(-1)),
        "out": out_lif,
        "count": nir.I(r=np.full(n_a, 1.0 / dt, np.float32)),
        "count_out": nir.Linear(weight=np.vstack([eye, 0 * eye])),
        "charge": nir.LI(tau=out_lif.tau.copy(), r=out_lif.r.copy(), v_leak=f32(np.zeros(n_a))),
        "reset": nir.Scale(scale=np.full(n_a, -cfg.threshold, np.float32)),
        "charge_out": nir.Linear(weight=np.vstack([0 * eye, eye / np.float32(cfg.threshold)])),
        "score": nir.Scale(scale=np.ones(2 * n_a, np.float32)),
        "output": nir.Output(output_type=np.array([2 * n_a])),
    }
    meta = {"dt_s": dt, "producer": "neuralbrain", "model": "snn_policy",
            "policy_dt_s": cfg.dt_s, "tau_mem_s": cfg.tau_mem_s,
            "output": "[count, v_out / threshold]: score of env step k = count[end k] - "
                      "count[end k-1] + v_out[end k] / threshold; action = argmax",
            "state": "membranes carry over between env steps"}
    if n_steps is not None:
        meta["bins_per_env_step"] = int(n_steps)
    meta["reset_form"] = reset_form
    edges = list(EDGES)
    if reset_form == "graph":
        for name in ("hidden", "out"):
            edges = use_subtractive_nodes(nodes, edges, name, dt)
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def from_nir(graph: nir.NIRGraph) -> tuple[dict[str, np.ndarray], Config]:
    """Parameters and ``snn_policy.Config`` of a graph of the shape ``to_nir`` writes (the
    score nodes are the policy's fixed read-out and are not read back).

    The config's ``tau_mem_s`` is ``-dt_s / ln(beta)`` at the graph's ``policy_dt_s`` (our
    default ``dt_s`` when absent), so ``Config.decay`` is the graph's ``beta``.
    """
    lif = (nir.LIF, nir.IF, nir.LI, nir.I)
    types = (nir.Input, nir.Affine, lif, nir.Affine, lif)
    require_nodes(graph, dict(zip(CHAIN, types, strict=True)))
    n = graph.nodes
    dt = graph_dt(graph)
    hidden, out = (read_subtractive(graph, k, dt) if isinstance(n[k], (nir.LI, nir.I))
                   else read_lif(n[k], k, dt) for k in ("hidden", "out"))
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


def env_step_scores(outputs: np.ndarray, n_steps: int) -> np.ndarray:
    """The policy's scores (batch, env steps, A) from the graph's outputs (batch, bins, 2A) of
    a continuous run: ``count[end k] - count[end k-1] + v_out[end k] / theta``."""
    y = np.asarray(outputs)
    if y.ndim != 3 or y.shape[2] % 2 or y.shape[1] % n_steps:
        raise ConfigError(f"policy graph outputs have shape {y.shape}: expected (batch, a "
                          f"multiple of {n_steps} bins, 2 * n_actions)")
    n_a = y.shape[2] // 2
    ends = y[:, n_steps - 1 :: n_steps]
    count = ends[..., :n_a]
    before = np.concatenate([np.zeros_like(count[:, :1]), count[:, :-1]], axis=1)
    return count - before + ends[..., n_a:]


def flat_params(params: dict[str, np.ndarray], layout: Layout) -> np.ndarray:
    """The flat parameter vector ``SnnPolicy`` takes, from the named arrays."""
    return np.concatenate([np.asarray(params[k], np.float64).reshape(-1) for k in layout.shapes])


def export_nir(graph: nir.NIRGraph, path: str | Path) -> Path:
    """Write a policy graph as a ``.nir`` file, atomically."""
    return write_graph(graph, path)


def import_nir(path: str | Path) -> tuple[dict[str, np.ndarray], Config]:
    """The policy of a ``.nir`` file of the shape ``to_nir`` writes."""
    return from_nir(read_graph(path))

"""Export the in-sensor SNN to NIR (Neuromorphic Intermediate Representation) and load it back.

The neurons follow ``neuralbrain.nir_lif`` (NIR 1.0, Pedersen et al., Nat. Commun. 15:8122,
2024). Each LIF layer ``u = beta v + I, s = [u >= theta], v = u - theta s`` (reset by
subtraction) is written in one of two forms:

- ``reset_form="graph"`` (the default): standard NIR nodes that mean exactly our neuron,
  ``nir_lif.subtractive_nodes``: ``lifN`` an ``LI`` (``tau = dt/(1-beta)``, ``r = tau/dt``),
  ``lifN_spike`` a ``Threshold`` at ``nextafter(theta, -inf)`` (float32: NIR's ``>`` fires
  exactly where our ``>=`` does), ``lifN_reset`` a ``Scale`` by ``-beta theta`` on a cycle
  back into ``lifN``; the layer's spikes leave ``lifN_spike``. No deviation, and nothing in
  metadata that a consumer must know; it needs a consumer that runs ``LI``, ``Threshold``,
  ``Scale`` and cycles.
- ``reset_form="lif"``: one ``nir.LIF`` per layer, same ``tau``, ``r``, threshold, ``v_leak =
  0``, ``v_reset = 0`` and ``metadata["reset"] = "subtract"``: NIR's LIF cannot reset by
  subtraction, so that is a documented deviation (``nir_lif`` says what a consumer reading
  only the fields runs); it is the form a toolchain that maps ``LIF`` nodes onto hardware
  neurons can take. ``beta = 1`` exports ``nir.IF`` here, and ``nir.I`` in place of the
  ``LI`` in the graph form.

Graph (C, H, W layout as NIR and PyTorch use; ``dt_s`` and ``time_steps`` in the metadata;
``lifN`` stands for the neuron nodes of either form)::

    input (2, 34, 34) -> conv1 (Conv2d) -> lif1 -> conv2 (Conv2d) -> lif2
        -> flatten -> fc (Affine W3, b3) -> mean (I, r = 1/(T dt)) -> output (10)

The readout ``logits = mean_t (W3 s2[t] + b3)`` is explicit: ``mean`` is NIR's integrator
``dv/dt = r I``, whose Euler step adds ``dt r I[t] = I[t]/T``, so its value after the
``T = time_steps`` steps of a sample (from ``v = 0``) is the time-mean, i.e. our logits.

``conv1`` carries ``metadata["backend_hint"] = "in_sensor"`` and its weights are the
fixed-point values the pixel uses, so a reloaded network spikes identically. ``from_nir``
accepts exactly this chain, with or without ``mean`` (files written before it existed);
other graphs raise ``ConfigError`` naming the node.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import nir
import numpy as np

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
from neuralbrain.sensing.snn.model import SNNConfig, effective_weights

CHAIN = ("input", "conv1", "lif1", "conv2", "lif2", "flatten", "fc", "mean", "output")
ResetForm = Literal["graph", "lif"]
RESET_FORMS = ("graph", "lif")


def to_nir(
    params: dict[str, np.ndarray], cfg: SNNConfig, dt: float = DT_S,
    reset_form: ResetForm = "graph",
) -> nir.NIRGraph:
    """The SNN as a NIR graph (see the module docstring)."""
    if reset_form not in RESET_FORMS:
        raise ConfigError(f"reset_form = {reset_form!r}: expected one of {list(RESET_FORMS)}")
    if cfg.first_layer != "spiking":
        raise ConfigError("snn.first_layer = 'analog' has no spiking first layer to export")
    w = effective_weights(params, cfg)
    k1, k2 = cfg.conv1_kernel, cfg.conv2_kernel
    c1, c2 = cfg.conv1_channels, cfg.conv2_channels
    h1, w1 = cfg.conv1_shape
    h2, w2 = cfg.conv2_shape
    conv1 = w["conv1"].T.reshape(c1, cfg.in_channels, k1, k1)
    conv2 = w["conv2"].T.reshape(c2, c1, k2, k2)
    # our flatten order is (h, w, c); NIR's Flatten of (C, H, W) is (c, h, w)
    fc = w["fc"].reshape(h2, w2, c2, cfg.n_classes).transpose(3, 2, 0, 1)
    fc = fc.reshape(cfg.n_classes, -1)
    f32 = lambda a: np.ascontiguousarray(a, np.float32)  # noqa: E731
    nodes = {
        "input": nir.Input(input_type=np.array([cfg.in_channels, cfg.height, cfg.width])),
        "conv1": nir.Conv2d(
            input_shape=(cfg.height, cfg.width), weight=f32(conv1), stride=cfg.conv1_stride,
            padding=0, dilation=1, groups=1, bias=f32(params["conv1.b"]),
            metadata={"backend_hint": "in_sensor", "weight_bits": cfg.conv1_weight_bits},
        ),
        "lif1": lif_node(cfg.beta, cfg.threshold, (c1, h1, w1), "subtract", dt),
        "conv2": nir.Conv2d(
            input_shape=(h1, w1), weight=f32(conv2), stride=cfg.conv2_stride, padding=0,
            dilation=1, groups=1, bias=f32(params["conv2.b"]),
        ),
        "lif2": lif_node(cfg.beta, cfg.threshold, (c2, h2, w2), "subtract", dt),
        "flatten": nir.Flatten(input_type={"input": np.array([c2, h2, w2])}, start_dim=0),
        "fc": nir.Affine(weight=f32(fc), bias=f32(params["fc.b"])),
        "mean": nir.I(r=np.full(cfg.n_classes, 1.0 / (cfg.time_steps * dt), np.float32),
                      metadata={"readout": "time-mean: the value after time_steps steps"}),
        "output": nir.Output(output_type=np.array([cfg.n_classes])),
    }
    edges = list(zip(CHAIN[:-1], CHAIN[1:], strict=True))
    if reset_form == "graph":
        for name in ("lif1", "lif2"):
            edges = use_subtractive_nodes(nodes, edges, name, dt)
    return nir.NIRGraph(
        nodes=nodes, edges=edges,
        metadata={"dt_s": dt, "time_steps": cfg.time_steps, "producer": "neuralbrain",
                  "model": "insensor_snn", "readout_step": cfg.time_steps,
                  "reset_form": reset_form},
    )


def from_nir(graph: nir.NIRGraph) -> tuple[dict[str, np.ndarray], SNNConfig]:
    """Parameters and config of a graph of the shape ``to_nir`` writes."""
    lif = (nir.LIF, nir.IF, nir.LI, nir.I)
    types = [nir.Input, nir.Conv2d, lif, nir.Conv2d, lif, nir.Flatten, nir.Affine, nir.I,
             nir.Output]
    want = dict(zip(CHAIN, types, strict=True))
    if "mean" not in graph.nodes:  # files from before the explicit readout
        del want["mean"]
    require_nodes(graph, want)
    n = graph.nodes
    dt = graph_dt(graph)
    c_in, height, width = (int(v) for v in np.asarray(n["input"].input_type["input"]))
    w1, w2, fc = (np.asarray(n[k].weight, np.float32) for k in ("conv1", "conv2", "fc"))
    l1, l2 = (read_subtractive(graph, k, dt) if isinstance(n[k], (nir.LI, nir.I))
              else read_lif(n[k], k, dt) for k in ("lif1", "lif2"))
    if (l1.beta, l1.threshold) != (l2.beta, l2.threshold):
        raise ConfigError("NIR nodes lif1 and lif2 differ in tau/threshold: expected one LIF type")
    for name, p in (("lif1", l1), ("lif2", l2)):
        if p.reset != "subtract":
            raise ConfigError(f"NIR node {name!r} resets to zero: the SNN resets by subtraction "
                              "(expected metadata reset = 'subtract')")
    time_steps = int(graph.metadata.get("time_steps", SNNConfig.time_steps))
    if "mean" in want:
        r = np.asarray(n["mean"].r, np.float64)
        if not np.allclose(r * dt * time_steps, 1.0, rtol=1e-4):
            raise ConfigError(f"NIR node 'mean': r = {float(r.flat[0]):.6g}: expected "
                              f"1/(time_steps * dt) = {1 / (time_steps * dt):.6g}")
    cfg = SNNConfig(
        height=height, width=width, in_channels=c_in, time_steps=time_steps,
        conv1_kernel=w1.shape[2], conv1_stride=_stride(n["conv1"]), conv1_channels=w1.shape[0],
        conv2_kernel=w2.shape[2], conv2_stride=_stride(n["conv2"]), conv2_channels=w2.shape[0],
        n_classes=fc.shape[0], beta=l1.beta, threshold=l1.threshold,
        conv1_weight_bits=int(n["conv1"].metadata.get("weight_bits", 8)),
    )
    h2, w2s = cfg.conv2_shape
    if fc.shape[1] != cfg.n_features:
        raise ConfigError(f"NIR node 'fc' has {fc.shape[1]} inputs: expected {cfg.n_features}")
    params = {
        "conv1.w": w1.reshape(w1.shape[0], -1).T.copy(),
        "conv1.b": np.asarray(n["conv1"].bias, np.float32).reshape(-1),
        "conv2.w": w2.reshape(w2.shape[0], -1).T.copy(),
        "conv2.b": np.asarray(n["conv2"].bias, np.float32).reshape(-1),
        "fc.w": fc.reshape(cfg.n_classes, cfg.conv2_channels, h2, w2s)
        .transpose(2, 3, 1, 0).reshape(-1, cfg.n_classes).copy(),
        "fc.b": np.asarray(n["fc"].bias, np.float32).reshape(-1),
    }
    return params, cfg


def _stride(node: nir.Conv2d) -> int:
    s = np.atleast_1d(np.asarray(node.stride))
    if s.size == 2 and s[0] != s[1]:
        raise ConfigError(f"NIR Conv2d stride {tuple(s)}: expected equal strides")
    return int(s[0])


def export_nir(
    params: dict[str, np.ndarray], cfg: SNNConfig, path: str | Path,
    reset_form: ResetForm = "graph",
) -> Path:
    """Write the SNN as a ``.nir`` (HDF5) file, atomically."""
    return write_graph(to_nir(params, cfg, reset_form=reset_form), path)


def import_nir(path: str | Path) -> tuple[dict[str, np.ndarray], SNNConfig]:
    """Read a ``.nir`` file written by ``export_nir`` (or any graph of the same shape)."""
    return from_nir(read_graph(path))

"""Export the SNN to NIR (Neuromorphic Intermediate Representation) and load it back.

NIR (Pedersen et al., Nat. Commun. 15:8122, 2024; package ``nir``) describes neurons as
continuous-time systems. Our discrete LIF ``v <- beta v + I`` (time step ``dt``) is the
forward-Euler step of NIR's ``LIF``: ``tau dv/dt = (v_leak - v) + r I`` with::

    tau = dt / (1 - beta),   r = tau / dt = 1 / (1 - beta),   v_leak = 0,   v_threshold = theta

(for ``beta = 1`` we export ``IF`` with ``r = 1``). NIR leaves the reset mechanism open: we
record ``"reset": "subtract"`` in each neuron node's metadata and ``dt`` in the graph's.

Graph (C, H, W layout as NIR and PyTorch use)::

    input (2, 34, 34) -> conv1 (Conv2d) -> lif1 -> conv2 (Conv2d) -> lif2 -> flatten
                      -> fc (Affine) -> output       (the readout is the time-mean of fc)

``conv1`` carries ``metadata["backend_hint"] = "in_sensor"`` and its weights are the
fixed-point values the pixel uses, so a reloaded network spikes identically. ``from_nir``
accepts exactly this chain (other graphs raise ``ConfigError`` naming the node).
"""

from __future__ import annotations

from pathlib import Path

import nir
import numpy as np

from neuralbrain.errors import CheckpointError, ConfigError
from neuralbrain.sensing.snn.model import SNNConfig, effective_weights

DT_S = 1e-3


def _neuron(n: int, beta: float, threshold: float, shape: tuple[int, ...]) -> nir.NIRNode:
    full = lambda v: np.full(shape, v, np.float32)  # noqa: E731
    meta = {"reset": "subtract", "beta": beta}
    if beta >= 1.0:
        return nir.IF(r=full(1.0), v_threshold=full(threshold), metadata=meta)
    tau = DT_S / (1.0 - beta)
    return nir.LIF(
        tau=full(tau), r=full(1.0 / (1.0 - beta)), v_leak=full(0.0),
        v_threshold=full(threshold), metadata=meta,
    )


def to_nir(params: dict[str, np.ndarray], cfg: SNNConfig) -> nir.NIRGraph:
    """The SNN as a NIR graph (see the module docstring)."""
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
    nodes = {
        "input": nir.Input(input_type=np.array([cfg.in_channels, cfg.height, cfg.width])),
        "conv1": nir.Conv2d(
            input_shape=(cfg.height, cfg.width), weight=conv1, stride=cfg.conv1_stride,
            padding=0, dilation=1, groups=1, bias=params["conv1.b"].copy(),
            metadata={"backend_hint": "in_sensor", "weight_bits": cfg.conv1_weight_bits},
        ),
        "lif1": _neuron(c1, cfg.beta, cfg.threshold, (c1, h1, w1)),
        "conv2": nir.Conv2d(
            input_shape=(h1, w1), weight=conv2, stride=cfg.conv2_stride, padding=0,
            dilation=1, groups=1, bias=params["conv2.b"].copy(),
        ),
        "lif2": _neuron(c2, cfg.beta, cfg.threshold, (c2, h2, w2)),
        "flatten": nir.Flatten(input_type={"input": np.array([c2, h2, w2])}, start_dim=0),
        "fc": nir.Affine(weight=fc, bias=params["fc.b"].copy(),
                         metadata={"readout": "mean over time steps"}),
        "output": nir.Output(output_type=np.array([cfg.n_classes])),
    }
    order = list(nodes)
    edges = list(zip(order[:-1], order[1:], strict=True))
    return nir.NIRGraph(
        nodes=nodes, edges=edges,
        metadata={"dt_s": DT_S, "time_steps": cfg.time_steps, "producer": "neuralbrain"},
    )


def _beta(node: nir.NIRNode, name: str) -> tuple[float, float]:
    if isinstance(node, nir.IF):
        return 1.0, float(np.asarray(node.v_threshold).flat[0])
    if isinstance(node, nir.LIF):
        tau = float(np.asarray(node.tau).flat[0])
        r = float(np.asarray(node.r).flat[0])
        if not (tau > 0 and r > 0):
            raise ConfigError(f"NIR node {name!r}: tau = {tau}, r = {r}: expected > 0")
        beta = 1.0 - 1.0 / r  # r = 1 / (1 - beta), independent of dt
        # Our own exports also carry beta exactly; prefer it when it agrees (float32 r loses
        # the last bits, which could flip a spike sitting exactly at threshold).
        exact = node.metadata.get("beta") if isinstance(node.metadata, dict) else None
        if exact is not None and abs(float(exact) - beta) < 1e-5:
            beta = float(exact)
        return beta, float(np.asarray(node.v_threshold).flat[0])
    raise ConfigError(f"NIR node {name!r} is a {type(node).__name__}: expected LIF or IF")


def from_nir(graph: nir.NIRGraph) -> tuple[dict[str, np.ndarray], SNNConfig]:
    """Parameters and config of a graph of the shape ``to_nir`` writes."""
    want = ["input", "conv1", "lif1", "conv2", "lif2", "flatten", "fc", "output"]
    types = [nir.Input, nir.Conv2d, (nir.LIF, nir.IF), nir.Conv2d, (nir.LIF, nir.IF),
             nir.Flatten, nir.Affine, nir.Output]
    for name, tp in zip(want, types, strict=True):
        if name not in graph.nodes:
            raise ConfigError(f"NIR graph has no node {name!r}: expected the nodes {want}")
        if not isinstance(graph.nodes[name], tp):
            raise ConfigError(
                f"NIR node {name!r} is a {type(graph.nodes[name]).__name__}: expected {tp}"
            )
    n = graph.nodes
    c_in, height, width = (int(v) for v in np.asarray(n["input"].input_type["input"]))
    w1, w2, fc = (np.asarray(n[k].weight, np.float32) for k in ("conv1", "conv2", "fc"))
    beta, threshold = _beta(n["lif1"], "lif1")
    beta2, threshold2 = _beta(n["lif2"], "lif2")
    if not (np.isclose(beta, beta2) and np.isclose(threshold, threshold2)):
        raise ConfigError("NIR nodes lif1 and lif2 differ in tau/threshold: expected one LIF type")
    cfg = SNNConfig(
        height=height, width=width, in_channels=c_in,
        time_steps=int(graph.metadata.get("time_steps", SNNConfig.time_steps)),
        conv1_kernel=w1.shape[2], conv1_stride=_stride(n["conv1"]), conv1_channels=w1.shape[0],
        conv2_kernel=w2.shape[2], conv2_stride=_stride(n["conv2"]), conv2_channels=w2.shape[0],
        n_classes=fc.shape[0], beta=beta, threshold=threshold,
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


def export_nir(params: dict[str, np.ndarray], cfg: SNNConfig, path: str | Path) -> Path:
    """Write the SNN as a ``.nir`` (HDF5) file, atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    nir.write(tmp, to_nir(params, cfg))
    tmp.replace(path)
    return path


def import_nir(path: str | Path) -> tuple[dict[str, np.ndarray], SNNConfig]:
    """Read a ``.nir`` file written by ``export_nir`` (or any graph of the same shape)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"NIR file {str(path)!r} does not exist")
    try:
        graph = nir.read(path)
    except (OSError, KeyError, ValueError) as err:
        raise CheckpointError(f"{path}: not a readable NIR file ({err})") from None
    return from_nir(graph)

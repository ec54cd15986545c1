"""Export the LSM reservoir (``memory/lsm.py``) and its trained readout to NIR, and back.

The reservoir ``v_t = decay v'_{t-1} + x_t W_in + s_{t-1} W_rec``, ``s_t = [v_t >= theta]``,
``v'_t = v_t (1 - s_t)`` is, in NIR 1.0 (Pedersen et al., Nat. Commun. 15:8122, 2024)::

    input (k) -> w_in (Linear, W_in^T) -> reservoir (LIF) -> output (n spikes)
                                          reservoir -> w_rec (Linear, W_rec^T) -> reservoir

``reservoir`` is ``neuralbrain.nir_lif.lif_node(decay, theta, (n,), "zero", dtype=float64)``:
``tau = dt/(1-decay)``, ``r = tau/dt``, ``v_leak = 0``, ``v_reset = 0`` (exactly our reset to
zero), ``v_threshold = nextafter(theta, -inf)`` in float64, the dtype the reservoir runs in
(our ``>=`` as NIR's ``>``, exact in float64). The cycle ``reservoir -> w_rec -> reservoir``
is the recurrence; a discrete-time consumer feeds it the previous step's spikes ``s_{t-1}``,
as snnTorch's ``RLeaky`` (which ``import_from_nir`` builds from exactly this pattern) does.
All weights are float64 on the dyadic grid of ``lsm.quantize_weights``. Nothing here is an
approximation: this part of the graph is our reservoir.

The readout is not expressible in NIR, and is the documented deviation: it reads spike
counts in ``n_windows`` equal windows of each recording (a window boundary depends on the
recording's length; NIR has no sampling or windowing), takes ``log1p`` of them (no NIR node
computes a logarithm), standardizes, then applies a linear map (or one GELU layer). It
travels in the graph's metadata: ``metadata["readout"]`` holds its config (``n_windows``,
``log_counts``, ``hidden``, ``include_inputs``) and ``metadata["readout_arrays"]`` its
trained arrays (``mean``, ``std``, ``w2``, ``b2``, and ``w1``, ``b1`` with a hidden layer),
exactly as ``memory.readout.Readout.state`` gives them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nir
import numpy as np

from neuralbrain.errors import ConfigError
from neuralbrain.memory import lsm
from neuralbrain.memory.readout import Config as ReadoutConfig
from neuralbrain.nir_lif import DT_S, graph_dt, lif_node, read_graph, read_lif, write_graph

READOUT_KEYS = ("n_windows", "hidden", "log_counts", "include_inputs")


@dataclass(frozen=True)
class LsmNir:
    """What a reservoir graph holds: LIF constants, weights, and the readout if any."""

    decay: float
    threshold: float
    w_in: np.ndarray  # (k, n)
    w_rec: np.ndarray  # (n, n)
    readout: ReadoutConfig | None = None
    readout_state: dict[str, np.ndarray] | None = None

    def reservoir(self, backend: str = "cpu", hardware: Any = None) -> lsm.LiquidStateMachine:
        """A ``LiquidStateMachine`` on ``backend`` running exactly these weights."""
        k, n = self.w_in.shape
        cfg = lsm.Config(n_inputs=k, n_neurons=n, decay=self.decay, threshold=self.threshold,
                         backend=backend)
        res = lsm.LiquidStateMachine(cfg, hardware)
        res.w_in, res.w_rec = self.w_in, self.w_rec
        res.on_backend_change()
        return res


def to_nir(
    w_in: np.ndarray, w_rec: np.ndarray, cfg: lsm.Config,
    readout: ReadoutConfig | None = None, readout_state: dict[str, np.ndarray] | None = None,
    dt: float = DT_S, span: dict[str, float] | None = None,
) -> nir.NIRGraph:
    """The reservoir (and its readout, in metadata) as a NIR graph (see the module docstring).

    ``span`` (spoken digits: ``lsm.active_span``'s ``threshold`` and ``smooth_steps``) says
    that the readout's windows split each recording's active span, not the whole recording.
    """
    w_in, w_rec = np.asarray(w_in, np.float64), np.asarray(w_rec, np.float64)
    k, n = cfg.n_inputs, cfg.n_neurons
    if w_in.shape != (k, n) or w_rec.shape != (n, n):
        raise ConfigError(f"reservoir weights {w_in.shape}, {w_rec.shape}: expected ({k}, {n}) "
                          f"and ({n}, {n})")
    if cfg.decay >= 1.0:
        raise ConfigError("reservoir.decay = 1: a reservoir without leak is not exported "
                          "(snnTorch's RLeaky import has no IF form): expected decay < 1")
    nodes = {
        "input": nir.Input(input_type=np.array([k])),
        "w_in": nir.Linear(weight=np.ascontiguousarray(w_in.T)),
        "reservoir": lif_node(cfg.decay, cfg.threshold, (n,), "zero", dt, np.float64),
        "w_rec": nir.Linear(weight=np.ascontiguousarray(w_rec.T)),
        "output": nir.Output(output_type=np.array([n])),
    }
    edges = [("input", "w_in"), ("w_in", "reservoir"), ("reservoir", "w_rec"),
             ("w_rec", "reservoir"), ("reservoir", "output")]
    meta: dict[str, Any] = {"dt_s": dt, "producer": "neuralbrain", "model": "lsm_reservoir",
                            "recurrence": "w_rec carries the previous step's spikes"}
    if readout is not None:
        if readout_state is None:
            raise ConfigError("an LSM readout config without its trained arrays: expected both")
        meta["readout"] = {key: getattr(readout, key) for key in READOUT_KEYS}
        meta["readout"]["features"] = (
            "log1p (if log_counts) of spike counts per neuron in n_windows equal windows of "
            + ("the recording's active span (lsm.active_span with span_threshold and "
               "span_smooth_steps)" if span else "the recording")
            + " (then the input counts, if include_inputs); z = (f - mean) / std; "
            "logits = z @ w2 + b2, or gelu(z @ w1 + b1) @ w2 + b2 when hidden > 0")
        if span:
            meta["readout"].update({f"span_{k}": v for k, v in span.items()})
        if readout.speaker_norm != "none":  # the stream's prior travels in readout_arrays
            meta["readout"]["speaker_norm"] = readout.speaker_norm
            meta["readout"]["features"] += (
                "; before the standardisation, log1p(f) is normalised per speaker "
                "(neuralbrain.memory.speaker_norm: running statistics of the user, started "
                "from speaker_prior_mean / speaker_prior_var)")
        meta["readout_arrays"] = {key: np.asarray(v, np.float64) for key, v in readout_state.items()}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def _dense(node: nir.NIRNode, name: str) -> np.ndarray:
    """(out, in) weights of a ``Linear`` or bias-free ``Affine`` node."""
    if not isinstance(node, (nir.Linear, nir.Affine)):
        raise ConfigError(f"NIR node {name!r} is a {type(node).__name__}: expected Linear")
    if isinstance(node, nir.Affine) and np.any(np.asarray(node.bias) != 0):
        raise ConfigError(f"NIR node {name!r} has a bias: the LSM's weights have none")
    return np.asarray(node.weight, np.float64)


def from_nir(graph: nir.NIRGraph) -> LsmNir:
    """The reservoir of a graph ``Input -> Linear -> LIF (-> Linear -> LIF: recurrence)``.

    Nodes are found by type and edges, not by name, so graphs written by other tools
    (snnTorch's ``export_to_nir`` of ``Linear`` + ``Leaky(reset_mechanism="zero")``) load.
    """
    nodes, edges = graph.nodes, [tuple(e) for e in graph.edges]
    lifs = [k for k, v in nodes.items() if isinstance(v, nir.LIF)]
    if len(lifs) != 1:
        raise ConfigError(f"NIR graph has LIF nodes {lifs}: expected exactly one (the reservoir)")
    res = lifs[0]
    into = [a for a, b in edges if b == res]
    rec = [a for a in into if (res, a) in edges]
    feed = [a for a in into if a not in rec]
    if len(feed) != 1 or len(rec) > 1:
        raise ConfigError(f"NIR node {res!r} is fed by {into}: expected one input Linear and at "
                          "most one recurrent Linear")
    src = [a for a, b in edges if b == feed[0]]
    if len(src) != 1 or not isinstance(nodes[src[0]], nir.Input):
        raise ConfigError(f"NIR node {feed[0]!r} is fed by {src}: expected the graph's Input")
    lif = read_lif(nodes[res], res, graph_dt(graph))
    if lif.reset != "zero":
        raise ConfigError(f"NIR node {res!r} resets by {lif.reset}: the LSM resets to zero")
    w_in = _dense(nodes[feed[0]], feed[0]).T
    k, size = w_in.shape
    if lif.shape != (size,):
        raise ConfigError(f"NIR node {res!r} has shape {lif.shape}: expected ({size},)")
    w_rec = _dense(nodes[rec[0]], rec[0]).T if rec else np.zeros((size, size))
    if w_rec.shape != (size, size):
        raise ConfigError(f"NIR node {rec[0]!r} has shape {w_rec.shape}: expected ({size}, {size})")
    readout = state = None
    meta = graph.metadata if isinstance(graph.metadata, dict) else {}
    if "readout" in meta:
        try:
            readout = ReadoutConfig(**{key: _scalar(meta["readout"][key]) for key in READOUT_KEYS},
                                    speaker_norm=str(_scalar(meta["readout"].get("speaker_norm",
                                                                                 "none"))))
            state = {key: np.asarray(v, np.float64) for key, v in meta["readout_arrays"].items()}
        except (KeyError, TypeError) as err:
            raise ConfigError(f"NIR metadata readout is incomplete ({err}): expected "
                              f"{list(READOUT_KEYS)} and readout_arrays") from None
    return LsmNir(lif.beta, lif.threshold, w_in, w_rec, readout, state)


def _scalar(value: Any) -> Any:
    """HDF5 gives numpy scalars back: plain python values for the config."""
    value = np.asarray(value)
    if value.dtype == np.bool_:
        return bool(value)
    return int(value) if np.issubdtype(value.dtype, np.integer) else value.item()


def export_nir(graph: nir.NIRGraph, path: str | Path) -> Path:
    """Write a reservoir graph as a ``.nir`` file, atomically."""
    return write_graph(graph, path)


def import_nir(path: str | Path) -> LsmNir:
    """The reservoir (and readout) of a ``.nir`` file of the shape ``to_nir`` writes."""
    return from_nir(read_graph(path))

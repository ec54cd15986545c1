"""NIR neuron nodes that mean what our discrete-time LIF neurons do (shared by the exporters).

NIR 1.0 (Pedersen et al., "Neuromorphic intermediate representation", Nat. Commun. 15:8122,
2024; package ``nir``, ``nir/ir/neuron.py``) defines the leaky integrate-and-fire neuron in
continuous time::

    tau dv/dt = (v_leak - v) + r I,    z = [v > v_threshold],    v <- v_reset where z = 1

A discrete-time simulator runs it by forward Euler at a step ``dt`` (what snnTorch's
``import_from_nir`` does, with ``dt = 1e-4`` s fixed in its code)::

    v[t] = (1 - dt/tau) v[t-1] + (dt/tau) r I[t]

Our neurons (``sensing/snn/model.py``, ``control/snn_policy.py``, ``memory/lsm.py``) are::

    u[t] = beta v[t-1] + I[t],   s[t] = [u[t] >= theta],   v[t] = u[t] - theta s[t]  (subtract)
                                                           or v[t] = 0 where s[t]    (zero)

so each is exported as ``nir.LIF`` with, at the step ``DT_S`` recorded in the graph's
metadata (``dt_s``)::

    tau = dt / (1 - beta)     (the float nearest it for which 1 - dt/tau rounds to beta)
    r = tau / dt              (input gain (dt/tau) r = 1: our I enters unscaled)
    v_leak = 0
    v_threshold = nextafter(theta, -inf)   in the dtype the model computes in
    v_reset = 0

The threshold: on floats of one dtype, ``u >= theta`` holds exactly when ``u > nextafter(theta,
-inf)``, because no float lies between the two. So NIR's strict ``>`` at the shifted threshold
fires on exactly our spikes for a consumer computing in that dtype (float32 for the SNN and
the policy, float64 for the LSM). A consumer in a narrower dtype rounds the shifted threshold
back to ``theta`` and then differs from us only where ``u == theta`` exactly.

Reset: ``v_reset = 0`` is exact for the reset-to-zero LSM. NIR 1.0 has no reset by
subtraction (its LIF always sets ``v`` to ``v_reset``), so for the SNN and the CartPole
policy this is the documented deviation: their nodes carry ``metadata["reset"] =
"subtract"``, which a consumer must honour to run our network (snnTorch: ``Leaky(...,
reset_mechanism="subtract")``, see ``neuralbrain.nir_torch``); a consumer that reads only
the NIR fields resets to zero instead. ``beta = 1`` (no leak) is exported as ``nir.IF`` with
``r = 1/dt`` (``v[t] = v[t-1] + I[t]``) and the same threshold and reset.

Importing inverts this: ``beta = 1 - dt/tau`` (``dt`` from the graph's metadata, else
``DT_S``), ``theta = nextafter(v_threshold, +inf)``; an input gain ``(dt/tau) r`` other than 1
is refused, since our neurons have none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import nir
import numpy as np

from neuralbrain.atomic import atomic_path
from neuralbrain.errors import CheckpointError, ConfigError

DT_S = 1e-4  # the Euler step the exported time constants assume (snnTorch's NIR step)
Reset = Literal["subtract", "zero"]
RESETS: tuple[str, ...] = ("subtract", "zero")


def strict_threshold(theta: float, dtype: type = np.float32) -> np.floating:
    """NIR's ``v > x`` threshold ``x`` that fires exactly where ours fires, ``v >= theta``."""
    t = dtype(theta)
    return np.nextafter(t, dtype(-np.inf))


def inclusive_threshold(v_threshold: float, dtype: type = np.float32) -> float:
    """Our ``>=`` threshold equal to NIR's ``v > v_threshold`` (inverse of ``strict_threshold``)."""
    t = dtype(v_threshold)
    return float(np.nextafter(t, dtype(np.inf)))


def euler_tau(beta: float, dt: float = DT_S, dtype: type = np.float32) -> np.floating:
    """``tau = dt / (1 - beta)`` as the ``dtype`` value nearest it for which ``1 - dt/tau``,
    computed in ``dtype``, equals ``dtype(beta)`` (so a consumer's Euler step decays by our
    exact ``beta``); the nearest value when no neighbour within 64 steps does."""
    if not 0 <= beta < 1:
        raise ConfigError(f"beta = {beta}: expected 0 <= beta < 1 for a leaky neuron")
    want, one, step = dtype(beta), dtype(1.0), dtype(dt)
    tau0 = dtype(dt / (1.0 - beta))
    up = down = tau0
    for _ in range(64):
        for cand in (down, up):
            if one - step / cand == want:
                return cand
        up, down = np.nextafter(up, dtype(np.inf)), np.nextafter(down, dtype(0))
    return tau0


def lif_node(
    beta: float, threshold: float, shape: tuple[int, ...], reset: Reset,
    dt: float = DT_S, dtype: type = np.float32,
) -> nir.NIRNode:
    """The NIR node of a layer of our LIF neurons (see the module docstring)."""
    if reset not in RESETS:
        raise ConfigError(f"reset = {reset!r}: expected one of {list(RESETS)}")
    if not threshold > 0:
        raise ConfigError(f"threshold = {threshold}: expected > 0")
    full = lambda v: np.full(shape, v, dtype)  # noqa: E731
    meta = {"reset": reset, "beta": float(beta), "threshold": float(threshold),
            "fires": "v >= threshold (exported as v > nextafter(threshold, -inf))"}
    v_thr = full(strict_threshold(threshold, dtype))
    if beta >= 1.0:
        return nir.IF(r=full(1.0 / dt), v_threshold=v_thr, v_reset=full(0.0), metadata=meta)
    tau = euler_tau(beta, dt, dtype)
    return nir.LIF(
        tau=full(tau), r=full(tau / dtype(dt)), v_leak=full(0.0), v_threshold=v_thr,
        v_reset=full(0.0), metadata=meta,
    )


@dataclass(frozen=True)
class LifParams:
    """What one NIR neuron node means in our terms."""

    beta: float
    threshold: float
    reset: str
    shape: tuple[int, ...]


def _one(values: Any, what: str, name: str) -> float:
    a = np.asarray(values)
    if a.size == 0 or not np.all(a == a.flat[0]):
        raise ConfigError(f"NIR node {name!r}: {what} differs between neurons: expected one value")
    return float(a.flat[0])


def read_lif(node: nir.NIRNode, name: str, dt: float = DT_S) -> LifParams:
    """Our ``beta``, ``theta`` and reset of a NIR ``LIF`` or ``IF`` node (module docstring).

    The node's own metadata (written by ``lif_node``) supplies the exact python floats when
    they agree with the fields; the fields decide otherwise.
    """
    meta = node.metadata if isinstance(getattr(node, "metadata", None), dict) else {}
    if isinstance(node, nir.LIF):
        tau = _one(node.tau, "tau", name)
        r = _one(node.r, "r", name)
        if not (tau > 0 and r > 0):
            raise ConfigError(f"NIR node {name!r}: tau = {tau}, r = {r}: expected > 0")
        if _one(node.v_leak, "v_leak", name) != 0:
            raise ConfigError(f"NIR node {name!r}: v_leak = {float(node.v_leak.flat[0])}: "
                              "expected 0 (our neurons leak to 0)")
        dtype = np.asarray(node.tau).dtype.type
        beta = float(dtype(1.0) - dtype(dt) / dtype(tau))
        gain = r * dt / tau
        if not math.isclose(gain, 1.0, rel_tol=1e-4):
            raise ConfigError(
                f"NIR node {name!r}: input gain r*dt/tau = {gain:.6g} at dt = {dt}: expected 1 "
                "(r = tau/dt)")
        if not 0 <= beta < 1:
            raise ConfigError(f"NIR node {name!r}: tau = {tau} at dt = {dt} gives beta = {beta}: "
                              "expected tau >= dt")
    elif isinstance(node, nir.IF):
        r = _one(node.r, "r", name)
        dtype = np.asarray(node.r).dtype.type
        if not math.isclose(r * dt, 1.0, rel_tol=1e-4):
            raise ConfigError(f"NIR node {name!r}: IF r = {r} at dt = {dt}: expected r = 1/dt")
        beta = 1.0
    else:
        raise ConfigError(f"NIR node {name!r} is a {type(node).__name__}: expected LIF or IF")
    v_thr = _one(node.v_threshold, "v_threshold", name)
    theta = inclusive_threshold(v_thr, dtype if dtype in (np.float32, np.float64) else np.float64)
    v_reset = getattr(node, "v_reset", None)
    if v_reset is not None and _one(v_reset, "v_reset", name) != 0:
        raise ConfigError(f"NIR node {name!r}: v_reset = {float(np.asarray(v_reset).flat[0])}: "
                          "expected 0 (our neurons reset to 0 or by subtraction)")
    reset = str(meta.get("reset", "zero"))  # NIR's own meaning: v <- v_reset = 0
    if reset not in RESETS:
        raise ConfigError(f"NIR node {name!r}: metadata reset = {reset!r}: expected {list(RESETS)}")
    exact_beta, exact_theta = meta.get("beta"), meta.get("threshold")
    if exact_beta is not None and np.float32(exact_beta) == np.float32(beta):
        beta = float(exact_beta)
    if exact_theta is not None and np.float32(exact_theta) == np.float32(theta):
        theta = float(exact_theta)
    shape = tuple(int(v) for v in np.shape(node.v_threshold))
    return LifParams(beta, theta, reset, shape)


def graph_dt(graph: nir.NIRGraph) -> float:
    """The Euler step a graph's time constants assume: its ``dt_s`` metadata, else ``DT_S``."""
    dt = graph.metadata.get("dt_s", DT_S) if isinstance(graph.metadata, dict) else DT_S
    dt = float(np.asarray(dt))
    if not (math.isfinite(dt) and dt > 0):
        raise ConfigError(f"NIR graph metadata dt_s = {dt}: expected a step > 0 (seconds)")
    return dt


def write_graph(graph: nir.NIRGraph, path: str | Path) -> Path:
    """Write ``graph`` as a ``.nir`` (HDF5) file, atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        nir.write(tmp, graph)
    return path


def read_graph(path: str | Path) -> nir.NIRGraph:
    """A ``.nir`` file's graph, or a ``CheckpointError`` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"NIR file {str(path)!r} does not exist")
    try:
        return nir.read(path)
    except (OSError, KeyError, ValueError, TypeError) as err:
        raise CheckpointError(f"{path}: not a readable NIR file ({err})") from None


def require_nodes(graph: nir.NIRGraph, want: dict[str, Any]) -> None:
    """Every ``name: type`` of ``want`` is a node of ``graph``, or a ``ConfigError`` naming it."""
    for name, tp in want.items():
        if name not in graph.nodes:
            raise ConfigError(f"NIR graph has no node {name!r}: expected the nodes {list(want)}")
        if not isinstance(graph.nodes[name], tp):
            names = tp.__name__ if isinstance(tp, type) else " or ".join(t.__name__ for t in tp)
            raise ConfigError(
                f"NIR node {name!r} is a {type(graph.nodes[name]).__name__}: expected {names}")

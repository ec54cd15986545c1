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

so ``lif_node`` writes a ``nir.LIF`` with, at the step ``DT_S`` recorded in the graph's
metadata (``dt_s``)::

    tau = dt / (1 - beta)     (the float nearest it for which 1 - dt/tau rounds to beta)
    r = tau / dt              (the float for which the input gain (dt/tau) r is exactly 1)
    v_leak = 0
    v_threshold = nextafter(theta, -inf)   in the dtype the model computes in
    v_reset = 0

The threshold: on floats of one dtype, ``u >= theta`` holds exactly when ``u > nextafter(theta,
-inf)``, because no float lies between the two. So NIR's strict ``>`` at the shifted threshold
fires on exactly our spikes for a consumer computing in that dtype (float32 for the SNN and
the policy, float64 for the LSM). A consumer in a narrower dtype rounds the shifted threshold
back to ``theta`` and then differs from us only where ``u == theta`` exactly.

Reset: ``v_reset = 0`` is exact for the reset-to-zero LSM. NIR 1.0's LIF cannot reset by
subtraction (it always sets ``v`` to ``v_reset``), so a ``LIF`` node of the SNN or the
CartPole policy (their exporters' ``reset_form="lif"``) is a documented deviation: it
carries ``metadata["reset"] = "subtract"``, which a consumer must honour to run our network
(snnTorch: ``Leaky(..., reset_mechanism="subtract")``, see ``neuralbrain.nir_torch``); one
that reads only the fields resets to zero instead. ``beta = 1`` (no leak) is a ``nir.IF``
with ``r = 1/dt`` (``v[t] = v[t-1] + I[t]``), same threshold and reset. The exporters'
default for those models, ``reset_form="graph"``, needs no such deviation:

reset by subtraction in standard NIR nodes (``subtractive_nodes``). With the pre-reset
potential ``u[t] = beta (u[t-1] - theta s[t-1]) + I[t] = beta u[t-1] + I[t] - beta theta
s[t-1]`` our neuron is::

    NAME (LI: tau, r as above, v_leak = 0; beta = 1: I, r = 1/dt)
        -> NAME_spike (Threshold: nextafter(theta, -inf))
    NAME_spike -> NAME_reset (Scale: -beta theta) -> NAME      (a cycle: the previous step's s)

The cycle carries the previous step's spikes, as every cycle in a discrete-time run of a
NIR graph does (nirtorch's executor, and the LSM's recurrence). Nothing rides on metadata,
but a consumer must run ``LI``, ``Threshold``, ``Scale`` and cycles (snnTorch's own import
maps none of the three) and hardware that maps ``LIF`` nodes to its neurons cannot map it.

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


def euler_r(tau: np.floating, dt: float = DT_S, dtype: type = np.float32) -> np.floating:
    """``r = tau / dt`` as the ``dtype`` value nearest it for which the input gain ``(dt / tau)
    r``, computed in ``dtype``, is exactly 1 (the nearest value when no neighbour is)."""
    one, step, tau = dtype(1.0), dtype(dt), dtype(tau)
    r0 = dtype(tau / step)
    up = down = r0
    for _ in range(64):
        for cand in (down, up):
            if step / tau * cand == one:
                return cand
        up, down = np.nextafter(up, dtype(np.inf)), np.nextafter(down, dtype(0))
    return r0


def subtractive_nodes(
    name: str, beta: float, threshold: float, shape: tuple[int, ...], dt: float = DT_S,
    dtype: type = np.float32,
) -> tuple[dict[str, nir.NIRNode], list[tuple[str, str]]]:
    """Our reset-by-subtraction LIF in standard NIR nodes (module docstring): the nodes and
    the edges among them; the layer's input enters ``name``, its spikes leave ``name_spike``."""
    if not 0 <= beta <= 1:
        raise ConfigError(f"beta = {beta}: expected 0 <= beta <= 1")
    if not threshold > 0:
        raise ConfigError(f"threshold = {threshold}: expected > 0")
    full = lambda v: np.full(shape, v, dtype)  # noqa: E731
    meta = {"beta": float(beta), "threshold": float(threshold), "reset": "subtract"}
    if beta == 1:  # no leak: NIR's integrator, v[t] = v[t-1] + dt r I[t] with r = 1/dt
        potential: nir.NIRNode = nir.I(r=full(1.0 / dt), metadata=meta)
    else:
        tau = euler_tau(beta, dt, dtype)
        potential = nir.LI(tau=full(tau), r=full(euler_r(tau, dt, dtype)), v_leak=full(0.0),
                           metadata=meta)
    nodes = {
        name: potential,
        f"{name}_spike": nir.Threshold(threshold=full(strict_threshold(threshold, dtype))),
        f"{name}_reset": nir.Scale(scale=full(-dtype(beta) * dtype(threshold))),
    }
    edges = [(name, f"{name}_spike"), (f"{name}_spike", f"{name}_reset"), (f"{name}_reset", name)]
    return nodes, edges


def use_subtractive_nodes(
    nodes: dict[str, nir.NIRNode], edges: list[tuple[str, str]], name: str, dt: float = DT_S,
    dtype: type = np.float32,
) -> list[tuple[str, str]]:
    """Replace the ``lif_node`` ``name`` (reset by subtraction) of a graph being built by its
    ``subtractive_nodes`` in place; returns the edges, the layer's spikes now leaving
    ``name_spike``."""
    p = read_lif(nodes[name], name, dt)
    if p.reset != "subtract":
        raise ConfigError(f"NIR node {name!r} resets to zero: the graph form is for neurons "
                          "that reset by subtraction")
    group, inner = subtractive_nodes(name, p.beta, p.threshold, p.shape, dt, dtype)
    nodes.update(group)
    return [(f"{name}_spike", b) if a == name else (a, b) for a, b in edges] + inner


def read_subtractive(graph: nir.NIRGraph, name: str, dt: float = DT_S) -> LifParams:
    """Our ``beta``, ``theta`` of the ``subtractive_nodes`` group ``name`` of ``graph``."""
    nodes = graph.nodes
    spike, reset = f"{name}_spike", f"{name}_reset"
    require_nodes(graph, {name: (nir.LI, nir.I), spike: nir.Threshold, reset: nir.Scale})
    for edge in ((name, spike), (spike, reset), (reset, name)):
        if edge not in [tuple(e) for e in graph.edges]:
            raise ConfigError(f"NIR graph has no edge {edge}: expected the cycle {name} -> "
                              f"{spike} -> {reset} -> {name}")
    li = nodes[name]
    r = _one(li.r, "r", name)
    dtype = np.asarray(li.r).dtype.type
    if isinstance(li, nir.I):
        if not math.isclose(r * dt, 1.0, rel_tol=1e-4):
            raise ConfigError(f"NIR node {name!r}: I r = {r} at dt = {dt}: expected r = 1/dt")
        beta = 1.0
    else:
        tau = _one(li.tau, "tau", name)
        if _one(li.v_leak, "v_leak", name) != 0 or not math.isclose(r * dt / tau, 1.0,
                                                                      rel_tol=1e-4):
            raise ConfigError(f"NIR node {name!r}: v_leak = {float(li.v_leak.flat[0])}, "
                              f"r*dt/tau = {r * dt / tau:.6g}: expected 0 and 1")
        beta = float(dtype(1.0) - dtype(dt) / dtype(tau))
    theta = inclusive_threshold(_one(nodes[spike].threshold, "threshold", spike), dtype)
    scale = _one(nodes[reset].scale, "scale", reset)
    if not math.isclose(scale, -beta * theta, rel_tol=1e-5):
        raise ConfigError(f"NIR node {reset!r}: scale = {scale:.6g}: expected -beta * threshold "
                          f"= {-beta * theta:.6g} (reset by subtraction)")
    meta = li.metadata if isinstance(li.metadata, dict) else {}
    if meta.get("beta") is not None and np.float32(meta["beta"]) == np.float32(beta):
        beta = float(meta["beta"])
    if meta.get("threshold") is not None and np.float32(meta["threshold"]) == np.float32(theta):
        theta = float(meta["threshold"])
    return LifParams(beta, theta, "subtract", tuple(int(v) for v in np.shape(li.r)))


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
        tau=full(tau), r=full(euler_r(tau, dt, dtype)), v_leak=full(0.0), v_threshold=v_thr,
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

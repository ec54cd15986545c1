"""Run a NIR graph in snnTorch: snnTorch's own node import, plus what NIR's fields leave out.

Needs the ``[interop]`` extra (``pip install -e ".[interop]"``: torch, snnTorch, nirtorch).
``snntorch.import_nir.import_from_nir`` maps each NIR node to an snnTorch/PyTorch module
(``_nir_to_snntorch_module``: ``LIF`` -> ``snn.Leaky(beta = 1 - dt/tau, threshold =
v_threshold, reset_mechanism="zero")`` with its fixed ``dt = 1e-4`` s) and wires them with
``nirtorch.nir_to_torch``. ``to_snntorch`` uses those same node converters and that wiring,
and changes four things, each a place where the stock import does not run the graph the
NIR file describes (on our graphs it stops at the first ``I`` node: "Unknown node type"):

1. ``metadata["reset"] = "subtract"`` on a ``LIF`` node (our deviation from NIR 1.0, see
   ``neuralbrain.nir_lif``) gives ``reset_mechanism="subtract"`` with the converter's own
   ``beta`` and threshold (``honour_reset=False`` keeps snnTorch's reset to zero: what a
   consumer that reads only the NIR fields runs);
2. ``nir.I`` (the integrator ``dv/dt = r I`` our time-mean readout and the policy's spike
   count use), ``nir.LI`` (the policy's output potential, the graph form of reset by
   subtraction), ``nir.Threshold`` and ``nir.Scale``, which snnTorch does not import, become
   ``Integrator`` (``v[t] = v[t-1] + dt r I[t]``), snnTorch's own ``Leaky`` without reset
   read at its membrane (``v[t] = (1 - dt/tau) v[t-1] + I[t]``, forward Euler as for
   ``LIF``; ``Leak`` when the input gain ``(dt/tau) r`` is not 1), ``Fire`` (``[x >
   threshold]``) and a product;
3. ``nir.Flatten``'s ``start_dim`` counts NIR's dimensions, which exclude the batch; the
   stock import passes it to ``torch.nn.Flatten`` unchanged, which then also flattens the
   batch, so here it is shifted by one;
4. a recurrent cycle ``LIF -> Linear -> LIF`` (the LSM) stays a flat cycle, which
   ``nirtorch``'s executor runs as NIR means it: the ``Linear`` gets the previous step's
   spikes and its output is added to the ``LIF``'s other input. The stock import first
   wraps the cycle in a sub-graph meant to become an ``RLeaky``, but ``nirtorch`` 2.6
   recurses into sub-graphs instead of handing them to the node map, and the sub-graph it
   made routes the external input through the recurrent weights (``input -> w_rec -> LIF``).

Beyond what this module can fix, for the ``LIF`` form only: snnTorch's ``Leaky`` with
``reset_mechanism="subtract"`` subtracts once more, and fires from ``u - theta`` instead of
``u``, on any step whose potential after the previous reset was still ``>= theta``
(``mem_reset`` looks at the reset potential; see snnTorch PR #426); and it subtracts its
threshold, i.e. ``v_threshold`` (one ulp below our ``theta``). Our neurons (and the textbook
soft reset) fire from ``u``; so the two agree exactly while ``u < 2 theta``, and differ after
a step with ``u >= 2 theta``. The graph form of reset by subtraction (``LI``, ``Threshold``,
``Scale``; ``nir_lif.subtractive_nodes``) uses no snnTorch neuron and has neither issue.

``run_steps`` feeds a batch of time steps through the module and records the output of
every spiking node (forward hooks), for spike-by-spike comparison with our simulators.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import nir
import numpy as np

from neuralbrain.errors import ConfigError
from neuralbrain.nir_lif import graph_dt

if TYPE_CHECKING:
    import torch

SNNTORCH_DT_S = 1e-4  # snntorch/import_nir.py: dt = 1e-4 in every neuron converter


def _require() -> Any:
    try:
        import snntorch  # noqa: F401
        import torch  # noqa: F401
    except ImportError as err:
        raise ConfigError(f"running NIR in snnTorch needs the [interop] extra ({err}): "
                          'expected `pip install -e ".[interop]"`') from None
    from snntorch import import_nir

    return import_nir


def _integrator_class() -> type:
    import torch

    class Integrator(torch.nn.Module):
        """NIR ``I`` by forward Euler: ``v[t] = v[t-1] + dt r I[t]`` from ``v = 0``."""

        def __init__(self, r: np.ndarray, dt: float) -> None:
            super().__init__()
            self.register_buffer("gain", torch.as_tensor(np.asarray(r, np.float64) * dt))
            self.v: torch.Tensor | None = None

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            step = x * self.gain
            self.v = step if self.v is None or self.v.shape != x.shape else self.v + step
            return self.v

        def reset_mem(self) -> None:
            self.v = None

    return Integrator


def _leak_class() -> type:
    import torch

    class Leak(torch.nn.Module):
        """NIR ``LI`` by forward Euler: ``v[t] = (1 - dt/tau) v[t-1] + (dt/tau) r I[t]``."""

        def __init__(self, node: nir.LI, dt: float) -> None:
            super().__init__()
            tau = np.asarray(node.tau)
            if np.any(np.asarray(node.v_leak) != 0):
                raise ConfigError("NIR LI with v_leak != 0: expected 0")
            # in the node's dtype, as snnTorch computes a LIF's beta
            self.register_buffer("decay", torch.as_tensor(1 - dt / tau))
            self.register_buffer("gain", torch.as_tensor(dt / tau * np.asarray(node.r, tau.dtype)))
            self.v: torch.Tensor | None = None

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            step = self.gain * x
            self.v = step if self.v is None or self.v.shape != x.shape else (
                self.decay * self.v + step)
            return self.v

        def reset_mem(self) -> None:
            self.v = None

    class Fire(torch.nn.Module):
        """NIR ``Threshold``: ``z = [x > threshold]``."""

        def __init__(self, threshold: np.ndarray) -> None:
            super().__init__()
            self.register_buffer("threshold", torch.as_tensor(np.asarray(threshold)))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (x > self.threshold).to(x.dtype)

    class Product(torch.nn.Module):
        """NIR ``Scale``: ``y = x * scale``."""

        def __init__(self, scale: np.ndarray) -> None:
            super().__init__()
            self.register_buffer("scale", torch.as_tensor(np.asarray(scale)))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * self.scale

    return Leak, Product, Fire


def _potential_class() -> type:
    import snntorch as snn
    import torch

    class LeakyPotential(torch.nn.Module):
        """NIR ``LI`` with unit input gain ``(dt/tau) r = 1`` as snnTorch's own neuron:
        ``snn.Leaky(beta = 1 - dt/tau, reset_mechanism="none")``, whose membrane ``mem =
        beta mem + I`` is the output (its spikes are not used)."""

        def __init__(self, node: nir.LI, dt: float) -> None:
            super().__init__()
            tau = np.asarray(node.tau)
            beta = 1 - dt / tau  # in the node's dtype, as snnTorch's LIF import computes it
            self.neuron = snn.Leaky(beta=torch.as_tensor(beta), threshold=float("inf"),
                                    reset_mechanism="none", init_hidden=True, output=True,
                                    reset_delay=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.neuron(x)[1]

    return LeakyPotential


def _cast_class() -> type:
    import torch

    class CastInput(torch.nn.Module):
        """``inner(x)`` with ``x`` cast to ``inner``'s weight dtype: snnTorch's neurons emit
        float32 spikes whatever their own dtype, which a float64 layer would refuse."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner(x.to(self.inner.weight.dtype))

    return CastInput


def to_snntorch(
    graph: nir.NIRGraph, honour_reset: bool = True, dtype: str = "float32",
) -> torch.nn.Module:
    """``graph`` as a PyTorch module of snnTorch neurons (see the module docstring), its
    parameters and state in ``dtype`` (``"float64"`` keeps a float64 graph's thresholds)."""
    import_nir = _require()
    import nirtorch
    import snntorch as snn
    import torch

    if dtype not in ("float32", "float64"):
        raise ConfigError(f"dtype = {dtype!r}: expected 'float32' or 'float64'")
    dt = graph_dt(graph)
    if not np.isclose(dt, SNNTORCH_DT_S):
        raise ConfigError(f"NIR graph dt_s = {dt}: snnTorch's import steps at {SNNTORCH_DT_S} s")
    convert = import_nir._nir_to_snntorch_module
    integrator = _integrator_class()
    leak, product, fire = _leak_class()
    leaky_potential = _potential_class()

    def potential(node: nir.LI, dt: float) -> torch.nn.Module:
        tau = np.asarray(node.tau)
        unit = np.all(dt / tau * np.asarray(node.r, tau.dtype) == 1) and not np.any(node.v_leak)
        return leaky_potential(node, dt) if unit else leak(node, dt)

    def lif(node: nir.LIF) -> torch.nn.Module:
        mod = convert(node, init_hidden=True)
        meta = node.metadata if isinstance(node.metadata, dict) else {}
        if honour_reset and meta.get("reset") == "subtract":
            mod = snn.Leaky(beta=mod.beta, threshold=mod.threshold, reset_mechanism="subtract",
                            init_hidden=True, reset_delay=False)
        return mod

    def flatten(node: nir.Flatten) -> torch.nn.Module:
        end = node.end_dim if node.end_dim < 0 else node.end_dim + 1
        return torch.nn.Flatten(node.start_dim + 1, end)

    cast = _cast_class() if dtype == "float64" else (lambda m: m)
    node_map = {
        nir.Affine: lambda n: cast(convert(n, init_hidden=True)),
        nir.Linear: lambda n: cast(convert(n, init_hidden=True)),
        nir.Conv2d: lambda n: cast(convert(n, init_hidden=True)),
        nir.AvgPool2d: lambda n: convert(n, init_hidden=True),
        nir.IF: lambda n: convert(n, init_hidden=True),
        nir.CubaLIF: lambda n: convert(n, init_hidden=True),
        nir.LIF: lif,
        nir.Flatten: flatten,
        nir.I: lambda n: integrator(np.asarray(n.r), dt),
        nir.LI: lambda n: potential(n, dt),
        nir.Scale: lambda n: product(n.scale),
        nir.Threshold: lambda n: fire(n.threshold),
    }
    return nirtorch.nir_to_torch(graph, node_map, dtype=getattr(torch, dtype))


def reset_states(module: torch.nn.Module) -> None:
    """Every neuron and integrator back to rest (``v = 0``, no spikes)."""
    import torch

    for sub in module.modules():
        if hasattr(sub, "reset_mem"):
            sub.reset_mem()
        if hasattr(sub, "spk") and isinstance(sub.spk, torch.Tensor):
            sub.spk = torch.zeros_like(sub.spk)


def run_steps(
    module: torch.nn.Module, x: np.ndarray, record: Sequence[str] = (),
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Run ``x`` (batch, steps, *input shape) from rest, one step at a time.

    Returns the outputs (batch, steps, *output shape) and, for each submodule named in
    ``record`` (the NIR node names), its output at every step (batch, steps, ...).
    """
    import torch

    subs = dict(module.named_modules())
    missing = [name for name in record if name not in subs]
    if missing:
        raise ConfigError(f"no modules {missing} in the imported graph: expected some of "
                          f"{sorted(k for k in subs if k)}")
    seen: dict[str, list[np.ndarray]] = {name: [] for name in record}
    hooks = []
    for name in record:
        def hook(_mod: Any, _inp: Any, out: Any, name: str = name) -> None:
            val = out[0] if isinstance(out, tuple) else out
            seen[name].append(val.detach().cpu().numpy().copy())
        hooks.append(subs[name].register_forward_hook(hook))
    reset_states(module)
    outs = []
    try:
        with torch.no_grad():
            params = [*module.parameters(), *module.buffers()]
            dtype = next((p.dtype for p in params if p.is_floating_point()), torch.float32)
            xt = torch.as_tensor(np.asarray(x)).to(dtype)
            state = None  # nirtorch's graph state: what recurrent edges carry to the next step
            for t in range(xt.shape[1]):
                out = module(xt[:, t]) if state is None else module(xt[:, t], state)
                if isinstance(out, tuple):
                    out, state = out
                outs.append(out.detach().cpu().numpy().copy())
    finally:
        for h in hooks:
            h.remove()
    return np.stack(outs, 1), {k: np.stack(v, 1) for k, v in seen.items()}

"""``brian2``: the LIF reservoir simulated by Brian2 (runtime device), as a peer for ``cpu``.

Brian2 (Stimberg, Brette, Goodman, eLife 2019) runs the ``lif_reservoir`` op of
``hardware/base.py`` with its own code generation: on the same weights and inputs its spikes
equal the ``cpu`` backend's spike for spike (``tests/hardware/test_brian2_backend.py``).

How the discrete-time reservoir maps onto Brian2 (one ``Network`` per chunk of samples, the
samples laid end to end in time, one time step ``dt`` per bin):

- an input ``NeuronGroup`` of k cells whose count ``c = counts(t, i)`` (a 2-D ``TimedArray``)
  fires whenever ``c > 0``; input ``Synapses`` add ``w * c_pre`` to the reservoir's ``I``;
- reservoir spikes of the previous step reach ``I`` through recurrent ``Synapses``
  (``on_pre: I_post += w * keep(t)``: ``keep`` is 0 on the first step of every sample, which
  both drops spikes carried over from the previous sample and resets ``v``);
- after the synapses, ``v = decay * v * keep(t) + I; I = 0`` (a ``run_regularly``), then the
  threshold ``v >= threshold`` and the reset ``v = 0`` (both moved to ``after_synapses``), so
  the order of one step is exactly the op's equation.

Exactness: the synaptic sum ``I`` is exact when weights lie on a dyadic grid (as the LSM's
do), and ``decay * v + I`` is rounded twice in both simulators. Cython is compiled with
``-ffp-contract=off`` and without ``-ffast-math`` so that no fused multiply-add changes a
rounding. Energy is priced like ``cpu`` (the simulation runs on one): Horowitz 2014.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from neuralbrain.energy import Cost
from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.hardware.base import Backend, as_matrix, check_lif_operands
from neuralbrain.hardware.cpu import CPU_TABLE, lif_cost

SAFE_GCC_ARGS = ["-w", "-O3", "-ffp-contract=off", "-std=c++11"]


@dataclass(frozen=True)
class Config:
    """``[hardware.brian2]``: code generation target and how many samples share one run."""

    codegen_target: Literal["numpy", "cython"] = "numpy"
    chunk_samples: int = 256

    def __post_init__(self) -> None:
        if self.chunk_samples < 1:
            raise ConfigError(
                f"hardware.brian2.chunk_samples = {self.chunk_samples}: expected >= 1"
            )


class Brian2Backend(Backend):
    """The LIF reservoir on Brian2's runtime device (only the ``lif_reservoir`` op)."""

    name = "brian2"
    capabilities = frozenset({"lif_reservoir"})
    energy_table = CPU_TABLE
    rel_tolerance = 0.0
    Config = Config

    def lif_reservoir(
        self, x: np.ndarray, w_in: Any, w_rec: Any, decay: float, threshold: float
    ) -> tuple[np.ndarray, Cost]:
        w_in, w_rec = as_matrix(w_in, "w_in"), as_matrix(w_rec, "w_rec")
        x = check_lif_operands(x, w_in, w_rec, decay, threshold)
        batch, steps, _ = x.shape
        out = np.zeros((batch, steps, w_in.shape[1]), np.uint8)
        chunk = self.config.chunk_samples
        for start in range(0, batch, chunk):
            part = x[start:start + chunk]
            out[start:start + chunk] = simulate(
                part, w_in, w_rec, float(decay), float(threshold), self.config.codegen_target
            )
        return out, lif_cost(self.energy_table, x, out, w_in, w_rec)


def simulate(
    x: np.ndarray,
    w_in: np.ndarray,
    w_rec: np.ndarray,
    decay: float,
    threshold: float,
    target: str = "numpy",
) -> np.ndarray:
    """Run one Brian2 ``Network`` over the samples of ``x`` (batch, steps, k) end to end."""
    import brian2 as b2

    batch, steps, k = x.shape
    n = w_in.shape[1]
    if w_rec.shape != (n, n):
        raise ShapeError(f"w_rec has shape {w_rec.shape}: expected ({n}, {n})")
    b2.prefs.codegen.target = target
    if target == "cython":
        b2.prefs.codegen.cpp.extra_compile_args_gcc = list(SAFE_GCC_ARGS)
    dt = 1 * b2.ms
    counts = b2.TimedArray(
        np.ascontiguousarray(x.reshape(batch * steps, k), dtype=np.float64), dt=dt,
        name="lsm_counts"
    )
    keep_values = np.ones(batch * steps)
    keep_values[::steps] = 0.0
    keep = b2.TimedArray(keep_values, dt=dt, name="lsm_keep")
    namespace = {"counts": counts, "keep": keep, "decay": decay, "threshold": threshold}

    inp = b2.NeuronGroup(k, "c = counts(t, i) : 1", threshold="c > 0", reset="", dt=dt,
                         namespace=namespace, name="lsm_input")
    res = b2.NeuronGroup(n, "v : 1\nI : 1", threshold="v >= threshold", reset="v = 0",
                         dt=dt, namespace=namespace, name="lsm_reservoir")
    res.run_regularly("v = decay * v * keep(t) + I\nI = 0", when="after_synapses", order=0)
    res.thresholder["spike"].when = "after_synapses"
    res.thresholder["spike"].order = 1
    res.resetter["spike"].when = "after_synapses"
    res.resetter["spike"].order = 2

    s_in = b2.Synapses(inp, res, "w : 1", on_pre="I_post += w * c_pre", dt=dt,
                       namespace=namespace, name="lsm_in_syn")
    _connect(s_in, w_in)
    s_rec = b2.Synapses(res, res, "w : 1", on_pre="I_post += w * keep(t)", dt=dt,
                        namespace=namespace, name="lsm_rec_syn")
    _connect(s_rec, w_rec)
    mon = b2.SpikeMonitor(res, name="lsm_spikes")
    net = b2.Network(inp, res, s_in, s_rec, mon)
    net.run(batch * steps * dt, namespace=namespace)

    step = np.round(np.asarray(mon.t / dt)).astype(np.int64)
    out = np.zeros((batch, steps, n), np.uint8)
    out[step // steps, step % steps, np.asarray(mon.i)] = 1
    return out


def _connect(synapses: object, w: np.ndarray) -> None:
    """One synapse per non-zero weight (an all-zero matrix leaves the pathway empty)."""
    ii, jj = np.nonzero(w)
    if ii.size:
        synapses.connect(i=ii, j=jj)
        synapses.w = w[ii, jj].astype(np.float64)
    else:
        synapses.active = False

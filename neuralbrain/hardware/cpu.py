"""``cpu``: the reference backend, exact numpy float32, priced as a 45 nm digital core.

Energy model (Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC
2014, 45 nm, 0.9 V): fp32 multiply 3.7 pJ + fp32 add 0.9 pJ = 4.6 pJ per MAC; an fp32 add
alone (a spike accumulate) 0.9 pJ; a 32-bit integer ALU op 0.1 pJ (int32 add) for control
flow. Weights are read once per product: from a 1 MB on-chip SRAM cache when they fit
(100 pJ per 64-bit access = 12.5 pJ per byte), else from DRAM (1.3-2.6 nJ per 64-bit access,
taken as 20 pJ/bit = 160 pJ per byte).
Latency model: a single in-order core issuing one fp32 MAC per cycle at 1 GHz per lane with
8-wide SIMD (an assumption; the paper gives energies only), so 1 MAC = 0.125 ns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neuralbrain.energy import PJ, Cost, EnergyTable
from neuralbrain.hardware.base import Backend, as_matrix, check_lif_operands, check_operand

MAC_PER_S = 8e9
CACHE_BYTES = 1 << 20


def weight_read(nbytes: int) -> dict[str, int]:
    """The energy-table counts of reading ``nbytes`` of weights once (cache if they fit)."""
    return {"sram_byte": nbytes} if nbytes <= CACHE_BYTES else {"dram_byte": nbytes}

CPU_TABLE = EnergyTable(
    energy_j={
        "mac": (3.7 + 0.9) * PJ,
        "add": 0.9 * PJ,
        "dram_byte": 160.0 * PJ,
        "sram_byte": 12.5 * PJ,
        "alu_op": 0.1 * PJ,
    },
    latency_s={"mac": 1 / MAC_PER_S, "add": 1 / MAC_PER_S, "alu_op": 1 / MAC_PER_S},
    source="M. Horowitz, Computing's energy problem, ISSCC 2014 (45 nm): fp32 mult 3.7 pJ, "
    "fp32 add 0.9 pJ, 1 MB SRAM 100 pJ and DRAM 1.3-2.6 nJ per 64-bit access (~20 pJ/bit)",
    notes="latency: 8 fp32 MACs per ns (1 GHz, 8-wide SIMD), an assumption; weights are read "
    "once per product, from the 1 MB cache when they fit, else from DRAM",
)


class CpuBackend(Backend):
    """Exact numpy float32 products on a 45 nm digital core (Horowitz 2014 energies)."""

    name = "cpu"
    capabilities = frozenset({"matmul", "spiking", "lif"})
    energy_table = CPU_TABLE
    rel_tolerance = 1e-5

    def matmul(self, x: np.ndarray, w: Any) -> tuple[np.ndarray, Cost]:
        w = as_matrix(w, "w")
        x = check_operand(x, w.shape[0])
        y = x @ w
        rows = x.size // w.shape[0]
        macs = rows * w.size
        return y, self.energy_table.cost(
            latency_s=macs / MAC_PER_S,
            bytes_moved=w.nbytes + x.nbytes + y.nbytes,
            ops=macs,
            mac=macs,
            **weight_read(w.nbytes),
        )

    def accumulate(self, spikes: np.ndarray, w: Any) -> tuple[np.ndarray, Cost]:
        w = as_matrix(w, "w")
        s = check_operand(spikes, w.shape[0], "spikes")
        y = s @ w
        # A digital core still does a dense product unless the code is event driven; we price
        # what an event-driven CPU loop would do: one add per active input per fan-out.
        adds = int(np.count_nonzero(s)) * w.shape[1]
        return y, self.energy_table.cost(
            latency_s=adds / MAC_PER_S,
            bytes_moved=w.nbytes + y.nbytes,
            ops=adds,
            add=adds,
            **weight_read(w.nbytes),
        )

    def lif_reservoir(
        self, x: np.ndarray, w_in: Any, w_rec: Any, decay: float, threshold: float
    ) -> tuple[np.ndarray, Cost]:
        """Event-driven LIF reservoir (numba, float64 state): only non-zero input bins and
        spiking neurons cost work, and the float64 sums are exact for weights on a dyadic
        grid, which is what lets Brian2 reproduce these spikes one for one."""
        w_in, w_rec = as_matrix(w_in, "w_in"), as_matrix(w_rec, "w_rec")
        x = check_lif_operands(x, w_in, w_rec, decay, threshold)
        spikes = np.zeros(x.shape[:2] + (w_in.shape[1],), np.uint8)
        _lif_kernel()(
            np.ascontiguousarray(x, np.float64), w_in.astype(np.float64),
            w_rec.astype(np.float64), float(decay), float(threshold), spikes,
        )
        n = w_in.shape[1]
        adds = (int(np.count_nonzero(x)) + int(spikes.sum())) * n  # one add per event per fan-out
        leaks = x.shape[0] * x.shape[1] * n  # one multiply-add and compare per neuron per step
        return spikes, self.energy_table.cost(
            latency_s=(adds + leaks) / MAC_PER_S,
            bytes_moved=w_in.nbytes + w_rec.nbytes + x.nbytes + spikes.nbytes,
            ops=adds + leaks,
            add=adds,
            mac=leaks,
        )


_KERNEL = None


def _lif_kernel():
    """Compile (once, cached on disk) the event-driven LIF loop; numba is imported lazily."""
    global _KERNEL
    if _KERNEL is None:
        import numba

        @numba.njit(cache=True, nogil=True)
        def lif(x, w_in, w_rec, decay, threshold, out):  # pragma: no cover - compiled
            batch, steps, k = x.shape
            n = w_in.shape[1]
            v = np.zeros(n)
            cur = np.zeros(n)
            fired = np.zeros(n, np.int64)
            for b in range(batch):
                v[:] = 0.0
                n_fired = 0
                for t in range(steps):
                    cur[:] = 0.0
                    for i in range(k):
                        c = x[b, t, i]
                        if c != 0.0:
                            for j in range(n):
                                cur[j] += c * w_in[i, j]
                    for f in range(n_fired):
                        row = fired[f]
                        for j in range(n):
                            cur[j] += w_rec[row, j]
                    n_fired = 0
                    for j in range(n):
                        # two roundings (product, then sum), as in Brian2's generated code
                        v[j] = decay * v[j] + cur[j]
                        if v[j] >= threshold:
                            out[b, t, j] = 1
                            v[j] = 0.0
                            fired[n_fired] = j
                            n_fired += 1

        _KERNEL = lif
    return _KERNEL

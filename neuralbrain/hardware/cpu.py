"""``cpu``: the reference backend, exact numpy float32, priced as a 45 nm digital core.

Energy model (Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC
2014, 45 nm, 0.9 V): fp32 multiply 3.7 pJ + fp32 add 0.9 pJ = 4.6 pJ per MAC; an fp32 add
alone (a spike accumulate) 0.9 pJ; DRAM access ~1.3-2.6 nJ per 64-bit word, taken as
20 pJ/bit = 160 pJ per byte for weights streamed from DRAM (the paper's figure, per bit);
a 32-bit integer ALU op 0.1 pJ (int32 add) for control flow.
Latency model: a single in-order core issuing one fp32 MAC per cycle at 1 GHz per lane with
8-wide SIMD (an assumption; the paper gives energies only), so 1 MAC = 0.125 ns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neuralbrain.energy import PJ, Cost, EnergyTable
from neuralbrain.hardware.base import Backend, as_matrix, check_operand

MAC_PER_S = 8e9

CPU_TABLE = EnergyTable(
    energy_j={
        "mac": (3.7 + 0.9) * PJ,
        "add": 0.9 * PJ,
        "dram_byte": 160.0 * PJ,
        "alu_op": 0.1 * PJ,
    },
    latency_s={"mac": 1 / MAC_PER_S, "add": 1 / MAC_PER_S, "alu_op": 1 / MAC_PER_S},
    source="M. Horowitz, Computing's energy problem, ISSCC 2014 (45 nm): fp32 mult 3.7 pJ, "
    "fp32 add 0.9 pJ, DRAM 1.3-2.6 nJ per 64-bit access (~20 pJ/bit)",
    notes="latency: 8 fp32 MACs per ns (1 GHz, 8-wide SIMD), an assumption; weights are read "
    "from DRAM once per product",
)


class CpuBackend(Backend):
    """Exact numpy float32 products on a 45 nm digital core (Horowitz 2014 energies)."""

    name = "cpu"
    capabilities = frozenset({"matmul", "spiking"})
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
            dram_byte=w.nbytes,
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
            dram_byte=w.nbytes,
        )

"""``logic_grid``: a grid of SRAM-based Logic Blocks exchanging messages (Generative Logic).

The backend implements no matrix op (``capabilities`` is empty); a reasoner books its work
with ``charge(action, count)`` for three actions. Energy model, 45 nm like the ``cpu``
backend so the two compare on one process node:

- ``message``: a term message of 64 bits sent over ~1 mm of on-chip wire. Wire energy
  ~0.1 pJ/bit/mm at 40-45 nm (W. J. Dally, "GPU computing to exascale and beyond", SC 2010:
  moving 64 bits 1 mm ~ 6 pJ; also M. Horowitz, ISSCC 2014), so 64 x 0.1 = 6.4 pJ.
- ``unify``: a block matches its stored pattern against the message: one 64-bit read of the
  block's 8 KB SRAM, 10 pJ (Horowitz ISSCC 2014, 8 KB SRAM 64-bit access 10 pJ), plus eight
  8-bit compares at ~0.03 pJ each (Horowitz: 8-bit add 0.03 pJ): 10.24 pJ.
- ``block_cycle``: one cycle of the grid's critical path: clock tree and the arbitration that
  picks the lowest-id replying block. Assumption (no source): 5 pJ per cycle.

Latency: the blocks work in parallel, so a wave of messages and unifications costs the
cycles of its critical path, not the sum: ``message`` and ``unify`` carry no latency of their
own and ``block_cycle`` costs 1 ns (a 1 GHz clock, an assumption). The reasoner books
``block_cycle`` with the number of cycles on its critical path.
"""

from __future__ import annotations

from neuralbrain.energy import PJ, EnergyTable
from neuralbrain.hardware.base import Backend

LOGIC_GRID_TABLE = EnergyTable(
    energy_j={
        "message": 64 * 0.1 * PJ,
        "unify": (10.0 + 8 * 0.03) * PJ,
        "block_cycle": 5.0 * PJ,
    },
    latency_s={"message": 0.0, "unify": 0.0, "block_cycle": 1e-9},
    source="W. J. Dally, GPU computing to exascale and beyond, SC 2010 (on-chip wire ~0.1 "
    "pJ/bit/mm, 64 b x 1 mm ~ 6 pJ); M. Horowitz, Computing's energy problem, ISSCC 2014 "
    "(45 nm: 8 KB SRAM 64-bit access 10 pJ, 8-bit add 0.03 pJ)",
    notes="message = 64 bits over 1 mm; unify = one 64-bit block-SRAM read + 8 byte compares; "
    "block_cycle 5 pJ and the 1 GHz clock are assumptions; message/unify latency is folded "
    "into block_cycle because the blocks run in parallel",
)


class LogicGridBackend(Backend):
    """Many Logic Blocks in parallel; prices messages, unifications and critical-path cycles."""

    name = "logic_grid"
    capabilities = frozenset()
    energy_table = LOGIC_GRID_TABLE
    rel_tolerance = 0.0

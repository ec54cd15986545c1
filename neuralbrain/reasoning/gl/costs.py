"""How the reasoner's work is booked on its hardware backend.

The grid counts three primitive actions (see ``blocks.GridStats``): *messages* (a term sent
to a block), *unify* (one match attempt of a block's pattern against a term) and *cycles*
(the critical path of the grid, one wave per term sent). A backend whose energy table has
``message``/``unify``/``block_cycle`` (the ``logic_grid`` backend) is charged those directly.
A conventional core (``cpu``) has no such actions: there each action is priced as a stated
number of 32-bit ALU operations, an assumption from the size of the work:

- a message copies a term of ~8 nodes (two 32-bit words per node) into the block's queue:
  16 ``alu_op``;
- a unification walks ~8 pattern nodes with a compare, a branch and a binding store each:
  24 ``alu_op``;
- cycles cost nothing extra on the core: its latency is already the sum of its ALU ops.
"""

from __future__ import annotations

from neuralbrain.energy import Cost, Ledger
from neuralbrain.errors import CapabilityError
from neuralbrain.hardware.base import Backend
from neuralbrain.reasoning.gl.blocks import GridStats

ALU_OPS_PER_MESSAGE = 16
ALU_OPS_PER_UNIFY = 24
GRID_ACTIONS = ("message", "unify", "block_cycle")


def book_grid_work(
    stats: GridStats, backend: Backend | None, ledger: Ledger | None, prefix: str = "gl"
) -> Cost:
    """Charge ``stats`` on ``backend`` and book it into ``ledger``; returns the total cost."""
    if backend is None:
        return Cost()
    table = backend.energy_table.energy_j
    total = Cost()
    if all(a in table for a in GRID_ACTIONS):
        parts = {
            "message": stats.messages,
            "unify": stats.unify,
            "block_cycle": stats.cycles,
        }
        for action, n in parts.items():
            if n:
                c = backend.charge(action, n)
                total = total + c
                if ledger is not None:
                    ledger.book(f"{prefix}.{action}", c)
        return total
    if "alu_op" in table:
        n = ALU_OPS_PER_MESSAGE * stats.messages + ALU_OPS_PER_UNIFY * stats.unify
        if n:
            total = backend.charge("alu_op", n)
            if ledger is not None:
                ledger.book(f"{prefix}.inference", total)
        return total
    raise CapabilityError(
        f"backend {backend.name!r} can price neither {list(GRID_ACTIONS)} nor 'alu_op': "
        f"it has {sorted(table)}; use 'logic_grid' or 'cpu' for the reasoner"
    )

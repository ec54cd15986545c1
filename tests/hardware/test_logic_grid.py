import numpy as np
import pytest

from neuralbrain.errors import CapabilityError
from neuralbrain.hardware import BACKENDS, make_backend
from neuralbrain.hardware.logic_grid import LOGIC_GRID_TABLE


def test_registered_and_implements_no_matrix_op():
    be = make_backend("logic_grid")
    assert "logic_grid" in list(BACKENDS)
    assert be.name == "logic_grid" and be.capabilities == frozenset()
    with pytest.raises(CapabilityError, match="logic_grid"):
        be.matmul(np.ones((1, 2)), np.ones((2, 2)))


def test_charge_prices_energy_and_puts_latency_on_the_critical_path():
    be = make_backend("logic_grid")
    msg = be.charge("message", 1000)
    assert msg.energy_j == pytest.approx(1000 * LOGIC_GRID_TABLE["message"])
    assert msg.latency_s == 0.0  # parallel: only cycles of the critical path take time
    cyc = be.charge("block_cycle", 10)
    assert cyc.latency_s == pytest.approx(10e-9)
    with pytest.raises(CapabilityError, match="alu_op"):
        be.charge("alu_op", 1)
    assert "Horowitz" in LOGIC_GRID_TABLE.source

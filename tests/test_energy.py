import math

import pytest

from neuralbrain.energy import PJ, Cost, EnergyTable, Ledger
from neuralbrain.errors import ConfigError


def test_cost_adds_and_scales():
    a = Cost(1e-9, 2e-6, 10, 40)
    b = Cost(3e-9, 1e-6, 5, 0)
    assert a + b == Cost(4e-9, 3e-6, 15, 40)
    tripled = a.scaled(3)
    assert (tripled.energy_j, tripled.latency_s) == pytest.approx((3e-9, 6e-6))
    assert (tripled.ops, tripled.bytes_moved) == (30, 120)


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_cost_rejects_negative_or_non_finite(bad):
    with pytest.raises(ConfigError, match="energy_j"):
        Cost(energy_j=bad)


def test_energy_table_prices_counts_and_requires_a_source():
    table = EnergyTable({"mac": 4.6 * PJ, "dram_byte": 160 * PJ}, source="Horowitz 2014")
    cost = table.cost(mac=1000, dram_byte=10, ops=1000)
    assert cost.energy_j == pytest.approx(4.6e-9 + 1.6e-9)
    assert cost.ops == 1000
    with pytest.raises(ConfigError, match="no action 'flop'"):
        table.cost(flop=1)
    with pytest.raises(ConfigError, match="citation"):
        EnergyTable({"mac": 1e-12}, source=" ")


def test_ledger_books_per_op_and_drains():
    ledger = Ledger()
    ledger.book("mvm", Cost(1e-9, 1e-6, 1, 0))
    ledger.book("mvm", Cost(2e-9, 1e-6, 1, 0))
    ledger.book("adc", Cost(5e-10, 0, 1, 0))
    assert ledger.pending().energy_j == pytest.approx(3.5e-9)
    drained = ledger.drain()
    assert [b.op for b in drained] == ["adc", "mvm"]
    assert drained[1].cost.energy_j == pytest.approx(3e-9)
    assert ledger.drain() == []
    assert ledger.total.energy_j == pytest.approx(3.5e-9)
    ledger.reset()
    assert ledger.total == Cost()

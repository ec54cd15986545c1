import math

import pytest

from neuralbrain.energy import ACTIONS, PJ, Cost, EnergyTable, Ledger
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
    table = EnergyTable({"mac_fp32": 4.6 * PJ, "dram_read_byte": 160 * PJ},
                        source="Horowitz 2014", latency_s={"mac_fp32": 1e-9})
    cost = table.cost(mac_fp32=1000, dram_read_byte=10, ops=1000)
    assert cost.energy_j == pytest.approx(4.6e-9 + 1.6e-9)
    assert cost.ops == 1000
    with pytest.raises(ConfigError, match="no action 'synop'"):
        table.cost(synop=1)
    with pytest.raises(ConfigError, match="citation"):
        EnergyTable({"mac_fp32": 1e-12}, source=" ")


def test_energy_table_prices_only_actions_of_the_vocabulary():
    assert {"mac_fp32", "link_bit", "neuron_update", "message"} <= set(ACTIONS)
    assert all(a.name == name and a.unit and a.meaning for name, a in ACTIONS.items())
    with pytest.raises(ConfigError, match=r"prices \['flop'\], which are not priced actions"):
        EnergyTable({"mac_fp32": 1e-12, "flop": 1e-12}, source="x")
    with pytest.raises(ConfigError, match=r"latency for \['synop'\] but no energy"):
        EnergyTable({"mac_fp32": 1e-12}, source="x", latency_s={"synop": 1e-9})


def test_ledger_books_per_op_and_backend_and_drains():
    ledger = Ledger()
    ledger.book("mvm", Cost(1e-9, 1e-6, 1, 0), backend="rram")
    ledger.book("mvm", Cost(2e-9, 1e-6, 1, 0), backend="rram")
    ledger.book("mvm", Cost(4e-9, 1e-6, 1, 0), backend="cpu")
    assert ledger.book("adc", Cost(5e-10, 0, 1, 0), backend="rram").energy_j == 5e-10
    assert ledger.pending().energy_j == pytest.approx(7.5e-9)
    drained = ledger.drain()
    assert [(b.op, b.backend) for b in drained] == [("adc", "rram"), ("mvm", "cpu"),
                                                    ("mvm", "rram")]
    assert drained[2].cost.energy_j == pytest.approx(3e-9)
    assert ledger.drain() == []
    assert ledger.total.energy_j == pytest.approx(7.5e-9)
    ledger.reset()
    assert ledger.total == Cost()


def test_a_booking_must_name_its_backend():
    with pytest.raises(TypeError, match="backend"):
        Ledger().book("mvm", Cost(1e-9))  # type: ignore[call-arg]


def test_a_cost_split_into_parts_is_booked_part_by_part():
    gemm, comm = Cost(2e-9, 1e-6, 10, 40), Cost(1e-9, 5e-7, 0, 8)
    whole = Cost.of_parts({"gemm": gemm, "reduce_scatter": comm})
    assert whole == gemm + comm and dict(whole.parts) == {"gemm": gemm, "reduce_scatter": comm}
    ledger = Ledger()
    ledger.book("mpgemm", whole, backend="t3")
    ledger.book("attn", comm, backend="t3")
    booked = {b.op: b.cost for b in ledger.drain()}
    assert booked == {"gemm": gemm, "reduce_scatter": comm, "attn": comm}
    assert ledger.total == whole + comm
    with pytest.raises(ConfigError, match=r"parts \['gemm'\] add up to"):
        Cost(1e-9, 1e-6, 10, 40, parts=(("gemm", gemm),))

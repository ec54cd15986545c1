"""The link of the N-MNIST comparison: measured bookings, the ratio's sensitivity to the link."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from neuralbrain.errors import ConfigError
from neuralbrain.hardware.in_sensor import CONSTANTS
from neuralbrain.sensing.insensor_link import (
    AER_ADDRESS_BITS,
    LINK_CONSTANTS,
    link_sensitivity,
    measure,
)
from neuralbrain.sensing.perception import Config
from neuralbrain.sensing.snn.model import SNNConfig, init_params

E_BIT_J = CONSTANTS["e_bit_pj"].value * 1e-12


def _synthetic(n_ev=1000.0, outputs=4096, steps=8, cpu_other=5e-6, ins_other=2e-6) -> dict:
    """Bookings as ``measure`` returns them, with links priced by the link formula."""
    return {
        "samples": 1, "events_per_sample": n_ev, "time_steps": steps,
        "in_pixel_outputs": outputs,
        "configs": {
            "cpu": {"in_sensor/readout": n_ev * 32 * E_BIT_J, "cpu/conv1": cpu_other},
            "neuromorphic": {"in_sensor/readout": n_ev * 32 * E_BIT_J,
                             "neuromorphic/conv1": 3e-6, "neuromorphic/fc": 1e-6},
            "in_sensor+neuromorphic": {"in_sensor/readout": outputs * steps * E_BIT_J,
                                       "in_sensor/conv1": 1e-6, "neuromorphic/fc": ins_other - 1e-6},
        },
    }


def test_link_constants_cite_their_range():
    aer = LINK_CONSTANTS["aer_bits_per_event"]
    assert aer.value == Config().aer_bits_per_event == 32
    assert aer.assumption and aer.low == AER_ADDRESS_BITS == 12 and aer.high == 40
    assert "Orchard" in aer.source and "log2(34*34*2)" in aer.source
    assert LINK_CONSTANTS["in_sensor_bits_per_output"].value == 1


def test_sensitivity_reproduces_the_measured_ratio_and_moves_the_right_way():
    m = _synthetic()
    s = link_sensitivity(m)
    cpu = sum(m["configs"]["cpu"].values())
    ins = sum(m["configs"]["in_sensor+neuromorphic"].values())
    assert s["measured_ratio"] == pytest.approx(cpu / ins)
    assert s["by_e_bit_pj"]["75"] == pytest.approx(s["measured_ratio"])
    # a free link leaves the other energies only
    assert s["ratio_free_link"] == pytest.approx(5e-6 / 2e-6)
    assert s["by_e_bit_pj"]["0"] == pytest.approx(s["ratio_free_link"])
    # a wider AER word only adds to the cpu side
    by_bits = [s["by_aer_bits"][k] for k in ("12", "16", "32", "40")]
    assert by_bits == sorted(by_bits) and by_bits[0] < by_bits[-1]
    # a dearer link moves the ratio monotonically toward the ratio of link bits
    limit = 1000 * 32 / (4096 * 8)
    by_e = [s["by_e_bit_pj"][k] for k in ("0", "7.5", "25", "75", "150")]
    gaps = [abs(r - limit) for r in by_e]
    assert gaps == sorted(gaps, reverse=True)
    lo, hi = s["ratio_range_over_link_assumptions"]
    assert lo <= s["measured_ratio"] <= hi
    assert all(lo - 1e-12 <= row["ratio"] <= hi + 1e-12 for row in s["grid"]
               if 7.5 <= row["e_bit_pj"] <= 150)
    assert s["link_share_of_energy"]["cpu"] == pytest.approx(
        1000 * 32 * E_BIT_J / (1000 * 32 * E_BIT_J + 5e-6))
    assert s["in_sensor_address_coded"]["ratio"] is None  # no spike count measured
    assert s["link_carries"] == pytest.approx(
        1 - (s["ratio_free_link"] - 1) / (s["measured_ratio"] - 1))


def test_bad_sweeps_and_inconsistent_bookings_are_refused():
    with pytest.raises(ConfigError, match="e_bit = -1 pJ/bit: expected a number >= 0"):
        link_sensitivity(_synthetic(), e_bit_pj=(-1,))
    with pytest.raises(ConfigError, match="AER word = 0 bits"):
        link_sensitivity(_synthetic(), aer_bits=(0,))
    m = _synthetic()
    m["events_per_sample"] *= 2  # counts no longer match what the ledger booked
    with pytest.raises(ConfigError, match="counts do not match the bookings"):
        link_sensitivity(m)


def test_measure_books_the_three_configurations_on_the_same_samples():
    snn = SNNConfig(time_steps=2)
    pcfg = replace(Config(), snn=snn)
    params = init_params(snn, 0)
    rng = np.random.default_rng(0)
    x = rng.poisson(0.05, size=(3, 2, 2, 34, 34)).astype(np.uint8)
    m = measure(pcfg, params, x)
    assert m["samples"] == 3 and m["events_per_sample"] == pytest.approx(x.sum() / 3)
    assert m["in_pixel_outputs"] == 16 * 16 * 16
    assert set(m["configs"]) == {"cpu", "neuromorphic", "in_sensor+neuromorphic"}
    ins = m["configs"]["in_sensor+neuromorphic"]
    assert ins["in_sensor/readout"] == pytest.approx(16 * 16 * 16 * 2 * E_BIT_J)
    assert m["configs"]["cpu"]["in_sensor/readout"] == pytest.approx(
        x.sum() / 3 * 32 * E_BIT_J)
    s = link_sensitivity(m)  # the ledger and the formula agree on real bookings
    assert s["measured_ratio"] > 0
    addr = s["in_sensor_address_coded"]
    assert addr["bits_per_spike"] == 12  # 4096 in-pixel outputs
    assert 0 <= m["in_pixel_spikes_per_sample"] <= 16 * 16 * 16 * 2
    assert addr["link_bits_per_sample"] == pytest.approx(m["in_pixel_spikes_per_sample"] * 12)
    # fewer bits on the in-sensor side can only raise the ratio, and vice versa
    bitmap_bits = 16 * 16 * 16 * 2
    assert (addr["ratio"] >= s["measured_ratio"]) == (addr["link_bits_per_sample"] <= bitmap_bits)
    assert measure(pcfg, params, x) == m  # deterministic
    with pytest.raises(ConfigError, match=r"counts of shape \(2, 34, 34\)"):
        measure(pcfg, params, x[0, 0])

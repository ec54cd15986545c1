"""The spiking policy module: what it books, on which backend, and which backends it refuses."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.control.snn_policy import Config, Layout, SnnPolicy
from neuralbrain.errors import CapabilityError
from neuralbrain.hardware import make_backend


def _policy(backend: str) -> SnnPolicy:
    cfg = Config(backend=backend, n_hidden=10)
    theta = Layout(12, 10, 2).init(cfg, np.random.default_rng(0))
    module = SnnPolicy(cfg, 12, theta)
    module.ledger.drain()  # the weights' placement
    return module


@pytest.mark.parametrize("backend", ["cpu", "neuromorphic"])
def test_books_neuron_updates_and_time_steps_on_its_backend(backend):
    module = _policy(backend)
    obs = (np.random.default_rng(1).random((8, 12)) < 0.4).astype(np.uint8)
    module.step({"obs": obs})
    booked = {b.op: b for b in module.ledger.drain()}
    assert set(booked) == {"accumulate", "neuron_update", "time_step"}
    assert {b.backend for b in booked.values()} == {backend}
    table = make_backend(backend).energy_table
    assert booked["neuron_update"].cost.energy_j == pytest.approx(
        8 * (10 + 2) * table["neuron_update"])
    assert booked["time_step"].cost.energy_j == pytest.approx(8 * table["time_step"])


def test_a_backend_that_cannot_price_its_work_is_refused():
    with pytest.raises(CapabilityError, match="'SnnPolicy': backend = 'rram' does not price "
                                              "action 'time_step'"):
        SnnPolicy(Config(backend="rram"), 12, np.zeros(Layout(12, 32, 2).size))
    module = _policy("cpu")
    with pytest.raises(CapabilityError, match="backend = 'lut' cannot run op 'accumulate'"):
        module.to("lut")
    assert module.backend.name == "cpu"

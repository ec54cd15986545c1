"""The spiking policy module: what it books, on which backend, and which backends it refuses."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.control import snn_policy
from neuralbrain.control.snn_policy import Config, Layout, SnnPolicy, lif_layer, policy_forward
from neuralbrain.errors import CapabilityError, ShapeError
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


def test_lif_layer_follows_its_equations():
    # constant input 0.6, decay 0.5, threshold 1: v = 0.6, 0.9, 1.05 -> spike (v = 0.05),
    # 0.625, 0.9125, 1.056 -> spike
    cur = np.full((1, 6, 1), 0.6, np.float32)
    spikes, v = lif_layer(cur, np.zeros((1, 1), np.float32), 0.5, 1.0)
    expected_v, vv, expected_s = [], 0.0, []
    for _ in range(6):
        vv = 0.5 * vv + 0.6
        s = vv >= 1.0
        vv -= 1.0 * s
        expected_s.append(float(s))
        expected_v.append(vv)
    np.testing.assert_array_equal(spikes[0, :, 0], expected_s)
    assert spikes[0, :, 0].tolist() == [0, 0, 1, 0, 0, 1]
    assert v[0, 0] == pytest.approx(expected_v[-1], abs=1e-6)


def _random_policy(n_in=12, hidden=10, seed=0):
    cfg = snn_policy.Config(n_hidden=hidden)
    layout = Layout(n_in, hidden, 2)
    theta = layout.init(cfg, np.random.default_rng(seed))
    theta[-2:] = [0.3, -0.2]  # non-zero output biases so they are exercised
    return cfg, layout, theta


def test_module_and_training_path_share_the_lif_function():
    cfg, layout, theta = _random_policy()
    rng = np.random.default_rng(1)
    thetas = np.stack([theta + 0.1 * rng.standard_normal(theta.size) for _ in range(3)])
    obs_seq = (rng.random((6, 8, 12)) < 0.3).astype(np.uint8)
    # training path: the population stacked, products by matmul
    p = layout.unflatten(thetas)
    w = {"w_in": p["w_in"][:, None], "w_out": p["w_out"][:, None]}
    b = {"b_h": p["b_h"][:, None], "b_o": p["b_o"][:, None]}
    state = (np.zeros((3, 1, 10), np.float32), np.zeros((3, 1, 2), np.float32))
    batched = []
    for obs in obs_seq:
        x = np.broadcast_to(obs.astype(np.float32), (3, 1, 8, 12))
        scores, state, _ = policy_forward(
            x, state, b, lambda s, n: np.matmul(s, w[n]), cfg.decay, cfg.threshold
        )
        batched.append(scores[:, 0])
    # runtime path: the module of member 1, products booked on its backend
    module = SnnPolicy(cfg, 12, thetas[1])
    module.reset(0)
    for k, obs in enumerate(obs_seq):
        action = module.step({"obs": obs})["action"]
        assert action == int(np.argmax(batched[k][1]))
    # and numerically: the same function with the module's backend as the synapse
    module.reset(0)
    st = module._state
    for k, obs in enumerate(obs_seq):
        scores, st, _ = policy_forward(
            obs.astype(np.float32)[None], st, module.params, module._synapse,
            cfg.decay, cfg.threshold,
        )
        np.testing.assert_allclose(scores[0], batched[k][1], rtol=1e-5, atol=1e-5)


def test_module_books_one_synop_per_event_and_fan_out():
    cfg, layout, theta = _random_policy()
    module = SnnPolicy(cfg, 12, theta)
    module.reset(0)
    module.ledger.reset()
    obs = (np.random.default_rng(2).random((8, 12)) < 0.4).astype(np.uint8)
    module.step({"obs": obs})
    booked = {b.op: b.cost for b in module.ledger.drain()}
    _, _, s_h = policy_forward(
        obs.astype(np.float32)[None], (np.zeros((1, 10), np.float32), np.zeros((1, 2), np.float32)),
        module.params, lambda s, n: s @ module.params[n], cfg.decay, cfg.threshold,
    )
    assert booked["accumulate"].ops == int(obs.sum()) * 10 + int(s_h.sum()) * 2
    assert booked["neuron_update"].ops == 8 * (10 + 2)
    assert booked["accumulate"].energy_j > 0
    with pytest.raises(ShapeError, match=r"expected \(time bins, 12\)"):
        module.step({"obs": np.zeros((8, 13), np.uint8)})

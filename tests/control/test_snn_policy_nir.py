"""The CartPole spiking policy as NIR: same parameters, same actions after a round trip."""

from __future__ import annotations

import nir
import numpy as np
import pytest

from neuralbrain.control.snn_policy import Config, Layout, SnnPolicy
from neuralbrain.control.snn_policy_nir import export_nir, flat_params, from_nir, import_nir, to_nir
from neuralbrain.errors import ConfigError


def test_round_trip_gives_identical_actions(tmp_path):
    cfg = Config(n_hidden=12, n_actions=2, tau_mem_s=0.02, init_scale=2.0)
    layout = Layout(64, cfg.n_hidden, cfg.n_actions)
    theta = layout.init(cfg, np.random.default_rng(5))  # a seed whose policy uses both actions
    policy = SnnPolicy(cfg, 64, theta)
    graph = to_nir(policy.params, cfg, n_steps=8, reset_form="lif")
    assert [type(graph.nodes[k]).__name__ for k in ("w_in", "hidden", "out", "count", "charge")
            ] == ["Affine", "LIF", "LIF", "I", "LI"]
    assert graph.nodes["hidden"].metadata["reset"] == "subtract"
    exact = to_nir(policy.params, cfg, n_steps=8)
    assert [type(exact.nodes[k]).__name__ for k in ("hidden", "hidden_spike", "hidden_reset")
            ] == ["LI", "Threshold", "Scale"]
    assert from_nir(exact)[1] == from_nir(graph)[1]
    params, back = from_nir(nir.read(export_nir(graph, tmp_path / "policy.nir")))
    assert back.threshold == cfg.threshold and np.float32(back.decay) == np.float32(cfg.decay)
    again = SnnPolicy(back, 64, flat_params(params, layout))
    rng = np.random.default_rng(1)
    obs = [(rng.random((8, 64)) < 0.2).astype(np.uint8) for _ in range(30)]
    a = [policy.step({"obs": o})["action"] for o in obs]
    b = [again.step({"obs": o})["action"] for o in obs]
    assert a == b and len(set(a)) == 2
    assert import_nir(tmp_path / "policy.nir")[1] == back  # pure: same twice


def test_bad_inputs_are_named():
    cfg = Config(n_hidden=4)
    params = {"w_in": np.zeros((8, 4)), "b_h": np.zeros(4), "w_out": np.zeros((4, 2)),
              "b_o": np.zeros(2)}
    with pytest.raises(ConfigError, match="lack \\['b_o'\\]"):
        to_nir({k: v for k, v in params.items() if k != "b_o"}, cfg)
    with pytest.raises(ConfigError, match="expected \\(n_in, 5\\)"):
        to_nir(params, Config(n_hidden=5))
    graph = to_nir(params, cfg, reset_form="lif")
    graph.nodes["out"].metadata = {"reset": "zero", "beta": cfg.decay, "threshold": 1.0}
    with pytest.raises(ConfigError, match="'out' resets to zero"):
        from_nir(graph)

"""The LSM reservoir as NIR: same spikes after a file round trip, readout in metadata."""

from __future__ import annotations

import nir
import numpy as np
import pytest

from neuralbrain.errors import ConfigError
from neuralbrain.memory import lsm
from neuralbrain.memory.lsm_nir import export_nir, from_nir, import_nir, to_nir
from neuralbrain.memory.readout import Config as ReadoutConfig
from neuralbrain.memory.readout import Readout


def _reservoir() -> lsm.LiquidStateMachine:
    return lsm.LiquidStateMachine(lsm.Config(n_inputs=30, n_neurons=20, threshold=1.0,
                                             weight_scale=0.4), seed=3)


def test_round_trip_gives_identical_spikes_and_readout(tmp_path):
    res = _reservoir()
    rcfg = ReadoutConfig(n_windows=2, hidden=4)
    head = Readout(rcfg, 40, 10, seed=1)
    graph = to_nir(res.w_in, res.w_rec, res.config, rcfg, head.state())
    node = graph.nodes["reservoir"]
    assert isinstance(node, nir.LIF) and node.v_threshold.dtype == np.float64
    assert np.all(node.v_threshold < 1.0) and np.all(node.v_reset == 0)
    assert ("reservoir", "w_rec") in graph.edges and ("w_rec", "reservoir") in graph.edges
    back = import_nir(export_nir(graph, tmp_path / "lsm.nir"))
    assert (back.decay, back.threshold) == (0.9, 1.0) and back.readout == rcfg
    for key, value in head.state().items():
        np.testing.assert_array_equal(back.readout_state[key], value)
    x = np.random.default_rng(0).poisson(0.4, size=(4, 40, 30))
    spikes = res.encode(x)
    assert 0.01 < spikes.mean() < 0.6
    np.testing.assert_array_equal(back.reservoir().encode(x), spikes)
    np.testing.assert_array_equal(from_nir(graph).w_rec, res.w_rec)  # pure: same twice
    spoken = to_nir(res.w_in, res.w_rec, res.config, rcfg, head.state(),
                    span={"threshold": 0.3, "smooth_steps": 20})
    assert spoken.metadata["readout"]["span_threshold"] == 0.3
    assert "active span" in spoken.metadata["readout"]["features"]


def test_foreign_names_without_recurrence_load():
    res = _reservoir()
    graph = to_nir(res.w_in, res.w_rec, res.config)
    nodes = {"in": graph.nodes["input"], "0": graph.nodes["w_in"], "1": graph.nodes["reservoir"],
             "out": graph.nodes["output"]}
    foreign = nir.NIRGraph(nodes=nodes, edges=[("in", "0"), ("0", "1"), ("1", "out")])
    back = from_nir(foreign)
    np.testing.assert_array_equal(back.w_in, res.w_in)
    assert not back.w_rec.any() and back.readout is None


def test_bad_graphs_are_named():
    res = _reservoir()
    graph = to_nir(res.w_in, res.w_rec, res.config)
    graph.nodes["reservoir"].metadata = {"reset": "subtract"}
    with pytest.raises(ConfigError, match="resets by subtract"):
        from_nir(graph)
    with pytest.raises(ConfigError, match=r"expected \(30, 20\)"):
        to_nir(res.w_in[:5], res.w_rec, res.config)
    with pytest.raises(ConfigError, match="without its trained arrays"):
        to_nir(res.w_in, res.w_rec, res.config, ReadoutConfig())
    graph = to_nir(res.w_in, res.w_rec, res.config)
    graph.nodes["extra"] = graph.nodes["reservoir"]
    with pytest.raises(ConfigError, match="expected exactly one"):
        from_nir(graph)


def test_a_speaker_normalised_readout_round_trips_with_its_stream_prior(tmp_path):
    res = _reservoir()
    rcfg = ReadoutConfig(n_windows=2, speaker_norm="meanvar")
    state = {**Readout(rcfg, 40, 10, seed=1).state(),
             "speaker_prior_mean": np.linspace(0, 1, 40), "speaker_prior_var": np.ones(40)}
    graph = to_nir(res.w_in, res.w_rec, res.config, rcfg, state)
    assert "normalised per speaker" in graph.metadata["readout"]["features"]
    back = import_nir(export_nir(graph, tmp_path / "lsm.nir"))
    assert back.readout == rcfg and back.readout.speaker_norm == "meanvar"
    np.testing.assert_array_equal(back.readout_state["speaker_prior_mean"], np.linspace(0, 1, 40))
    plain = to_nir(res.w_in, res.w_rec, res.config, ReadoutConfig(n_windows=2),
                   Readout(ReadoutConfig(n_windows=2), 40, 10).state())
    assert "speaker_norm" not in plain.metadata["readout"]  # files as before

"""NIR interchange: export the SNN, load it back into a Perception module, same spikes."""

from __future__ import annotations

import nir
import numpy as np
import pytest

from neuralbrain.errors import CheckpointError, ConfigError
from neuralbrain.sensing.perception import Config, Perception
from neuralbrain.sensing.snn.model import SNNConfig, init_params
from neuralbrain.sensing.snn.nir_io import export_nir, from_nir, import_nir, to_nir


def _params(cfg: SNNConfig) -> dict[str, np.ndarray]:
    p = init_params(cfg, 3)
    rng = np.random.default_rng(4)
    for k in p:
        if k.endswith(".b"):
            p[k] = rng.normal(scale=0.2, size=p[k].shape).astype(np.float32)
    return p


@pytest.mark.parametrize("backend,sensor,form", [("cpu", "cpu", "graph"),
                                                 ("neuromorphic", "in_sensor", "lif")])
def test_round_trip_gives_identical_spikes_on_our_backends(tmp_path, backend, sensor, form):
    cfg = SNNConfig(beta=0.85, conv2_channels=24)
    params = _params(cfg)
    path = export_nir(params, cfg, tmp_path / "snn.nir", reset_form=form)
    graph = nir.read(path)
    below_one = np.nextafter(np.float32(1.0), np.float32(0))
    if form == "lif":
        assert [type(graph.nodes[k]).__name__ for k in ("conv1", "lif1", "fc", "mean")] == [
            "Conv2d", "LIF", "Affine", "I"]
        lif1 = graph.nodes["lif1"]
        # NIR's v > v_threshold fires where our u >= 1.0 does; reset to 0 in the fields, by
        # subtraction in the metadata (the deviation NIR's LIF cannot avoid)
        assert np.all(lif1.v_threshold == below_one)
        assert np.all(lif1.v_reset == 0) and lif1.metadata["reset"] == "subtract"
    else:
        assert [type(graph.nodes[k]).__name__ for k in ("lif1", "lif1_spike", "lif1_reset")] == [
            "LI", "Threshold", "Scale"]
        assert np.all(graph.nodes["lif1_spike"].threshold == below_one)
        np.testing.assert_allclose(graph.nodes["lif1_reset"].scale, -0.85, rtol=1e-6)
        assert ("lif1_reset", "lif1") in graph.edges and ("lif1_spike", "conv2") in graph.edges
        lif1 = graph.nodes["lif1"]
    np.testing.assert_allclose(1 - graph.metadata["dt_s"] / lif1.tau, 0.85, rtol=1e-6)
    x = np.random.default_rng(0).poisson(0.3, size=(3, 8, 2, 34, 34)).astype(np.float32)
    pcfg = Config(backend=backend, sensor_backend=sensor)
    original = Perception(Config(backend=backend, sensor_backend=sensor, snn=cfg), params=params)
    loaded = Perception.from_nir(path, pcfg)
    assert loaded.snn == cfg
    p1, p2 = original.classify(x), loaded.classify(x)
    assert original.last_record["s1"].mean() > 0.01
    for layer in ("s1", "s2"):
        np.testing.assert_array_equal(original.last_record[layer], loaded.last_record[layer])
    np.testing.assert_allclose(p1, p2, rtol=1e-5, atol=1e-6)


def test_mean_node_is_the_time_mean_readout():
    """``fc -> mean (I)`` at the Euler step: the value after T steps is mean_t(fc), our logits."""
    from neuralbrain.sensing.snn.model import forward

    cfg = SNNConfig(time_steps=5)
    params = _params(cfg)
    graph = to_nir(params, cfg)
    x = np.random.default_rng(1).poisson(0.3, size=(2, 5, 2, 34, 34)).astype(np.float32)
    logits, rec = forward(params, x, cfg)
    s2 = rec["s2"].reshape(2, 5, -1)  # our (h, w, c) flatten order
    fc = s2 @ params["fc.w"] + params["fc.b"]
    gain = float(graph.nodes["mean"].r[0]) * graph.metadata["dt_s"]
    v = np.zeros((2, cfg.n_classes))
    for t in range(5):
        v = v + gain * fc[:, t]  # NIR I: dv/dt = r I, one Euler step
    np.testing.assert_allclose(v, logits, rtol=1e-5, atol=1e-6)


def test_graph_from_before_the_readout_node_still_loads():
    cfg = SNNConfig()
    params = _params(cfg)
    graph = to_nir(params, cfg)
    del graph.nodes["mean"]
    graph.edges = [e for e in graph.edges if "mean" not in e] + [("fc", "output")]
    back, back_cfg = from_nir(graph)
    assert back_cfg == cfg
    np.testing.assert_array_equal(back["fc.w"], params["fc.w"])


def test_a_reset_to_zero_graph_is_refused():
    cfg = SNNConfig()
    graph = to_nir(_params(cfg), cfg, reset_form="lif")
    for name in ("lif1", "lif2"):
        graph.nodes[name].metadata = {}  # NIR's own meaning: reset to v_reset = 0
    with pytest.raises(ConfigError, match="'lif1' resets to zero"):
        from_nir(graph)


def test_if_neurons_and_bad_graphs(tmp_path):
    cfg = SNNConfig(beta=1.0)
    for form in ("graph", "lif"):
        graph = to_nir(_params(cfg), cfg, reset_form=form)
        assert type(graph.nodes["lif1"]).__name__ == {"graph": "I", "lif": "IF"}[form]
        params, back = from_nir(graph)
        assert back.beta == 1.0 and back.threshold == 1.0
    with pytest.raises(ConfigError, match="reset_form = 'soft'"):
        to_nir(_params(cfg), cfg, reset_form="soft")  # type: ignore[arg-type]
    graph = to_nir(_params(cfg), cfg)
    del graph.nodes["lif2"]
    with pytest.raises(ConfigError, match="no node 'lif2'"):
        from_nir(graph)
    with pytest.raises(ConfigError, match="analog"):
        to_nir(init_params(SNNConfig(first_layer="analog"), 0), SNNConfig(first_layer="analog"))
    with pytest.raises(CheckpointError, match="does not exist"):
        import_nir(tmp_path / "missing.nir")
    (tmp_path / "junk.nir").write_bytes(b"not hdf5")
    with pytest.raises(CheckpointError, match="not a readable NIR file"):
        import_nir(tmp_path / "junk.nir")

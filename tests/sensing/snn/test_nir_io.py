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


@pytest.mark.parametrize("backend,sensor", [("cpu", "cpu"), ("neuromorphic", "in_sensor")])
def test_round_trip_gives_identical_spikes_on_our_backends(tmp_path, backend, sensor):
    cfg = SNNConfig(beta=0.85, conv2_channels=24)
    params = _params(cfg)
    path = export_nir(params, cfg, tmp_path / "snn.nir")
    graph = nir.read(path)
    assert [type(graph.nodes[k]).__name__ for k in ("conv1", "lif1", "fc")] == [
        "Conv2d", "LIF", "Affine"]
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


def test_if_neurons_and_bad_graphs(tmp_path):
    cfg = SNNConfig(beta=1.0)
    params, back = from_nir(to_nir(_params(cfg), cfg))
    assert back.beta == 1.0
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

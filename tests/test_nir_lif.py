"""NIR neuron semantics: the threshold shift is exact, tau gives our beta, bad nodes are named."""

from __future__ import annotations

import nir
import numpy as np
import pytest

from neuralbrain.errors import CheckpointError, ConfigError
from neuralbrain.nir_lif import (
    DT_S,
    euler_tau,
    inclusive_threshold,
    lif_node,
    read_graph,
    read_lif,
    strict_threshold,
    write_graph,
)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("theta", [1.0, 5.0, 5.3, 0.1])
def test_strict_threshold_fires_exactly_where_ours_does(dtype, theta):
    rng = np.random.default_rng(0)
    t = dtype(theta)
    # values around theta, theta itself and its neighbours included
    near = [np.nextafter(t, dtype(-np.inf)), t, np.nextafter(t, dtype(np.inf))]
    u = np.concatenate([rng.uniform(0, 2 * theta, 10_000).astype(dtype), np.array(near, dtype)])
    x = strict_threshold(theta, dtype)
    np.testing.assert_array_equal(u >= t, u > x)
    assert inclusive_threshold(x, dtype) == float(t)
    assert strict_threshold(theta, dtype) == x  # pure: same answer twice


@pytest.mark.parametrize("beta", [0.8, 0.9, 0.97, 0.5, 0.75, float(np.exp(-0.25))])
def test_euler_tau_gives_our_beta_in_the_consumers_arithmetic(beta):
    for dtype in (np.float32, np.float64):
        tau = euler_tau(beta, DT_S, dtype)
        assert dtype(1.0) - dtype(DT_S) / tau == dtype(beta)
        assert tau == pytest.approx(DT_S / (1 - beta), rel=1e-5)


def test_lif_node_round_trip_and_if():
    node = lif_node(0.8, 1.0, (3, 2), "subtract")
    assert isinstance(node, nir.LIF) and node.v_threshold.shape == (3, 2)
    assert np.all(node.v_threshold < 1.0) and np.all(node.v_reset == 0)
    np.testing.assert_allclose(node.r * DT_S / node.tau, 1.0, rtol=1e-6)
    back = read_lif(node, "n")
    assert (back.beta, back.threshold, back.reset, back.shape) == (0.8, 1.0, "subtract", (3, 2))
    node.metadata = {}  # a consumer's node: the fields alone decide
    bare = read_lif(node, "n")
    assert np.float32(bare.beta) == np.float32(0.8) and bare.threshold == 1.0
    assert bare.reset == "zero"  # NIR's own reset: v <- v_reset = 0
    if_node = lif_node(1.0, 2.0, (4,), "zero")
    assert isinstance(if_node, nir.IF) and read_lif(if_node, "i").beta == 1.0


def test_bad_nodes_and_values_are_named():
    with pytest.raises(ConfigError, match="reset = 'soft'"):
        lif_node(0.8, 1.0, (2,), "soft")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="threshold = 0"):
        lif_node(0.8, 0.0, (2,), "zero")
    with pytest.raises(ConfigError, match="beta = 1.5"):
        euler_tau(1.5)
    node = lif_node(0.8, 1.0, (2,), "zero")
    node.v_leak = np.array([0.5, 0.5], np.float32)
    with pytest.raises(ConfigError, match="v_leak"):
        read_lif(node, "lif")
    node = lif_node(0.8, 1.0, (2,), "zero")
    node.r = node.r * 2
    with pytest.raises(ConfigError, match="input gain"):
        read_lif(node, "lif")
    node = lif_node(0.8, 1.0, (2,), "zero")
    node.v_threshold = np.array([1.0, 2.0], np.float32)
    with pytest.raises(ConfigError, match="v_threshold differs"):
        read_lif(node, "lif")
    node = lif_node(0.8, 1.0, (2,), "zero")
    node.v_reset = np.array([-1.0, -1.0], np.float32)
    with pytest.raises(ConfigError, match="v_reset = -1"):
        read_lif(node, "lif")
    with pytest.raises(ConfigError, match="is a Linear: expected LIF or IF"):
        read_lif(nir.Linear(weight=np.eye(2)), "w")


def test_files_are_written_atomically_and_bad_files_named(tmp_path):
    graph = nir.NIRGraph.from_list(lif_node(0.9, 1.0, (2,), "zero"))
    path = write_graph(graph, tmp_path / "g.nir")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.nir"]  # no temp file left
    assert isinstance(read_graph(path).nodes["lif"], nir.LIF)
    with pytest.raises(CheckpointError, match="does not exist"):
        read_graph(tmp_path / "missing.nir")
    (tmp_path / "junk.nir").write_bytes(b"not hdf5")
    with pytest.raises(CheckpointError, match="not a readable NIR file"):
        read_graph(tmp_path / "junk.nir")


def test_subtractive_nodes_round_trip_and_are_checked():
    from neuralbrain.nir_lif import read_subtractive, subtractive_nodes

    nodes, edges = subtractive_nodes("lif", 0.8, 1.0, (3,))
    assert [type(n).__name__ for n in nodes.values()] == ["LI", "Threshold", "Scale"]
    assert ("lif_reset", "lif") in edges
    graph = nir.NIRGraph(nodes=dict(nodes), edges=edges, type_check=False)
    p = read_subtractive(graph, "lif")
    assert (p.beta, p.threshold, p.reset, p.shape) == (0.8, 1.0, "subtract", (3,))
    graph.nodes["lif_reset"].scale = np.full(3, -1.0, np.float32)  # -theta: not ours
    with pytest.raises(ConfigError, match="expected -beta"):
        read_subtractive(graph, "lif")
    graph = nir.NIRGraph(nodes=dict(nodes), edges=edges[:2], type_check=False)
    with pytest.raises(ConfigError, match="no edge"):
        read_subtractive(graph, "lif")

"""Brian2 runs the same LIF reservoir as the cpu backend, spike for spike."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.errors import CapabilityError, ConfigError, ShapeError
from neuralbrain.hardware import make_backend
from neuralbrain.hardware.brian2_backend import Config
from neuralbrain.memory.lsm import quantize_weights


def _network(seed: int, k: int = 24, n: int = 16, batch: int = 3, steps: int = 20):
    rng = np.random.default_rng(seed)
    w_in = quantize_weights(rng.normal(0.05, 0.6, (k, n)))
    w_rec = quantize_weights(rng.normal(0.0, 0.8, (n, n)))
    x = rng.poisson(0.5, (batch, steps, k)).astype(np.uint8)
    return x, w_in, w_rec


@pytest.mark.parametrize("seed", [0, 1])
def test_spikes_equal_cpu_spike_for_spike(seed):
    x, w_in, w_rec = _network(seed)
    want, _ = make_backend("cpu").lif_reservoir(x, w_in, w_rec, 0.9, 2.0)
    got, cost = make_backend("brian2", Config(chunk_samples=2)).lif_reservoir(
        x, w_in, w_rec, 0.9, 2.0
    )
    assert want.sum() > 20  # the network is active, recurrent spikes matter
    np.testing.assert_array_equal(got, want)
    assert cost.energy_j > 0 and cost.ops > 0


def test_recurrent_weights_change_the_spikes():
    # guards against a Brian2 wiring that ignores the recurrent synapses
    x, w_in, w_rec = _network(3)
    a, _ = make_backend("brian2").lif_reservoir(x, w_in, w_rec, 0.9, 2.0)
    b, _ = make_backend("brian2").lif_reservoir(x, w_in, np.zeros_like(w_rec), 0.9, 2.0)
    assert (a != b).any()


def test_only_lif_is_offered_and_bad_shapes_are_named():
    backend = make_backend("brian2")
    x, w_in, w_rec = _network(0)
    with pytest.raises(CapabilityError, match="'brian2' cannot run op 'matmul'"):
        backend.matmul(x[0], w_in)
    with pytest.raises(ShapeError, match=r"expected \(batch, steps, 24\)"):
        backend.lif_reservoir(x[..., :5], w_in, w_rec, 0.9, 2.0)
    with pytest.raises(ConfigError, match="chunk_samples"):
        Config(chunk_samples=0)

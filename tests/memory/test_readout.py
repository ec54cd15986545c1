"""The numpy readout (softmax regression / one GELU layer) and Adam."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.energy import Cost
from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.memory.readout import Config, Readout, gelu, gelu_grad


def _blobs(n=300, d=12, k=4, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.poisson(5.0, (k, d))
    y = rng.integers(0, k, n)
    x = rng.poisson(centres[y]).astype(np.float64)
    return x, y


@pytest.mark.parametrize("hidden", [0, 16])
def test_learns_separable_classes_deterministically(hidden):
    x, y = _blobs()
    cfg = Config(hidden=hidden, epochs=30)
    r1, r2 = Readout(cfg, 12, 4, seed=1), Readout(cfg, 12, 4, seed=1)
    losses = r1.fit(x[:200], y[:200])
    r2.fit(x[:200], y[:200])
    assert losses[-1] < losses[0]
    assert np.mean(r1.predict(x[200:]) == y[200:]) > 0.85
    np.testing.assert_array_equal(r1.logits(x[200:]), r2.logits(x[200:]))
    r3 = Readout(cfg, 12, 4)
    r3.load_state(r1.state())
    np.testing.assert_array_equal(r3.predict(x), r1.predict(x))


@pytest.mark.parametrize("hidden", [0, 16])
def test_its_products_run_through_the_matmul_it_is_given(hidden):
    x, y = _blobs()
    head = Readout(Config(hidden=hidden, epochs=3), 12, 4, seed=1)
    head.fit(x[:200], y[:200])
    shapes = []

    def matmul(a, b):  # a module's backend in the listener; here it records the products
        shapes.append(np.shape(b))
        return a @ b

    labels, cost = head.classify(x[200:], matmul)
    np.testing.assert_array_equal(labels, head.predict(x[200:]))
    assert shapes == ([(12, 16), (16, 4)] if hidden else [(12, 4)])
    assert cost == Cost() and head.device is None and head.spent == Cost()


def test_gelu_gradient_matches_finite_differences():
    a = np.linspace(-3, 3, 13)
    num = (gelu(a + 1e-6) - gelu(a - 1e-6)) / 2e-6
    np.testing.assert_allclose(gelu_grad(a), num, atol=1e-6)


def test_bad_shapes_and_config_are_named():
    r = Readout(Config(), 12, 4)
    with pytest.raises(ShapeError, match=r"expected \(batch, 12\)"):
        r.predict(np.zeros((3, 5)))
    with pytest.raises(ShapeError, match="0..3"):
        r.fit(np.zeros((3, 12)), np.array([0, 1, 7]))
    with pytest.raises(ConfigError, match="readout.hidden"):
        Config(hidden=-1)

"""Evolution strategies: ranks, the gradient estimate, Adam."""

import numpy as np
import pytest

from neuralbrain.control.es import Adam, centered_ranks, es_gradient


def test_es_pieces():
    np.testing.assert_allclose(centered_ranks(np.array([3.0, -1.0, 10.0])), [0.0, -0.5, 0.5])
    # the ES step moves the mean toward the fitter perturbation
    noise = np.array([[1.0, 0.0], [-1.0, 0.0]])
    g = es_gradient(noise, np.array([5.0, 1.0]), 0.1, np.zeros(2), 0.0)
    assert g[0] > 0 and g[1] == 0
    adam = Adam(0.1)
    mu = adam.step(np.zeros(2), g)
    assert mu[0] == pytest.approx(0.1) and mu[1] == 0

import numpy as np
import pytest

from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.memory.plastic import AssociativeMemory, PlasticMemoryConfig


def test_recalls_where_each_digit_was_seen_and_what_is_where():
    memory = AssociativeMemory()
    seen = {3: (0.50, -0.10, 0.03), 7: (0.62, 0.12, 0.09), 1: (0.41, 0.20, 0.03)}
    for digit, pos in seen.items():
        assert memory.write(digit, np.array(pos)) > 0
    for digit, pos in seen.items():
        got = memory.recall_position(digit)
        assert np.linalg.norm(got[:2] - pos[:2]) < 0.01
        assert got[2] == pytest.approx(pos[2])
        assert memory.recall_digit(np.array(pos))[0] == digit
    assert memory.recall_position(5) is None
    assert sorted(memory.known_digits()) == [1, 3, 7]


def test_rewriting_a_key_moves_it_and_forgetting_clears_it():
    memory = AssociativeMemory()
    memory.write(7, np.array([0.5, 0.0, 0.03]))
    memory.write(7, np.array([0.7, -0.2, 0.03]))
    assert np.linalg.norm(memory.recall_position(7)[:2] - [0.7, -0.2]) < 0.01
    memory.write(7, None)
    assert memory.recall_position(7) is None


def test_partial_learning_rate_averages_observations():
    memory = AssociativeMemory(PlasticMemoryConfig(eta=0.5))
    memory.write(2, np.array([0.5, 0.0, 0.0]))
    memory.write(2, np.array([0.5, 0.0, 0.0]))
    # two half-steps towards the same value reach 75% of it
    full = memory.value(np.array([0.5, 0.0, 0.0]))
    np.testing.assert_allclose(memory.weights[:, 2], 0.75 * full)


def test_bad_input():
    memory = AssociativeMemory()
    with pytest.raises(ShapeError, match="digit 12"):
        memory.write(12, np.zeros(3))
    with pytest.raises(ShapeError, match="expected 3 finite"):
        memory.write(1, np.array([0.1, np.nan, 0.0]))
    with pytest.raises(ConfigError, match="eta=0"):
        PlasticMemoryConfig(eta=0)

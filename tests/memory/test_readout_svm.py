"""``readout.type = "svm"``: the LSM readout as an SVM on cpu (float) or fpga (fixed point)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from neuralbrain.errors import CapabilityError, ConfigError
from neuralbrain.memory.readout import Config, Readout


def _counts():
    x, y = load_digits(return_X_y=True)  # 8x8 grey levels 0..16 stand in for spike counts
    return x[:600], y[:600], x[600:900], y[600:900]


@pytest.mark.parametrize("backend", ["cpu", "fpga"])
def test_svm_readout_trains_predicts_and_round_trips_its_state(backend):
    x, y, xt, yt = _counts()
    head = Readout(Config(type="svm", backend=backend), 64, 10, seed=0)
    head.fit(x, y)
    pred = head.predict(xt)
    assert np.mean(pred == yt) > 0.8  # C = 1, untuned: a smoke floor
    again = Readout(Config(type="svm", backend=backend), 64, 10)
    again.load_state(head.state())
    np.testing.assert_array_equal(again.predict(xt), pred)
    assert head.spent.energy_j > 0


@pytest.mark.parametrize("backend", ["cpu", "fpga"])
def test_classify_returns_what_the_svm_backend_counted_for_it(backend):
    x, y, xt, _ = _counts()
    head = Readout(Config(type="svm", backend=backend), 64, 10, seed=0)
    head.fit(x, y)
    before = head.spent
    labels, cost = head.classify(xt)
    assert head.device.name == backend and cost.energy_j > 0
    spent = before + cost  # the cpu route adds two products: equal up to float rounding
    assert head.spent.energy_j == pytest.approx(spent.energy_j, rel=1e-12)
    assert (head.spent.ops, head.spent.bytes_moved) == (spent.ops, spent.bytes_moved)
    np.testing.assert_array_equal(labels, head.predict(xt))


def test_a_readout_backend_that_cannot_run_the_svm_is_named_when_the_readout_is_built():
    with pytest.raises(CapabilityError, match="backend 'neuromorphic' cannot run an SVM"):
        Readout(Config(type="svm", backend="neuromorphic"), 64, 10)


def test_fpga_svm_readout_within_one_point_of_cpu():
    x, y, xt, yt = _counts()
    acc = {}
    for backend in ("cpu", "fpga"):
        head = Readout(Config(type="svm", backend=backend), 64, 10)
        head.fit(x, y)
        acc[backend] = float(np.mean(head.predict(xt) == yt))
    assert acc["fpga"] >= acc["cpu"] - 0.01


def test_bad_readout_settings():
    with pytest.raises(ConfigError, match="readout.type = 'tree'"):
        Config(type="tree")
    with pytest.raises(ConfigError, match="logistic readout runs on 'cpu' only"):
        Config(backend="fpga")
    with pytest.raises(ConfigError, match="not trained"):
        Readout(Config(type="svm"), 64, 10).predict(np.zeros((1, 64)))


def test_clipping_keeps_a_feature_that_was_almost_constant_in_training_from_swamping_the_rbf():
    x, y, xt, yt = _counts()
    # one extra feature, zero in training but once: its std is tiny, so a new input that
    # has it (a new voice driving a neuron the training speakers never did) standardizes huge
    rare = np.zeros((len(x), 1))
    rare[0] = 1.0
    x2, xt2 = np.hstack([x, rare]), np.hstack([xt, np.full((len(xt), 1), 3.0)])
    acc = {}
    for clip in (0.0, 3.0):
        head = Readout(Config(type="svm", svm_clip=clip), 65, 10, seed=0)
        head.fit(x2, y)
        acc[clip] = float(np.mean(head.predict(xt2) == yt))
        again = Readout(Config(type="svm", svm_clip=clip), 65, 10)
        again.load_state(head.state())
        np.testing.assert_array_equal(again.predict(xt2), head.predict(xt2))
    assert acc[3.0] > 0.8 and acc[0.0] < 0.3, acc
    assert head.svm.classifier.model.clip == 3.0
    with pytest.raises(ConfigError, match="svm.clip = -1"):
        Readout(Config(type="svm", svm_clip=-1.0), 65, 10)

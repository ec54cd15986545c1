"""The SVM classifier: sklearn agreement on cpu, fixed-point accuracy floor on fpga, errors."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import SVC

from neuralbrain.errors import ConfigError, DataError, ShapeError
from neuralbrain.hardware import make_backend
from neuralbrain.hardware.fpga_commands import build_report
from neuralbrain.memory.svm import Config, SvmClassifier, train_svm


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
@pytest.mark.parametrize("multiclass", ["ovo", "ovr"])
def test_cpu_predictions_equal_sklearn(kernel, multiclass):
    x, y = load_iris(return_X_y=True)
    model = train_svm(x[::2], y[::2], Config(kernel=kernel, multiclass=multiclass))
    svc = SVC(kernel=kernel, C=1.0, gamma=model.gamma)
    ref = OneVsRestClassifier(svc) if multiclass == "ovr" else svc
    ref.fit(model.standardize(x[::2]), y[::2])
    got = SvmClassifier(model, make_backend("cpu")).predict(x[1::2])
    np.testing.assert_array_equal(got, ref.predict(model.standardize(x[1::2])))


def test_fixed_point_accuracy_within_one_point_of_float_on_held_out_breast_cancer():
    report = build_report([12, 16])
    acc = report["accuracy"]
    assert acc["float_test"] > 0.93
    assert acc["fixed_test"] >= acc["float_test"] - 0.01


def test_bad_input_one_line_errors():
    x, y = load_iris(return_X_y=True)
    with pytest.raises(DataError, match="1 class"):
        train_svm(x[:10], y[:10])
    model = train_svm(x, y)
    with pytest.raises(ShapeError, match=r"expected \(batch, 4\)"):
        SvmClassifier(model, make_backend("fpga")).predict(x[:, :3])
    with pytest.raises(ConfigError, match="svm.kernel"):
        Config(kernel="poly")

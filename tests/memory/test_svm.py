"""The SVM classifier: sklearn agreement on cpu, fixed-point accuracy floor on fpga, errors."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import SVC

from neuralbrain.errors import CapabilityError, ConfigError, DataError, ShapeError
from neuralbrain.hardware import make_backend
from neuralbrain.hardware.fpga import svm_cycles
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


@pytest.mark.parametrize("kernel, ops", [("rbf", "'svm' or 'matmul'"), ("linear", "'matmul'")])
def test_a_backend_that_cannot_run_the_svm_is_one_line_naming_who_can(kernel, ops):
    x, y = load_iris(return_X_y=True)
    model = train_svm(x, y, Config(kernel=kernel))
    with pytest.raises(CapabilityError, match=rf"backend 'neuromorphic' cannot run an SVM with "
                       rf"the {kernel} kernel: it has no op {ops}; backends that can: \[") as err:
        SvmClassifier(model, make_backend("neuromorphic"))
    assert "\n" not in str(err.value) and "'fpga'" in str(err.value)


def test_the_rbf_svm_runs_on_the_svm_datapath_where_there_is_one():
    x, y = load_iris(return_X_y=True)
    model = train_svm(x[::2], y[::2])
    fpga = make_backend("fpga")
    clf = SvmClassifier(model, fpga)
    _, cost = clf.decision(x[1::2])
    assert fpga.spent == clf.place_cost + cost
    # the datapath's timing model, not matmul's, priced the decisions
    cycles = svm_cycles(fpga.config, len(model.support), model.n_features)
    assert cost.latency_s == pytest.approx(len(x[1::2]) * cycles / fpga.config.clock_hz)


def _write_images(root, n=12):
    from PIL import Image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:64, :64]
    for cls in ("benign", "melanoma"):
        (root / cls).mkdir(parents=True)
        for i in range(n):
            img = np.full((64, 64, 3), 0.85) + rng.normal(0, 0.02, (64, 64, 3))
            if cls == "benign":  # a round, evenly brown spot
                mask = (yy - 32) ** 2 + (xx - 32) ** 2 < (10 + i % 4) ** 2
                img[mask] = [0.55, 0.4, 0.3]
            else:  # an irregular, dark, mottled blotch
                r = 12 + 6 * np.sin(3 * np.arctan2(yy - 30, xx - 34) + i)
                mask = (yy - 30) ** 2 + (xx - 34) ** 2 < r**2
                img[mask] = rng.uniform(0.05, 0.4, (int(mask.sum()), 3))
            Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).save(
                root / cls / f"{i}.png")


def test_image_folder_features_separate_two_lesion_kinds(tmp_path):
    from neuralbrain.memory.svm import IMAGE_FEATURES, image_folder

    _write_images(tmp_path)
    x, y, classes = image_folder(tmp_path, size=64)
    assert classes == ["benign", "melanoma"] and x.shape == (24, len(IMAGE_FEATURES))
    model = train_svm(x[::2], y[::2])
    clf = SvmClassifier(model, make_backend("fpga"))
    assert clf.accuracy(x[1::2], y[1::2]) >= 0.9


def test_image_folder_with_one_class_or_no_images(tmp_path):
    from neuralbrain.memory.svm import image_folder

    with pytest.raises(DataError, match="not a directory"):
        image_folder(tmp_path / "nope")
    (tmp_path / "a").mkdir()
    with pytest.raises(DataError, match="0 class folder"):
        image_folder(tmp_path)
    _write_images(tmp_path / "one", n=2)
    import shutil

    shutil.rmtree(tmp_path / "one" / "melanoma")
    with pytest.raises(DataError, match=r"1 class folder\(s\) with images \['benign'\]"):
        image_folder(tmp_path / "one")


@pytest.mark.parametrize("multiclass", ["ovo", "ovr"])
def test_class_scores_rank_the_voted_label_first(multiclass):
    from neuralbrain.memory.svm import class_scores

    x, y = load_iris(return_X_y=True)
    model = train_svm(x[::2], y[::2], Config(kernel="rbf", multiclass=multiclass))
    clf = SvmClassifier(model, make_backend("cpu"))
    dec = clf.decision(x[1::2])[0]
    scores = class_scores(model, dec)
    assert scores.shape == (75, 3)
    np.testing.assert_array_equal(model.classes[np.argmax(scores, 1)], clf.predict(x[1::2]))
    if multiclass == "ovo":  # scikit-learn's one-vs-one scores made one per class
        svc = SVC(kernel="rbf", C=1.0, gamma=model.gamma, decision_function_shape="ovr")
        svc.fit(model.standardize(x[::2]), y[::2])
        np.testing.assert_allclose(scores, svc.decision_function(model.standardize(x[1::2])),
                                   atol=1e-6)

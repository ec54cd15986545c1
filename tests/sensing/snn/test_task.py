"""The insensor_nmnist task: `neuralbrain train/eval` on the debug config, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neuralbrain.config import load_config
from neuralbrain.errors import CheckpointError, ConfigError, DataError
from neuralbrain.tasks import TASKS
from tests.conftest import data_root_or_skip

DEBUG = "agents/configs/insensor_nmnist_debug.toml"


@pytest.mark.data
def test_debug_train_then_eval_on_two_backends(tmp_path):
    root = data_root_or_skip("nmnist")
    cfg = load_config(DEBUG)
    task = TASKS.get(cfg.task)
    report = task.train(cfg, tmp_path, root.parent, resume=False)
    assert report["n_train"] == 60 and 0 <= report["validation_accuracy"] <= 1
    assert "heldout_accuracy" not in report and "test_accuracy" not in report  # eval's, once
    assert (tmp_path / "snn.npz").is_file() and (tmp_path / "snn.nir").is_file()
    assert json.loads((tmp_path / "report.json").read_text()) == report
    fast = load_config(DEBUG, ["train.max_real=40"])
    res = task.evaluate(fast, tmp_path, root.parent, "test")
    assert set(res) >= {"accuracy", "n", "per_class"} and res["n"] > 0
    assert res["backends"] == {"layer1": "in_sensor", "layers2+": "neuromorphic"}
    cpu = load_config(
        DEBUG, ["perception.backend=cpu", "perception.sensor_backend=cpu"]
    )
    res_cpu = task.evaluate(cpu, tmp_path, root.parent, "test")
    assert abs(res_cpu["accuracy"] - res["accuracy"]) <= 0.05  # quantization only
    assert res_cpu["energy_per_sample_j"] > 2 * res["energy_per_sample_j"]


def test_without_a_data_root_it_trains_on_the_embedded_digits(tmp_path, capsys):
    cfg = load_config(DEBUG, ["train.max_real=30"])
    report = TASKS.get(cfg.task).train(cfg, tmp_path, None, resume=False)
    assert report["n_train"] == 30 and report["n_validation"] == 30
    from neuralbrain.sensing.datasets import EMBEDDED_SOURCE

    assert EMBEDDED_SOURCE in capsys.readouterr().out  # says what it trains on
    again = TASKS.get(cfg.task).train(cfg, tmp_path / "again", None, resume=False)
    assert again["validation_accuracy"] == report["validation_accuracy"]  # seeded


@pytest.mark.data
def test_emulated_recordings_can_avoid_every_mnist_image(tmp_path, capsys):
    nmnist = data_root_or_skip("nmnist")
    only_nmnist = tmp_path / "data"  # a data root without mnist/: no MNIST image can be used
    only_nmnist.mkdir()
    (only_nmnist / "nmnist").symlink_to(nmnist.resolve())
    args = ["train.max_real=20", "train.cubes=8", "train.emulated=8"]
    task = TASKS.get("insensor_nmnist")
    with pytest.raises(DataError, match="t10k-images"):
        task.train(load_config(DEBUG, args), tmp_path / "a", only_nmnist, resume=False)
    cfg = load_config(DEBUG, [*args, "train.digit_source=embedded"])
    report = task.train(cfg, tmp_path / "b", only_nmnist, resume=False)
    assert report["n_train"] == 20 + 8 + 8
    with pytest.raises(ConfigError, match="digit_source = 'cifar'"):
        load_config(DEBUG, ["train.digit_source=cifar"])


def test_missing_data_and_checkpoint_are_named(tmp_path):
    cfg = load_config(DEBUG)
    task = TASKS.get(cfg.task)
    with pytest.raises(CheckpointError, match="no snn.npz"):
        task.evaluate(cfg, tmp_path, None, "test")
    np.savez(tmp_path / "snn.npz", x=np.zeros(1))
    with pytest.raises(CheckpointError, match="conv1.w is missing"):
        task.evaluate(cfg, tmp_path, None, "test")
    with pytest.raises(DataError, match="no N-MNIST recordings under"):
        task.train(cfg, tmp_path / "out", tmp_path, resume=False)  # a root without nmnist/
    too_big = load_config(DEBUG, ["perception.snn.conv1_kernel=7"])
    with pytest.raises(ConfigError, match="kernel = 7 does not fit the in-sensor pixel"):
        task.evaluate(too_big, None, None, "test")


def test_validation_split_is_disjoint_and_deterministic():
    from neuralbrain.sensing.datasets import embedded_digits as sklearn_digits
    from neuralbrain.sensing.snn.task import embedded_digits, validation_mask

    labels = np.array([3, 1, 3, 3, 1, 3, 3, 3, 3, 3, 3, 1])
    np.testing.assert_array_equal(np.flatnonzero(validation_mask(labels)), [0, 1, 10])
    train, val, test = (embedded_digits(s)[0] for s in ("train", "validation", "test"))
    whole = sklearn_digits("train")[0]
    assert len(train) + len(val) == len(whole) and 0.1 < len(val) / len(whole) < 0.15
    as_set = lambda a: {x.tobytes() for x in a}  # noqa: E731
    assert not as_set(train) & as_set(val) and not as_set(val) & as_set(test)
    np.testing.assert_array_equal(embedded_digits("validation")[0], val)
    with pytest.raises(DataError, match="split 'dev'"):
        TASKS.get("insensor_nmnist").evaluate(load_config(DEBUG), None, None, "dev")


@pytest.mark.data
def test_real_validation_recordings_are_train_recordings_never_test():
    from neuralbrain.sensing.snn.task import real_items

    root = data_root_or_skip("nmnist").parent
    parts = {s: {p for p, _ in real_items(root, s)} for s in ("train", "validation", "test")}
    assert not parts["train"] & parts["validation"] and not parts["validation"] & parts["test"]
    assert not parts["train"] & parts["test"] and 80 <= len(parts["validation"]) <= 120

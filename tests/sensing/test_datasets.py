import numpy as np
import pytest

from neuralbrain.errors import DataError
from neuralbrain.sensing import datasets
from neuralbrain.sensing.cochlea import Cochlea
from neuralbrain.sensing.datasets import (
    EMBEDDED_SOURCE,
    FSDD,
    NMNIST,
    NTIDIGITS,
    EmulatedNMNIST,
    load_mnist,
)
from neuralbrain.sensing.events import EVENT_DTYPE, make_events
from neuralbrain.sensing.readers import write_nmnist, write_ntidigits


def test_embedded_default_when_no_data(monkeypatch, capsys):
    monkeypatch.delenv("NEURALBRAIN_DATA", raising=False)
    monkeypatch.setattr(datasets, "_announced", set())
    ds = NMNIST(split="test")
    assert ds.source == EMBEDDED_SOURCE
    assert "embedded" in capsys.readouterr().err
    NMNIST(split="train")
    assert capsys.readouterr().err == ""  # said once
    assert len(ds) == 360 and set(np.unique(ds.labels)) == set(range(10))
    ev, label = ds[7]
    assert ev.dtype == EVENT_DTYPE and ev.size > 100 and label == ds.labels[7]
    np.testing.assert_array_equal(ds[7][0], ev)  # deterministic


def test_explicit_missing_root_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no N-MNIST data"):
        NMNIST(root=tmp_path)
    with pytest.raises(DataError, match="no FSDD data"):
        FSDD(root=tmp_path)
    with pytest.raises(DataError, match="no N-TIDIGITS file"):
        NTIDIGITS(root=tmp_path)
    with pytest.raises(DataError, match="split 'val'"):
        NMNIST(root=tmp_path, split="val")


def test_nmnist_layout_written_and_read(tmp_path):
    rng = np.random.default_rng(0)
    for split in ("Train", "Test"):
        for label in (3, 7):
            d = tmp_path / "nmnist" / split / (str(label) + "\r")  # the shared copy's CR names
            d.mkdir(parents=True)
            for k in range(2):
                t = np.sort(rng.integers(0, 300_000, 50))
                write_nmnist(d / f"{k:05d}.bin", make_events(rng.integers(0, 34, 50),
                                                             rng.integers(0, 34, 50), t, 1))
    ds = NMNIST(root=tmp_path, split="all")
    assert len(ds) == 8 and list(ds.labels) == [3, 3, 7, 7, 3, 3, 7, 7]
    assert ds[2][0].size == 50 and ds[2][1] == 7
    assert len(NMNIST(root=tmp_path / "nmnist", split="test")) == 4
    bad = tmp_path / "nmnist" / "Train" / "x"
    bad.mkdir()
    with pytest.raises(DataError, match="label folder 'x'"):
        NMNIST(root=tmp_path)


def test_emulated_mnist_like_and_transform():
    tonic = pytest.importorskip("tonic")
    imgs = np.zeros((3, 28, 28), np.uint8)
    imgs[:, 8:20, 10:18] = 255
    ds = EmulatedNMNIST(imgs, [1, 2, 3], transform=tonic.transforms.ToFrame((34, 34, 2),
                                                                            n_time_bins=3))
    frames, label = ds[1]
    assert frames.shape == (3, 2, 34, 34) and label == 2 and frames.sum() > 100
    with pytest.raises(IndexError):
        ds[3]


def test_ntidigits_dataset(tmp_path):
    ev = make_events(np.array([1, 5, 9]), 0, np.array([10, 20, 30]), 1)
    write_ntidigits(tmp_path / "n-tidigits.hdf5",
                    {"man-ae-a-1": ev, "man-ae-a-z": ev, "man-ae-a-123": ev},
                    {"woman-ft-b-o": ev})
    ds = NTIDIGITS(root=tmp_path, split="train")
    assert len(ds) == 2 and list(ds.labels) == [1, 10]
    assert NTIDIGITS(root=tmp_path, split="test").labels.tolist() == [0]
    seq = NTIDIGITS(root=tmp_path, split="all", single_digits=False)
    assert list(seq.labels) == ["1", "z", "123", "o"]
    np.testing.assert_array_equal(ds[0][0]["x"], [1, 5, 9])


@pytest.mark.data
def test_real_nmnist_and_mnist(data_dir):
    root = data_dir("nmnist").parent
    ds = NMNIST(root=root)
    assert len(ds) == 1000 and ds.source.startswith("real")
    assert np.bincount(ds.labels).min() >= 87
    ev, lab = ds[999]
    assert ev.size > 1000 and lab == 9
    images, labels = load_mnist(root)
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)


@pytest.mark.data
def test_real_fsdd_split_and_cochlea(data_dir):
    root = data_dir("fsdd").parent
    test, train = FSDD(root, "test"), FSDD(root, "train")
    assert len(test) == 250 and len(train) == 2250
    (audio, rate), lab = test[0]
    assert rate == 8000 and audio.dtype == np.float32 and lab == test.labels[0]
    ev_ds = FSDD(root, "test", cochlea=Cochlea())
    assert "derived: FSDD through the software cochlea" in ev_ds.source
    ev, lab = ev_ds[0]
    assert ev.dtype == EVENT_DTYPE and ev["x"].max() < 64 and ev.size > 100

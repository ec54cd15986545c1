import gzip
import struct

import numpy as np
import pytest
import tonic
from scipy.io import wavfile

from neuralbrain.errors import DataError
from neuralbrain.sensing.events import EVENT_DTYPE, make_events, read_nmnist, read_ntidigits
from neuralbrain.sensing.readers import (
    encode_nmnist,
    ntidigits_keys,
    read_idx,
    read_wav,
    write_nmnist,
    write_ntidigits,
)


def _idx_bytes(arr: np.ndarray) -> bytes:
    head = bytes([0, 0, 0x08, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
    return head + arr.astype(np.uint8).tobytes()


# ------------------------------------------------------------------ IDX


def test_idx_roundtrip_raw_and_gzip(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a.idx").write_bytes(_idx_bytes(arr))
    (tmp_path / "a.idx.gz").write_bytes(gzip.compress(_idx_bytes(arr)))
    for name in ("a.idx", "a.idx.gz"):
        out = read_idx(tmp_path / name)
        assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
        np.testing.assert_array_equal(out, arr)


def test_idx_truncated_and_bad_magic(tmp_path):
    arr = np.zeros((5, 2), np.uint8)
    (tmp_path / "t.idx").write_bytes(_idx_bytes(arr)[:-3])
    with pytest.raises(DataError, match=r"t\.idx.*needs 22 bytes.*has 19"):
        read_idx(tmp_path / "t.idx")
    (tmp_path / "m.idx").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(DataError, match="bad IDX magic"):
        read_idx(tmp_path / "m.idx")
    (tmp_path / "e.idx").write_bytes(b"")
    with pytest.raises(DataError, match="e.idx"):
        read_idx(tmp_path / "e.idx")


@pytest.mark.data
def test_idx_real_mnist(data_dir):
    root = data_dir("mnist")
    images = read_idx(root / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(root / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,)
    assert set(np.unique(labels)) == set(range(10))
    assert images.max() == 255 and images.min() == 0


# ------------------------------------------------------------------ WAV


def test_wav_roundtrip_int16(tmp_path):
    x = (np.sin(np.linspace(0, 20, 800)) * 20000).astype(np.int16)
    wavfile.write(tmp_path / "s.wav", 8000, x)
    rate, y = read_wav(tmp_path / "s.wav")
    assert rate == 8000 and y.dtype == np.float32 and y.shape == (800,)
    np.testing.assert_allclose(y, x / 32768.0, atol=1e-7)


def test_wav_bad_files(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(DataError, match="empty.wav"):
        read_wav(tmp_path / "empty.wav")
    (tmp_path / "junk.wav").write_bytes(b"RIFFxxxxWAVEjunkjunkjunk")
    with pytest.raises(DataError, match="junk.wav"):
        read_wav(tmp_path / "junk.wav")
    wavfile.write(tmp_path / "full.wav", 8000, np.ones(1000, np.int16))
    raw = (tmp_path / "full.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(raw[:60])
    with pytest.raises(DataError, match="cut.wav"):
        read_wav(tmp_path / "cut.wav")


@pytest.mark.data
def test_wav_real_fsdd(data_dir):
    root = data_dir("fsdd") / "recordings"
    rate, y = read_wav(root / "3_jackson_0.wav")
    assert rate == 8000 and y.ndim == 1 and y.dtype == np.float32
    assert 0.1 < np.abs(y).max() <= 1.0 and y.size > 1000


# ------------------------------------------------------------------ N-MNIST


def _random_events(rng, n=500, w=34, h=34, t_max=300_000):
    t = np.sort(rng.integers(0, t_max, n))
    return make_events(rng.integers(0, w, n), rng.integers(0, h, n), t, rng.integers(0, 2, n))


def test_nmnist_roundtrip(tmp_path):
    ev = _random_events(np.random.default_rng(0))
    write_nmnist(tmp_path / "a.bin", ev)
    back = read_nmnist(tmp_path / "a.bin")
    assert back.dtype == EVENT_DTYPE
    np.testing.assert_array_equal(back, ev)


def test_nmnist_overflow_marker_matches_tonic(tmp_path):
    # Times beyond 23 bits need y == 240 markers: each adds 2**13 us to what follows.
    rng = np.random.default_rng(1)
    ev = _random_events(rng, n=300, t_max=2**23 + 50_000)
    ev["t"][-40:] = np.sort(rng.integers(2**23, 2**23 + 40_000, 40))
    ev["t"] = np.sort(ev["t"])
    raw = encode_nmnist(ev)
    rec = np.frombuffer(raw, np.uint8).reshape(-1, 5)
    assert (rec[:, 1] == 240).sum() >= 1
    (tmp_path / "o.bin").write_bytes(raw)
    ours = read_nmnist(tmp_path / "o.bin")
    np.testing.assert_array_equal(ours, ev)
    theirs = tonic.io.read_mnist_file(str(tmp_path / "o.bin"), dtype=tonic.io.events_struct)
    for k in "xytp":
        np.testing.assert_array_equal(ours[k], theirs[k].astype(ours[k].dtype))


def test_nmnist_bad_files(tmp_path):
    ev = _random_events(np.random.default_rng(2), n=10)
    raw = encode_nmnist(ev)
    (tmp_path / "trunc.bin").write_bytes(raw[:-2])
    with pytest.raises(DataError, match=r"trunc\.bin.*record 9 at byte offset 45"):
        read_nmnist(tmp_path / "trunc.bin")
    (tmp_path / "empty.bin").write_bytes(b"")
    with pytest.raises(DataError, match=r"empty\.bin: empty"):
        read_nmnist(tmp_path / "empty.bin")
    bad = bytearray(raw)
    bad[3 * 5] = 34  # x of record 3
    (tmp_path / "oor.bin").write_bytes(bytes(bad))
    with pytest.raises(DataError, match=r"oor\.bin: record 3 \(byte offset 15\) has x=34"):
        read_nmnist(tmp_path / "oor.bin")
    unsorted = ev.copy()
    unsorted["t"][6] = unsorted["t"][5] - 1
    (tmp_path / "uns.bin").write_bytes(_encode_unchecked(unsorted))
    with pytest.raises(DataError, match=r"uns\.bin: record 6 \(byte offset 30\).*non-decreasing"):
        read_nmnist(tmp_path / "uns.bin")
    with pytest.raises(DataError, match="cannot read"):
        read_nmnist(tmp_path / "missing.bin")


def _encode_unchecked(ev):
    out = np.zeros((ev.size, 5), np.uint8)
    t = ev["t"].astype(np.int64)
    out[:, 0], out[:, 1] = ev["x"], ev["y"]
    out[:, 2] = (ev["p"].astype(np.uint8) << 7) | ((t >> 16) & 127)
    out[:, 3], out[:, 4] = (t >> 8) & 255, t & 255
    return out.tobytes()


@pytest.mark.data
def test_nmnist_real_files_all(data_dir):
    files = sorted(data_dir("nmnist").glob("Train/*/*.bin"))
    assert len(files) == 1000
    counts = []
    for f in files:
        ev = read_nmnist(f)
        counts.append(ev.size)
        assert ev["x"].max() < 34 and ev["y"].max() < 34 and ev["x"].min() >= 0
        assert np.all(np.diff(ev["t"]) >= 0)
        assert 250_000 < ev["t"][-1] < 400_000  # three saccades, ~300 ms
        assert set(np.unique(ev["p"])) <= {0, 1}
    assert 1000 < np.mean(counts) < 10000


@pytest.mark.data
def test_nmnist_real_matches_tonic_and_roundtrips(data_dir, tmp_path):
    files = sorted(data_dir("nmnist").glob("Train/*/*.bin"))[::100]
    for f in files:
        ours = read_nmnist(f)
        theirs = tonic.io.read_mnist_file(str(f), dtype=tonic.io.events_struct)
        for k in "xytp":
            np.testing.assert_array_equal(ours[k], theirs[k].astype(ours[k].dtype))
        write_nmnist(tmp_path / "r.bin", ours)
        assert (tmp_path / "r.bin").read_bytes() == f.read_bytes()


def test_tonic_transform_runs_on_our_events():
    ev = _random_events(np.random.default_rng(3), n=2000)
    frames = tonic.transforms.ToFrame(sensor_size=(34, 34, 2), n_time_bins=3)(ev)
    assert frames.shape == (3, 2, 34, 34)
    # tonic slices [t0, t0 + 3 * window) with window = (t_last - t0) // 3: compute what it keeps
    t0 = ev["t"][0]
    kept = ev["t"] < t0 + 3 * ((ev["t"][-1] - t0) // 3)
    assert frames.sum() == kept.sum() >= ev.size - 3
    ev = ev[kept]
    # ON events land in polarity plane 1, at (y, x)
    on = ev[ev["p"] == 1]
    assert frames[:, 1].sum() == on.size
    assert frames[:, 1, on["y"][0], on["x"][0]].sum() >= 1
    denoised = tonic.transforms.Denoise(filter_time=10_000)(ev)
    assert denoised.dtype == EVENT_DTYPE and denoised.size <= ev.size


# ------------------------------------------------------------------ N-TIDIGITS


def _audio_events(rng, n=200):
    t = np.sort(rng.integers(0, 900_000, n))
    return make_events(rng.integers(0, 64, n), 0, t, 1)


def test_ntidigits_roundtrip(tmp_path):
    rng = np.random.default_rng(4)
    train = {"man-im-a-7557": _audio_events(rng), "woman-ft-b-o": _audio_events(rng, 50)}
    test = {"man-aa-a-z": _audio_events(rng, 30)}
    path = tmp_path / "n-tidigits.hdf5"
    write_ntidigits(path, train, test)
    assert ntidigits_keys(path, "train") == list(train)
    for split, recs in (("train", train), ("test", test)):
        for i, (key, ev) in enumerate(recs.items()):
            for sid in (key, i):
                back = read_ntidigits(path, sid, split)
                assert back.dtype == EVENT_DTYPE
                np.testing.assert_array_equal(back["x"], ev["x"])
                # float32 seconds keep ~0.06 us resolution below 1 s
                assert np.abs(back["t"] - ev["t"]).max() <= 1
                assert np.all(back["p"] == 1) and np.all(back["y"] == 0)


def test_ntidigits_wrong_layout(tmp_path):
    import h5py

    path = tmp_path / "bad.hdf5"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("train_labels", data=np.array([b"a-1"]))
        h5.create_group("train_addresses").create_dataset("a-1", data=np.array([1, 70], np.uint8))
    with pytest.raises(DataError, match=r"bad\.hdf5: missing 'train_timestamps'"):
        read_ntidigits(path)
    with h5py.File(path, "a") as h5:
        h5.create_group("train_timestamps").create_dataset("a-1", data=np.array([0.1, 0.2]))
    with pytest.raises(DataError, match=r"bad\.hdf5.*'a-1'.*record 1 is 70"):
        read_ntidigits(path, "a-1")
    with pytest.raises(DataError, match="index 5 out of range"):
        read_ntidigits(path, 5)
    (tmp_path / "empty.hdf5").write_bytes(b"")
    with pytest.raises(DataError, match="empty.hdf5"):
        read_ntidigits(tmp_path / "empty.hdf5")
    (tmp_path / "junk.hdf5").write_bytes(b"not hdf5 at all")
    with pytest.raises(DataError, match="junk.hdf5"):
        read_ntidigits(tmp_path / "junk.hdf5")


# ------------------------------------------------------------------ limits


def _wav(tmp_path, name="a.wav", n=100):
    path = tmp_path / name
    wavfile.write(path, 8000, (np.arange(n) * 50).astype(np.int16))
    return path


def test_size_limit_refuses_before_reading(tmp_path, monkeypatch):
    from neuralbrain.sensing import readers

    nm = tmp_path / "a.bin"
    write_nmnist(nm, make_events([1, 2], [3, 4], [10, 20], [0, 1]))
    (tmp_path / "a.idx").write_bytes(_idx_bytes(np.zeros((4, 4), np.uint8)))
    wav = _wav(tmp_path)

    def no_read(*a, **k):
        raise AssertionError("the file was read")

    monkeypatch.setattr(np, "fromfile", no_read)
    with pytest.raises(DataError, match=r"a.bin: 10 bytes, expected at most 9 \(the recording "
                                        r"size limit: pass max_bytes= or set NEURALBRAIN_MAX_"):
        read_nmnist(nm, max_bytes=9)
    monkeypatch.undo()
    with pytest.raises(DataError, match=r"a.idx: 28 bytes, expected at most 27"):
        read_idx(tmp_path / "a.idx", max_bytes=27)
    assert read_idx(tmp_path / "a.idx", max_bytes=28).shape == (4, 4)
    monkeypatch.setenv(readers.MAX_FILE_BYTES_ENV, "50")
    with pytest.raises(DataError, match=r"a.wav: 244 bytes, expected at most 50"):
        read_wav(wav)
    assert read_wav(wav, max_bytes=244)[1].shape == (100,)  # the argument beats the variable
    monkeypatch.setenv(readers.MAX_FILE_BYTES_ENV, "lots")
    from neuralbrain.errors import ConfigError

    with pytest.raises(ConfigError, match="NEURALBRAIN_MAX_FILE_BYTES='lots': expected a whole"):
        read_wav(wav)


def test_wav_chunk_longer_than_the_file_is_a_data_error(tmp_path):
    path = _wav(tmp_path)
    raw = bytearray(path.read_bytes())
    at = raw.index(b"data")
    raw[at + 4:at + 8] = struct.pack("<I", 0xFFFFFFF0)  # a 4 GB data chunk in a 244-byte file
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"a.wav: chunk b'data' at byte 36 declares 4294967280 "
                                        r"bytes, the file has 200 after its header"):
        read_wav(path)
    path.write_bytes(b"RF64" + bytes(raw[4:]))
    with pytest.raises(DataError, match="RF64 is not supported"):
        read_wav(path)


def test_idx_dimensions_beyond_the_file_and_gzip_bombs(tmp_path):
    huge = bytes([0, 0, 0x08, 3]) + struct.pack(">III", 2**32 - 1, 2**32 - 1, 2**32 - 1)
    (tmp_path / "h.idx").write_bytes(huge + b"\0" * 8)
    with pytest.raises(DataError, match=r"shape \(4294967295, 4294967295, 4294967295\) of uint8 "
                                        r"needs 79228162458924105385300197391 bytes, file has 24"):
        read_idx(tmp_path / "h.idx")
    bomb = tmp_path / "bomb.idx.gz"
    bomb.write_bytes(gzip.compress(_idx_bytes(np.zeros((1000, 1000), np.uint8))))
    assert bomb.stat().st_size < 5000
    with pytest.raises(DataError, match=r"bomb.idx.gz: gzip stream inflates beyond 100000 bytes"):
        read_idx(bomb, max_bytes=100_000)
    assert read_idx(bomb).shape == (1000, 1000)
    two = tmp_path / "two.gz"  # two gzip members, as gzip.decompress reads them
    data = _idx_bytes(np.arange(6, dtype=np.uint8).reshape(2, 3))
    two.write_bytes(gzip.compress(data[:7]) + gzip.compress(data[7:]))
    np.testing.assert_array_equal(read_idx(two), np.arange(6).reshape(2, 3))
    cut = tmp_path / "cut.gz"
    cut.write_bytes(gzip.compress(data)[:-12])
    with pytest.raises(DataError, match="cut.gz: gzip stream ends early"):
        read_idx(cut)


def test_hdf5_dataset_declared_larger_than_the_file(tmp_path):
    import h5py

    path = tmp_path / "n.hdf5"
    write_ntidigits(path, {"man-a-1": make_events([1, 2], 0, [10, 20], 1)})
    with h5py.File(path, "a") as h5:
        del h5["train_addresses"]["man-a-1"]
        h5["train_addresses"].create_dataset("man-a-1", shape=(10**10,), dtype=np.uint8)
    assert path.stat().st_size < 100_000  # never written: HDF5 allocates storage late
    with pytest.raises(DataError, match=r"train_addresses/man-a-1 declares shape \(10000000000,\) "
                                        r"of uint8 = 10000000000 bytes, expected at most \d+ "
                                        r"\(the file size\)"):
        read_ntidigits(path, 0)


def test_nmnist_of_only_overflow_markers_is_empty_not_a_crash(tmp_path):
    path = tmp_path / "m.bin"
    path.write_bytes(bytes([0, 240, 0, 0, 0]) * 3)
    assert read_nmnist(path).size == 0


def test_ntidigits_timestamps_beyond_int64_microseconds_are_data_errors(tmp_path):
    import warnings

    import h5py

    path = tmp_path / "n.hdf5"
    write_ntidigits(path, {"man-a-1": make_events([1, 2], 0, [10, 20], 1)})
    with h5py.File(path, "a") as h5:
        del h5["train_timestamps"]["man-a-1"]
        h5["train_timestamps"].create_dataset("man-a-1", data=np.array([0.0, 1e30]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # it was an overflowing cast with a RuntimeWarning
        with pytest.raises(DataError, match=r"timestamp record 1 is 1e\+30 s; expected \|t\| < "
                                            r"9.2e12 s"):
            read_ntidigits(path, 0)

import numpy as np
import pytest

from neuralbrain.errors import DataError
from neuralbrain.sensing.aedat import encode_aedat, infer_format, write_aedat
from neuralbrain.sensing.events import EVENT_DTYPE, make_events, read_aedat


def _events(rng, n=300, nch=64, stereo=True):
    t = np.sort(rng.integers(0, 500_000, n))
    return make_events(rng.integers(0, nch, n), rng.integers(0, 2 if stereo else 1, n), t,
                       rng.integers(0, 2, n))


@pytest.mark.parametrize("ab,tick", [(2, 0.2), (4, 1.0)])
def test_roundtrip(tmp_path, ab, tick):
    ev = _events(np.random.default_rng(ab))
    path = tmp_path / f"x_stereo_64ch_ONOFF_addr{ab}b_ts{'02' if tick == 0.2 else '1'}.aedat"
    write_aedat(path, ev, address_bytes=ab, tick_us=tick)
    assert path.stat().st_size == ev.size * (ab + 4)
    back = read_aedat(path)
    assert back.dtype == EVENT_DTYPE
    np.testing.assert_array_equal(back, ev)


def test_address_layout_and_header(tmp_path):
    # address = ear * 128 + 2 * channel + (0 for ON, 1 for OFF); ticks of 0.2 us
    rec = np.array([(5, 10), (2 * 7 + 1, 20), (128 + 2 * 3, 30)], dtype=[("a", ">u2"),
                                                                          ("t", ">u4")])
    path = tmp_path / "h.aedat"
    path.write_bytes(b"#!AER-DAT2.0\r\n# comment\r\n" + rec.tobytes())
    ev = read_aedat(path, address_bytes=2, tick_us=0.2, n_channels=64, stereo=True)
    assert ev["x"].tolist() == [2, 7, 3] and ev["y"].tolist() == [0, 0, 1]
    assert ev["p"].tolist() == [0, 0, 1] and ev["t"].tolist() == [2, 4, 6]


def test_infer_format():
    f = infer_format("523Hz_stereo_64ch_ONOFF_addr2b_ts02.aedat")
    assert f == {"address_bytes": 2, "tick_us": 0.2, "n_channels": 64, "stereo": True}
    f = infer_format("enun_mono_32ch_ONOFF_addr4b_ts1.aedat")
    assert f == {"address_bytes": 4, "tick_us": 1.0, "n_channels": 32, "stereo": False}


def test_bad_files(tmp_path):
    ev = _events(np.random.default_rng(0), n=10, stereo=False)
    raw = encode_aedat(ev)
    name = "r_mono_64ch_ONOFF_addr2b_ts02.aedat"
    (tmp_path / name).write_bytes(raw[:-4])
    with pytest.raises(DataError, match=r"truncated record 9 at byte offset 54"):
        read_aedat(tmp_path / name)
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(DataError, match="empty recording"):
        read_aedat(tmp_path / name)
    (tmp_path / name).write_bytes(encode_aedat(_events(np.random.default_rng(1), n=50)))
    with pytest.raises(DataError, match=r"record \d+ \(byte offset \d+\) has address \d+; expected < 128"):
        read_aedat(tmp_path / name)  # stereo addresses in a file named mono
    back = ev.copy()
    back["t"][4] = 0
    back["t"][:4] = 10
    (tmp_path / name).write_bytes(encode_aedat(back))
    with pytest.raises(DataError, match=r"record 4 \(byte offset 24\).*non-decreasing"):
        read_aedat(tmp_path / name)
    with pytest.raises(DataError, match="cannot tell"):
        read_aedat(tmp_path / "plain.aedat")


@pytest.mark.data
def test_real_nas_files(data_dir):
    root = data_dir("nas_cochlea")
    expect = {
        "130Hz_mono_64ch_ONOFF_addr2b_ts02.aedat": (64, 1, 0.45, 0.55),
        "523Hz_stereo_64ch_ONOFF_addr2b_ts02.aedat": (64, 2, 0.45, 0.55),
        "enun_stereo_64ch_ONOFF_addr4b_ts1.aedat": (64, 2, 13.0, 14.5),
        "sound_mono_32ch_ONOFF_addr2b_ts02.aedat": (32, 1, 1.0, 1.3),
    }
    for name, (nch, ears, lo_s, hi_s) in expect.items():
        path = root / name
        ev = read_aedat(path)
        rec = 6 if "addr2b" in name else 8
        assert ev.size == path.stat().st_size // rec
        assert ev["x"].max() < nch and ev["x"].min() == 0
        assert len(np.unique(ev["y"])) == ears
        assert np.all(np.diff(ev["t"]) >= 0)
        assert lo_s < ev["t"][-1] * 1e-6 < hi_s
        assert 0.45 < ev["p"].mean() < 0.55
    # The two pure tones: the higher one peaks at a lower channel index (NAS order is reversed)
    peak = {}
    for tone in ("130Hz_mono", "523Hz_stereo"):
        ev = read_aedat(next(root.glob(f"{tone}_*.aedat")))
        hist = np.bincount(ev["x"][ev["y"] == 0], minlength=64)
        peak[tone] = 16 + int(np.argmax(hist[16:]))  # skip the broadband top (channels < 16)
    assert peak["523Hz_stereo"] < peak["130Hz_mono"] - 6


def test_size_limit_refuses_before_reading(tmp_path, monkeypatch):
    from pathlib import Path

    path = tmp_path / "x_64ch_addr2b_ts1_mono.aedat"
    path.write_bytes(bytes(6 * 10))

    def no_read(*a, **k):
        raise AssertionError("the file was read")

    monkeypatch.setattr(Path, "read_bytes", no_read)
    with pytest.raises(DataError, match=r"mono.aedat: 60 bytes, expected at most 59 \(the "
                                        r"recording size limit"):
        read_aedat(path, max_bytes=59)
    monkeypatch.undo()
    assert read_aedat(path, max_bytes=60).size == 10
    with pytest.raises(DataError, match=r"tick_us=nan, expected a finite number > 0"):
        read_aedat(path, tick_us=float("nan"))

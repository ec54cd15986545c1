import argparse
import json

import numpy as np
import pytest

from neuralbrain.errors import DataError
from neuralbrain.sensing.commands import add_commands, data_info
from neuralbrain.sensing.events import make_events
from neuralbrain.sensing.readers import write_nmnist


def _run(argv, capsys):
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers())
    args = parser.parse_args(argv)
    code = args.func(args)
    return code, capsys.readouterr().out


def test_info_on_a_small_tree(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for label, n in ((1, 2), (4, 3)):
        d = tmp_path / "nmnist" / "Train" / str(label)
        d.mkdir(parents=True)
        for k in range(n):
            write_nmnist(d / f"{k}.bin", make_events(rng.integers(0, 34, 10),
                                                     rng.integers(0, 34, 10), np.arange(10), 1))
    code, out = _run(["data", "info", "--root", str(tmp_path), "--json"], capsys)
    assert code == 0
    rep = json.loads(out)
    nm = rep["datasets"]["nmnist"]
    assert nm["files"] == 5 and nm["events"] == 50
    assert nm["splits"]["train"]["samples_per_label"] == {"1": 2, "4": 3}
    assert "embedded_default" not in rep
    code, out = _run(["data", "info", "--root", str(tmp_path)], capsys)
    assert "nmnist" in out and "50 events" in out


def test_info_empty_root_mentions_embedded(tmp_path):
    rep = data_info(tmp_path)
    assert rep["datasets"] == {} and "embedded" in rep["embedded_default"]
    with pytest.raises(DataError, match="not a directory"):
        data_info(tmp_path / "nope")


@pytest.mark.data
def test_info_real_root(data_dir):
    root = data_dir("nmnist").parent
    rep = data_info(root)
    assert rep["datasets"]["nmnist"]["files"] == 1000
    assert rep["datasets"]["nmnist"]["events"] == 4_133_231
    assert rep["datasets"]["fsdd"]["files"] == 2500
    assert rep["datasets"]["nas_cochlea"]["recordings"][
        "sound_mono_32ch_ONOFF_addr2b_ts02.aedat"]["channels"] == 32
    assert sum(rep["datasets"]["mnist"]["splits"]["test"]["samples_per_label"].values()) == 10000

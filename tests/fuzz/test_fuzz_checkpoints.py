"""Fuzz the SNN checkpoint loader (``.npz``, read by ``neuralbrain.npz.read_npz`` without
pickle): an empty, truncated or damaged file is one ``CheckpointError`` line naming the file."""

from __future__ import annotations

import io

import numpy as np
from hypothesis import Phase, given, settings

from neuralbrain.sensing.perception import load_weights
from neuralbrain.sensing.snn.model import SNNConfig

from .mutate import FUZZ, check, mutated


def _seed() -> bytes:
    cfg = SNNConfig()
    arrays = {}
    for name, (k, n) in cfg.weight_shapes().items():
        arrays[f"{name}.w"] = np.zeros((k, n), np.float32)
        arrays[f"{name}.b"] = np.zeros(n, np.float32)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


SEEDS = [_seed()]


def test_the_seed_loads(tmp_path):
    path = tmp_path / "snn.npz"
    path.write_bytes(SEEDS[0])
    assert set(load_weights(path, SNNConfig())) == {
        f"{n}.{p}" for n in SNNConfig().weight_shapes() for p in ("w", "b")}


@settings(FUZZ, max_examples=100, phases=[Phase.explicit, Phase.generate])
@given(data=mutated(SEEDS, max_random=256))
def test_snn_checkpoint_loader(tmp_path, data):
    path = tmp_path / "snn.npz"
    path.write_bytes(data)
    check(lambda: load_weights(path, SNNConfig()), path)

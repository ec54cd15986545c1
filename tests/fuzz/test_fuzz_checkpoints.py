"""Fuzz the SNN checkpoint loader (``.npz``, loaded with ``allow_pickle=False``).

KNOWN BUG, not in the files of this change: ``np.load`` raises ``EOFError`` for an empty
file, ``zipfile.BadZipFile`` for a truncated ``.npz`` and a ``ValueError`` whose text holds a
newline for a damaged array header; ``load_weights`` (and ``lsm_tasks.load_checkpoint``,
``nir_commands``) catch only ``(OSError, ValueError)``, so an empty or truncated checkpoint
ends in a traceback and a damaged one in a two-line message. Strict xfail: once the loaders
catch ``EOFError`` and ``zipfile.BadZipFile`` and keep the message on one line, this test
passes, strict xfail fails it, and the mark must go.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
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


@pytest.mark.xfail(strict=True, reason="load_weights lets EOFError/BadZipFile escape (see top)")
@settings(FUZZ, max_examples=100, phases=[Phase.explicit, Phase.generate])
@given(data=mutated(SEEDS, max_random=256))
def test_snn_checkpoint_loader(tmp_path, data):
    path = tmp_path / "snn.npz"
    path.write_bytes(data)
    check(lambda: load_weights(path, SNNConfig()), path)

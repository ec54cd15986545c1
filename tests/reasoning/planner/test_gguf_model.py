from __future__ import annotations

import numpy as np
import pytest
from gguf import GGMLQuantizationType
from gguf.quants import dequantize

from neuralbrain.errors import DataError
from neuralbrain.reasoning.planner.gguf_model import load_gguf, requantize_q8

from .helpers import model_path_or_skip, shipped_model_and_tokenizer


@pytest.fixture(scope="module")
def model():
    return shipped_model_and_tokenizer()[0]


def test_hyper_parameters_of_smollm2(model):
    hp = model.hparams
    assert (hp.n_layer, hp.d_model, hp.n_head, hp.n_head_kv, hp.vocab) == (30, 576, 9, 3, 49152)
    assert hp.head_dim == 64 and hp.rope_base == 100000.0
    assert "output.weight" not in model.tensors  # the head is the tied embedding


@pytest.mark.parametrize("name", ["blk.0.attn_q.weight", "blk.7.ffn_down.weight",
                                  "token_embd.weight"])
def test_codes_match_gguf_dequantization(model, name):
    t = model.tensor(name)
    ref = dequantize(t.raw, GGMLQuantizationType[t.qtype]).reshape(t.shape)
    bq = t.block_quant()
    assert bq.bits == (8 if t.qtype == "Q8_0" else 4)
    assert int(bq.codes.max()) < 2**bq.bits
    np.testing.assert_allclose(bq.dequantize().T, ref, rtol=0, atol=1e-6)


def test_requantize_q8_is_close():
    w = np.random.default_rng(0).normal(size=(4, 64)).astype(np.float32)
    bq = requantize_q8(w)
    err = np.abs(bq.dequantize().T - w).max()
    assert 0 < err <= (w.max() - w.min()) / 255


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(DataError, match="nope.gguf.*does not exist"):
        load_gguf(tmp_path / "nope.gguf")


def test_not_gguf_and_truncated_files_are_data_errors(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(DataError, match="expected the GGUF magic"):
        load_gguf(bad)
    src = model_path_or_skip()
    cut = tmp_path / "cut.gguf"
    with open(src, "rb") as fh:
        cut.write_bytes(fh.read(1 << 20))
    with pytest.raises(DataError, match="cut.gguf"):
        load_gguf(cut)


def test_non_llama_architecture_is_rejected(tmp_path):
    import gguf

    path = tmp_path / "gpt2.gguf"
    w = gguf.GGUFWriter(str(path), "gpt2")
    w.add_block_count(1)
    w.add_tensor("token_embd.weight", np.zeros((4, 8), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(DataError, match="architecture 'gpt2'.*expected 'llama'"):
        load_gguf(path)

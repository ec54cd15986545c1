"""Fuzz the text parsers and the model loader: TOML configs, MPL theories, facts, proof
documents, GGUF.

Same property as the readers (``mutate.py``): success, or a one-line ``neuralbrain`` error
(naming the file where the input is a file), never another exception. The config writer is
fuzzed the other way round: any value it accepts must come back from ``tomllib`` unchanged.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neuralbrain.config import dumps_toml, load_config, load_toml
from neuralbrain.errors import ConfigError
from neuralbrain.reasoning.gl.agent import digitpick_reasoner
from neuralbrain.reasoning.gl.checker import check_files
from neuralbrain.reasoning.gl.mpl import load_theory, theories_dir
from neuralbrain.reasoning.planner.commands import read_facts
from neuralbrain.reasoning.planner.gguf_model import load_gguf
from neuralbrain.reasoning.planner.scene import parse_facts
from neuralbrain.reasoning.planner.tokenizer import ChatMessage, GGUFTokenizer

from .mutate import FUZZ, check, mutated

pytestmark = [pytest.mark.filterwarnings("error::RuntimeWarning"),
              pytest.mark.filterwarnings("error::UserWarning")]
ROOT = Path(__file__).resolve().parents[2]

# -- TOML ---------------------------------------------------------------------------------------
TOML_SEEDS = [
    (ROOT / "agents" / "configs" / f"{name}.toml").read_bytes()
    for name in ("neural_brain_debug", "es_cartpole_debug", "lsm_fsdd_debug", "scripted_picker")
] + [b'a = [1, [2, {b = "c"}]]\n[t."k\\u00e9y"]\nx = 1979-05-27T07:32:00Z\ns = """m\nl"""\n']


@FUZZ
@given(data=mutated(TOML_SEEDS))
def test_toml_loader_and_strict_config(tmp_path, data):
    path = tmp_path / "agent.toml"
    path.write_bytes(data)
    raw = check(lambda: load_toml(path), path)
    if isinstance(raw, dict):
        check(lambda: load_config(path))  # strict build: ConfigError naming key paths


_key = st.text(min_size=0, max_size=8)
_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
    st.text(max_size=20), st.dates(), st.times(), st.datetimes(),
)
_value = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_key, inner, max_size=4)),
    max_leaves=12,
)


def _without_none(v):
    if isinstance(v, dict):
        return {k: _without_none(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_without_none(x) for x in v]
    return v


@FUZZ
@given(data=st.dictionaries(_key, _value, max_size=6))
def test_config_writer_emits_valid_toml_for_everything_it_accepts(data):
    try:
        text = dumps_toml(data)
    except ConfigError as e:
        assert "\n" not in str(e)
        return
    assert tomllib.loads(text) == _without_none(data)


# -- MPL ----------------------------------------------------------------------------------------
MPL_SEEDS = [(theories_dir() / f).read_bytes() for f in ("peano.mpl", "digitpick.mpl")] + [
    b"(sort N) (constant 0 N) (relation s (N N) functional) (induction N (base 0) (step s))\n"
    b"(axiom a (forall ((x N) (y N)) (implies (s x y) (not (= y 0)))))\n"
]


@FUZZ
@given(data=mutated(MPL_SEEDS))
def test_mpl_parser(tmp_path, data):
    path = tmp_path / "theory.mpl"
    path.write_bytes(data)
    check(lambda: load_theory(path), path)


# -- facts --------------------------------------------------------------------------------------
FACT_SEEDS = [json.dumps(f).encode() for f in (
    ["shows(cube_1, 3)", "shows(cube_2, 7)", "on(cube_2, cube_1)", "reachable(cube_1)",
     "reachable(cube_2)"],
    ["object(a)", "object(b)", "location(tray)", "holding(a)", "on(b, tray)"],
    ["shows(c1, 0)", "shows(c2, 9)", "container(bin)", "clear(c1)"],
)]


@FUZZ
@given(data=mutated(FACT_SEEDS))
def test_facts_parsers(tmp_path, data):
    path = tmp_path / "facts.json"
    path.write_bytes(data)
    facts = check(lambda: read_facts(path), path)
    if not isinstance(facts, list):
        return
    check(lambda: parse_facts(facts))
    reasoner = digitpick_reasoner()
    for fact in facts[:20]:
        check(lambda fact=fact: reasoner.assert_fact(fact))


# -- proof documents (check-proofs) ------------------------------------------------------------
PROOF_SEEDS = [(Path(__file__).parent / "seeds" / name).read_bytes()
               for name in ("peano_proofs.json", "peano_split_proofs.json")]


def test_the_proof_seed_is_accepted():
    report = check_files(Path(__file__).parent / "seeds" / "peano_proofs.json",
                         theories_dir() / "peano.mpl")
    assert report.ok and len(report.accepted) == 3


def test_the_split_and_generalised_proof_seed_is_accepted():
    # generalised induction hypotheses (add_comm, add_assoc) and a case split on x
    report = check_files(Path(__file__).parent / "seeds" / "peano_split_proofs.json",
                         theories_dir() / "peano.mpl")
    assert report.ok and len(report.accepted) == 5


@FUZZ
@given(data=mutated(PROOF_SEEDS))
def test_proof_document_checker(tmp_path, data):
    path = tmp_path / "proofs.json"
    path.write_bytes(data)
    check(lambda: check_files(path, theories_dir() / "peano.mpl"), path)


# -- GGUF ---------------------------------------------------------------------------------------
TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _tiny_gguf(path: Path) -> None:
    """A one-layer llama GGUF with a BPE vocabulary, merges, token types and a template."""
    import gguf

    rng = np.random.default_rng(0)
    d, ff, nh, layers = 32, 32, 2, 1
    tokens = ["<|im_start|>", "<|im_end|>", "a", "b", "ab", "Ġ", "c", "d"]
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_block_count(layers)
    w.add_context_length(32)
    w.add_embedding_length(d)
    w.add_feed_forward_length(ff)
    w.add_head_count(nh)
    w.add_head_count_kv(nh)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_tokenizer_model("gpt2")
    w.add_token_list(tokens)
    w.add_token_types([3, 3, 1, 1, 1, 1, 1, 1])
    w.add_token_merges(["a b"])
    w.add_bos_token_id(0)
    w.add_eos_token_id(1)
    w.add_chat_template(TEMPLATE)
    w.add_tensor("token_embd.weight", rng.normal(size=(len(tokens), d)).astype(np.float32))
    w.add_tensor("output_norm.weight", np.ones(d, np.float32))
    for name, shape in (("attn_q", (d, d)), ("attn_k", (d, d)), ("attn_v", (d, d)),
                        ("attn_output", (d, d)), ("ffn_gate", (ff, d)), ("ffn_up", (ff, d)),
                        ("ffn_down", (d, ff))):
        w.add_tensor(f"blk.0.{name}.weight", rng.normal(size=shape).astype(np.float16))
    w.add_tensor("blk.0.attn_norm.weight", np.ones(d, np.float32))
    w.add_tensor("blk.0.ffn_norm.weight", np.ones(d, np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def _gguf_seed() -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "tiny.gguf"
        _tiny_gguf(path)
        return path.read_bytes()


GGUF_SEEDS = [_gguf_seed()]


def test_the_gguf_seed_loads_and_renders(tmp_path):
    path = tmp_path / "tiny.gguf"
    path.write_bytes(GGUF_SEEDS[0])
    model = load_gguf(path)
    tok = GGUFTokenizer(model.metadata)
    assert tok.apply_chat_template([ChatMessage("user", "ab")]) == (
        "<|im_start|>user\nab<|im_end|>\n<|im_start|>assistant\n")
    assert tok.encode("<|im_start|>ab") == [0, 4]


@FUZZ
@given(data=mutated(GGUF_SEEDS, max_random=512))
def test_gguf_loader(tmp_path, data):
    path = tmp_path / "model.gguf"
    path.write_bytes(data)
    model = check(lambda: load_gguf(path), path)
    if isinstance(model, Exception):
        return
    tok = check(lambda: GGUFTokenizer(model.metadata), path)
    if isinstance(tok, GGUFTokenizer):
        check(lambda: tok.apply_chat_template([ChatMessage("user", "ab")]), path)
    bq = check(lambda: model.tensor("blk.0.attn_q.weight").block_quant(), path)
    if not isinstance(bq, Exception):
        assert all(math.isfinite(float(x)) or True for x in np.asarray(bq.scale).ravel()[:1])

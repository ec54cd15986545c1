"""The planner's disk cache gives the readings, bookings and token counts of computing
everything, ignores damaged or foreign entries, and keeps what the GGUF loader derived."""

from __future__ import annotations

import contextlib
import functools
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from neuralbrain.energy import Cost, Ledger
from neuralbrain.hardware import make_backend
from neuralbrain.hardware.cpu import CpuConfig
from neuralbrain.reasoning.planner.gguf_model import load_gguf
from neuralbrain.reasoning.planner.llama import LlamaModel
from neuralbrain.reasoning.planner.planner import LlmPlanner, PlannerConfig
from neuralbrain.reasoning.planner.prompt_cache import (
    PromptCache,
    RecordingLedger,
    bookings_doc,
    bookings_from,
    entry_key,
    replay,
)

from .helpers import model_path_or_skip, tiny_llama

FACTS = ["location(tray)", "location(table)", "shows(cube_0, 6)", "shows(cube_1, 3)",
         "shows(cube_2, 8)", "reachable(cube_0)", "reachable(cube_1)", "reachable(cube_2)"]
# a relation (the phrases decide) and a copied line of two items (the items decide)
REQUESTS = ("the tray needs the smallest odd number.", "put the eight and then the six in the tray")


@functools.lru_cache(maxsize=1)
def _facts() -> list[str]:
    """FACTS and the reasoner's derived facts (the relation phrases come from these)."""
    from neuralbrain.reasoning.affordances import GLJudge
    from neuralbrain.reasoning.gl.agent import digitpick_reasoner

    return FACTS + GLJudge(digitpick_reasoner(make_backend("logic_grid"))).derived(FACTS)


def _read(planner: LlmPlanner, request: str) -> tuple[dict, list]:
    reading = planner.read(request, _facts())
    doc = reading.to_json()
    doc.pop("seconds")
    return doc, reading.ledger.drain()


@contextlib.contextmanager
def _no_cache_warning():
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        yield
    assert not [w for w in seen if "prompt cache" in str(w.message)]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("NEURALBRAIN_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_readings_bookings_and_tokens_are_those_of_computing(cache_dir):
    model_path_or_skip()
    computed = LlmPlanner(PlannerConfig(backend="cpu", prompt_cache=False))
    want = [_read(computed, r) for r in REQUESTS]
    assert not cache_dir.exists() and not computed._base_memo  # nor keeps anything
    first = LlmPlanner(PlannerConfig(backend="cpu"))  # computes and writes the entries
    assert _read(first, REQUESTS[0]) == want[0]
    kinds = sorted(p.name.split("-")[0] for p in cache_dir.iterdir())
    assert [k for k in kinds if k != "gguf"] == ["phrase_base", "prefix", "prefix"]
    loaded = LlmPlanner(PlannerConfig(backend="cpu"))  # a new model: loads them
    with _no_cache_warning():
        got = [_read(loaded, r) for r in REQUESTS]
    assert got == want  # goals, every score, energy, latency, tokens and each booking
    # the request-free context of a line that goes on is an entry too, loaded the same way
    assert len(list(cache_dir.glob("items_base-*.npz"))) == 1
    third = LlmPlanner(PlannerConfig(backend="cpu"))
    with _no_cache_warning():
        assert _read(third, REQUESTS[1]) == _read(LlmPlanner(PlannerConfig(
            backend="cpu", prompt_cache=False)), REQUESTS[1])
    assert loaded.backend.spent.energy_j == pytest.approx(computed.backend.spent.energy_j,
                                                          rel=1e-12)


def test_a_damaged_entry_is_ignored_with_a_warning_and_rewritten(cache_dir):
    model_path_or_skip()
    want = _read(LlmPlanner(PlannerConfig(backend="cpu")), REQUESTS[0])
    entries = sorted(cache_dir.glob("prefix-*.npz"))
    entries[0].write_bytes(b"not an npz")
    np.savez(entries[1], k=np.zeros(3))  # readable, but not an entry
    with pytest.warns(UserWarning, match=r"prompt cache: ignoring .*prefix-.*recomputing"):
        got = _read(LlmPlanner(PlannerConfig(backend="cpu")), REQUESTS[0])
    assert got == want
    with _no_cache_warning():  # both were written again, whole
        assert _read(LlmPlanner(PlannerConfig(backend="cpu")), REQUESTS[0]) == want


def test_an_entry_of_another_backend_config_or_prompt_is_not_used(cache_dir):
    model_path_or_skip()
    w4a8 = {"cpu": CpuConfig(act_bits=8)}
    want = _read(LlmPlanner(PlannerConfig(backend="cpu", prompt_cache=False), w4a8),
                 REQUESTS[0])
    _read(LlmPlanner(PlannerConfig(backend="cpu")), REQUESTS[0])  # float32 activations
    float_entries = set(cache_dir.iterdir())
    # the W4A8 planner finds none of the float32 entries (it writes its own) ...
    assert _read(LlmPlanner(PlannerConfig(backend="cpu"), w4a8), REQUESTS[0]) == want
    assert len(set(cache_dir.iterdir()) - float_entries) == 3  # two prefixes, phrase_base
    # ... and a float32 entry renamed to a W4A8 key is refused by the key it holds
    for new in set(cache_dir.iterdir()) - float_entries:
        kind = new.name.split("-")[0]
        old = next(p for p in float_entries if p.name.startswith(kind + "-"))
        new.write_bytes(old.read_bytes())
    with pytest.warns(UserWarning, match="its key does not match its name"):
        assert _read(LlmPlanner(PlannerConfig(backend="cpu"), w4a8), REQUESTS[0]) == want


def test_keys_differ_with_whatever_the_values_depend_on():
    base = {"model": "a" * 64, "backend": "lut", "config": "LutConfig(table_bits=0)",
            "numerics": "float", "ids": [1, 2, 3]}
    key = entry_key("prefix", base)
    assert key == entry_key("prefix", dict(base)) and len(key) == 64
    for part, other in (("model", "b" * 64), ("backend", "cpu"),
                        ("config", "LutConfig(table_bits=8)"), ("numerics", "llama.cpp"),
                        ("ids", [1, 2, 4])):
        assert entry_key("prefix", base | {part: other}) != key, part
    assert entry_key("phrase_base", base) != key


def test_bookings_replay_to_the_same_sums_and_costs():
    parts = Cost.of_parts({"gemm": Cost(1e-9 / 3, 2e-7 / 7, 5, 6),
                           "all_gather": Cost(0.1 + 0.2, 1e-3, 1, 2)})
    costs = [("mpgemm", "lut", Cost(0.1, 1e-6 / 3, 3, 4)), ("attn", "lut", Cost(1 / 3, 0.7, 1, 1)),
             ("mpgemm", "t3", parts), ("mpgemm", "lut", Cost(2 / 3, 1e-9, 2, 2))]
    live = Ledger()
    rec = RecordingLedger(live)
    for op, backend, cost in costs:
        rec.book(op, cost, backend=backend)
    again, other = Ledger(), make_backend("cpu")
    replay(bookings_from(bookings_doc(rec.bookings)), again, other)
    assert again.drain() == live.drain() and again.total == live.total
    assert other.spent == sum((c for _, _, c in costs), Cost())
    assert [c.parts for _, _, c in bookings_from(bookings_doc(rec.bookings))][2] == parts.parts


def test_keys_and_values_restored_continue_the_context_bit_for_bit(tmp_path):
    path = tmp_path / "tiny.gguf"
    tiny_llama(path, np.random.default_rng(0))
    gguf = load_gguf(path)
    lm = LlamaModel(gguf, make_backend("cpu"), n_ctx=32)
    lm.forward([1, 2, 3, 4, 5])
    k, v = lm.kv()
    want = lm.forward([6, 7], all_logits=True)
    other = LlamaModel(gguf, make_backend("cpu"), n_ctx=32)
    other.restore(k, v)
    assert other.n_past == 5
    np.testing.assert_array_equal(other.forward([6, 7], all_logits=True), want)
    with pytest.raises(Exception, match="restore: keys"):
        other.restore(k[:1], v[:1])


def test_the_gguf_layout_is_kept_and_a_damaged_entry_reads_the_file(tmp_path, cache_dir,
                                                                     monkeypatch):
    path = tmp_path / "tiny.gguf"
    tiny_llama(path, np.random.default_rng(1))
    want = load_gguf(path)
    load_gguf(path, cache=True)  # reads the file, keeps the layout
    (entry,) = cache_dir.glob("gguf-*.npz")
    import gguf

    def no_reader(*args, **kwargs):
        raise AssertionError("the GGUF reader ran on a kept layout")

    with monkeypatch.context() as mp:
        mp.setattr(gguf, "GGUFReader", no_reader)
        got = load_gguf(path, cache=True)
    assert got.hparams == want.hparams and got.metadata == want.metadata
    assert got.tensors.keys() == want.tensors.keys()
    for name, t in want.tensors.items():
        g = got.tensors[name]
        assert (g.qtype, g.shape, g.raw.dtype) == (t.qtype, t.shape, t.raw.dtype)
        np.testing.assert_array_equal(g.raw, t.raw)
    entry.write_bytes(entry.read_bytes()[:100])
    with pytest.warns(UserWarning, match="prompt cache: ignoring"):
        again = load_gguf(path, cache=True)
    assert again.hparams == want.hparams


def test_an_unwritable_cache_folder_is_a_warning(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = PromptCache(blocker / "sub")
    with pytest.warns(UserWarning, match="cannot write"):
        store.save("prefix", "0" * 64, {"k": np.zeros(2)}, {})
    assert store.load("prefix", "0" * 64) is None


def test_the_phrase_trie_reads_the_same_goal_with_fewer_tokens_in_its_own_entries(cache_dir):
    model_path_or_skip()
    flat = LlmPlanner(PlannerConfig(backend="cpu"))
    trie = LlmPlanner(PlannerConfig(backend="cpu", phrase_trie=True))
    (want, _), (got, _) = _read(flat, REQUESTS[0]), _read(trie, REQUESTS[0])
    assert got["goal"] == want["goal"] == [3]
    assert got["phrases"].keys() == want["phrases"].keys()
    for phrase, score in want["phrases"].items():  # float32 on cpu: rounding-level apart
        assert got["phrases"][phrase]["pmi_per_token"] == pytest.approx(
            score["pmi_per_token"], abs=2e-3)
    assert got["tokens"] < want["tokens"] and got["energy_j"] < want["energy_j"]
    assert len(list(cache_dir.glob("phrase_base-*.npz"))) == 2  # one per way of running
    again = LlmPlanner(PlannerConfig(backend="cpu", phrase_trie=True))
    with _no_cache_warning():
        assert _read(again, REQUESTS[0])[0] == got


def test_a_kind_written_per_scene_keeps_only_its_newest_entries(tmp_path, monkeypatch):
    from neuralbrain.reasoning.planner import prompt_cache

    monkeypatch.setitem(prompt_cache.MAX_ENTRIES, "phrase_base", 3)
    store = PromptCache(tmp_path)
    keys = [f"{i:064d}" for i in range(5)]
    for i, key in enumerate(keys):
        store.save("phrase_base", key, {"scores": np.full(2, float(i))}, {"i": i})
        os.utime(store.path("phrase_base", key), ns=(i * 10**9, i * 10**9))
    store.save("prefix", "f" * 64, {"k": np.zeros(2)}, {})  # other kinds are not pruned
    assert sorted(p.name for p in tmp_path.glob("phrase_base-*")) == [
        f"phrase_base-{k}.npz" for k in keys[-3:]]
    assert store.load("phrase_base", keys[-1])[1] == {"i": 4}
    assert store.path("prefix", "f" * 64).exists()

from __future__ import annotations

import numpy as np

from neuralbrain.reasoning.planner.constrained import CharTrie, mask_logits

VOCAB = ["pick", "(", "cube", "_", "1", "2", ")", "\n", "place", "pi", "ck(", "tray", "x", "",
         "cube_1)\n", "<|im_end|>"]


def test_only_continuations_of_allowed_strings():
    trie = CharTrie(["pick(cube_1)\n", "place(tray)\n"], VOCAB, exclude=frozenset({15}))
    first = {VOCAB[i] for i in trie.allowed_tokens("")}
    assert first == {"pick", "place", "pi"}
    assert {VOCAB[i] for i in trie.allowed_tokens("pick(")} == {"cube", "cube_1)\n"}
    assert trie.allowed_tokens("pick(x") == []
    assert trie.is_complete("place(tray)\n") and not trie.is_complete("place(tray)")


def test_greedy_walk_can_only_spell_an_allowed_string():
    allowed = ["pick(cube_1)\n", "pick(cube_2)\n", "place(tray)\n"]
    trie = CharTrie(allowed, VOCAB, exclude=frozenset({15}))
    rng = np.random.default_rng(0)
    for _ in range(20):
        text = ""
        while not trie.is_complete(text):
            ids = trie.allowed_tokens(text)
            logits = mask_logits(rng.normal(size=len(VOCAB)), ids)
            assert np.isneginf(np.delete(logits, ids)).all()
            text += VOCAB[int(np.argmax(logits))]
        assert text in allowed

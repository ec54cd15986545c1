"""Grammar-constrained decoding: only tokens that continue one of a set of allowed strings.

A character trie holds the allowed strings (here every valid skill call followed by a
newline). Given the text generated so far on the current line, a token is allowed when its
text, appended, is still a prefix of some allowed string; masking every other logit to -inf
makes the decoder unable to emit anything but a valid call (Willard & Louf, "Efficient
Guided Generation for LLMs", 2023, do the same with a regular-language automaton).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class CharTrie:
    """A trie of allowed strings; ``allowed_tokens(prefix)`` lists the token ids that fit."""

    def __init__(self, allowed: Sequence[str], token_strings: Sequence[str],
                 exclude: frozenset[int] = frozenset()) -> None:
        self.allowed = tuple(allowed)
        self.prefixes: set[str] = {s[:i] for s in self.allowed for i in range(len(s) + 1)}
        self.complete = set(self.allowed)
        # Index the vocabulary by first character: only tokens starting with a character the
        # trie can take next need checking.
        firsts = {s[i] for s in self.allowed for i in range(len(s))}
        self.by_first: dict[str, list[tuple[int, str]]] = {c: [] for c in firsts}
        for tid, text in enumerate(token_strings):
            if tid in exclude or not text or "\ufffd" in text:
                continue
            bucket = self.by_first.get(text[0])
            if bucket is not None:
                bucket.append((tid, text))

    def allowed_tokens(self, prefix: str) -> list[int]:
        """Ids of tokens ``t`` with ``prefix + text(t)`` a prefix of an allowed string."""
        if prefix not in self.prefixes:
            return []
        nexts = {s[len(prefix)] for s in self.allowed if s.startswith(prefix) and len(s) > len(prefix)}
        out = []
        for c in nexts:
            for tid, text in self.by_first[c]:
                if prefix + text in self.prefixes:
                    out.append(tid)
        return sorted(out)

    def is_complete(self, text: str) -> bool:
        return text in self.complete


def mask_logits(logits: np.ndarray, allowed: Sequence[int]) -> np.ndarray:
    """``logits`` with every id outside ``allowed`` set to -inf."""
    out = np.full_like(logits, -np.inf)
    idx = np.asarray(allowed, dtype=np.int64)
    out[idx] = logits[idx]
    return out

from __future__ import annotations

import pytest

from neuralbrain.reasoning.planner.tokenizer import ChatMessage

from .helpers import shipped_model_and_tokenizer

TEXTS = [
    "put the seven in the tray",
    "move cube showing 3 to the bin",
    "In 2024, 1,234.5 apples cost $12!",
    "  leading spaces, tabs\tand\n\nnew lines  ",
    "naïve café — ünïcödé ✓ 日本語",
    "pick(cube_2)\nplace(tray)",
]


@pytest.fixture(scope="module")
def tok():
    return shipped_model_and_tokenizer()[1]


def test_uses_the_smollm_pretokenizer(tok):
    assert tok.pre == "smollm"


@pytest.mark.parametrize("text", TEXTS)
def test_round_trip(tok, text):
    assert tok.decode(tok.encode(text)) == text


def test_every_digit_is_its_own_token(tok):
    ids = tok.encode("year 2024 and 99 bottles")
    pieces = [tok.decode([i]) for i in ids]
    digits = [p for p in pieces if any(c.isdigit() for c in p)]
    assert [p.strip() for p in digits] == ["2", "0", "2", "4", "9", "9"]
    # The GPT-2 split alone would keep " 2024" together; the smollm split must not.
    assert all(len(p.strip()) == 1 for p in digits)


def test_control_tokens_are_single_ids(tok):
    ids = tok.encode("<|im_start|>user\nhi<|im_end|>")
    assert ids[0] == tok.encode("<|im_start|>")[0] and len(tok.encode("<|im_start|>")) == 1
    assert ids[-1] == tok.eos_id == 2  # <|im_end|> is the end-of-turn id of SmolLM2


def test_chat_template_renders_chatml(tok):
    text = tok.apply_chat_template([ChatMessage("user", "hello")])
    assert text.startswith("<|im_start|>system\n")
    assert "<|im_start|>user\nhello<|im_end|>\n" in text
    assert text.endswith("<|im_start|>assistant\n")

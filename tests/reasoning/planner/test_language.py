"""The language module: the LLM reads the requested digit; heard or shown digits pass through."""

from __future__ import annotations

import pytest

from neuralbrain.payloads import Request
from neuralbrain.reasoning.planner.language import Config, Language


@pytest.fixture(scope="module")
def language():
    return Language(Config(backend="cpu"))


@pytest.mark.parametrize("request_text, digit", [
    ("Could you grab the eight and drop it into the tray?", 8),
    ("I need number six in the box", 6),
    ("Put 6 in tray", 6),
    ("Tray: the zero cube.", 0),
    ("one. tray. now.", 1),
    ("Place the five-cube in the container", 5),
    ("the tray should get the three", 3),
    ("Drop the block marked seven into the tray.", 7),
])
def test_the_llm_reads_the_requested_digit_from_phrasings_not_in_the_env(request_text, digit,
                                                                        language):
    assert language.read_digit(request_text) == digit


def test_a_heard_digit_needs_no_llm_and_becomes_one_wording(language):
    language.reset(0)
    language.ledger.reset()
    out = language.step({"obs": {"instruction": "say what you heard"}, "heard": 4, "shown": None})
    assert out["request"] == Request(4, "Put the cube showing the number 4 in the tray.")
    assert language.ledger.total.energy_j == 0

"""The language module passes the request on as given, with a heard or shown digit."""

from __future__ import annotations

from neuralbrain.payloads import Request
from neuralbrain.reasoning.planner.language import Config, Language


def test_the_request_is_passed_on_word_for_word_with_the_digit_heard():
    language = Language(Config())
    language.reset(0)
    out = language.step({"obs": {"instruction": "put the spoken digit in the tray"},
                         "heard": 4, "shown": None})
    assert out["request"] == Request(4, "put the spoken digit in the tray")
    later = language.step({"obs": {"instruction": "something else"}, "heard": None,
                           "shown": 2})
    assert later["request"] is out["request"]  # read once per episode
    language.reset(1)
    written = language.step({"obs": {"instruction": "first the 2, then the 9"}, "heard": None,
                             "shown": None})
    assert written["request"] == Request(None, "first the 2, then the 9")
    assert language.ledger.total.energy_j == 0

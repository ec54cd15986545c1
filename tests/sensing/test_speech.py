"""Speech synthesis: deterministic, distinct words, the requested rate, named errors."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.errors import ConfigError
from neuralbrain.sensing.speech import Utterance, synthesize


def test_words_are_deterministic_distinct_and_at_the_requested_rate():
    requests = [Utterance("eight"), Utterance("nine"), Utterance("eight", wpm=100),
                Utterance("eight", voice="en-us+f2")]
    eight, nine, slow, female = synthesize(requests)
    for a, b in zip(synthesize(requests), (eight, nine, slow, female), strict=True):
        np.testing.assert_array_equal(a, b)  # a fresh process each time: the same samples
    assert eight.dtype == np.float64 and 0.05 < np.abs(eight).max() <= 1.0
    assert 0.25 * 8000 < eight.size < 1.2 * 8000  # one word at 175 words/min
    assert nine.size != eight.size or not np.allclose(nine, eight)
    assert slow.size > eight.size
    assert female.size != eight.size or not np.allclose(female, eight)
    (fast_rate,) = synthesize([Utterance("eight")], rate_hz=16000)
    assert abs(fast_rate.size - 2 * eight.size) <= 2


def test_bad_requests_are_named():
    with pytest.raises(ConfigError, match="voice 'klingon'"):
        synthesize([Utterance("eight", voice="klingon")])
    with pytest.raises(ConfigError, match="voice 'en-us\\+nobody'"):
        synthesize([Utterance("eight", voice="en-us+nobody")])
    with pytest.raises(ConfigError, match="wpm = 20"):
        Utterance("eight", wpm=20)
    with pytest.raises(ConfigError, match="expected something to say"):
        Utterance("  ")


def test_a_missing_synthesizer_package_is_named(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "espeakng_loader" else real(name, *a))
    with pytest.raises(ConfigError, match="espeakng-loader"):
        synthesize([Utterance("eight")])

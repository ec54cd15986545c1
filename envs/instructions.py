"""Natural-language instructions naming a target digit (pure functions of the seed)."""

from __future__ import annotations

import string

import numpy as np

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# {d} = numeral, {w} = word; several phrasings so a text agent cannot key on one template.
TEMPLATES = (
    "put the {d} in the tray",
    "place the cube showing {w} into the tray",
    "move the {w} cube to the tray",
    "pick up the cube with the digit {d} and drop it in the tray",
    "find the {w} and put it in the tray",
    "put cube number {d} into the tray",
    "could you place the {w} in the tray?",
    "the tray needs the cube marked {d}.",
    "take the cube that shows a {d} and put it in the tray",
    "I want the {w} in the tray, please.",
)

# Neutral sentences for the speech / image modes: same task, the digit comes from elsewhere.
NEUTRAL = {
    "speech": "put the cube showing the spoken digit in the tray",
    "image": "put the cube showing the pictured digit in the tray",
}

CHARSET = frozenset(string.ascii_letters + string.digits + " .,?!'-")
MAX_LENGTH = 96


def text_instruction(digit: int, rng: np.random.Generator) -> str:
    """A sentence naming ``digit`` (0-9) in a phrasing drawn from ``rng``."""
    t = TEMPLATES[int(rng.integers(len(TEMPLATES)))]
    return t.format(d=digit, w=WORDS[digit])

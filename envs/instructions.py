"""How DigitPick says what it wants besides the request text itself.

The written requests (and their phrasings) come from ``neuralbrain.reasoning.requests``;
this module holds what only the env needs: the neutral sentences of the speech and image
modes, and the alphabet and length of the instruction observation (``spaces.Text``).
"""

from __future__ import annotations

import string

from neuralbrain.reasoning.requests import WORDS  # noqa: F401  (re-exported for tests, tools)

# Neutral sentences for the speech / image modes: same task, the digit comes from elsewhere.
NEUTRAL = {
    "speech": "put the cube showing the spoken digit in the tray",
    "image": "put the cube showing the pictured digit in the tray",
}

CHARSET = frozenset(string.ascii_letters + string.digits + " .,?!'-")
MAX_LENGTH = 96

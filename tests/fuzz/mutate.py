"""Mutations of real and synthetic files for the fuzz suite, and the property it checks.

Every fuzz target takes bytes (or text) drawn by ``mutated(seeds)``: a seed file, then one
of: truncated at a random point, 1..16 bits flipped (half the time inside the first 512
bytes, where the headers and length fields are), bytes overwritten with boundary values
(0x00, 0x7f, 0x80, 0xff), a slice deleted or duplicated, a stretch replaced with random
bytes, or wholly random bytes. The property (``check``): the call succeeds or raises the
project's own ``neuralbrain.errors.Error`` with a one-line message naming the file; any
other exception fails the test, and Hypothesis shrinks it to a small reproducer.

Settings: ``FUZZ`` is derandomized with ``CI_EXAMPLES`` per target (what CI runs, a few
thousand cases in all). ``NEURALBRAIN_FUZZ=long`` (``make fuzz``) draws 25 times as many with
random seeds; ``NEURALBRAIN_FUZZ_EXAMPLES=N`` sets the number per target directly.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from neuralbrain.errors import Error

CI_EXAMPLES = 300
LONG = os.environ.get("NEURALBRAIN_FUZZ") == "long"
EXAMPLES = int(os.environ.get("NEURALBRAIN_FUZZ_EXAMPLES") or CI_EXAMPLES * (25 if LONG else 1))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=not LONG,
    database=None if not LONG else settings.default.database,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
BOUNDARY = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)


@st.composite
def mutated(draw: Any, seeds: list[bytes], max_random: int = 4096) -> bytes:
    """One mutation of one seed (see the module docstring)."""
    data = bytearray(draw(st.sampled_from(seeds)))
    kind = draw(st.sampled_from(
        ["truncate", "flip", "flip", "overwrite", "delete", "duplicate", "splice", "random"]
    ))
    n = len(data)
    if kind == "random" or n == 0:
        return draw(st.binary(max_size=max_random))
    if kind == "truncate":
        return bytes(data[: draw(st.integers(0, n - 1))])
    if kind == "flip":
        head = draw(st.booleans())
        hi = min(n, 512) if head else n
        for _ in range(draw(st.integers(1, 16))):
            bit = draw(st.integers(0, hi * 8 - 1))
            data[bit // 8] ^= 1 << (bit % 8)
        return bytes(data)
    if kind == "overwrite":
        for _ in range(draw(st.integers(1, 8))):
            at = draw(st.integers(0, min(n, 512) - 1 if draw(st.booleans()) else n - 1))
            width = draw(st.sampled_from([1, 2, 4, 8]))
            value = draw(st.sampled_from(BOUNDARY))
            data[at : at + width] = bytes([value]) * len(data[at : at + width])
        return bytes(data)
    a = draw(st.integers(0, n - 1))
    b = draw(st.integers(a, min(n, a + 256)))
    if kind == "delete":
        return bytes(data[:a] + data[b:])
    if kind == "duplicate":
        return bytes(data[:b] + data[a:b] + data[b:])
    noise = draw(st.binary(min_size=b - a, max_size=b - a))
    return bytes(data[:a] + noise + data[b:])


def check(call: Callable[[], Any], names: str | Path | None = None) -> Any:
    """Run ``call``: success, or an ``Error`` whose message is one line (naming ``names``).

    Anything else propagates and fails the test.
    """
    try:
        return call()
    except Error as e:
        msg = str(e)
        assert msg and "\n" not in msg, f"error message is not one line: {msg!r}"
        if names is not None:
            assert str(names) in msg, f"error message does not name {names}: {msg!r}"
        return e

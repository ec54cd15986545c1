"""Shared test helpers. Tests needing real data call ``data_root_or_skip(subdir)``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def data_root_or_skip(subdir: str = "") -> Path:
    """``$NEURALBRAIN_DATA/subdir``, or skip the test when it is absent.

    In CI (``NEURALBRAIN_REQUIRE_DATA=1``) a missing dataset fails the test instead, so real-
    data tests can never be skipped silently there.
    """
    root = os.environ.get("NEURALBRAIN_DATA")
    path = Path(root) / subdir if root else None
    if path is not None and path.exists():
        return path
    reason = f"needs real data: $NEURALBRAIN_DATA/{subdir} not found (NEURALBRAIN_DATA={root!r})"
    if os.environ.get("NEURALBRAIN_REQUIRE_DATA") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def data_root():
    return data_root_or_skip("")

"""Fixtures for the sensing tests: where the real data is (skip when it is absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _data_dir(subdir: str) -> Path:
    root = os.environ.get("NEURALBRAIN_DATA")
    if not root:
        pytest.skip("NEURALBRAIN_DATA is not set")
    path = Path(root) / subdir
    if not path.is_dir():
        pytest.skip(f"{path} does not exist")
    return path


@pytest.fixture
def data_dir():
    """Call with a subfolder of $NEURALBRAIN_DATA; skips the test when it is missing."""
    return _data_dir

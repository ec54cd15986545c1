"""Fixtures for the sensing tests: where the real data is (see ``tests.conftest``)."""

from __future__ import annotations

import pytest

from tests.conftest import data_root_or_skip


@pytest.fixture
def data_dir():
    """Call with a subfolder of $NEURALBRAIN_DATA; skips the test when it is missing (fails
    instead in CI, where ``NEURALBRAIN_REQUIRE_DATA=1``)."""
    return data_root_or_skip

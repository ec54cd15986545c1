"""``language``: the request, once per episode, as the person gave it.

The written request is passed on word for word (``Request.text``); reading it is the planner
LLM's job. A spoken or shown request comes as a neutral sentence plus a digit: ``heard`` from
the listener or ``shown`` from perception (both inputs optional), carried in
``Request.digit``. Nothing is rewritten and nothing is computed here, so nothing is booked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from neuralbrain.core import Module, Needs
from neuralbrain.payloads import Request


@dataclass(frozen=True)
class Config:
    backend: str = "cpu"


class Language(Module):
    """The request as given, with the digit heard or shown (see the module docstring)."""

    Config = Config
    inputs = {"obs": object, "heard": int, "shown": int}
    optional = frozenset({"heard", "shown"})
    outputs = {"request": Request}
    requires = {"backend": Needs()}

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self.request: Request | None = None

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        if self.request is None:
            digit = inputs["heard"] if inputs["heard"] is not None else inputs["shown"]
            self.request = Request(digit, str(inputs["obs"]["instruction"]))
        return {"request": self.request}

"""``language``: the request as a digit and a sentence, once per episode.

A spoken or shown request already gives the digit (``heard`` from the listener, ``shown``
from perception; both inputs are optional). A written request is read by the LLM: after the
question "which number does it ask for?" the ten answers "0".."9" are scored by their
log-likelihood (one prefill on this module's backend) and the most likely wins. Number
words, digits, synonyms and other phrasings are the LLM's job; nothing parses the text by
rule. Once the digit is known, the planner gets the request in one wording
(``heard_template``: every DigitPick request asks for the tray), since the small planner LLM
is sensitive to phrasing ("the tray needs the cube marked 5" made it choose the table).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from neuralbrain.core import Module
from neuralbrain.payloads import Request
from neuralbrain.reasoning.planner.llama import NEEDS


@dataclass(frozen=True)
class Config:
    """How the request becomes a digit and a sentence for the planner."""

    backend: str = "cpu"
    model_path: str = ""  # "" = the shipped SmolLM2-135M-Instruct
    system: str = ("You read a request to a robot and answer with the single digit (0-9) of "
                   "the number the request asks for.")
    heard_template: str = "Put the cube showing the number {digit} in the tray."


class Language(Module):
    """The requested digit and the request as text (see the module docstring)."""

    Config = Config
    inputs = {"obs": object, "heard": int, "shown": int}
    optional = frozenset({"heard", "shown"})
    outputs = {"request": Request}
    requires = {"backend": NEEDS}

    def __init__(self, config: Config, hardware: Mapping[str, Any] | None = None) -> None:
        super().__init__(config, hardware)
        from neuralbrain.reasoning.planner.planner import load_model

        self.gguf, self.tok = load_model(config.model_path)
        self._build()

    def _build(self) -> None:
        from neuralbrain.reasoning.planner.llama import LlamaModel

        self.lm = LlamaModel(self.gguf, self.backend, self.ledger, n_ctx=256)

    def on_backend_change(self) -> None:
        self._build()

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self.request: Request | None = None

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        if self.request is None:
            text = str(inputs["obs"]["instruction"])
            digit = inputs["heard"] if inputs["heard"] is not None else inputs["shown"]
            if digit is None and text.strip():
                digit = self.read_digit(text)
            if digit is not None:  # the planner gets the request in one canonical wording
                text = self.config.heard_template.format(digit=digit)
            self.request = Request(digit, text)
        return {"request": self.request}

    def read_digit(self, request: str) -> int:
        from neuralbrain.reasoning.planner.planner import log_softmax
        from neuralbrain.reasoning.planner.tokenizer import ChatMessage

        prompt = self.tok.apply_chat_template(
            [ChatMessage("system", self.config.system),
             ChatMessage("user", f"Request: {request.strip()}\nWhich number does it ask for?")],
            add_generation_prompt=True,
        ) + "The number is "
        self.lm.reset()
        logits = log_softmax(self.lm.forward(self.tok.encode(prompt))[-1])
        answers = [self.tok.encode(str(d))[0] for d in range(10)]
        return int(np.argmax(logits[answers]))

"""The GGUF's own byte-level BPE tokenizer, rebuilt with the ``tokenizers`` library.

The vocabulary (``tokenizer.ggml.tokens``) and merges (``tokenizer.ggml.merges``) come from the
file; control tokens (``token_type == 3``, e.g. ``<|im_start|>``) are added as special tokens so
a chat prompt parses them as single ids, as llama.cpp does with ``parse_special=true``.

Pre-tokenization follows llama.cpp's pre-tokenizer named in ``tokenizer.ggml.pre``:

- ``smollm`` (SmolLM/SmolLM2): every number character is split off alone (regex ``\\p{N}``)
  before the GPT-2 split, so "2024" becomes four tokens;
- ``gpt2``/``default`` and anything else: the GPT-2 byte-level split alone (documented
  approximation for pre-tokenizers we do not model; the model still runs).

The chat template in ``tokenizer.chat_template`` is rendered with jinja2 (the template
language it is written in).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from neuralbrain.errors import DataError

CONTROL = 3


@dataclass(frozen=True)
class ChatMessage:
    role: str
    content: str


class GGUFTokenizer:
    """Encode/decode text with the vocabulary stored in a GGUF file (see the module docstring)."""

    def __init__(self, metadata: dict[str, Any]) -> None:
        from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

        kind = metadata.get("tokenizer.ggml.model")
        if kind != "gpt2":
            raise DataError(
                f"tokenizer.ggml.model={kind!r} is not supported: expected 'gpt2' (byte-level BPE)"
            )
        tokens = list(metadata["tokenizer.ggml.tokens"])
        merges = metadata.get("tokenizer.ggml.merges")
        if not merges:
            raise DataError("GGUF has no tokenizer.ggml.merges: expected byte-level BPE merges")
        vocab = {tok: i for i, tok in enumerate(tokens)}
        pairs = [tuple(m.split(" ", 1)) for m in merges]
        model = models.BPE(vocab=vocab, merges=pairs, fuse_unk=False, byte_fallback=False)
        tok = Tokenizer(model)
        self.pre = metadata.get("tokenizer.ggml.pre") or "default"
        byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        if self.pre == "smollm":
            tok.pre_tokenizer = pre_tokenizers.Sequence(
                [pre_tokenizers.Split(Regex(r"\p{N}"), behavior="isolated"), byte_level]
            )
        else:
            tok.pre_tokenizer = byte_level
        tok.decoder = decoders.ByteLevel()
        types = metadata.get("tokenizer.ggml.token_type")
        specials = (
            [tokens[i] for i, t in enumerate(types) if int(t) == CONTROL] if types is not None else []
        )
        tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
        self._tok = tok
        self.tokens = tokens
        self.special_ids = frozenset(vocab[s] for s in specials)
        self.bos_id = _opt_int(metadata.get("tokenizer.ggml.bos_token_id"))
        self.eos_id = _opt_int(metadata.get("tokenizer.ggml.eos_token_id"))
        self.chat_template = metadata.get("tokenizer.chat_template")

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (control-token strings like ``<|im_end|>`` become one id)."""
        return list(self._tok.encode(text, add_special_tokens=False).ids)

    def decode(self, ids: Sequence[int], skip_special: bool = False) -> str:
        return self._tok.decode([int(i) for i in ids], skip_special_tokens=skip_special)

    def apply_chat_template(
        self, messages: Sequence[ChatMessage], add_generation_prompt: bool = True
    ) -> str:
        """The prompt text for ``messages`` rendered with the GGUF's chat template."""
        msgs = [{"role": m.role, "content": m.content} for m in messages]
        if not self.chat_template:
            # No template stored: ChatML, the format of the SmolLM family.
            text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in msgs)
            return text + ("<|im_start|>assistant\n" if add_generation_prompt else "")
        import jinja2

        env = jinja2.Environment(undefined=jinja2.StrictUndefined)
        try:
            template = env.from_string(self.chat_template)
            return template.render(
                messages=msgs,
                add_generation_prompt=add_generation_prompt,
                bos_token=self.tokens[self.bos_id] if self.bos_id is not None else "",
                eos_token=self.tokens[self.eos_id] if self.eos_id is not None else "",
            )
        except jinja2.TemplateError as exc:
            raise DataError(f"the GGUF's tokenizer.chat_template does not render: {exc}") from exc


def _opt_int(v: Any) -> int | None:
    return None if v is None else int(v)

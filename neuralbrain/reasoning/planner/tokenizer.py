"""The GGUF's own byte-level BPE tokenizer, rebuilt with the ``tokenizers`` library.

The vocabulary (``tokenizer.ggml.tokens``) and merges (``tokenizer.ggml.merges``) come from the
file; control tokens (``token_type == 3``, e.g. ``<|im_start|>``) are added as special tokens so
a chat prompt parses them as single ids, as llama.cpp does with ``parse_special=true``.

Pre-tokenization follows llama.cpp's pre-tokenizer named in ``tokenizer.ggml.pre``:

- ``smollm`` (SmolLM/SmolLM2): every number character is split off alone (regex ``\\p{N}``)
  before the GPT-2 split, so "2024" becomes four tokens;
- ``gpt2``/``default`` and anything else: the GPT-2 byte-level split alone (documented
  approximation for pre-tokenizers we do not model; the model still runs).

The chat template in ``tokenizer.chat_template`` is code from the file, so it is rendered in
jinja2's ``ImmutableSandboxedEnvironment`` (as the Hugging Face tokenizer renders chat
templates): no attribute starting with ``_``, no function internals, no mutation of the lists
and dicts passed in. A template that tries is a ``DataError``, as is any other failure while
rendering. Limits on top of the sandbox (a template must not exhaust the machine either):
the template source is at most ``MAX_TEMPLATE_CHARS``, the total number of items its
``range()`` calls produce is at most ``MAX_TEMPLATE_STEPS``, ``*`` and ``**`` refuse results
larger than ``MAX_TEMPLATE_OUTPUT`` characters/digits, and the rendered text is at most
``MAX_TEMPLATE_OUTPUT`` characters.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from neuralbrain.errors import DataError

CONTROL = 3
MAX_TEMPLATE_CHARS = 65_536
MAX_TEMPLATE_STEPS = 1_000_000
MAX_TEMPLATE_OUTPUT = 1_000_000


@dataclass(frozen=True)
class ChatMessage:
    role: str
    content: str


class GGUFTokenizer:
    """Encode/decode text with the vocabulary stored in a GGUF file (see the module docstring)."""

    def __init__(self, metadata: dict[str, Any]) -> None:
        from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

        src = str(metadata.get("neuralbrain.path") or "<GGUF metadata>")
        kind = metadata.get("tokenizer.ggml.model")
        if kind != "gpt2":
            raise DataError(
                f"{src}: tokenizer.ggml.model={kind!r} is not supported: expected 'gpt2' "
                "(byte-level BPE)"
            )
        tokens = metadata.get("tokenizer.ggml.tokens")
        if not isinstance(tokens, list | tuple) or not tokens or \
                not all(isinstance(t, str) for t in tokens):
            raise DataError(f"{src}: tokenizer.ggml.tokens must be a non-empty list of strings")
        tokens = list(tokens)
        merges = metadata.get("tokenizer.ggml.merges")
        if not merges:
            raise DataError(
                f"{src}: GGUF has no tokenizer.ggml.merges: expected byte-level BPE merges"
            )
        bad = next((m for m in merges if not isinstance(m, str) or " " not in m), None)
        if bad is not None:
            raise DataError(
                f"{src}: tokenizer.ggml.merges holds {bad!r}, expected strings 'LEFT RIGHT'"
            )
        vocab = {tok: i for i, tok in enumerate(tokens)}
        pairs = [tuple(m.split(" ", 1)) for m in merges]
        try:
            model = models.BPE(vocab=vocab, merges=pairs, fuse_unk=False, byte_fallback=False)
        except Exception as exc:  # the Rust BPE builder rejects merges of unknown tokens
            raise DataError(
                f"{src}: the BPE vocabulary and merges do not fit together ({exc}); expected "
                "merges of tokens in tokenizer.ggml.tokens"
            ) from None
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
        if types is not None and (
            not isinstance(types, list | tuple) or len(types) != len(tokens)
            or not all(isinstance(t, numbers.Integral) and not isinstance(t, bool) for t in types)
        ):
            raise DataError(
                f"{src}: tokenizer.ggml.token_type must be one integer per token "
                f"({len(tokens)} tokens)"
            )
        specials = (
            [tokens[i] for i, t in enumerate(types) if int(t) == CONTROL] if types is not None else []
        )
        tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
        self._tok = tok
        self.tokens = tokens
        self.special_ids = frozenset(vocab[s] for s in specials)
        self.bos_id = _opt_int(metadata.get("tokenizer.ggml.bos_token_id"))
        self.eos_id = _opt_int(metadata.get("tokenizer.ggml.eos_token_id"))
        self.source = src
        self.chat_template = metadata.get("tokenizer.chat_template")
        self._template: Any = None  # the compiled chat template (``apply_chat_template``)
        self._steps = [0]  # its range() loop steps in the current render
        if self.chat_template is not None and not isinstance(self.chat_template, str):
            raise DataError(
                f"{self.source}: tokenizer.chat_template is a {type(self.chat_template).__name__}"
                ", expected a string"
            )
        for name, tid in (("bos", self.bos_id), ("eos", self.eos_id)):
            if tid is not None and not 0 <= tid < len(tokens):
                raise DataError(
                    f"{self.source}: tokenizer.ggml.{name}_token_id={tid}, expected an id in "
                    f"0..{len(tokens) - 1}"
                )

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
        where = self.source
        if len(self.chat_template) > MAX_TEMPLATE_CHARS:
            raise DataError(
                f"{where}: tokenizer.chat_template has {len(self.chat_template)} characters, "
                f"expected at most {MAX_TEMPLATE_CHARS}"
            )
        import jinja2

        try:
            if self._template is None:  # compiled once; its loop budget restarts per render
                self._template = _sandbox(self._steps).from_string(self.chat_template)
            template = self._template
            self._steps[0] = 0
            parts: list[str] = []
            size = 0
            for piece in template.generate(
                messages=msgs,
                add_generation_prompt=add_generation_prompt,
                bos_token=self.tokens[self.bos_id] if self.bos_id is not None else "",
                eos_token=self.tokens[self.eos_id] if self.eos_id is not None else "",
            ):
                size += len(piece)
                if size > MAX_TEMPLATE_OUTPUT:
                    raise DataError(
                        f"{where}: tokenizer.chat_template renders more than "
                        f"{MAX_TEMPLATE_OUTPUT} characters, expected a prompt"
                    )
                parts.append(piece)
            return "".join(parts)
        except DataError:
            raise
        except jinja2.exceptions.SecurityError as exc:
            raise DataError(
                f"{where}: tokenizer.chat_template is refused by the sandbox: {_one_line(exc)}; "
                "expected a template that only reads messages, roles and contents"
            ) from None
        except (jinja2.TemplateError, ArithmeticError, TypeError, ValueError, LookupError,
                AttributeError, RecursionError, MemoryError) as exc:
            # The template is code from the file: whatever it raises is the file's fault.
            raise DataError(
                f"{where}: tokenizer.chat_template does not render "
                f"({type(exc).__name__}: {_one_line(exc)}); expected a jinja2 chat template"
            ) from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:200] + "..."


def _sandbox(steps: list[int]):
    """An ``ImmutableSandboxedEnvironment`` with the step and size limits of the module
    docstring; ``steps[0]`` counts the loop steps (its caller zeroes it before a render)."""
    import jinja2.ext
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class _Env(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset(["*", "**"])

        def call_binop(self, context, operator, left, right):  # noqa: ANN001, ANN201
            if operator == "**":
                if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and \
                        right * max(abs(left).bit_length(), 1) > 4 * MAX_TEMPLATE_OUTPUT:
                    raise SecurityError(f"{left} ** {right} is too large")
                return left ** right
            n = right if isinstance(right, int) else left if isinstance(left, int) else None
            other = left if n is right else right
            if n is not None and hasattr(other, "__len__") and \
                    n * len(other) > MAX_TEMPLATE_OUTPUT:
                raise SecurityError(
                    f"repeating a sequence of {len(other)} {n} times exceeds "
                    f"{MAX_TEMPLATE_OUTPUT} items"
                )
            return left * right

    def counted_range(*args: int) -> range:
        # Counted when created: a loop nested in a loop creates its range once per outer
        # item, so the count is the total number of iterations range() can feed.
        r = range(*args)
        steps[0] += len(r)
        if steps[0] > MAX_TEMPLATE_STEPS:
            raise SecurityError(f"range() loops exceed {MAX_TEMPLATE_STEPS} steps in total")
        return r

    def raise_exception(message: str) -> None:
        raise jinja2.TemplateError(str(message))

    env = _Env(
        undefined=jinja2.StrictUndefined, extensions=[jinja2.ext.loopcontrols]
    )
    env.globals["range"] = counted_range
    env.globals["raise_exception"] = raise_exception
    return env


def _opt_int(v: Any) -> int | None:
    return None if v is None else int(v)

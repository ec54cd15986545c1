from __future__ import annotations

import pytest

from neuralbrain.reasoning.planner.tokenizer import ChatMessage

from .helpers import shipped_model_and_tokenizer

TEXTS = [
    "put the seven in the tray",
    "move cube showing 3 to the bin",
    "In 2024, 1,234.5 apples cost $12!",
    "  leading spaces, tabs\tand\n\nnew lines  ",
    "naïve café — ünïcödé ✓ 日本語",
    "pick(cube_2)\nplace(tray)",
]


@pytest.fixture(scope="module")
def tok():
    return shipped_model_and_tokenizer()[1]


def test_uses_the_smollm_pretokenizer(tok):
    assert tok.pre == "smollm"


@pytest.mark.parametrize("text", TEXTS)
def test_round_trip(tok, text):
    assert tok.decode(tok.encode(text)) == text


def test_every_digit_is_its_own_token(tok):
    ids = tok.encode("year 2024 and 99 bottles")
    pieces = [tok.decode([i]) for i in ids]
    digits = [p for p in pieces if any(c.isdigit() for c in p)]
    assert [p.strip() for p in digits] == ["2", "0", "2", "4", "9", "9"]
    # The GPT-2 split alone would keep " 2024" together; the smollm split must not.
    assert all(len(p.strip()) == 1 for p in digits)


def test_control_tokens_are_single_ids(tok):
    ids = tok.encode("<|im_start|>user\nhi<|im_end|>")
    assert ids[0] == tok.encode("<|im_start|>")[0] and len(tok.encode("<|im_start|>")) == 1
    assert ids[-1] == tok.eos_id == 2  # <|im_end|> is the end-of-turn id of SmolLM2


def test_chat_template_renders_chatml(tok):
    text = tok.apply_chat_template([ChatMessage("user", "hello")])
    assert text.startswith("<|im_start|>system\n")
    assert "<|im_start|>user\nhello<|im_end|>\n" in text
    assert text.endswith("<|im_start|>assistant\n")


# -- the chat template is untrusted code: it renders in jinja2's sandbox --------
def _tok_with_template(template):
    from neuralbrain.reasoning.planner.tokenizer import GGUFTokenizer

    return GGUFTokenizer({
        "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.tokens": ["a", "b", "ab", "<s>"],
        "tokenizer.ggml.merges": ["a b"], "tokenizer.ggml.bos_token_id": 3,
        "tokenizer.chat_template": template, "neuralbrain.path": "/models/evil.gguf",
    })


HI = [ChatMessage("user", "hi")]


def test_sandbox_renders_an_ordinary_template():
    t = _tok_with_template(
        "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content | upper }}"
        "{% if loop.last %}.{% endif %}{% endfor %}{% if add_generation_prompt %}>{% endif %}"
    )
    assert t.apply_chat_template(HI) == "<s>[user] HI.>"


def test_the_compiled_template_gets_its_loop_budget_anew_each_render(monkeypatch):
    from neuralbrain.errors import DataError
    from neuralbrain.reasoning.planner import tokenizer

    monkeypatch.setattr(tokenizer, "MAX_TEMPLATE_STEPS", 30)
    t = _tok_with_template("{% for i in range(20) %}{% endfor %}{{ messages[0].content }}")
    for _ in range(3):  # 20 steps each: within 30 per render, 60 in all
        assert t.apply_chat_template(HI) == "hi"
    with pytest.raises(DataError, match=r"range\(\) loops exceed 30 steps"):
        _tok_with_template("{% for i in range(40) %}{% endfor %}").apply_chat_template(HI)


@pytest.mark.parametrize("template", [
    # the classic escapes: from a string or a dict to object, its subclasses, os, builtins
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ messages.__class__.__init__.__globals__ }}",
    "{{ raise_exception.__globals__['__builtins__'] }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    # mutation of what the caller passed in (the immutable sandbox)
    "{{ messages.append({'role': 'x'}) }}",
    "{{ messages[0].update({'content': 'pwned'}) }}",
])
def test_sandbox_refuses_attribute_access_and_mutation(template):
    from neuralbrain.errors import DataError

    t = _tok_with_template(template)
    with pytest.raises(DataError, match=r"^/models/evil.gguf: tokenizer.chat_template ") as e:
        t.apply_chat_template(HI)
    assert "\n" not in str(e.value)
    assert e.value.__cause__ is None and e.value.__context__ is not None  # raised from None


@pytest.mark.parametrize("template, why", [
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
     "range.. loops exceed"),
    ("{{ 'x' * 10**9 }}", "exceeds"),
    ("{{ 9 ** 99999999 }}", "too large"),
    ("{% for i in range(99999) %}{{ 'abcdefghijklmnop' }}{% endfor %}", "renders more than"),
    ("{{ 1 / 0 }}", "ZeroDivisionError"),
    ("{{ raise_exception('no system role') }}", "no system role"),
    ("{{ nope.x }}", "UndefinedError"),
    ("{% for %}", "TemplateSyntaxError"),
])
def test_templates_that_would_hang_explode_or_fail_are_data_errors(template, why):
    from neuralbrain.errors import DataError

    with pytest.raises(DataError, match=why):
        _tok_with_template(template).apply_chat_template(HI)


def test_template_size_and_type_and_special_ids_are_checked():
    from neuralbrain.errors import DataError
    from neuralbrain.reasoning.planner import tokenizer

    with pytest.raises(DataError, match=f"characters, expected at most {tokenizer.MAX_TEMPLATE_CHARS}"):
        _tok_with_template("x" * (tokenizer.MAX_TEMPLATE_CHARS + 1)).apply_chat_template(HI)
    with pytest.raises(DataError, match="chat_template is a int, expected a string"):
        _tok_with_template(7)
    with pytest.raises(DataError, match=r"bos_token_id=99, expected an id in 0..3"):
        tokenizer.GGUFTokenizer({
            "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.tokens": ["a", "b", "ab", "<s>"],
            "tokenizer.ggml.merges": ["a b"], "tokenizer.ggml.bos_token_id": 99,
        })

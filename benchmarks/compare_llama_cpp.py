"""Correctness anchor: our tokenizer and greedy decoding against llama.cpp on the same GGUF.

Needs ``llama_cpp`` (llama-cpp-python); without it the script says so and reports nulls.
Checks: identical token ids for a set of strings (llama.cpp tokenizes with special-token
parsing on, as our chat prompts need), and agreement of the first 32 greedy tokens over 10
chat prompts (target >= 95%). Our side runs on the ``cpu`` backend (``--backend`` to change),
by default emulating llama.cpp's numerics (``--numerics float`` for the plain float32 pass).
llama.cpp's x86 CPU path quantizes activations to 8-bit blocks before every Q4_1/Q8_0
product (Q8_1 blocks with an fp16 block sum for Q4_1, Q8_0 for the Q8_0 head), keeps K/V,
the attention queries and the softmax weights in fp16, and has its own float rounding in
every op (vectorized expf, libm cosf/sinf, fused multiply-adds, fixed summation orders). On
``cpu`` the emulation is ``CpuConfig(act_bits=8, ggml_order=True)`` (the W4A8 integer products
and the attention products summed in ggml's order) plus the model's ``numerics="llama.cpp"``
(``ggml_numerics``: ggml's RMSNorm, RoPE, softmax, SiLU); it reproduces llama.cpp's logits
bit for bit on this machine (AVX-512; ggml picks other kernels on other CPUs). Other
backends get activations rounded by the model (without Q8_1's fp16 block sums). Plain
float32 flips near-tied greedy tokens (top-2 logit margins below ~0.1), and one flip derails
the rest of a free-running sequence.

The teacher-forced figure runs our side as one batched pass over llama.cpp's continuation;
llama.cpp itself sums single-token attention products in another order than batched ones,
so that figure can be below the free-running one.

    python benchmarks/compare_llama_cpp.py [--model PATH] [--backend cpu] [--tokens 32]

Ends with one line of JSON.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

STRINGS = [
    "put the seven in the tray",
    "move cube showing 3 to the bin",
    "I want the eight in the box",
    "In 2024, 1,234.5 apples cost $12!",
    "  leading spaces, tabs\tand\n\nnew lines  ",
    "naïve café — ünïcödé ✓ 日本語",
    "pick(cube_2)\nplace(tray)\ndone()",
    "<|im_start|>user\nhello<|im_end|>\n",
    "don't you'll we've I'M 'quoted'",
    "x=3.14159e-10; y = [1,2,3]",
]

PROMPTS = [
    "What is the capital of France?",
    "Write one sentence about robots.",
    "Name three colors.",
    "What is 12 plus 7?",
    "Explain what a cube is.",
    "Give me a short tip for cooking rice.",
    "Which animal says moo?",
    "Translate 'thank you' into French.",
    "What does a robot arm do?",
    "List the days of the week.",
]


def _last_logits(llm) -> np.ndarray:
    """llama.cpp's logits of the last evaluated token (llama-cpp-python keeps ``scores`` only
    with ``logits_all=True``, which would also slow its prefill)."""
    return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="")
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--numerics", default="llama.cpp", choices=("float", "llama.cpp"),
                    help="our forward in plain float32, or emulating llama.cpp's 8-bit "
                    "activation blocks and fp16 attention operands (default)")
    args = ap.parse_args()

    from neuralbrain.hardware import make_backend
    from neuralbrain.reasoning.planner.gguf_model import load_gguf
    from neuralbrain.reasoning.planner.llama import LlamaModel
    from neuralbrain.reasoning.planner.tokenizer import ChatMessage, GGUFTokenizer

    gguf = load_gguf(args.model or None)
    tok = GGUFTokenizer(gguf.metadata)
    try:
        import llama_cpp
    except ImportError:
        print("llama_cpp (llama-cpp-python) is absent: nothing to compare against")
        print(json.dumps({"llama_cpp": None, "tokenization_identical": None,
                          "greedy_agreement": None, "teacher_forced_agreement": None}))
        return
    llm = llama_cpp.Llama(model_path=str(gguf.path), n_ctx=512, n_threads=1, verbose=False)
    same_tok = 0
    for s in STRINGS:
        ours = tok.encode(s)
        theirs = llm.tokenize(s.encode("utf-8"), add_bos=False, special=True)
        ok = list(ours) == list(theirs)
        same_tok += ok
        if not ok:
            print(f"tokenization differs for {s!r}:\n  ours   {ours}\n  theirs {theirs}")
    config = None
    if args.backend == "cpu" and args.numerics == "llama.cpp":
        from neuralbrain.hardware.cpu import CpuConfig

        config = CpuConfig(act_bits=8, ggml_order=True)
    lm = LlamaModel(gguf, make_backend(args.backend, config), n_ctx=512, numerics=args.numerics)
    agree = total = forced_agree = 0
    for p in PROMPTS:
        ids = tok.encode(tok.apply_chat_template([ChatMessage("user", p)]))
        lm.reset()
        logits = lm.forward(ids)
        ours = []
        for _ in range(args.tokens):
            ours.append(int(np.argmax(logits[-1])))
            logits = lm.forward([ours[-1]])
        llm.reset()
        llm.eval(ids)
        theirs = []
        for _ in range(args.tokens):
            theirs.append(int(np.argmax(_last_logits(llm))))
            llm.eval([theirs[-1]])
        # Free-running agreement, position by position (one flipped near-tie derails the rest).
        a = sum(x == y for x, y in zip(ours, theirs, strict=True))
        agree += a
        total += args.tokens
        # Teacher-forced: our greedy choice after llama.cpp's own continuation, step by step.
        lm.reset()
        forced = lm.forward(ids + theirs[:-1], all_logits=True)[len(ids) - 1 :].argmax(axis=1)
        forced_agree += int(np.sum(forced == np.array(theirs)))
        print(f"{a:2d}/{args.tokens} {p!r}\n  ours   {tok.decode(ours)!r}\n  theirs "
              f"{tok.decode(theirs)!r}")
    rate = agree / total
    forced_rate = forced_agree / total
    print(f"tokenization identical on {same_tok}/{len(STRINGS)} strings; greedy agreement "
          f"{rate:.1%} (target >= 95%); teacher-forced next-token agreement {forced_rate:.1%}")
    print(json.dumps({"llama_cpp": llama_cpp.__version__,
                      "tokenization_identical": same_tok / len(STRINGS),
                      "greedy_agreement": round(rate, 4),
                      "teacher_forced_agreement": round(forced_rate, 4), "backend": args.backend,
                      "numerics": args.numerics}))


if __name__ == "__main__":
    main()

"""Prefill and decode speed of the LLM planner's forward pass on ``cpu`` and ``lut``.

Three of ours: ``cpu`` (float32 activations, BLAS over the dequantized weights),
``cpu_w4a8`` (``CpuConfig(act_bits=8)``: 8-bit activation blocks, numba integer kernel on the
4-bit codes for matrix-vector products -- llama.cpp's own numerics), and ``lut``.

Peers measured in the same run: llama.cpp (llama-cpp-python) on the same GGUF when it is
installed. Default 1 thread (numpy BLAS limited through threadpoolctl; the lut kernel is
single-threaded); the 2-thread figures are printed beside them. Also reports the lut
backend's int8-table deviation from the exact product (logits on the prompt), the joules per
token each backend's cost model books, and the LUT-vs-MAC energy/density model for the
model's own GEMM shapes.

Kernel families (``NEURALBRAIN_KERNELS``): ``--kernels avx2`` (or ``avx512``, ``portable``,
``auto``) sets the variable before anything is imported, so ``cpu_w4a8`` and ``lut`` run that
family; a comma-separated list (``--kernels avx512,avx2``) times each family in the same run
and reports their ratios (``cpu`` float runs once: it is BLAS). The family each backend ran is
printed and recorded (``*_kernels``). Decode is also reported per second of this process's
CPU time (``*_decode_tok_per_cpu_s``), which a neighbour's load on a shared machine does not
slow, and ``--repeat N`` interleaves N timings of each and keeps the best. A forced family
still sits in code that numba compiles for the host CPU (it may use AVX-512 around the forced
kernels); ``--no-avx512`` makes numba compile everything as on this CPU without AVX-512
(``NUMBA_CPU_FEATURES``, see ``qmatrix.features_without_avx512``), so avx2 figures are those
of an AVX2-only CPU of the same kind, except for numpy's BLAS, which picks its kernels at
import: add ``OPENBLAS_CORETYPE=Haswell`` to the environment to pin it to its AVX2 kernels
as well.

    python benchmarks/bench_planner.py [--model PATH] [--prompt-tokens 128] [--decode 32]
        [--kernels avx512,avx2] [--no-avx512] [--repeat 2] [--deviation-only]

Ends with one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
from compare_llama_cpp import _last_logits  # the script's folder is on sys.path


def _prompt_ids(tok, n: int) -> list[int]:
    text = (
        "The robot arm looks at the table. There are cubes with numbers on them: a three, "
        "a seven and an eight. A person asks it to put the seven in the tray and the eight in "
        "the box, then to tell them what is left on the table. "
    )
    ids = tok.encode(text * (1 + n // 40))
    return ids[:n]


def _backend(name: str):
    """``cpu_w4a8`` is the cpu backend with 8-bit activation blocks (``CpuConfig(act_bits=8)``:
    llama.cpp's numerics, integer matrix-vector kernel on the 4-bit codes)."""
    from neuralbrain.hardware import make_backend

    if name == "cpu_w4a8":
        from neuralbrain.hardware.cpu import CpuConfig

        return make_backend("cpu", CpuConfig(act_bits=8))
    return make_backend(name)


def bench_ours(gguf, tok, backend_name: str, n_prompt: int, n_decode: int, threads: int):
    from threadpoolctl import threadpool_limits

    from neuralbrain.reasoning.planner.llama import LlamaModel

    lm = LlamaModel(gguf, _backend(backend_name), n_ctx=n_prompt + n_decode + 8)
    ids = _prompt_ids(tok, n_prompt)
    with threadpool_limits(threads):
        lm.forward(ids[:4])  # warm-up (numba compile, BLAS init)
        lm.reset()
        lm.ledger.reset()
        t0 = time.perf_counter()
        logits = lm.forward(ids)
        prefill = len(ids) / (time.perf_counter() - t0)
        e_prefill = lm.ledger.total.energy_j / len(ids)
        booked = {b.op: b.cost.energy_j for b in lm.ledger.drain()}
        elementwise_share = booked.get("elementwise", 0.0) / sum(booked.values())
        out = []
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n_decode):
            nxt = int(np.argmax(logits[-1]))
            out.append(nxt)
            logits = lm.forward([nxt])
        decode = n_decode / (time.perf_counter() - t0)
        # tokens per second of this process's CPU time: on a shared machine a neighbour's load
        # slows the wall clock but not this (one thread: the kernels are single-threaded)
        decode_cpu = n_decode / (time.process_time() - c0)
    return prefill, decode, decode_cpu, e_prefill, elementwise_share, out


def bench_llama_cpp(path: str, tok, n_prompt: int, n_decode: int, threads: int):
    try:
        import llama_cpp
    except ImportError:
        return None
    ids = _prompt_ids(tok, n_prompt)
    llm = llama_cpp.Llama(model_path=path, n_ctx=n_prompt + n_decode + 8, n_threads=threads,
                          n_threads_batch=threads, n_batch=512, verbose=False)
    llm.eval(ids[:4])
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(ids)
    prefill = len(ids) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(n_decode):
        nxt = int(np.argmax(_last_logits(llm)))
        llm.eval([nxt])
    decode = n_decode / (time.perf_counter() - t0)
    return prefill, decode


def table_quant_deviation(gguf, tok, n: int = 24) -> dict:
    from neuralbrain.hardware import make_backend
    from neuralbrain.hardware.lut import LutConfig
    from neuralbrain.reasoning.planner.llama import LlamaModel

    ids = _prompt_ids(tok, n)
    ref = LlamaModel(gguf, make_backend("cpu"), n_ctx=n).forward(ids, all_logits=True)
    out = {"deviation_tokens": n}
    for tb, tag in ((0, "exact"), (8, "int8")):
        q = LlamaModel(gguf, make_backend("lut", LutConfig(table_bits=tb)), n_ctx=n).forward(
            ids, all_logits=True)
        out[f"lut_{tag}_logit_max_rel_dev"] = float(np.abs(q - ref).max() / np.abs(ref).max())
        out[f"lut_{tag}_top1_agreement"] = float(np.mean(q.argmax(1) == ref.argmax(1)))
    return out


def _blas() -> str:
    """numpy's BLAS and the kernel family it runs: the ``cpu`` backend's float products run
    there. Some machines pin ``OPENBLAS_CORETYPE`` (e.g. to "Haswell", for older OpenBLAS
    builds), which slows a current numpy; run with that variable (and ``OPENBLAS_L2_SIZE``)
    unset to measure with OpenBLAS's own choice (AVX-512 "SkylakeX" kernels on Zen 4)."""
    from threadpoolctl import threadpool_info

    info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not info:
        return "unknown"
    return f"{info[0].get('internal_api')} {info[0].get('version')} {info[0].get('architecture')}"


def _kernel_families(backend_name: str) -> str:
    """The kernel family ``backend_name`` runs now (``cpu`` float: numpy's BLAS)."""
    if backend_name == "cpu":
        return "blas"
    if backend_name == "lut":
        from neuralbrain.hardware.lut import kernel_family
    else:
        from neuralbrain.hardware.qmatrix import kernel_family
    return kernel_family()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="")
    ap.add_argument("--prompt-tokens", type=int, default=128)
    ap.add_argument("--decode", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--kernels", default=os.environ.get("NEURALBRAIN_KERNELS", "auto"),
                    help="kernel family or comma-separated families (auto, avx512, avx2, "
                    "portable): NEURALBRAIN_KERNELS for cpu_w4a8 and lut")
    ap.add_argument("--no-avx512", action="store_true",
                    help="numba compiles as on this CPU without AVX-512 (NUMBA_CPU_FEATURES)")
    ap.add_argument("--deviation-only", action="store_true",
                    help="only the lut backend's logit deviation from float32 cpu (exact and "
                    "int8 tables, 24 prompt tokens), as JSON")
    ap.add_argument("--repeat", type=int, default=1,
                    help="time each (family, backend) this many times, interleaved, and keep "
                    "the best figures (as for llama.cpp)")
    args = ap.parse_args()
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    families = [f.strip() for f in args.kernels.split(",") if f.strip()] or ["auto"]
    if args.no_avx512:
        import sys

        from neuralbrain.hardware.qmatrix import features_without_avx512

        if "numba" in sys.modules:  # numba reads its target once, when imported
            raise SystemExit("--no-avx512: numba was imported before the target could be set")
        os.environ["NUMBA_CPU_FEATURES"] = features_without_avx512()
    # Set before any kernel is placed or compiled; checked (a ConfigError names a family the
    # CPU lacks) before anything is timed.
    os.environ["NEURALBRAIN_KERNELS"] = families[0]

    from neuralbrain.hardware.lut import mac_comparison
    from neuralbrain.reasoning.planner.gguf_model import load_gguf
    from neuralbrain.reasoning.planner.tokenizer import GGUFTokenizer

    for fam in families:  # an unknown family, or one this CPU lacks, stops here (ConfigError)
        os.environ["NEURALBRAIN_KERNELS"] = fam
        for name in ("cpu_w4a8", "lut"):
            _kernel_families(name)
    gguf = load_gguf(args.model or None)
    tok = GGUFTokenizer(gguf.metadata)
    if args.deviation_only:  # the lut backend's logits against float32 cpu, nothing timed
        print(json.dumps(table_quant_deviation(gguf, tok)))
        return
    hp = gguf.hparams
    res: dict = {"model": gguf.path.name, "prompt_tokens": args.prompt_tokens,
                 "decode_tokens": args.decode, "threads": args.threads, "blas": _blas(),
                 "kernels": families, "numba_target": "host without AVX-512"
                 if args.no_avx512 else "host"}
    print(f"BLAS: {res['blas']}; numba compiles for the {res['numba_target']}")
    many = len(families) > 1
    outs: dict = {}
    for threads, suffix in ((args.threads, ""), (2, "_2t")):
        # llama.cpp is timed before and after ours and its better figures kept: on a shared
        # machine a neighbour's load can start mid-run, and this keeps our ratios conservative.
        # With --repeat our figures are likewise the best of the repetitions.
        llc_before = bench_llama_cpp(str(gguf.path), tok, args.prompt_tokens, args.decode, threads)
        for rep in range(max(1, args.repeat)):
            for fi, fam in enumerate(families):
                os.environ["NEURALBRAIN_KERNELS"] = fam
                tag = f"_{fam}" if many else ""
                for name in ("cpu", "cpu_w4a8", "lut"):
                    if suffix and (name != "cpu" or rep):
                        continue  # the numba kernels are single-threaded: a 2-thread figure adds nothing
                    if fi and name == "cpu":
                        continue  # float cpu is BLAS whatever the family: timed once a repetition
                    key = name + (tag if name != "cpu" else "")
                    kernels = _kernel_families(name)
                    pre, dec, dec_cpu, e_tok, share, out = bench_ours(
                        gguf, tok, name, args.prompt_tokens, args.decode, threads)
                    for what, v in (("prefill_tok_s", pre), ("decode_tok_s", dec),
                                    ("decode_tok_per_cpu_s", dec_cpu)):
                        k = f"{key}_{what}{suffix}"
                        res[k] = max(res.get(k, 0.0), round(v, 1))
                    if not suffix and not rep:
                        res[f"{key}_kernels"] = kernels
                        res[f"{key}_model_j_per_prefill_token"] = e_tok
                        res[f"{key}_elementwise_energy_share"] = round(share, 4)
                        outs[key] = out
                    print(f"{key:>16} {threads}t [{kernels:>8}]: prefill {pre:8.1f} tok/s  "
                          f"decode {dec:6.1f} tok/s ({dec_cpu:6.1f} per CPU second)")
        llc = bench_llama_cpp(str(gguf.path), tok, args.prompt_tokens, args.decode, threads)
        if llc is not None:
            llc = (max(llc[0], llc_before[0]), max(llc[1], llc_before[1]))
        res[f"llama_cpp_prefill_tok_s{suffix}"] = None if llc is None else round(llc[0], 1)
        res[f"llama_cpp_decode_tok_s{suffix}"] = None if llc is None else round(llc[1], 1)
        if llc is None:
            print(f"llama.cpp {threads}t: absent (pip install llama-cpp-python to compare)")
        else:
            print(f"llama.cpp {threads}t: prefill {llc[0]:8.1f} tok/s  decode {llc[1]:6.1f} tok/s")
    first = f"_{families[0]}" if many else ""
    res["lut_cpu_same_greedy_tokens"] = outs["cpu"] == outs[f"lut{first}"]
    res["cpu_w4a8_same_greedy_tokens_as_cpu"] = float(np.mean(
        np.array(outs["cpu"]) == np.array(outs[f"cpu_w4a8{first}"])))
    if many:  # bit-identical families decode the same tokens
        res["families_same_greedy_tokens"] = all(
            outs[f"{n}_{f}"] == outs[f"{n}{first}"] for n in ("cpu_w4a8", "lut") for f in families)
    ours = ["cpu"] + [f"{n}_{f}" if many else n for f in families for n in ("cpu_w4a8", "lut")]
    for key in ours:
        for phase in ("prefill", "decode"):
            ref = res[f"llama_cpp_{phase}_tok_s"]
            res[f"{key}_{phase}_vs_llama_cpp"] = (
                None if not ref else round(res[f"{key}_{phase}_tok_s"] / ref, 3))
    if many:  # the families against the first, in the same run (the peer may be absent)
        for n in ("cpu_w4a8", "lut"):
            for f in families[1:]:
                for phase in ("prefill_tok_s", "decode_tok_s", "decode_tok_per_cpu_s"):
                    res[f"{n}_{phase}_{f}_vs_{families[0]}"] = round(
                        res[f"{n}_{f}_{phase}"] / res[f"{n}{first}_{phase}"], 3)
    res.update(table_quant_deviation(gguf, tok))
    for tb, tag in ((0, "fp32"), (8, "int8")):
        per_layer = [mac_comparison(1, k, n, 4, tb) for k, n in (
            (hp.d_model, hp.d_model + 2 * hp.n_head_kv * hp.head_dim), (hp.d_model, hp.d_model),
            (hp.d_model, 2 * hp.d_ff), (hp.d_ff, hp.d_model))]
        lut_e = sum(c["lut_energy_j"] for c in per_layer)
        mac_e = sum(c["mac_energy_j"] for c in per_layer)
        res[f"lut_{tag}_energy_ratio_mac_over_lut"] = round(mac_e / lut_e, 3)
        res[f"lut_{tag}_density_ratio_lut_over_mac"] = round(
            per_layer[0]["density_ratio_lut_over_mac"], 3)
    res["paper_lut_tc_gain_over_prior_lut"] = 1.44
    # What each prefill reads: only lut multiplies on the 4-bit codes as llama.cpp's Q4_1
    # kernels do (the same work); cpu and cpu_w4a8's batched rows run float32 BLAS over the
    # weights dequantized at load (8x the memory of the codes).
    res["prefill_weights_read"] = {"cpu": "float32, dequantized at load",
                                   "cpu_w4a8": "float32, dequantized at load (rows > 4)",
                                   "lut": "4-bit codes", "llama_cpp": "4-bit codes (Q4_1)"}
    lut_key = f"lut{first}"
    res["prefill_vs_llama_cpp_same_work"] = res[f"{lut_key}_prefill_vs_llama_cpp"]
    res["prefill_vs_llama_cpp_dequantized_float32"] = res["cpu_prefill_vs_llama_cpp"]
    print(f"prefill vs llama.cpp, same work (4-bit codes, lut): "
          f"{res['prefill_vs_llama_cpp_same_work']}; float32 over weights dequantized at load "
          f"(cpu): {res['prefill_vs_llama_cpp_dequantized_float32']}")
    line = [f"cpu/llama.cpp prefill {res['cpu_prefill_vs_llama_cpp']}, decode "
            f"{res['cpu_decode_vs_llama_cpp']}"]
    for f in families:
        w, lt = (f"cpu_w4a8_{f}", f"lut_{f}") if many else ("cpu_w4a8", "lut")
        line.append(f"[{res[w + '_kernels']}] cpu_w4a8 prefill {res[w + '_prefill_vs_llama_cpp']}, "
                    f"decode {res[w + '_decode_vs_llama_cpp']}; [{res[lt + '_kernels']}] lut "
                    f"decode {res[lt + '_decode_vs_llama_cpp']}")
    for f in families[1:]:
        line.append(f"{f}/{families[0]} decode (per CPU second): cpu_w4a8 "
                    f"{res[f'cpu_w4a8_decode_tok_s_{f}_vs_{families[0]}']} "
                    f"({res[f'cpu_w4a8_decode_tok_per_cpu_s_{f}_vs_{families[0]}']}), lut "
                    f"{res[f'lut_decode_tok_s_{f}_vs_{families[0]}']} "
                    f"({res[f'lut_decode_tok_per_cpu_s_{f}_vs_{families[0]}']})")
    print("; ".join(line))
    print(json.dumps(res))


if __name__ == "__main__":
    main()

"""The planner's forward pass tensor-parallel on ``t3``: simulated latency per token, by TP
degree and communication scheme, and what the simulation costs in wall time.

For each TP degree (1, 2, 3, 4, 8) and each scheme of ``t3_model.SCHEMES`` the shipped
SmolLM2-135M prefills a fixed prompt and then decodes tokens one at a time on ``t3`` (ranks:
the T3 paper's GPU, or ``--device lut``); printed are the simulated latency per token the
ledger books (prefill: the prompt's total over its tokens; decode: the mean of the steps),
split into compute (``gemm``, attention, element-wise) and exposed communication
(``reduce_scatter`` + ``all_gather``), and the speedup of each scheme over ``sequential``.
SmolLM2's 9 heads (3 KV heads) split unevenly at TP 2, 4 and 8 (``llama.tensor_parallel_shares``:
whole heads per rank, a straddled KV head replicated); a TP degree the model cannot shard at
all (more ranks than heads) is printed with the reason.

Peer in the same run: the same forward on ``cpu`` with the same numerics (W4A8) and no
simulation; ``sim_overhead`` = wall time on ``t3`` / wall time on ``cpu``.

    python benchmarks/bench_t3.py [--device gpu|lut] [--prompt-tokens 64] [--decode 4]

Ends with one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from bench_planner import _prompt_ids  # the script's folder is on sys.path

from neuralbrain.energy import Ledger
from neuralbrain.errors import ConfigError
from neuralbrain.hardware import make_backend
from neuralbrain.hardware.cpu import CpuConfig
from neuralbrain.hardware.t3 import T3Config
from neuralbrain.hardware.t3_model import SCHEMES
from neuralbrain.reasoning.planner.llama import LlamaModel
from neuralbrain.reasoning.planner.planner import load_model

TPS = (1, 2, 3, 4, 8)
COMM = ("reduce_scatter", "all_gather")


def run(gguf, ids: list[int], n_decode: int, backend) -> dict:
    """Prefill ``ids`` then decode ``n_decode`` tokens; simulated seconds per token (total and
    communication) and the wall seconds it took."""
    ledger = Ledger()
    lm = LlamaModel(gguf, backend, ledger, n_ctx=len(ids) + n_decode + 1)
    ledger.drain()
    t0 = time.perf_counter()
    logits = lm.forward(ids)
    prefill = ledger.drain()
    decode = []
    for _ in range(n_decode):
        logits = lm.forward([int(np.argmax(logits[-1]))])
        decode.append(ledger.drain())
    wall = time.perf_counter() - t0

    def seconds(bookings, ops=None) -> float:
        return sum(b.cost.latency_s for b in bookings if ops is None or b.op in ops)

    return {
        "prefill_s_per_token": seconds(prefill) / len(ids),
        "prefill_comm_s_per_token": seconds(prefill, COMM) / len(ids),
        "decode_s_per_token": float(np.mean([seconds(d) for d in decode])),
        "decode_comm_s_per_token": float(np.mean([seconds(d, COMM) for d in decode])),
        "energy_j_per_token": sum(b.cost.energy_j for d in [prefill, *decode] for b in d)
        / (len(ids) + n_decode),
        "wall_s": wall,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="gpu", choices=("gpu", "lut"))
    ap.add_argument("--prompt-tokens", type=int, default=64)
    ap.add_argument("--decode", type=int, default=4)
    args = ap.parse_args()
    gguf, tok = load_model("")
    ids = _prompt_ids(tok, args.prompt_tokens)
    run(gguf, ids, 1, make_backend("cpu", CpuConfig(act_bits=8)))  # warm: kernels, placements
    peer = run(gguf, ids, args.decode, make_backend("cpu", CpuConfig(act_bits=8)))
    print(f"SmolLM2-135M, {len(ids)}-token prefill + {args.decode} decode steps, ranks: "
          f"{args.device}; peer: cpu (W4A8) wall {peer['wall_s']:.2f} s")
    print(f"{'tp':>3} {'scheme':<11} {'prefill us/tok':>14} {'comm':>8} {'decode us/tok':>14} "
          f"{'comm':>8} {'speedup p/d':>12} {'sim wall s':>10} {'x cpu':>6}")
    results: dict = {"device": args.device, "prompt_tokens": len(ids), "decode": args.decode,
                     "cpu_wall_s": peer["wall_s"], "runs": {}}
    for tp in TPS:
        seq = None
        for scheme in SCHEMES:
            cfg = T3Config(tp=tp, device=args.device, scheme=scheme, act_bits=8)
            try:
                r = run(gguf, ids, args.decode, make_backend("t3", cfg))
            except ConfigError as err:
                print(f"{tp:>3} n/a: {err}")
                results["runs"][str(tp)] = {"error": str(err)}
                break
            seq = seq or r
            r["speedup_prefill"] = seq["prefill_s_per_token"] / r["prefill_s_per_token"]
            r["speedup_decode"] = seq["decode_s_per_token"] / r["decode_s_per_token"]
            r["sim_overhead"] = r["wall_s"] / peer["wall_s"]
            results["runs"].setdefault(str(tp), {})[scheme] = r
            print(f"{tp:>3} {scheme:<11} {r['prefill_s_per_token'] * 1e6:>14.2f} "
                  f"{r['prefill_comm_s_per_token'] * 1e6:>8.2f} "
                  f"{r['decode_s_per_token'] * 1e6:>14.2f} {r['decode_comm_s_per_token'] * 1e6:>8.2f} "
                  f"{r['speedup_prefill']:>5.2f}/{r['speedup_decode']:<5.2f} "
                  f"{r['wall_s']:>10.2f} {r['sim_overhead']:>6.2f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()

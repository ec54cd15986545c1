"""A llama decoder forward pass whose matrix products all run on a neuralbrain backend.

Per block ``l`` with residual stream ``x`` (Touvron et al., "LLaMA", 2023; the GGUF layout of
llama.cpp):

    h   = RMSNorm(x) * g_attn,           RMSNorm(x) = x / sqrt(mean(x^2) + eps)
    q,k,v = h Wq, h Wk, h Wv             (one fused product)
    q,k = RoPE(q), RoPE(k)               adjacent pairs (x_2i, x_2i+1) rotated by
                                         angle p * base^(-2i/d_head) (llama.cpp's normal mode)
    a   = softmax(q k^T / sqrt(d_head) + causal mask) v, grouped-query: query head j reads
                                         kv head j // (n_head / n_head_kv)
    x   = x + a Wo
    h   = RMSNorm(x) * g_ffn
    x   = x + (SiLU(h Wgate) * (h Wup)) Wdown     (SwiGLU, Shazeer 2020)

and ``logits = RMSNorm(x) * g_out @ E^T`` with ``E`` the output head (``output.weight``, or the
token embedding when the file ties them, as SmolLM2 does).

What the backend must offer is ``NEEDS`` (checked when the model is built; a module running
the model declares it in its ``requires``). Weight products go to ``backend.mpgemm`` on the
stored low-bit codes; attention's activation-by-activation products (``q k^T``, ``p v``) go
to ``backend.matmul``. Every op's ``Cost`` is booked in the module's ``Ledger`` with the
backend's name; the element-wise ops (norms, RoPE, softmax, SwiGLU, residual adds: O(d) per
token against O(d^2) for the products) are counted in fp32 multiplies and adds
(``elementwise_ops``) and charged as the actions ``mult_fp32`` and ``add_fp32`` under
``"elementwise"``.
``numerics="llama.cpp"`` reproduces llama.cpp's x86 CPU arithmetic (for the comparison in
``benchmarks/compare_llama_cpp.py``): fp16 queries, keys, values and softmax weights, ggml's
rounding of RoPE, softmax and SiLU (``ggml_numerics``), one attention product per head, and
8-bit activation blocks before the weight products (rounded by the model, or by a backend
that does it itself such as ``CpuConfig(act_bits=8)``). The KV cache holds keys/values of
the first ``n_past`` positions; ``truncate(n)`` rewinds it,
which is how candidate continuations share one prompt prefill; ``kv()`` and ``restore``
take a slot's keys and values out and back in (the planner's disk prompt cache).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neuralbrain.core import Needs
from neuralbrain.energy import Ledger
from neuralbrain.errors import BudgetExceeded, ConfigError, ShapeError
from neuralbrain.hardware import check_backend
from neuralbrain.hardware.base import Backend, PlacedMatrix
from neuralbrain.hardware.qmatrix import QWeight, concat_out, quantize_act_q8
from neuralbrain.reasoning.planner import ggml_numerics as ggml
from neuralbrain.reasoning.planner.gguf_model import GGUFModel, GGUFTensor

# What a llama forward pass asks of its backend: weight products on the stored low-bit codes,
# attention products on activations, the element-wise work as fp32 multiplies and adds.
NEEDS = Needs(ops={"mpgemm", "matmul"}, actions={"mult_fp32", "add_fp32"})


class Linear:
    """One weight product ``x @ W.T`` by ``mpgemm`` on the stored codes, booked as ``mpgemm``.

    ``tensors`` are GGUF tensors reading the same input; their outputs are concatenated (one
    fused product). ``split`` ("column" or "row") is how a tensor-parallel backend shards the
    layer (Megatron: the products producing heads or hidden units by output features, those
    reading them back by input features), ``shares`` what each rank holds
    (``tensor_parallel_shares``); other backends place it whole.
    """

    def __init__(self, tensors: list[GGUFTensor | QWeight], backend: Backend, ledger: Ledger,
                 split: str | None = None, shares: list | None = None) -> None:
        self.backend, self.ledger = backend, ledger
        parts = [t if isinstance(t, QWeight) else t.block_quant() for t in tensors]
        if split and "tensor_parallel" in backend.capabilities:
            self.handle, cost = backend.place_parallel(parts, split, shares)
        else:
            self.handle, cost = backend.place(concat_out(parts))
        ledger.book("place", cost, backend=backend.name)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y, cost = self.backend.mpgemm(x, self.handle)
        self.ledger.book("mpgemm", cost, backend=self.backend.name)
        return y


def check_tensor_parallel(hp, tp: int) -> None:
    """Raise ConfigError unless ``tp`` ranks can each own at least one whole attention head
    and one whole 32-input block of feed-forward units (``tensor_parallel_shares``)."""
    blocks = hp.d_ff // 32
    if hp.head_dim % 32 or hp.d_ff % 32:
        raise ConfigError(f"head size {hp.head_dim} and feed-forward size {hp.d_ff}: expected "
                          "multiples of the 32-input quantization block to shard them")
    if tp > hp.n_head or tp > blocks:
        raise ConfigError(f"tp={tp} leaves a rank without an attention head or feed-forward "
                          f"block: expected tp <= {min(hp.n_head, blocks)} (the model has "
                          f"{hp.n_head} heads and {blocks} blocks of 32 feed-forward units)")


def tensor_parallel_shares(hp, tp: int) -> dict[str, list]:
    """What each of ``tp`` ranks holds of a layer, Megatron-style with whole heads.

    Query heads are cut into ``tp`` contiguous runs as evenly as they go (9 heads on 4 ranks:
    3, 2, 2, 2); a rank also computes the KV heads its query heads read, so a KV head whose
    group straddles two ranks is replicated on both (as vLLM does when ``tp`` exceeds the KV
    heads). The output projection reads back the rank's own heads; feed-forward units are cut
    in whole 32-unit blocks. Returns the ``place_parallel`` shares of "qkv", "o", "gate_up"
    and "down"."""
    hd, group = hp.head_dim, hp.n_head // hp.n_head_kv
    qkv, o, gate_up, down = [], [], [], []
    for heads, blocks in zip(np.array_split(np.arange(hp.n_head), tp),
                             np.array_split(np.arange(hp.d_ff // 32), tp), strict=True):
        kv = np.unique(heads // group)
        q_cols = (heads[:, None] * hd + np.arange(hd)).ravel()
        kv_cols = (kv[:, None] * hd + np.arange(hd)).ravel()
        qkv.append([q_cols, kv_cols, kv_cols])
        o.append((int(heads[0]) * hd, (int(heads[-1]) + 1) * hd))
        units = np.arange(int(blocks[0]) * 32, (int(blocks[-1]) + 1) * 32)
        gate_up.append([units, units])
        down.append((int(units[0]), int(units[-1]) + 1))
    return {"qkv": qkv, "o": o, "gate_up": gate_up, "down": down}


def q8_activations(x: np.ndarray, block: int = 32) -> np.ndarray:
    """``x`` rounded as llama.cpp's x86 CPU kernels quantize activations (Q8_0/Q8_1 blocks).

    Per block of 32: ``d = max|x| / 127`` stored as fp16, ``q = round_half_even(x * 127 /
    max|x|)``; the product then sees ``d * q``. Used by ``numerics="llama.cpp"`` on backends
    that take float activations; a backend that rounds activations itself (``act_bits=8``,
    e.g. ``CpuConfig(act_bits=8)``, which also reproduces Q8_1's fp16 block sums) gets ``x``
    unrounded.
    """
    q, d, _ = quantize_act_q8(np.asarray(x, np.float32).reshape(-1, block), block)
    return (q * d).reshape(x.shape)


def _placed(cache_view: np.ndarray) -> np.ndarray:
    """A K/V cache slice as an already-placed matrix: the cache is the device's own memory,
    written only by ``forward`` with finite values, so ops need not re-check it per call."""
    return cache_view.view(PlacedMatrix)


def _f16(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float16).astype(np.float32)


# An exp as ggml's ggml_v_expf computes it: 7 fused multiply-adds, 1 multiply, 2 adds (the
# range reduction and the degree-5 polynomial), i.e. 8 multiplies and 9 adds.
EXP_MULTS, EXP_ADDS = 8, 9


def elementwise_ops(hp, T: int, p1: int, out_rows: int) -> tuple[int, int]:
    """fp32 multiplies and adds of the element-wise ops of one forward of ``T`` tokens whose
    attention reads ``p1`` positions (divisions and square roots counted as one multiply):

    - RMSNorm: per element square, sum, scale, gain (3 mult + 1 add), per row sqrt + divide;
      two per block on ``T`` rows, the final one on ``out_rows``;
    - RoPE: per rotated pair 4 mult + 2 add, on queries and keys;
    - softmax: per score (``n_head * T * p1``, masked ones included, as computed) the 1/sqrt(d)
      scale, subtract-max, exp, sum and normalize; max is one compare (an add);
    - SwiGLU: per hidden unit exp, add, divide, multiply by ``up``;
    - residual adds: two per block per element.
    """
    d, L = hp.d_model, hp.n_layer
    norm_rows = 2 * L * T + out_rows
    mults = norm_rows * (3 * d + 2)
    adds = norm_rows * d
    pairs = T * (hp.n_head + hp.n_head_kv) * hp.head_dim // 2
    mults += L * pairs * 4
    adds += L * pairs * 2
    scores = L * hp.n_head * T * p1
    mults += scores * (2 + EXP_MULTS)
    adds += scores * (3 + EXP_ADDS)
    hidden = L * T * hp.d_ff
    mults += hidden * (EXP_MULTS + 2)
    adds += hidden * (EXP_ADDS + 1)
    adds += L * 2 * T * d
    return int(mults), int(adds)


def rms_norm(x: np.ndarray, g: np.ndarray, eps: float) -> np.ndarray:
    """``x / sqrt(mean(x^2) + eps) * g`` computed as ggml does (squares summed in float64,
    one float32 reciprocal scale), which reproduces llama.cpp's result bit for bit."""
    ss = np.sum((x * x).astype(np.float64), axis=-1, keepdims=True)
    mean = (ss / x.shape[-1]).astype(np.float32)
    return (x * (np.float32(1.0) / np.sqrt(mean + np.float32(eps)))) * g


def rope_tables(n_pos: int, head_dim: int, base: float) -> tuple[np.ndarray, np.ndarray]:
    """cos/sin of ``p * base^(-2i/head_dim)`` for positions ``p < n_pos``, pairs ``i``."""
    inv = base ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    ang = np.arange(n_pos, dtype=np.float64)[:, None] * inv[None, :]
    return np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)


def apply_rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Rotate adjacent pairs of ``x`` (T, heads, head_dim) by the per-position angles (T, hd/2)."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    c, s = cos[:, None, :], sin[:, None, :]
    out = np.empty_like(x)
    out[..., 0::2] = x0 * c - x1 * s
    out[..., 1::2] = x0 * s + x1 * c
    return out


class LlamaModel:
    """The forward pass of a llama GGUF on ``backend`` with a KV cache of ``n_ctx`` positions."""

    def __init__(
        self, gguf: GGUFModel, backend: Backend, ledger: Ledger | None = None, n_ctx: int = 2048,
        numerics: str = "float",
    ) -> None:
        hp = gguf.hparams
        if n_ctx < 1:
            raise ShapeError(f"n_ctx={n_ctx}: expected a positive context length")
        if numerics not in ("float", "llama.cpp"):
            raise ShapeError(f"numerics={numerics!r}: expected 'float' or 'llama.cpp'")
        check_backend(backend, "the llama forward pass", NEEDS.ops, NEEDS.actions)
        shares: dict[str, list | None] = dict.fromkeys(("qkv", "o", "gate_up", "down"))
        if "tensor_parallel" in backend.capabilities:
            check_tensor_parallel(hp, backend.tp)
            shares = tensor_parallel_shares(hp, backend.tp)
        # "llama.cpp": 8-bit block activations before weight products, fp16 K/V cache and
        # fp16 attention operands, as llama.cpp's CPU path computes (for the comparison).
        self.numerics = numerics
        self.emulate = numerics == "llama.cpp"
        self.round_acts = self.emulate and not backend.act_bits
        self.hp, self.backend = hp, backend
        self.ledger = ledger if ledger is not None else Ledger()
        self.n_ctx = min(n_ctx, hp.n_ctx)
        t = gguf.tensor
        self.embed = t("token_embd.weight").block_quant()
        zero = np.float32(1 << (self.embed.bits - 1))
        tied = np.array_equal(self.embed.offset, -zero * self.embed.scale)
        self._embed_zero = zero if tied else None
        head_name = "output.weight" if "output.weight" in gguf.tensors else "token_embd.weight"
        # a tied head is the embedding's codes, decoded once
        self.head = Linear([self.embed if head_name == "token_embd.weight" else t(head_name)],
                           backend, self.ledger)
        self.out_norm = t("output_norm.weight").dequantize()
        self.layers = []
        for i in range(hp.n_layer):
            p = f"blk.{i}."
            w = {n: t(p + n + ".weight") for n in
                 ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")}
            self.layers.append({
                "attn_norm": t(p + "attn_norm.weight").dequantize(),
                "ffn_norm": t(p + "ffn_norm.weight").dequantize(),
                "qkv": Linear([w["attn_q"], w["attn_k"], w["attn_v"]], backend, self.ledger,
                              "column", shares["qkv"]),
                "o": Linear([w["attn_output"]], backend, self.ledger, "row", shares["o"]),
                "gate_up": Linear([w["ffn_gate"], w["ffn_up"]], backend, self.ledger, "column",
                                  shares["gate_up"]),
                "down": Linear([w["ffn_down"]], backend, self.ledger, "row", shares["down"]),
            })
        self._slots: dict[str, list] = {}
        self.slot = "main"
        self.k_cache, self.v_cache = self._new_cache()
        tables = ggml.rope_tables if self.emulate else rope_tables
        self.cos, self.sin = tables(self.n_ctx, hp.head_dim, hp.rope_base)
        self._rope = ggml.apply_rope if self.emulate else apply_rope
        self.n_past = 0

    def _new_cache(self) -> tuple[np.ndarray, np.ndarray]:
        hp = self.hp
        shape = (hp.n_layer, hp.n_head_kv, self.n_ctx, hp.head_dim)
        # written whole now (``reserve``): faulting the pages in later, once the process has
        # grown, took 0.19 s for the two in a planner process on this machine, 0.03 s early
        k, v = np.empty(shape, np.float32), np.empty(shape, np.float32)
        k.fill(0.0)
        v.fill(0.0)
        return k, v

    def set_ledger(self, ledger: Ledger) -> None:
        """Book every later op in ``ledger`` (e.g. one ledger per plan)."""
        self.ledger = ledger
        for lin in self._linears():
            lin.ledger = ledger

    def _linears(self) -> list[Linear]:
        return [self.head] + [L[k] for L in self.layers for k in ("qkv", "o", "gate_up", "down")]

    # -- cache ---------------------------------------------------------------------------
    def reset(self) -> None:
        self.n_past = 0

    def select(self, slot: str) -> None:
        """Switch to KV-cache ``slot`` (created empty on first use); the others are kept.

        Several slots let one model follow several contexts (e.g. a prompt and its
        calibration prompt) without prefilling either again.
        """
        if slot == self.slot:
            return
        self._slots[self.slot] = [self.k_cache, self.v_cache, self.n_past]
        if slot in self._slots:
            self.k_cache, self.v_cache, self.n_past = self._slots.pop(slot)
        else:
            (self.k_cache, self.v_cache), self.n_past = self._new_cache(), 0
        self.slot = slot

    def reserve(self, *slots: str) -> None:
        """Create the empty KV-cache ``slots`` now (a model's user knows which it will use):
        their memory is then faulted in while the process is young and it is fast, not in
        the middle of a request."""
        for slot in slots:
            if slot != self.slot and slot not in self._slots:
                self._slots[slot] = [*self._new_cache(), 0]

    def copy_to(self, slot: str, start: int = 0, stop: int | None = None) -> None:
        """Make ``slot`` hold this slot's context up to ``stop`` (default: all of it):
        positions ``start`` to ``stop`` are copied (the earlier ones must already be equal
        there), so a context shared by two slots is computed once."""
        stop = self.n_past if stop is None else stop
        if slot == self.slot or not 0 <= start <= stop <= self.n_past:
            raise ShapeError(f"copy_to({slot!r}, {start}, {stop}): expected another slot and "
                             f"0 <= start <= stop <= n_past={self.n_past}")
        if slot not in self._slots:
            self._slots[slot] = [*self._new_cache(), 0]
        k, v, _ = self._slots[slot]
        k[:, :, start:stop] = self.k_cache[:, :, start:stop]
        v[:, :, start:stop] = self.v_cache[:, :, start:stop]
        self._slots[slot][2] = stop

    def kv(self, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Copies of this slot's keys and values of positions ``start`` to ``n_past``, each
        (n_layer, n_head_kv, n_past - start, head_dim): what ``restore`` takes back."""
        if not 0 <= start <= self.n_past:
            raise ShapeError(f"kv({start}): expected 0 <= start <= n_past={self.n_past}")
        n = self.n_past
        return self.k_cache[:, :, start:n].copy(), self.v_cache[:, :, start:n].copy()

    def restore(self, k: np.ndarray, v: np.ndarray, start: int = 0) -> None:
        """Make this slot hold, from position ``start`` on (the earlier ones kept), the
        context whose keys and values ``kv`` gave (e.g. in another process: the planner's
        prompt cache), as if its tokens had just been run."""
        hp = self.hp
        want = (hp.n_layer, hp.n_head_kv, k.shape[2] if k.ndim == 4 else -1, hp.head_dim)
        if (k.shape != want or v.shape != want or not 0 <= start <= self.n_past
                or not 0 < start + want[2] <= self.n_ctx):
            raise ShapeError(f"restore: keys {k.shape} and values {v.shape} at {start}: "
                             f"expected both (n_layer, n_head_kv, n, head_dim) = {want}, "
                             f"0 <= start <= n_past={self.n_past} and start + n <= "
                             f"{self.n_ctx}")
        n = start + want[2]
        self.k_cache[:, :, start:n] = k
        self.v_cache[:, :, start:n] = v
        self.n_past = n

    def truncate(self, n: int) -> None:
        """Forget every position from ``n`` on (keeps the prefix's keys and values)."""
        if not 0 <= n <= self.n_past:
            raise ShapeError(f"truncate({n}): expected 0 <= n <= n_past={self.n_past}")
        self.n_past = n

    # -- forward -------------------------------------------------------------------------
    def embed_tokens(self, ids: np.ndarray) -> np.ndarray:
        e = self.embed
        c = e.codes[ids].astype(np.float32).reshape(len(ids), -1, e.block)
        if self._embed_zero is not None:  # symmetric format (Q8_0): (c - z) d, as ggml's row
            return ((c - self._embed_zero) * e.scale[ids][:, :, None]).reshape(len(ids), -1)
        x = c * e.scale[ids][:, :, None] + e.offset[ids][:, :, None]
        return x.reshape(len(ids), -1)

    def forward(self, ids: list[int] | np.ndarray, all_logits: bool = False) -> np.ndarray:
        """Run ``ids`` after the cached positions; logits (T, vocab), or (1, vocab) for the last."""
        return self._forward(ids, all_logits, None)

    def forward_branches(self, branches: Sequence[Sequence[int]]) -> list[np.ndarray]:
        """Run several continuations of the cached context in ONE forward; each branch sees
        the cache and its own earlier tokens only (a block-diagonal causal mask, each branch's
        positions counted from the end of the cache). Returns each branch's logits
        (len, vocab); the cache is left as it was (the branches' keys are dropped)."""
        branches = [list(b) for b in branches]
        if not branches or any(not b for b in branches):
            raise ShapeError("forward_branches: expected one or more non-empty token lists")
        p0 = self.n_past
        owner = np.concatenate([np.full(len(b), i) for i, b in enumerate(branches)])
        offset = np.concatenate([np.arange(len(b)) for b in branches])
        sees = (owner[:, None] == owner[None, :]) & (offset[None, :] <= offset[:, None])
        try:
            logits = self._forward(np.concatenate(branches), True, (offset, sees))
        finally:
            self.n_past = p0
        ends = np.cumsum([len(b) for b in branches])
        return np.split(logits, ends[:-1])

    def forward_tree(self, branches: Sequence[Sequence[int]]) -> list[np.ndarray]:
        """``forward_branches`` with the branches' shared leading tokens run once: the
        branches become a token trie (one position per distinct prefix), each node seeing
        the cache and its ancestors (the attention mask follows the tree, positions count
        its depth). Returns each branch's logits (len, vocab), gathered from its path. The
        same logits as separate branches up to float rounding (the batch differs), for
        fewer tokens: 23 nodes for the 92 tokens of 24 relation phrases."""
        branches = [list(b) for b in branches]
        if not branches or any(not b for b in branches):
            raise ShapeError("forward_tree: expected one or more non-empty token lists")
        node: dict[tuple[int, ...], int] = {}
        ids, parent, depth = [], [], []
        for b in branches:
            for j in range(len(b)):
                key = tuple(b[:j + 1])
                if key not in node:
                    node[key] = len(ids)
                    ids.append(b[j])
                    parent.append(node[key[:-1]] if j else -1)
                    depth.append(j)
        n = len(ids)
        sees = np.eye(n, dtype=bool)  # each node sees itself and (below) its ancestors
        for i in range(n):
            if parent[i] >= 0:
                sees[i] |= sees[parent[i]]
        p0 = self.n_past
        try:
            logits = self._forward(np.array(ids), True, (np.array(depth), sees))
        finally:
            self.n_past = p0
        return [logits[[node[tuple(b[:j + 1])] for j in range(len(b))]] for b in branches]

    def _forward(self, ids: list[int] | np.ndarray, all_logits: bool,
                 branches: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
        """``ids`` after the cache; ``branches`` (offset, sees): new token ``i`` sits at
        position ``n_past + offset[i]`` and attends new token ``j`` iff ``sees[i, j]``."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        hp = self.hp
        T = len(ids)
        if T == 0:
            raise ShapeError("forward() got no tokens: expected at least one token id")
        if ids.min() < 0 or ids.max() >= hp.vocab:
            raise ShapeError(f"token ids must be in [0, {hp.vocab}), got {ids.min()}..{ids.max()}")
        if self.n_past + T > self.n_ctx:
            raise BudgetExceeded(
                f"{self.n_past} cached + {T} new tokens exceed the context of {self.n_ctx} "
                f"positions (model maximum {hp.n_ctx}): shorten the prompt or raise n_ctx"
            )
        p0, p1 = self.n_past, self.n_past + T
        if branches is None:
            pos = np.arange(p0, p1)
            # Causal mask over [0, p1): query t (position p0 + t) sees keys at positions <= p0 + t.
            mask = np.arange(p1)[None, :] > (p0 + np.arange(T))[:, None]
        else:  # branch tokens are stored one after the other; each sees the cache + ``sees``
            offset, sees = branches
            pos = p0 + offset
            mask = np.ones((T, p1), dtype=bool)
            mask[:, :p0] = False
            mask[:, p0:] = ~sees
            if int(pos.max()) >= self.n_ctx:
                raise BudgetExceeded(f"a branch reaches position {int(pos.max())} beyond the "
                                     f"context of {self.n_ctx}")
        cos, sin = self.cos[pos], self.sin[pos]
        nh, nkv, hd = hp.n_head, hp.n_head_kv, hp.head_dim
        group = nh // nkv
        x = self.embed_tokens(ids)
        # rows ordered (head in group, t); None when nothing is masked (one new token)
        mask_rows = np.tile(mask, (group, 1)) if T > 1 else None
        scale = np.float32(1.0 / np.sqrt(hd))
        for li, L in enumerate(self.layers):
            h = rms_norm(x, L["attn_norm"], hp.rms_eps)
            qkv = L["qkv"](self._act(h))
            # queries and keys rotated in one call (RoPE is element-wise: the same values)
            qk = self._rope(qkv[:, : (nh + nkv) * hd].reshape(T, nh + nkv, hd), cos, sin)
            q, k = qk[:, :nh], qk[:, nh:]
            v = qkv[:, (nh + nkv) * hd :].reshape(T, nkv, hd)
            if self.emulate:
                q, k, v = _f16(q), _f16(k), _f16(v)
            self.k_cache[li, :, p0:p1] = k.transpose(1, 0, 2)
            self.v_cache[li, :, p0:p1] = v.transpose(1, 0, 2)
            att = np.empty((T, nh, hd), np.float32)
            if self.emulate:
                # one product per head, as llama.cpp's batched matmul runs them
                self._attend_per_head(li, q, att, mask, scale, p1)
            else:
                self._attend_grouped(li, q, att, mask_rows, scale, p1)
            x = x + L["o"](self._act(att.reshape(T, nh * hd)))
            h = rms_norm(x, L["ffn_norm"], hp.rms_eps)
            gu = L["gate_up"](self._act(h))
            gate, up = gu[:, : hp.d_ff], gu[:, hp.d_ff :]
            act = ggml.silu(gate) if self.emulate else gate / (1.0 + np.exp(-gate))
            x = x + L["down"](self._act(act * up))
        self.n_past = p1
        if not all_logits:
            x = x[-1:]
        self._charge_elementwise(T, p1, len(x))
        return self.head(self._act(rms_norm(x, self.out_norm, hp.rms_eps)))

    def _charge_elementwise(self, T: int, p1: int, out_rows: int) -> None:
        """Book the element-wise work of one forward on the backend (see ``elementwise_ops``)."""
        mults, adds = elementwise_ops(self.hp, T, p1, out_rows)
        self.ledger.book("elementwise", self.backend.charge("mult_fp32", mults)
                         + self.backend.charge("add_fp32", adds), backend=self.backend.name)

    def _attend_grouped(self, li: int, q: np.ndarray, att: np.ndarray,
                        mask_rows: np.ndarray | None, scale: np.float32, p1: int) -> None:
        """Grouped-query attention, the query heads sharing a KV head in one product each."""
        hp = self.hp
        nkv, hd, T = hp.n_head_kv, hp.head_dim, q.shape[0]
        group = hp.n_head // nkv
        # (kv head, head in group, t) rows; the softmax of all KV heads' scores is taken at
        # once (row-wise, so the same values as per head) -- fewer numpy calls per token
        qs = (q * scale).reshape(T, nkv, group, hd).transpose(1, 2, 0, 3).reshape(
            nkv, group * T, hd)
        s = None
        for g in range(nkv):
            sg = self._matmul(qs[g], _placed(self.k_cache[li, g, :p1].T), "attn")
            if s is None:  # in the backend's result type (np.stack costs more, per token)
                s = np.empty((nkv, *sg.shape), sg.dtype)
            s[g] = sg
        if mask_rows is not None:
            s[:, mask_rows] = -np.inf
        s = np.exp(s - s.max(axis=2, keepdims=True))
        s /= s.sum(axis=2, keepdims=True)
        for g in range(nkv):
            o = self._matmul(s[g], _placed(self.v_cache[li, g, :p1]), "attn")
            att[:, g * group : (g + 1) * group] = o.reshape(group, T, hd).transpose(1, 0, 2)

    def _attend_per_head(self, li: int, q: np.ndarray, att: np.ndarray, mask: np.ndarray,
                         scale: np.float32, p1: int) -> None:
        """llama.cpp's attention numerics: fp16 operands, ggml softmax, one head at a time."""
        group = self.hp.n_head // self.hp.n_head_kv
        for h in range(self.hp.n_head):
            g = h // group
            s = self._matmul(q[:, h] * scale, _placed(self.k_cache[li, g, :p1].T), "attn")
            s[mask] = -np.inf
            s = _f16(ggml.softmax_rows(s))
            att[:, h] = self._matmul(s, _placed(self.v_cache[li, g, :p1]), "attn")

    def _act(self, x: np.ndarray) -> np.ndarray:
        return q8_activations(x) if self.round_acts else x

    def _matmul(self, a: np.ndarray, b: np.ndarray, op: str) -> np.ndarray:
        y, cost = self.backend.matmul(a, b)
        self.ledger.book(op, cost, backend=self.backend.name)
        return y

"""``t3``: products tensor-parallel over ``tp`` simulated devices, with T3's fused reduce-scatter.

After S. Pati et al., "T3: Transparent Tracking & Triggering for Fine-grained Overlap of
Compute & Collectives", ASPLOS 2024 (arXiv 2401.16677). The timing and traffic model of one
sublayer (a GEMM and its collective under the five schemes) is ``t3_model``; this file is the
backend: what each rank computes, the collectives done for real, and the cost booked.

Functional model (Megatron-style tensor parallelism, Shoeybi et al. 2019). ``place_parallel``
shards a layer's weights over the ranks, each rank placing its shard on its own device (a
``cpu`` backend for ``device="gpu"``, with ``act_bits`` as ``CpuConfig``; a ``lut`` backend for
``device="lut"``):

- ``column``: every part (e.g. Wq, Wk, Wv read by one fused product) is split by output
  features, into ``tp`` equal contiguous slices or into the ``shares`` the model gives (whole
  heads per rank; a KV head two ranks read is held by both); rank ``r`` holds its slices. Its
  outputs stay on the rank (the heads, or the SwiGLU units, it owns); ``mpgemm`` returns them
  assembled in the unsharded layout, a view of what the ranks hold together. No communication.
  Each output is the same dot product as unsharded (bit-identical on the integer W4A8
  kernel; float BLAS may block a narrower product differently, a rounding-level change).
- ``row``: the weights are split by input features (whole quantization blocks, evenly or as
  ``shares`` say: the inputs the rank's own heads or units produced); rank ``r``
  multiplies the inputs it holds (its slice of ``x``, the outputs of the column-parallel layer
  before) and gets a partial sum of every output. The partials are summed by a ring
  reduce-scatter and the sums shared by a ring all-gather (``ring_reduce_scatter``,
  ``ring_all_gather``), chunk by chunk over the ranks as the ring runs, so every rank ends with
  ``sum_r x_r W_r = x W`` (equal to the unsharded product up to the float summation order).

A weight ``place``d without a split (a layer the model does not shard, such as the vocabulary
head) runs column-parallel followed by an all-gather of the outputs (each rank computes
``n/tp`` outputs, all ranks get all of them). ``matmul`` on a matrix already on the device
(``PlacedMatrix``: the K/V cache of the heads a rank owns) is a product local to that rank.

Cost model. Energy: each rank's arithmetic and weight reads as its device backend prices them
(Horowitz 45 nm for ``cpu``, the LUT Tensor Core model for ``lut``; the T3 paper reports no
energies), plus per bit on a link ``link_pj_per_bit`` and per byte the collective moves in DRAM
(``t3_model.Schedule.dram_bytes`` less the GEMM's own) the DRAM energy of ``CPU_TABLE``.
Latency: ``t3_model.simulate`` of the product on ``T3Config.device`` (the paper's GPU or the
LUT Tensor Core as a rank) and the paper's link, under ``T3Config.scheme``. A row-parallel
product's cost is split into ``gemm``, ``reduce_scatter`` and ``all_gather`` parts
(``Cost.parts``): the GEMM's uncontended time, then the communication left exposed (the
all-gather's span, the rest to the reduce-scatter). Work spread evenly over the ranks (a
rank's attention products over the heads it owns, the element-wise ops ``charge``d) runs on
all ranks at once: it is booked at the busiest rank's share of its device time, the largest
slice of a row-parallel layer's inputs one rank holds (``1 / tp`` when the heads split
evenly; 3 of SmolLM2's 9 heads at TP 4). Row-parallel GEMMs are timed on the largest slice.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from neuralbrain.energy import PJ, Cost, EnergyTable
from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.hardware.base import Backend, PlacedMatrix, as_matrix, check_operand
from neuralbrain.hardware.cpu import CPU_TABLE
from neuralbrain.hardware.qmatrix import QWeight, concat_out
from neuralbrain.hardware.t3_model import GPU, LINK, SCHEMES, Gemm, lut_device, simulate

DEVICES = ("gpu", "lut")

# ASSUMPTION: energy per bit on a device-to-device link. Neither the T3 paper nor Horowitz
# 2014 prices one; 10 pJ/bit is taken as the order of off-package serial links.
LINK_PJ_PER_BIT = 10.0

T3_TABLE = EnergyTable(
    energy_j={**{a: CPU_TABLE.energy_j[a] for a in (
        "mult_fp32", "add_fp32", "mac_fp32", "mac_int8", "alu_op", "dram_read_byte")},
        "link_bit": LINK_PJ_PER_BIT * PJ},
    source="arithmetic and DRAM as cpu (M. Horowitz, ISSCC 2014, 45 nm); timing from "
    "t3_model (Pati et al., T3, ASPLOS 2024: its GPU and link)",
    notes="link_bit = 10 pJ is an ASSUMPTION (no source prices a GPU-to-GPU link bit); "
    "latencies come from the device and link models, not from this table",
)


@dataclass(frozen=True)
class T3Config:
    """``tp`` ranks, each a ``device`` ("gpu": the T3 paper's GPU timing with ``cpu`` numerics
    and energies; "lut": the LUT Tensor Core), communicating by ``scheme`` (one of
    ``t3_model.SCHEMES``). ``act_bits`` (0 or 8) are the ``cpu`` ranks' activations,
    ``table_bits`` (0 or 8) the ``lut`` ranks' tables, as in ``CpuConfig`` and ``LutConfig``.

    ``tp`` must divide the attention heads, KV heads and hidden sizes of the model run on it
    (SmolLM2-135M, 9 heads and 3 KV heads: 1 or 3).
    """

    tp: int = 3
    device: str = "gpu"
    scheme: str = "t3_mca"
    act_bits: int = 0
    table_bits: int = 0
    link_pj_per_bit: float = LINK_PJ_PER_BIT

    def __post_init__(self) -> None:
        if isinstance(self.tp, bool) or not isinstance(self.tp, int) or self.tp < 1:
            raise ConfigError(f"T3Config.tp={self.tp!r}: expected a positive number of devices")
        if self.device not in DEVICES:
            raise ConfigError(f"T3Config.device={self.device!r}: expected one of {DEVICES}")
        if self.scheme not in SCHEMES:
            raise ConfigError(f"T3Config.scheme={self.scheme!r}: expected one of {SCHEMES}")
        if not self.link_pj_per_bit > 0:
            raise ConfigError(f"T3Config.link_pj_per_bit={self.link_pj_per_bit!r}: expected "
                              "a positive energy per bit")


@dataclass(frozen=True)
class Sharded:
    """A matrix spread over the ranks: ``shards[r]`` is rank ``r``'s device handle (None when
    it holds none); ``split`` "column" (``index[r]``: the output columns rank ``r`` holds) or
    "row" (``index[r]``: its input slice); ``gather``: a column product's outputs are
    all-gathered (a layer placed without a split)."""

    split: str
    shards: tuple[Any, ...]
    index: tuple[Any, ...]
    n_in: int
    n_out: int
    weight_bits: int
    gather: bool = False


def ring_reduce_scatter(partials: list[np.ndarray]) -> list[np.ndarray]:
    """Sum ``partials`` (one (..., n) array per rank) by a ring reduce-scatter.

    The last axis is cut into ``p`` chunks. At step ``s`` (0 .. p-2) rank ``r`` sends the
    chunk ``(r - s) mod p`` it has accumulated so far to rank ``r + 1``, which adds its own
    partial of that chunk; after ``p - 1`` steps rank ``r`` holds the full sum of chunk
    ``(r + 1) mod p``, added in ring order starting at the chunk's own rank. Returns the
    chunk each rank holds, ``out[r]`` = chunk ``(r + 1) mod p``.
    """
    p = len(partials)
    bounds = _chunks(partials[0].shape[-1], p)
    buf = [[x[..., a:b] for a, b in bounds] for x in partials]
    for s in range(p - 1):
        sent = [(r, (r - s) % p, buf[r][(r - s) % p]) for r in range(p)]  # all send at once
        for r, c, chunk in sent:
            dst = (r + 1) % p
            buf[dst][c] = chunk + buf[dst][c]
    return [buf[r][(r + 1) % p] for r in range(p)]


def ring_all_gather(held: list[np.ndarray]) -> np.ndarray:
    """Share the chunks a reduce-scatter left (rank ``r`` holds chunk ``(r + 1) mod p``) by a
    ring all-gather: at each of ``p - 1`` steps every rank forwards the chunk it received
    last to rank ``r + 1``. Returns what every rank then holds, the chunks in order."""
    p = len(held)
    have = [{(r + 1) % p: held[r]} for r in range(p)]
    last = [(r + 1) % p for r in range(p)]
    for _ in range(p - 1):
        sent = [(r, last[r], have[r][last[r]]) for r in range(p)]
        for r, c, chunk in sent:
            dst = (r + 1) % p
            have[dst][c], last[dst] = chunk, c
    if any(len(h) != p for h in have):  # every rank must end with every chunk
        raise RuntimeError("ring all-gather left a rank without every chunk")
    return np.concatenate([have[0][c] for c in range(p)], axis=-1)


@functools.lru_cache(maxsize=4096)
def _runs_of(key: bytes) -> tuple[tuple[slice, slice], ...]:
    cols = np.frombuffer(key, np.int64)
    breaks = np.flatnonzero(np.diff(cols) != 1) + 1
    starts, stops = np.r_[0, breaks], np.r_[breaks, len(cols)]
    return tuple((slice(int(cols[a]), int(cols[b - 1]) + 1), slice(int(a), int(b)))
                 for a, b in zip(starts, stops, strict=True))


def _runs(cols: np.ndarray) -> tuple[tuple[slice, slice], ...]:
    """``cols`` as (output slice, shard slice) pairs, one per contiguous run."""
    return _runs_of(np.asarray(cols, np.int64).tobytes())


def _chunks(n: int, p: int) -> list[tuple[int, int]]:
    edges = np.linspace(0, n, p + 1).round().astype(int)
    return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))


def _widest(w: Sharded) -> int:
    """The input features of a row-parallel layer's largest slice (the slowest rank's GEMM)."""
    return max(s.stop - s.start for s in w.index)


def _check_column_shares(shares: list[Any], sizes: list[int], tp: int) -> None:
    if len(shares) != tp or any(len(sel) != len(sizes) for sel in shares):
        raise ShapeError(f"column shares: expected {tp} ranks x {len(sizes)} parts of output "
                         f"indices, got {len(shares)} ranks")
    for i, n in enumerate(sizes):
        held = np.concatenate([np.asarray(sel[i], np.int64) for sel in shares])
        if held.size and (held.min() < 0 or held.max() >= n):
            raise ShapeError(f"column shares of part {i}: indices outside 0..{n - 1}")
        if np.unique(held).size != n:
            raise ShapeError(f"column shares of part {i} leave outputs on no rank: expected "
                             f"every one of its {n} outputs held by some rank")


def _check_row_shares(shares: list[Any], k: int, block: int, tp: int) -> None:
    bounds = [(int(a), int(b)) for a, b in shares]
    edges = [a for a, _ in bounds] + [bounds[-1][1]] if bounds else []
    if (len(bounds) != tp or edges[0] != 0 or edges[-1] != k
            or any(b != a2 for (_, b), (a2, _) in zip(bounds, bounds[1:], strict=False))
            or any(b <= a or a % block or b % block for a, b in bounds)):
        raise ShapeError(f"row shares {bounds}: expected {tp} non-empty contiguous slices "
                         f"covering the {k} input features in whole blocks of {block}")


def _out_rows(qw: QWeight, rows: np.ndarray) -> QWeight:
    return QWeight(qw.codes[rows], qw.scale[rows], qw.offset[rows], qw.bits, qw.block, qw.n_in)


def _in_cols(qw: QWeight, a: int, b: int) -> QWeight:
    ba, bb = a // qw.block, b // qw.block
    return QWeight(qw.codes[:, a:b], qw.scale[:, ba:bb], qw.offset[:, ba:bb], qw.bits,
                   qw.block, b - a)


class T3Backend(Backend):
    """``tp`` devices in a ring; see the module docstring."""

    name = "t3"
    capabilities = frozenset({"matmul", "mpgemm", "tensor_parallel"})
    energy_table = T3_TABLE
    rel_tolerance = 1e-4
    Config = T3Config

    def __init__(self, config: Any = None, seed: int = 0) -> None:
        from neuralbrain.hardware import make_backend
        from neuralbrain.hardware.cpu import CpuConfig
        from neuralbrain.hardware.lut import LutConfig

        super().__init__(config, seed)
        cfg = self.config
        inner = (("cpu", CpuConfig(act_bits=cfg.act_bits)) if cfg.device == "gpu"
                 else ("lut", LutConfig(table_bits=cfg.table_bits)))
        self.ranks = [make_backend(inner[0], inner[1], seed + r) for r in range(cfg.tp)]
        # the largest share of a row-parallel layer's inputs one rank holds (1/tp when they
        # split evenly): work spread like the heads is booked at this share of one device
        self._busiest = 1.0 / cfg.tp
        self.rel_tolerance = max(self.ranks[0].rel_tolerance, type(self).rel_tolerance)
        self.device = GPU if cfg.device == "gpu" else lut_device()
        self.link = LINK

    @property
    def tp(self) -> int:
        return int(self.config.tp)

    @property
    def act_bits(self) -> int:
        """The ranks' activation rounding (the model must not round again)."""
        return int(self.ranks[0].act_bits)

    # -- placing ---------------------------------------------------------------------------
    def place(self, w: Any) -> tuple[Any, Cost]:
        """A matrix (float (k, n) or ``QWeight``) spread over the ranks by output columns,
        its product all-gathered (see the module docstring)."""
        if isinstance(w, QWeight):
            n_in, n_out = w.shape
            cols = np.array_split(np.arange(n_out), self.tp)
            parts = [_out_rows(w, c) if len(c) else None for c in cols]
            bits = w.bits
        else:
            m = as_matrix(w, "w")
            n_in, n_out = m.shape
            cols = np.array_split(np.arange(n_out), self.tp)
            parts = [m[:, c] if len(c) else None for c in cols]
            bits = 32
        return self._place(Sharded("column", (), tuple(cols), n_in, n_out, bits, True), parts)

    def place_parallel(self, parts: list[QWeight], split: str,
                       shares: list[Any] | None = None) -> tuple[Sharded, Cost]:
        """Shard a layer Megatron-style: ``split="column"`` cuts each of ``parts`` (layers
        reading the same input, outputs concatenated) by output features, ``"row"`` cuts the
        one part by input features.

        ``shares`` says what each rank holds, when the model knows better than an even cut
        (whole heads when ``tp`` does not divide them): for "column", per rank one array of
        output-feature indices per part (ranks may share an index: a replicated KV head is
        computed on each rank that needs it; together they must cover every output); for
        "row", per rank a ``(start, stop)`` input slice, contiguous, in rank order, in whole
        quantization blocks, covering every input. Without ``shares`` the cut is into ``tp``
        equal slices (ShapeError when ``tp`` does not divide them, or a row slice is not
        whole quantization blocks)."""
        tp = self.tp
        if split == "column":
            sizes = [p.shape[1] for p in parts]
            if shares is None:
                for size in sizes:
                    if size % tp:
                        raise ShapeError(f"tp={tp} does not divide a layer's {size} output "
                                         "features: expected a tp that divides every sharded "
                                         "dimension")
                shares = [[np.arange(r * n // tp, (r + 1) * n // tp) for n in sizes]
                          for r in range(tp)]
            _check_column_shares(shares, sizes, tp)
            starts = np.cumsum([0, *sizes[:-1]])
            cols, shards = [], []
            for sel in shares:
                sel = [np.asarray(x, np.int64) for x in sel]
                cols.append(np.concatenate([x + s for x, s in zip(sel, starts, strict=True)]))
                kept = [(p, x) for p, x in zip(parts, sel, strict=True) if len(x)]
                shards.append(concat_out([_out_rows(p, x) for p, x in kept]) if kept else None)
            bits = max(p.bits for p in parts)
            return self._place(Sharded("column", (), tuple(cols), parts[0].shape[0],
                                       sum(sizes), bits), shards)
        if split != "row" or len(parts) != 1:
            raise ShapeError(f"place_parallel(split={split!r}, {len(parts)} parts): expected "
                             "'column' (any parts) or 'row' (one part)")
        (qw,) = parts
        k, n = qw.shape
        if shares is None:
            if k != qw.codes.shape[1] or k % (tp * qw.block):
                raise ShapeError(f"tp={tp} does not split a layer's {k} input features into "
                                 f"whole blocks of {qw.block}: expected a tp that divides every "
                                 "sharded dimension")
            shares = [(r * k // tp, (r + 1) * k // tp) for r in range(tp)]
        _check_row_shares(shares, k, qw.block, tp)
        rows = [slice(int(a), int(b)) for a, b in shares]
        self._busiest = max(self._busiest, max(s.stop - s.start for s in rows) / k)
        shards = [_in_cols(qw, s.start, s.stop) for s in rows]
        return self._place(Sharded("row", (), tuple(rows), k, n, qw.bits), shards)

    def _place(self, layout: Sharded, parts: list[Any]) -> tuple[Sharded, Cost]:
        """``layout`` with ``parts[r]`` placed on rank ``r`` (None: the rank holds nothing)."""
        handles, cost = [], Cost()
        for rank, part in zip(self.ranks, parts, strict=True):
            if part is None:
                handles.append(None)
                continue
            h, c = rank.place(part)
            handles.append(h)
            cost = cost + c
        return dataclasses.replace(layout, shards=tuple(handles)), cost

    # -- products --------------------------------------------------------------------------
    def mpgemm(self, x: np.ndarray, qweight: Any) -> tuple[np.ndarray, Cost]:
        """``x @ dequant(W)`` over the ranks (module docstring)."""
        w = qweight if isinstance(qweight, Sharded) else self.place(qweight)[0]
        return self._product(x, w, "mpgemm")

    def matmul(self, x: np.ndarray, w: Any) -> tuple[np.ndarray, Cost]:
        """A product local to one rank for a matrix already on it (``PlacedMatrix``: the K/V
        cache of its heads), else spread over the ranks by output columns."""
        if isinstance(w, PlacedMatrix):
            y, c = self.ranks[0].matmul(x, w)
            m = int(np.prod(np.shape(x)[:-1]))
            local = simulate(Gemm(m, w.shape[1], w.shape[0], 32, 4), 1, self.device, self.link,
                             self.config.scheme)
            return y, Cost(c.energy_j, local.total_s * self._busiest, c.ops, c.bytes_moved)
        w = w if isinstance(w, Sharded) else self.place(w)[0]
        return self._product(x, w, "matmul")

    def _product(self, x: np.ndarray, w: Sharded, op: str) -> tuple[np.ndarray, Cost]:
        x = check_operand(x, w.n_in)
        lead = x.shape[:-1]
        x2 = x.reshape(-1, w.n_in)
        m = x2.shape[0]
        if w.split == "row":
            outs = [getattr(r, op)(x2[:, s], h)
                    for r, s, h in zip(self.ranks, w.index, w.shards, strict=True)]
            y = ring_all_gather(ring_reduce_scatter([o for o, _ in outs]))
            sched = simulate(Gemm(m, w.n_out, _widest(w), w.weight_bits, 4), self.tp,
                             self.device, self.link, self.config.scheme)
            return y.reshape(*lead, w.n_out), self._row_cost([c for _, c in outs], sched, m, w)
        y = np.empty((m, w.n_out), np.float32)
        energy, ops, moved, slowest = 0.0, 0, 0, 0.0
        for rank, cols, h in zip(self.ranks, w.index, w.shards, strict=True):
            if h is None:
                continue
            yr, c = getattr(rank, op)(x2, h)
            for dst, src in _runs(cols):  # contiguous runs: slices copy much faster
                y[:, dst] = yr[:, src]
            energy, ops, moved = energy + c.energy_j, ops + c.ops, moved + c.bytes_moved
            alone = simulate(Gemm(m, len(cols), w.n_in, w.weight_bits, 4), 1, self.device,
                             self.link, self.config.scheme)
            slowest = max(slowest, alone.total_s)
        gemm = Cost(energy, slowest, ops, moved)
        if not w.gather or self.tp == 1:
            return y.reshape(*lead, w.n_out), Cost.of_parts({"gemm": gemm})
        return y.reshape(*lead, w.n_out), Cost.of_parts(
            {"gemm": gemm, "all_gather": self._all_gather_cost(m, w)})

    def _all_gather_cost(self, m: int, w: Sharded) -> Cost:
        """A ring all-gather of ``m`` x ``n_out`` float32 outputs: ``tp - 1`` steps, each
        sending the largest chunk over every link at once."""
        chunk = max(len(c) for c in w.index) * m * 4
        steps = self.tp - 1
        seconds = steps * (self.link.latency_s + chunk / self.link.bytes_per_s)
        sent = steps * chunk * self.tp
        return Cost(sent * 8 * self.config.link_pj_per_bit * PJ, seconds, 0, sent)

    def _row_cost(self, ranks: list[Cost], sched: Any, m: int, w: Sharded) -> Cost:
        """Split into gemm / reduce_scatter / all_gather (module docstring)."""
        gemm = Cost(sum(c.energy_j for c in ranks), sched.gemm_s, sum(c.ops for c in ranks),
                    sum(c.bytes_moved for c in ranks))
        if self.tp == 1:
            return Cost.of_parts({"gemm": gemm})
        alone = simulate(Gemm(m, w.n_out, _widest(w), w.weight_bits, 4), 1, self.device,
                         self.link, self.config.scheme)
        comm_dram = max(sched.dram_bytes - alone.dram_bytes, 0.0) * self.tp
        sent = sched.link_bytes * self.tp
        energy = (sent * 8 * self.config.link_pj_per_bit * PJ
                  + comm_dram * self.energy_table["dram_read_byte"])
        exposed = max(sched.total_s - sched.gemm_s, 0.0)
        gather = [e for e in sched.events if e.kind == "all_gather"]
        ag = min(exposed, max(e.end_s for e in gather) - min(e.start_s for e in gather)
                 if gather else 0.0)
        half_bytes = int(sent + comm_dram) // 2
        return Cost.of_parts({
            "gemm": gemm,
            "reduce_scatter": Cost(energy / 2, exposed - ag, 0, half_bytes),
            "all_gather": Cost(energy / 2, ag, 0, half_bytes),
        })

    def charge(self, action: str, count: float = 1) -> Cost:
        """``count`` of ``action`` spread over the ranks: all the energy, ``1 / tp`` of the
        time one device takes at its peak rate (module docstring)."""
        cost = super().charge(action, count)
        return Cost(cost.energy_j, count / self.device.peak_flops * self._busiest, cost.ops,
                    cost.bytes_moved)

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        for r, rank in enumerate(getattr(self, "ranks", ())):
            rank.reset(seed + r)

"""Timing and DRAM/link traffic of one tensor-parallel sublayer: a GEMM and its all-reduce.

After S. Pati et al., "T3: Transparent Tracking & Triggering for Fine-grained Overlap of
Compute & Collectives", ASPLOS 2024 (arXiv 2401.16677). Section numbers below are the paper's,
as a section-by-section summary of it reports them: of the paper's own stored text only the
title, authors and abstract could be read offline (see ``t3_paper`` for what each source gave).

What is modelled. Under Megatron tensor parallelism a row-parallel GEMM on each of ``tp``
ranks (local shape ``M x K/tp -> N``) yields partial sums of all ``M x N`` outputs; they are
all-reduced by a ring reduce-scatter (RS) and a ring all-gather (AG), each ``tp - 1`` steps
of one chunk ``C = M N a / tp`` bytes (``a`` = bytes per element) per rank per step (Sec.
2.3). The ranks are symmetric, so one rank's timeline is computed and repeated for every
device lane (``dev{d}``) and link lane (``link{d}->{d+1}``).

GEMM (all schemes). Output tiles of ``TILE_M x TILE_N`` (ASSUMPTION, a common macro-tile),
scheduled in near-square groups (ASSUMPTION: the kernel swizzles tiles for L2 reuse), one tile
per compute unit at a time, so the GEMM runs in waves of ``compute_units`` tiles (a partial
edge tile costs a full tile slot, except on a one-unit device). A wave lasts

    t_wave = max(2 tm tn K / (peak / CUs),  (R_w + W_w) / B_hbm)

with ``R_w`` the wave's DRAM reads and ``W_w`` its output writes. Reads: the A row-panels and
W column-panels the wave's ``gr x gc`` tiles touch (``rows x K x a`` and ``cols x K x w/8``), unless the
whole operand stays in L2 across waves (then it is read once, spread evenly over the waves).
The L2 share left to the inputs is half of L2 when the outputs are written back through L2
(sequential, ideal: ASSUMPTION, the output stream is as large as the inputs) and all of it
when the outputs bypass L2 (T3 writes its outputs uncached to memory / NMC; Sec. 6.2 credits
this for T3's fewer GEMM reads).

Schemes (the paper's configurations, Sec. 5.3):

- ``sequential``: GEMM, then RS, then AG (today's libraries). Ring step time
  ``t_step = latency + C / B_link``. RS reductions run on the CUs: each step reads the local
  partial and the received chunk and the result goes on to the next rank; all but the last
  reduction hide behind the next transfer (ASSUMPTION: pipelined slices), the last one
  (``3C / B_hbm``: two reads, one write) is exposed. ``total = gemm_s + comm_s`` exactly.
- ``ideal`` (Ideal-GEMM-RS-Overlap, an upper bound, Sec. 5.3): the GEMM and the whole
  baseline RS (transfers and CU reductions) overlap perfectly, without contention or
  dependences: ``max(G, RS) + AG`` with ``RS = (tp-1) t_step + 3C/B_hbm``. This is the form
  whose ratio ``(G + RS + AG) / (max(G, RS) + AG)`` peaks at exactly 1.5 (G = RS = AG), the
  paper's "at most 50%" (Sec. 6.1); an earlier version left the last reduction exposed after
  ``max(G, transfers)``, which can never reach 1.5.
- ``ideal_nmc`` (Ideal-RS+NMC): as ``ideal`` with the reduction done near memory on arrival,
  so the RS is its transfers alone: ``max(G, (tp-1) t_step) + AG``. Its RS is faster than the
  baseline's by ``1 + 3C/B_hbm / ((tp-1) t_step)``: 3.2% at TP=8 and 1.5% at TP=16 on the
  headline sublayers, about half the paper's 7% / 3% (Sec. 6.1): our baseline RS reduction
  (one exposed ``3C/B_hbm``) is cheaper than the paper's simulated one.
- ``t3``: GEMM fused with the RS (Sec. 4.1, Fig. 7). Staggered: each rank computes first
  the chunk it must send first, so its GEMM stage ``s`` (the ``1/tp`` of the tiles forming
  chunk ``s``) feeds ring step ``s``. Step ``s`` starts at
  ``max(stage_end[s], step_end[s-1])`` (its own stores tracked, and the neighbour's update for
  that chunk arrived); step 0 goes out straight from the GEMM's stores (remote update), later
  steps are DMA reads. The receiver reduces near memory (op-and-store, Sec. 4.3), so the RS
  ends at ``max(stage_end[tp-1], step_end[tp-2])``; the AG follows. No CUs are used for
  communication, but DRAM is shared without arbitration: every step injects its DRAM work
  at once (DMA read ``C`` for steps >= 1, and the update ``C`` whose op-and-store occupies the
  bank for a read and a write, ``2C``; ASSUMPTION), which FCFS memory queues serve ahead of
  the GEMM's requests (Sec. 6.1, Fig. 17: RS bursts block the GEMM's read phases). A GEMM
  that streams an operand from DRAM (one not resident in L2) issues reads all through its
  K loop, and its few K-slices of buffered operands last far less than a burst, so the wave
  in progress waits the whole ``burst / B_hbm``; a GEMM whose operands sit in L2 only writes
  to DRAM (posted writes) and does not wait (Sec. 6.1: the small OP GEMMs suffer least).
- ``t3_mca``: plus memory-controller arbitration (Sec. 4.5): the GEMM's requests go first and
  communication is issued only while the DRAM queue is below a threshold that the policy
  derives from the memory intensity of the GEMM's first stage, so the GEMM is never delayed
  and a step that starts while the GEMM runs lasts ``max(t_step, burst / (B_hbm (1 -
  phi)))``, with ``phi = min(0.9, DRAM bytes of the first stage / B_hbm / its duration)``
  (0.9: ASSUMPTION, the starvation limit of Sec. 4.5 leaves communication at least 10%); a
  step that starts after the GEMM has DRAM to itself.

``tp = 1``: no communication; every scheme is the GEMM alone.

DRAM bytes per rank (the paper counts DRAM reads + writes of GEMM and collective, Sec. 6.2):
GEMM reads as above, plus

- sequential / ideal: GEMM output ``tp C``; RS reads ``(2 tp - 1) C`` (the first chunk sent,
  then the local partial and the received chunk per step), RS writes ``tp C`` (arrivals and
  the final result);
- ideal_nmc: output ``tp C``; RS DMA reads ``(tp - 1) C``; updates ``(tp - 1) C`` (NMC reads the
  partial inside the memory; Sec. 6.2: it removes the partial-copy reads);
- t3 / t3_mca: output ``(tp - 1) C`` (stage 0 goes to the neighbour); updates ``(tp - 1) C``;
  DMA reads ``(tp - 2) C``;
- all: AG reads ``(tp - 1) C`` and writes ``(tp - 1) C``.

With these counts the RS reads drop ``(2tp-1)/(tp-2)`` = 2.5x at TP=8 and 2.2x at TP=16 and the
GEMM+RS writes by ``1/tp``, as the paper reports (Sec. 6.2, Fig. 18). Link bytes per rank:
``2 (tp - 1) C`` in every scheme.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

from neuralbrain.errors import ConfigError, ShapeError

SCHEMES: tuple[str, ...] = ("sequential", "t3", "t3_mca", "ideal", "ideal_nmc")

# ASSUMPTION: output macro-tile of the GEMM kernel (rows x columns); the paper's GEMMs come from
# a BLAS library it does not detail. 128 x 128 is a common macro-tile for large FP16 GEMMs.
TILE_M = 128
TILE_N = 128
# ASSUMPTION: write-back outputs take half of L2 (sequential, ideal); uncached T3 outputs none.
L2_SHARE_CACHED_OUTPUT = 0.5
# ASSUMPTION: an op-and-store (near-memory update) occupies the DRAM bank for a read and a write.
NMC_UPDATE_DRAM_COST = 2.0
# ASSUMPTION: T3-MCA's starvation limit (Sec. 4.5) leaves communication at least 10% of DRAM time.
MCA_MAX_GEMM_SHARE = 0.9


def _positive(obj: object, field: str, value: object, expected: str) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value) and value > 0
    if not ok:
        raise ConfigError(f"{type(obj).__name__}.{field} = {value!r}: expected {expected}")


@dataclass(frozen=True)
class Device:
    """One rank's accelerator.

    ``peak_flops``: FLOP/s of the GEMM's arithmetic (2 FLOP per multiply-add);
    ``hbm_bytes_per_s``: DRAM bandwidth; ``l2_bytes``: last-level cache; ``compute_units``: how
    many output tiles run at once (one per unit); ``clock_hz``: for the record. All > 0.
    """

    name: str
    peak_flops: float
    hbm_bytes_per_s: float
    l2_bytes: int
    compute_units: int = 1
    clock_hz: float = 1e9

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"Device.name = {self.name!r}: expected a non-empty string")
        _positive(self, "peak_flops", self.peak_flops, "a FLOP/s rate > 0")
        _positive(self, "hbm_bytes_per_s", self.hbm_bytes_per_s, "a bandwidth in bytes/s > 0")
        _positive(self, "clock_hz", self.clock_hz, "a clock in Hz > 0")
        for field in ("l2_bytes", "compute_units"):
            v = getattr(self, field)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ConfigError(f"Device.{field} = {v!r}: expected an integer > 0")


@dataclass(frozen=True)
class Link:
    """A ring link: ``bytes_per_s`` per direction per ring neighbour (> 0); ``latency_s`` per
    transfer (>= 0)."""

    bytes_per_s: float
    latency_s: float

    def __post_init__(self) -> None:
        _positive(self, "bytes_per_s", self.bytes_per_s, "a bandwidth in bytes/s > 0")
        lat = self.latency_s
        if not isinstance(lat, (int, float)) or isinstance(lat, bool) or not math.isfinite(lat) \
                or lat < 0:
            raise ConfigError(f"Link.latency_s = {lat!r}: expected seconds >= 0")


# The paper's GPU and link (Sec. 5.1, via summary; the summary does not say whether the paper
# tabulates them, so no table number is cited): 80 CUs at 1.4 GHz, 16 MB L2, 1 TB/s HBM2;
# ring links of 150 GB/s bidirectional, 500 ns latency. The paper times its GEMMs by
# simulating GEMM kernel traces in its multi-GPU extension of Accel-Sim (Sec. 5.1, via
# summary); we have no traces, hence:
# ASSUMPTION: GEMM tiles run at the matrix cores' peak, 1024 FP16 FLOP per clock per CU (AMD
# CDNA MI100 matrix cores, AMD lab notes "AMD matrix cores"): 80 x 1.4e9 x 1024 = 114.7 TFLOP/s,
# unless DRAM bounds the wave.
# ASSUMPTION: 150 GB/s bidirectional = 75 GB/s per direction, which one ring step uses.
GPU = Device(name="t3-paper-gpu", peak_flops=80 * 1.4e9 * 1024, hbm_bytes_per_s=1e12,
             l2_bytes=16 * 2**20, compute_units=80, clock_hz=1.4e9)
LINK = Link(bytes_per_s=150e9 / 2, latency_s=500e-9)


def lut_device() -> Device:
    """The LUT Tensor Core model of ``neuralbrain.hardware.lut`` as one rank.

    Compute: ``LOOKUPS_PER_S`` table lookups per second, each covering ``K_GROUP`` (= 4) inputs
    of one weight bit plane; a ``b``-bit weight needs ``b`` planes, so one lookup does
    ``K_GROUP / b`` multiply-adds: for 4-bit weights exactly 1, i.e. 32e9 MAC/s = 64e9 FLOP/s.
    ``compute_units = 1`` (one lookup array; lut.py: 32 lookup units at 1 GHz act together).
    Memory system: ASSUMPTION, the paper GPU's (HBM bandwidth and L2), since lut.py models no
    memory timing.
    """
    from neuralbrain.hardware.lut import K_GROUP, LOOKUPS_PER_S

    weight_bits = 4  # ASSUMPTION: the rate is quoted for 4-bit weights (the planner's models)
    macs_per_s = LOOKUPS_PER_S * K_GROUP / weight_bits
    return Device(name="lut-tensor-core", peak_flops=2.0 * macs_per_s,
                  hbm_bytes_per_s=GPU.hbm_bytes_per_s, l2_bytes=GPU.l2_bytes,
                  compute_units=1, clock_hz=1e9)


@dataclass(frozen=True)
class Gemm:
    """The producer GEMM of one sublayer on one rank: ``m`` tokens x ``k`` local inputs ->
    ``n`` outputs (partial sums of the full hidden size). ``weight_bits`` per weight,
    ``act_bytes`` per activation / output / communicated element."""

    m: int
    n: int
    k: int
    weight_bits: int = 16
    act_bytes: int = 2

    def __post_init__(self) -> None:
        for field in ("m", "n", "k", "act_bytes"):
            v = getattr(self, field)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ShapeError(f"Gemm.{field} = {v!r}: expected an integer > 0")
        wb = self.weight_bits
        if not isinstance(wb, int) or isinstance(wb, bool) or not 1 <= wb <= 64:
            raise ShapeError(f"Gemm.weight_bits = {wb!r}: expected an integer in 1..64")


@dataclass(frozen=True)
class Event:
    """One busy interval of a lane (``dev{d}`` or ``link{d}->{e}``)."""

    lane: str
    kind: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Schedule:
    """One sublayer under one scheme, per rank: ``total_s`` (GEMM + RS + AG), ``gemm_s`` (the
    GEMM alone, outputs through L2), ``comm_s`` (RS + AG alone, CU reductions), ``dram_bytes``
    (every DRAM read + write of GEMM and collective), ``link_bytes`` (sent), ``events``."""

    scheme: str
    total_s: float
    gemm_s: float
    comm_s: float
    dram_bytes: float
    link_bytes: float
    events: tuple[Event, ...]


@dataclass(frozen=True)
class _Waves:
    """A GEMM's waves: per wave its duration and DRAM bytes, and which wave ends each stage."""

    times: tuple[float, ...]
    dram: tuple[float, ...]  # reads + writes per wave
    reads: float
    writes: float
    stage_wave: tuple[int, ...]  # stage s (1/tp of the tiles) ends with this wave
    streams: bool  # an operand is re-read from DRAM every wave (not resident in L2)


def _waves(g: Gemm, dev: Device, tp: int, l2_inputs: float) -> _Waves:
    tm, tn = min(TILE_M, g.m), min(TILE_N, g.n)
    rows, cols = -(-g.m // tm), -(-g.n // tn)
    tiles = rows * cols
    cus = dev.compute_units
    n_waves = -(-tiles // cus)
    a, wb = g.act_bytes, g.weight_bits / 8.0
    a_total, w_total = g.m * g.k * a, g.n * g.k * wb
    w_resident = w_total <= l2_inputs
    a_resident = a_total <= l2_inputs - (w_total if w_resident else 0.0)
    t_tile = 2.0 * tm * tn * g.k / (dev.peak_flops / cus)
    out_total = g.m * g.n * a
    # ASSUMPTION: the kernel schedules tiles in near-square groups (workgroup swizzling for L2
    # reuse), so a full wave covers gr x gc tiles: gr = min(rows, ceil(sqrt(CUs))).
    gr = min(rows, math.isqrt(cus - 1) + 1)
    gc = min(cols, -(-cus // gr))
    times, dram = [], []
    reads = 0.0
    for w in range(n_waves):
        in_wave = min(cus, tiles - w * cus)
        r_w = min(gr, in_wave)
        c_w = min(gc, -(-in_wave // r_w))
        rd = a_total / n_waves if a_resident else min(g.m, r_w * tm) * g.k * a
        rd += w_total / n_waves if w_resident else min(g.n, c_w * tn) * g.k * wb
        wr = out_total * in_wave / tiles
        reads += rd
        t_c = t_tile
        if cus == 1:  # a single-unit device runs each edge tile at its own size
            r, cc = divmod(w, cols)
            t_c *= (min(tm, g.m - r * tm) * min(tn, g.n - cc * tn)) / (tm * tn)
        times.append(max(t_c, (rd + wr) / dev.hbm_bytes_per_s))
        dram.append(rd + wr)
    stage_wave = tuple((-(-(s + 1) * tiles // tp) - 1) // cus for s in range(tp))
    return _Waves(tuple(times), tuple(dram), reads, float(out_total), stage_wave,
                  not (a_resident and w_resident))


def _check(gemm: Gemm, tp: int, device: Device, link: Link, scheme: str) -> None:
    if not isinstance(gemm, Gemm):
        raise ShapeError(f"gemm = {gemm!r}: expected a t3_model.Gemm")
    if not isinstance(tp, int) or isinstance(tp, bool) or tp < 1:
        raise ConfigError(f"tp = {tp!r}: expected an integer >= 1 (ranks in the ring)")
    if not isinstance(device, Device):
        raise ConfigError(f"device = {device!r}: expected a t3_model.Device")
    if not isinstance(link, Link):
        raise ConfigError(f"link = {link!r}: expected a t3_model.Link")
    if scheme not in SCHEMES:
        raise ConfigError(f"scheme {scheme!r}: expected one of {list(SCHEMES)}")
    if tp > 1 and gemm.n % tp:
        raise ShapeError(f"Gemm.n = {gemm.n} with tp = {tp}: expected n divisible by tp "
                         "(the ring splits the outputs into tp equal chunks)")


def simulate(gemm: Gemm, tp: int, device: Device = GPU, link: Link = LINK,
             scheme: str = "t3_mca") -> Schedule:
    """The sublayer (``gemm`` on each of ``tp`` ranks, then its all-reduce) under ``scheme``.

    Pure and memoized on its (frozen) arguments; see the module docstring for the equations.
    Raises ``ConfigError`` / ``ShapeError`` naming the bad value.
    """
    _check(gemm, tp, device, link, scheme)
    return _simulate(gemm, tp, device, link, scheme)


@lru_cache(maxsize=4096)
def _simulate(g: Gemm, tp: int, dev: Device, link: Link, scheme: str) -> Schedule:
    hbm = dev.hbm_bytes_per_s
    cached = _waves(g, dev, tp, dev.l2_bytes * L2_SHARE_CACHED_OUTPUT)
    gemm_s = sum(cached.times)
    out = g.m * g.n * g.act_bytes
    if tp == 1:
        events = _gemm_events(cached.times, 0.0, 1)
        return Schedule(scheme, gemm_s, gemm_s, 0.0, cached.reads + cached.writes, 0.0,
                        events)
    c = out / tp
    step = link.latency_s + c / link.bytes_per_s
    red = 3.0 * c / hbm  # the last CU reduction: read partial + received, write the sum
    n = tp - 1
    comm_s = n * step + red + n * step
    ag_dram = 2.0 * n * c
    link_bytes = 2.0 * n * c
    ev: list[tuple[str, str, float, float]] = []  # (lane kind, kind, start, end), rank 0

    if scheme in ("sequential", "ideal", "ideal_nmc"):
        waves = cached
        t = 0.0
        for dt in waves.times:
            ev.append(("dev", "gemm", t, t + dt))
            t += dt
        if scheme == "sequential":
            rs0 = gemm_s
            for s in range(n):
                ev.append(("link", "reduce_scatter", rs0 + s * step, rs0 + (s + 1) * step))
                if s < n - 1:  # hidden behind the next transfer
                    ev.append(("dev", "reduce", rs0 + (s + 1) * step,
                               rs0 + (s + 1) * step + red))
            rs_end = rs0 + n * step + red
            ev.append(("dev", "reduce", rs0 + n * step, rs_end))
        else:
            for s in range(n):
                ev.append(("link", "reduce_scatter", s * step, (s + 1) * step))
            # the whole RS overlaps the GEMM; NMC removes the CU reduction from it
            rs_alone = n * step + (red if scheme == "ideal" else 0.0)
            rs_end = max(gemm_s, rs_alone)
            if rs_end > max(gemm_s, n * step):  # the part of the reduction left exposed
                ev.append(("dev", "reduce", max(gemm_s, n * step), rs_end))
        if scheme == "ideal_nmc":
            rs_dram = n * c + n * c  # DMA reads and NMC updates
            dram = waves.reads + out + rs_dram + ag_dram
        else:
            dram = waves.reads + out + (2 * tp - 1) * c + tp * c + ag_dram
    else:
        waves = _waves(g, dev, tp, float(dev.l2_bytes))
        rs_end, gemm_ev, link_ev = _fused(waves, tp, c, step, hbm, scheme == "t3_mca")
        ev.extend(gemm_ev)
        ev.extend(link_ev)
        dram = waves.reads + n * c + n * c + (tp - 2) * c + ag_dram
    for s in range(n):
        ev.append(("link", "all_gather", rs_end + s * step, rs_end + (s + 1) * step))
    total = rs_end + n * step
    events = tuple(Event(f"dev{d}" if lk == "dev" else f"link{d}->{(d + 1) % tp}", kind, a, b)
                   for d in range(tp) for lk, kind, a, b in ev)
    return Schedule(scheme, total, gemm_s, comm_s, float(dram), float(link_bytes), events)


def _gemm_events(times: tuple[float, ...], t0: float, tp: int) -> tuple[Event, ...]:
    out, t = [], t0
    for dt in times:
        out.append((t, t + dt))
        t += dt
    return tuple(Event(f"dev{d}", "gemm", a, b) for d in range(tp) for a, b in out)


def _fused(w: _Waves, tp: int, c: float, step: float, hbm: float,
           mca: bool) -> tuple[float, list, list]:
    """T3's fused GEMM + ring RS on one rank: wave by wave, steps triggered as stages end.

    Returns the RS end time and the GEMM and link events (rank-0 lanes)."""
    n_waves = len(w.times)
    # MCA's threshold: the memory intensity of the GEMM's first stage (waves 0..stage_wave[0])
    k0 = w.stage_wave[0] + 1
    t0 = sum(w.times[:k0])
    phi0 = min(1.0, (sum(w.dram[:k0]) / hbm) / t0) if t0 > 0 else 0.0
    stage_end = [0.0] * tp
    step_end: list[float] = []
    pending: list[tuple[float, float]] = []  # (trigger time, burst bytes) not yet applied
    gemm_ev, link_ev = [], []
    # under MCA the GEMM is never delayed, so its wave boundaries are known in advance
    bounds = list(itertools.accumulate(w.times))
    t = 0.0
    next_stage = 0
    for i in range(n_waves):
        start, end = t, t + w.times[i]
        if not mca:
            pending.sort()
            while pending and pending[0][0] < end:
                _, burst = pending.pop(0)
                end += burst / hbm if w.streams else 0.0
        gemm_ev.append(("dev", "gemm", start, end))
        t = end
        while next_stage < tp and w.stage_wave[next_stage] <= i:
            stage_end[next_stage] = end
            next_stage += 1
        # ring steps whose stage is done (and whose predecessor is scheduled)
        while len(step_end) < tp - 1 and len(step_end) < next_stage:
            s = len(step_end)
            st = max(stage_end[s], step_end[-1] if step_end else 0.0)
            burst = (c if s >= 1 else 0.0) + NMC_UPDATE_DRAM_COST * c
            if mca:
                # while the GEMM runs, communication gets the DRAM time its first stage leaves
                j = bisect.bisect_right(bounds, st)
                p = phi0 if j < n_waves else 0.0
                dur = max(step, burst / (hbm * (1.0 - min(p, MCA_MAX_GEMM_SHARE))))
            else:
                dur = max(step, burst / hbm)
                # FCFS: the burst is queued ahead of the GEMM's next requests
                pending.append((max(st, t), burst))
            step_end.append(st + dur)
            link_ev.append(("link", "reduce_scatter", st, st + dur))
    rs_end = max(stage_end[tp - 1], step_end[-1] if step_end else 0.0)
    return rs_end, gemm_ev, link_ev

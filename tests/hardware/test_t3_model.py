"""The T3 timing / traffic model: contracts, invariants of the ring and the schemes, bad input."""

from __future__ import annotations

import time
from collections import defaultdict

import pytest

from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.hardware import t3_model as tm
from neuralbrain.hardware import t3_paper as tpp
from neuralbrain.hardware.lut import K_GROUP, LOOKUPS_PER_S
from neuralbrain.hardware.t3_model import GPU, LINK, SCHEMES, Device, Gemm, Link, simulate

PAPER_CASES = [(tpp.sublayer_gemm(m, tp, km), tp) for m in tpp.MODELS for tp in m.tp_degrees
               for _, _, km in tpp.SUBLAYERS]
TNLG_FC2 = tpp.sublayer_gemm(tpp.MODELS[1], 8, 4)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_simulate_is_pure_and_memoized(scheme):
    a = simulate(TNLG_FC2, 8, scheme=scheme)
    b = simulate(TNLG_FC2, 8, GPU, LINK, scheme)
    assert a == b and a.scheme == scheme


@pytest.mark.parametrize("gemm,tp", PAPER_CASES)
def test_sequential_is_gemm_then_comm(gemm, tp):
    s = simulate(gemm, tp, scheme="sequential")
    assert s.total_s == pytest.approx(s.gemm_s + s.comm_s, rel=1e-12)


@pytest.mark.parametrize("gemm,tp", PAPER_CASES)
def test_scheme_ordering(gemm, tp):
    t = {s: simulate(gemm, tp, scheme=s).total_s for s in SCHEMES}
    # every overlap beats sequential; near-memory reduction only removes work from the ideal
    assert max(t["t3"], t["t3_mca"], t["ideal"], t["ideal_nmc"]) < t["sequential"]
    assert t["ideal_nmc"] <= t["ideal"]
    # arbitration protects the GEMM: T3-MCA is never slower than T3 on the paper's sublayers
    assert t["t3_mca"] <= t["t3"] * (1 + 1e-9)


@pytest.mark.parametrize("gemm,tp", PAPER_CASES)
def test_t3_moves_fewer_dram_bytes_same_link_bytes(gemm, tp):
    seq, t3 = simulate(gemm, tp, scheme="sequential"), simulate(gemm, tp, scheme="t3_mca")
    assert t3.dram_bytes < seq.dram_bytes
    assert t3.link_bytes == seq.link_bytes


@pytest.mark.parametrize("tp", [2, 4, 8, 16])
def test_ring_moves_tp_minus_one_over_tp_of_the_data(tp):
    g = Gemm(m=512, n=1024, k=256)
    out = g.m * g.n * g.act_bytes
    s = simulate(g, tp, scheme="sequential")
    # RS and AG each send (tp - 1) / tp of the output per rank
    assert s.link_bytes == pytest.approx(2 * out * (tp - 1) / tp)
    rs = [e for e in s.events if e.kind == "reduce_scatter" and e.lane == "link0->1"]
    ag = [e for e in s.events if e.kind == "all_gather" and e.lane == "link0->1"]
    assert len(rs) == len(ag) == tp - 1
    step = LINK.latency_s + out / tp / LINK.bytes_per_s
    assert all(e.end_s - e.start_s == pytest.approx(step) for e in rs + ag)


@pytest.mark.parametrize("gemm,tp", PAPER_CASES)
def test_ideal_overlaps_the_whole_baseline_rs(gemm, tp):
    # Ideal-GEMM-RS-Overlap = max(GEMM, RS) + AG with the sequential RS whole (transfers and
    # CU reduction); Ideal-RS+NMC drops the CU reduction from the RS.
    seq = simulate(gemm, tp, scheme="sequential")
    step = LINK.latency_s + gemm.m * gemm.n * gemm.act_bytes / tp / LINK.bytes_per_s
    ag = (tp - 1) * step
    rs = seq.comm_s - ag
    ideal = simulate(gemm, tp, scheme="ideal").total_s
    nmc = simulate(gemm, tp, scheme="ideal_nmc").total_s
    assert ideal == pytest.approx(max(seq.gemm_s, rs) + ag, rel=1e-12)
    assert nmc == pytest.approx(max(seq.gemm_s, (tp - 1) * step) + ag, rel=1e-12)
    # the bound the paper's "at most 50%" refers to
    assert seq.total_s / ideal <= 1.5 + 1e-12


def test_ideal_bound_reaches_one_and_a_half_when_gemm_rs_and_ag_match():
    # Mega-GPT-2 FC-2 at TP 8: G is 1.15 RS and RS is AG plus one exposed reduction, so the
    # ideal ratio (G + RS + AG) / (max(G, RS) + AG) comes close to its 1.5 bound (1.473)
    g = tpp.sublayer_gemm(tpp.MODELS[0], 8, 4)
    seq = simulate(g, 8, scheme="sequential")
    assert seq.total_s / simulate(g, 8, scheme="ideal").total_s > 1.45


def test_rs_read_and_write_reductions_match_the_papers_counts():
    # Sec. 6.2: RS reads 2.5x fewer at TP=8 and 2.2x at TP=16; GEMM+RS writes ~10% fewer.
    for tp, ratio in ((8, 2.5), (16, 2.2)):
        assert (2 * tp - 1) / (tp - 2) == pytest.approx(ratio, abs=0.02)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_tp1_has_no_communication(scheme):
    g = Gemm(m=64, n=576, k=192, weight_bits=4, act_bytes=4)
    s = simulate(g, 1, scheme=scheme)
    assert s.comm_s == 0 and s.link_bytes == 0 and s.total_s == s.gemm_s
    assert {e.kind for e in s.events} == {"gemm"}
    assert s.total_s == simulate(g, 1, scheme="sequential").total_s


@pytest.mark.parametrize("gemm,tp", PAPER_CASES[:8] + [(Gemm(1, 576, 192, 4, 4), 3)])
@pytest.mark.parametrize("scheme", SCHEMES)
def test_events_of_a_lane_never_overlap_and_lie_within_the_total(gemm, tp, scheme):
    s = simulate(gemm, tp, scheme=scheme)
    lanes = defaultdict(list)
    for e in s.events:
        assert 0 <= e.start_s <= e.end_s <= s.total_s * (1 + 1e-12)
        lanes[e.lane].append(e)
    assert set(lanes) <= {f"dev{d}" for d in range(tp)} | \
        {f"link{d}->{(d + 1) % tp}" for d in range(tp)}
    for evs in lanes.values():
        evs.sort(key=lambda e: e.start_s)
        for a, b in zip(evs, evs[1:], strict=False):
            assert b.start_s >= a.end_s - 1e-15


def test_decode_sized_gemm_is_latency_bound_and_fast():
    g = Gemm(m=1, n=576, k=192, weight_bits=4, act_bytes=4)  # smaller than one tile
    dev = tm.lut_device()
    tm._simulate.cache_clear()
    t0 = time.perf_counter()
    s = simulate(g, 4, dev, scheme="t3_mca")
    assert time.perf_counter() - t0 < 0.05  # generous bound on a shared machine
    seq = simulate(g, 4, dev, scheme="sequential")
    # 576 x 4 bytes / 4 = 576 bytes a step: the 500 ns link latency dominates
    assert seq.comm_s > 6 * LINK.latency_s * 0.99
    assert seq.comm_s < 6 * LINK.latency_s * 1.1
    assert s.total_s <= seq.total_s
    # the GEMM reads the 4-bit weights once: 576 x 192 / 2 bytes
    assert seq.dram_bytes >= 576 * 192 / 2


def test_lut_device_rate_comes_from_lut_constants():
    dev = tm.lut_device()
    # one lookup = K_GROUP inputs of one bit plane; 4-bit weights -> 1 multiply-add a lookup
    assert dev.peak_flops == pytest.approx(2 * LOOKUPS_PER_S * K_GROUP / 4)
    assert dev.hbm_bytes_per_s == GPU.hbm_bytes_per_s


def test_gpu_and_link_are_the_papers():
    assert GPU.compute_units == 80 and GPU.clock_hz == 1.4e9
    assert GPU.l2_bytes == 16 * 2**20 and GPU.hbm_bytes_per_s == 1e12
    assert LINK.latency_s == 500e-9 and LINK.bytes_per_s * 2 == 150e9


def test_more_compute_means_communication_matters_more():
    # a device twice as fast leaves more of the sublayer to the communication T3 hides
    fast = Device("2x", GPU.peak_flops * 2, GPU.hbm_bytes_per_s, GPU.l2_bytes,
                  GPU.compute_units, GPU.clock_hz)
    g = tpp.sublayer_gemm(tpp.MODELS[0], 16, 1)  # comm-bound OP at TP=16
    sp = {d.name: simulate(g, 16, d, scheme="sequential").total_s
          / simulate(g, 16, d, scheme="t3_mca").total_s for d in (GPU, fast)}
    assert sp["2x"] < sp[GPU.name]  # comm-bound: faster GEMM leaves less to hide


@pytest.mark.parametrize("call,err,match", [
    (lambda: simulate(TNLG_FC2, 0), ConfigError, "tp = 0"),
    (lambda: simulate(TNLG_FC2, 8, scheme="fast"), ConfigError, "scheme 'fast'"),
    (lambda: simulate(Gemm(4, 10, 4), 3), ShapeError, "n = 10 with tp = 3"),
    (lambda: Gemm(0, 4, 4), ShapeError, r"Gemm.m = 0"),
    (lambda: Gemm(4, 4, -1), ShapeError, r"Gemm.k = -1"),
    (lambda: Gemm(4, 4, 4, weight_bits=0), ShapeError, "weight_bits = 0"),
    (lambda: Device("d", 0.0, 1e12, 1), ConfigError, "peak_flops = 0.0"),
    (lambda: Device("d", 1e12, -1.0, 1), ConfigError, "hbm_bytes_per_s = -1.0"),
    (lambda: Device("d", 1e12, 1e12, 1, clock_hz=0), ConfigError, "clock_hz = 0"),
    (lambda: Device("d", 1e12, 1e12, 1, compute_units=0), ConfigError, "compute_units = 0"),
    (lambda: Link(0.0, 1e-9), ConfigError, "bytes_per_s = 0.0"),
    (lambda: Link(1e9, -1.0), ConfigError, "latency_s = -1.0"),
])
def test_bad_input_is_one_line_error_naming_the_value(call, err, match):
    with pytest.raises(err, match=match) as info:
        call()
    assert "\n" not in str(info.value) and "expected" in str(info.value)


def test_unarbitrated_bursts_hurt_gemms_that_stream_from_dram_only():
    # Sec. 6.1 / Fig. 17: without MCA the RS bursts block a read-heavy GEMM (FC-2, its weights
    # do not fit in L2) but hardly the small OP GEMM, whose operands stay in L2.
    tnlg = tpp.MODELS[1]
    op, fc2 = tpp.sublayer_gemm(tnlg, 8, 1), tpp.sublayer_gemm(tnlg, 8, 4)
    t = {(name, s): simulate(g, 8, scheme=s).total_s
         for name, g in (("op", op), ("fc2", fc2)) for s in ("t3", "t3_mca")}
    assert t["op", "t3"] == pytest.approx(t["op", "t3_mca"])
    assert t["fc2", "t3"] > 1.05 * t["fc2", "t3_mca"]

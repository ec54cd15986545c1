"""The T3 paper's evaluation setup and its reported figures, each with where it comes from.

Paper: S. Pati, S. Aga, M. Islam, N. Jayasena, M. D. Sinclair, "T3: Transparent Tracking &
Triggering for Fine-grained Overlap of Compute & Collectives", ASPLOS 2024, arXiv 2401.16677.

Sources read (offline copies), and what each could give:

1. The paper itself, as the arXiv-vanity HTML rendering of 2401.16677 in the offline page store.
   The store serves each page from its beginning only: of about twenty differently worded
   searches for its parts (methodology, Table 1, tokens, sublayers, configurations, results,
   data movement, MCA, NMC) the page came up in three, each time as the same opening (title,
   authors and affiliations, the first half of the abstract); no later passage of it ever
   came up. The abstract's second half, with its figures, was read in copies of the arXiv
   abstract on paper-index pages (marked "abstract" below): T3-MCA 30% geomean / 47% max on
   the communication-heavy sublayers of models like T-NLG, 22% / 36% less data movement, and
   29% geomean on the sublayers of the ~500B-parameter models PALM and MT-NLG. They agree with
   the values kept.
2. For the body (Sec. 4.5 MCA, Sec. 5.1 setup, 5.2 models, 5.3 configurations, Sec. 6.1,
   6.2, 6.4 results, Fig. 16 to 18): a section-by-section reading note of the paper (public, in
   Chinese, with the paper's section and figure numbers), cited "(Sec. x, via summary)". Every
   such value was re-read in that note for this revision and none differs from it. What the
   note says but the abstract frames differently is flagged where it matters (the TP = 32
   model set, below). Values neither source gives are ASSUMPTIONs (``TOKENS``, tiles, link
   direction, GEMM efficiency, contention; see ``t3_model``).

Model shapes the paper takes from the models' own papers are cited to those papers (via the
public notes that quote them).

"Percent faster" convention. The paper's "Ideal-GEMM-RS-Overlap" reaches at most 50% (Sec.
6.1): with the all-gather still sequential, ``t_seq / t_ideal = (G + RS + AG) / (max(G, RS)
+ AG)`` is at most 1.5 (when G = RS = AG), so "x% faster" must be the ratio ``t_seq / t =
1 + x/100`` (a time reduction of 50% would be impossible). ``PAPER`` therefore stores speedups
as ratios (1.30 for "30% faster"), the same convention as ``neuralbrain t3 report``. Data
movement reductions are fractions of the sequential baseline's bytes (0.22 for "22% less").
"""

from __future__ import annotations

from dataclasses import dataclass

from neuralbrain.hardware.t3_model import GPU, LINK, Device, Gemm, Link

# --- Device and link ------------------------------------------------------------------------------
# Defined in ``t3_model`` (GPU, LINK), where the simulator's defaults live, with these sources:
# Sec. 5.1 (via summary; an earlier revision cited "Table 1", which no source read here shows):
# each GPU has 80 CUs at 1.4 GHz, a 16 MB L2 and 1 TB/s of HBM2; the GPUs form a ring of
# 150 GB/s bidirectional links with 500 ns latency; the paper extends Accel-Sim to several
# GPUs and times GEMMs from kernel traces, validated against reduce-scatters measured on a
# 4-GPU MI210 node. ASSUMPTIONS there: GEMMs at the matrix cores' peak (1024 FP16 FLOP per
# clock per CU, AMD MI100; we have no traces to simulate) and 75 GB/s per direction (150 GB/s
# bidirectional counts both directions; one ring step uses one).
PAPER_GPU: Device = GPU
PAPER_LINK: Link = LINK


# --- Models and tensor-parallel degrees ----------------------------------------------------------
@dataclass(frozen=True)
class PaperModel:
    """A Transformer the paper evaluates: hidden size, layers and the TP degrees it uses."""

    name: str
    hidden: int
    layers: int
    tp_degrees: tuple[int, ...]
    group: str  # "headline" (abstract's 30% / 47% / 22%) or "500B" (abstract's 29%)
    source: str


MODELS: tuple[PaperModel, ...] = (
    # TP=8 and 16 for Mega-GPT-2 and T-NLG (Sec. 5.2, via summary; the abstract names T-NLG).
    PaperModel("Mega-GPT-2", 3072, 72, (8, 16), "headline",
               "Megatron-LM 8.3B (Shoeybi et al. 2019): 72 layers, hidden 3072 "
               "(as quoted in Qiu et al., Pre-trained Models for NLP: A Survey, Sec. 8)"),
    PaperModel("T-NLG", 4256, 78, (8, 16), "headline",
               "Turing-NLG 17B (Microsoft 2020): 78 layers, hidden 4256 "
               "(as quoted in Qiu et al., Pre-trained Models for NLP: A Survey, Sec. 8)"),
    # TP=32 for the ~500B models: the abstract names PALM and MT-NLG for its 29%. The summary
    # lists GPT-3 at TP=32 too (Sec. 5.2) and gives Sec. 6.4's 29% / 35% for "GPT-3, PALM,
    # MT-NLG"; which models that figure averages cannot be settled without the body, so the
    # group follows the abstract. (With GPT-3 added at TP=32 -- 96 layers, d_model 12288, Brown
    # et al. 2020, Table 2.1 -- our TP=32 T3-MCA geomean stays 1.35 and its max rises to 1.48:
    # it would not close the gap to 1.29 / 1.35.)
    PaperModel("PaLM", 18432, 118, (32,), "500B",
               "PaLM 540B (Chowdhery et al. 2022, Table 1): 118 layers, d_model 18432"),
    PaperModel("MT-NLG", 20480, 105, (32,), "500B",
               "MT-NLG 530B (Smith et al. 2022 / Narayanan et al. 2021): 105 layers, "
               "hidden 20480, sequence 2048"),
)

# ASSUMPTION: tokens per GEMM (rows M). Neither the abstract nor the summary gives the paper's
# batch and sequence sizes (the summary: training and prompt-phase inference, FP16). We use
# 4096 tokens = two sequences of 2048 (MT-NLG's sequence length). Both
# the GEMM's FLOPs and the all-reduce's bytes grow linearly in M, so the speedups depend on M
# only through wave and tile rounding.
TOKENS = 4096

# The communication-heavy sublayers: the row-parallel GEMMs whose outputs are all-reduced
# (Sec. 5.2 / 5.3, via summary): forward OP (attention output projection) and FC-2; backward the
# input gradients of FC-1 and IP (input / QKV projection), which are column-parallel forward
# and so row-parallel, with an all-reduce, in the backward pass (Megatron, Shoeybi et al.).
# Local K per rank as a multiple of hidden/tp: OP reads the attention output (H), FC-2 the
# 4H MLP activations, FC-1's input gradient contracts over its 4H outputs, IP's over its 3H
# (Q, K and V) outputs.
SUBLAYERS: tuple[tuple[str, str, int], ...] = (
    ("OP", "fwd", 1),
    ("FC-2", "fwd", 4),
    ("FC-1", "bwd", 4),
    ("IP", "bwd", 3),
)
ACT_BYTES = 2  # FP16 activations and weights (the paper's training / prompt inference in FP16)
WEIGHT_BITS = 16


def sublayer_gemm(model: PaperModel, tp: int, k_mult: int, tokens: int = TOKENS) -> Gemm:
    """The producer GEMM of one sublayer on one rank: M tokens x (k_mult H / tp) -> H."""
    return Gemm(m=tokens, n=model.hidden, k=k_mult * model.hidden // tp,
                weight_bits=WEIGHT_BITS, act_bytes=ACT_BYTES)


# --- The paper's reported figures -----------------------------------------------------------------
PAPER: dict = {
    # T3-MCA 30% geomean, 47% max: abstract (read in the paper's own text) and Sec. 6.1 /
    # Fig. 16 (via summary). T3 alone 20% geomean, 39% max; Ideal-GEMM-RS-Overlap 35%
    # geomean, 50% max: Sec. 6.1 / Fig. 16 (via summary only). Mega-GPT-2 and T-NLG, TP = 8
    # and 16. Ratios t_seq / t (see the module docstring).
    "geomean_speedup": {"ideal": 1.35, "t3": 1.20, "t3_mca": 1.30},
    "max_speedup": {"ideal": 1.50, "t3": 1.39, "t3_mca": 1.47},
    # Data movement 22% geomean, 36% max less: abstract (paper's text) and Sec. 6.2 / Fig. 18
    # (via summary).
    "dram_traffic_reduction_geomean": 0.22,
    "dram_traffic_reduction_max": 0.36,
    # ~500B-parameter models, TP=32: T3-MCA 29% geomean (abstract, paper's text: "PALM and
    # MT-NLG"); 35% max (Sec. 6.4, via summary, which names GPT-3, PALM and MT-NLG).
    "geomean_speedup_500b": {"t3_mca": 1.29},
    "max_speedup_500b": {"t3_mca": 1.35},
    # Sec. 6.1 / Fig. 16 (via summary): Ideal-RS+NMC makes the RS itself 7% (TP=8) / 3%
    # (TP=16) faster, adding at most 4% to the overlapped sublayer.
    "rs_nmc_speedup": {"tp8": 1.07, "tp16": 1.03},
    # Sec. 6.2 / Fig. 18 (via summary): RS reads 2.4x fewer (2.5x TP=8, 2.2x TP=16); GEMM+RS
    # writes 10% fewer; GEMM reads 1.56x fewer (geomeans); all-gather traffic unchanged.
    "rs_read_reduction": {"geomean": 2.4, "tp8": 2.5, "tp16": 2.2},
    "gemm_rs_write_reduction": 0.10,
    "gemm_read_reduction": 1.56,
    "source": "Pati et al., T3, ASPLOS 2024 (arXiv 2401.16677): abstract (read in the stored "
    "full text, whose body the offline store does not serve); Sec. 6.1 / Fig. 16, Sec. 6.2 / "
    "Fig. 18, Sec. 6.4 (read via a section-by-section summary of the paper)",
}

# Where each figure of ``PAPER`` was read: "abstract" = the paper's own text (its abstract);
# "summary" = only the section-by-section summary (the paper's section / figure it cites).
PROVENANCE: dict[str, str] = {
    "geomean_speedup.t3_mca": "abstract; Sec. 6.1 / Fig. 16 via summary",
    "max_speedup.t3_mca": "abstract; Sec. 6.1 / Fig. 16 via summary",
    "geomean_speedup.t3": "Sec. 6.1 / Fig. 16 via summary",
    "max_speedup.t3": "Sec. 6.1 / Fig. 16 via summary",
    "geomean_speedup.ideal": "Sec. 6.1 / Fig. 16 via summary",
    "max_speedup.ideal": "Sec. 6.1 / Fig. 16 via summary",
    "dram_traffic_reduction_geomean": "abstract; Sec. 6.2 / Fig. 18 via summary",
    "dram_traffic_reduction_max": "abstract; Sec. 6.2 / Fig. 18 via summary",
    "geomean_speedup_500b.t3_mca": "abstract (PALM, MT-NLG); Sec. 6.4 via summary",
    "max_speedup_500b.t3_mca": "Sec. 6.4 via summary (GPT-3, PALM, MT-NLG)",
    "rs_nmc_speedup": "Sec. 6.1 via summary",
    "rs_read_reduction": "Sec. 6.2 / Fig. 18 via summary",
    "gemm_rs_write_reduction": "Sec. 6.2 / Fig. 18 via summary",
    "gemm_read_reduction": "Sec. 6.2 / Fig. 18 via summary",
}

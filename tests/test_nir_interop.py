"""NIR interop with an independent consumer: snnTorch (its NIR node import, nirtorch's executor).

Our graphs run in snnTorch and spike as we do, on real N-MNIST recordings; a graph snnTorch
exports runs in our LSM and spikes as snnTorch does. Exact where the arithmetic is exact
(dyadic weights and decays, integer inputs: the ``>=`` -> ``>`` threshold shift must then be
exact, including at ``u == theta``); measured against a stated floor where it is float32 vs
float64 or where snnTorch's own reset-by-subtraction rule differs from ours (``nir_torch``).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tests.conftest import data_root_or_skip

if os.environ.get("CI") or os.environ.get("NEURALBRAIN_REQUIRE_DATA") == "1":
    import snntorch as snn  # CI installs the [interop] extra: a missing one must fail, not skip
    import torch
else:
    snn = pytest.importorskip("snntorch")
    torch = pytest.importorskip("torch")

from neuralbrain.control import snn_policy  # noqa: E402
from neuralbrain.control.snn_policy_nir import env_step_scores  # noqa: E402
from neuralbrain.control.snn_policy_nir import to_nir as policy_to_nir  # noqa: E402
from neuralbrain.memory import lsm  # noqa: E402
from neuralbrain.memory.lsm_nir import from_nir as lsm_from_nir  # noqa: E402
from neuralbrain.memory.lsm_nir import to_nir as lsm_to_nir  # noqa: E402
from neuralbrain.nir_torch import run_steps, to_snntorch  # noqa: E402
from neuralbrain.sensing.snn.model import SNNConfig, forward, patches  # noqa: E402
from neuralbrain.sensing.snn.nir_io import to_nir as snn_to_nir  # noqa: E402


def _nchw(s: np.ndarray, shape: tuple[int, int], channels: int) -> np.ndarray:
    """Our (B, T, H*W, C) spikes as NIR/PyTorch's (B, T, C, H, W)."""
    b, t = s.shape[:2]
    return s.reshape(b, t, *shape, channels).transpose(0, 1, 4, 2, 3)


def _snntorch_subtract(cur: np.ndarray, beta: float, thr: np.float32) -> np.ndarray:
    """snnTorch 1.0 ``Leaky(reset_mechanism="subtract", reset_delay=False)`` in numpy: the
    reset flag comes from the previous *reset* potential (``mem_reset``), and a flagged step
    subtracts ``thr`` before firing (``_base_sub``), then adds back what ``do_reset`` avoids."""
    m = np.zeros_like(cur[:, 0])
    out = np.empty_like(cur)
    b32 = np.float32(beta)
    for t in range(cur.shape[1]):
        r = (m > thr).astype(np.float32)
        m1 = b32 * m + cur[:, t] - r * thr
        s = (m1 > thr).astype(np.float32)
        m = m1 - (s - r) * thr
        out[:, t] = s
    return out


@pytest.fixture(scope="module")
def nmnist_snn():
    """A briefly trained in-sensor SNN and 200 held-out real N-MNIST recordings."""
    from neuralbrain.sensing.snn.data import load_real, real_files
    from neuralbrain.sensing.snn.frames import EventCounts
    from neuralbrain.sensing.snn.task import TrainSection
    from neuralbrain.sensing.snn.train import fit

    root = data_root_or_skip("nmnist")
    cfg = SNNConfig()
    counts = EventCounts(cfg.time_steps, (34, 34, 2), 306000.0)
    train = real_files(root, "train")
    rng = np.random.default_rng(0)
    x, y = load_real([train[i] for i in rng.permutation(len(train))[:200]], counts)
    params = fit(x, y, cfg, TrainSection(epochs=2, batch_size=16, seed=0), log=lambda s: None)
    xh, yh = load_real(real_files(root, "heldout")[:200], counts)
    return params, cfg, xh.astype(np.float32), yh


@pytest.mark.data
def test_our_snn_runs_in_snntorch_on_real_nmnist(nmnist_snn, capsys):
    params, cfg, x, y = nmnist_snn
    logits, rec = forward(params, x, cfg)
    ours = {"lif1": _nchw(rec["s1"], cfg.conv1_shape, cfg.conv1_channels),
            "lif2": _nchw(rec["s2"], cfg.conv2_shape, cfg.conv2_channels)}
    assert 0.02 < ours["lif1"].mean() < 0.5 and 0.02 < ours["lif2"].mean() < 0.5
    report = {}
    # The graph form: standard NIR nodes (LI, Threshold, Scale on a cycle), run by nirtorch's
    # executor. It is our network: equal spikes, up to float32 sums taken in another order
    # (a spike within an ulp of threshold), which did not happen on these recordings.
    out, theirs = run_steps(to_snntorch(snn_to_nir(params, cfg)), x, ["lif1_spike", "lif2_spike"])
    report["graph"] = {layer: float((theirs[f"{layer}_spike"] == ours[layer]).mean())
                       for layer in ours}
    report["graph"]["predictions"] = float((out[:, -1].argmax(1) == logits.argmax(1)).mean())
    assert min(report["graph"].values()) >= 0.9999
    np.testing.assert_allclose(out[:, -1], logits, rtol=1e-4, atol=1e-4)
    # The LIF form: snnTorch's own Leaky neurons, with reset by subtraction from the metadata
    # ("subtract") or reading only NIR's fields (reset to zero).
    graph = snn_to_nir(params, cfg, reset_form="lif")
    for honour in (True, False):
        out, theirs = run_steps(to_snntorch(graph, honour_reset=honour), x, ["lif1", "lif2"])
        key = "lif_subtract" if honour else "lif_fields_only"
        report[key] = {layer: float((theirs[layer] == ours[layer]).mean()) for layer in ours}
        report[key]["predictions"] = float((out[:, -1].argmax(1) == logits.argmax(1)).mean())
        # the first step has no reset history: threshold, weights and layout decide alone
        for layer in ours:
            assert (theirs[layer][:, 0] == ours[layer][:, 0]).mean() >= 0.9999, (key, layer)
        if honour:
            sub = theirs
    print("NIR interop SNN", json.dumps(report, sort_keys=True))
    # Measured on this seed: lif1 0.983, lif2 0.961, predictions 0.87 (subtract; a barely
    # trained net has near-tied logits); lif1 0.933, lif2 0.923 reading the NIR fields alone.
    assert report["lif_subtract"]["lif1"] >= 0.97 and report["lif_subtract"]["lif2"] >= 0.93
    assert report["lif_subtract"]["predictions"] >= 0.8
    assert report["lif_fields_only"]["lif1"] < report["lif_subtract"]["lif1"]
    # Every disagreement of the LIF form is snnTorch's reset rule: our layer-1 currents
    # through a numpy copy of snnTorch's Leaky give snnTorch's spikes.
    h1, w1 = cfg.conv1_shape
    b, t = x.shape[:2]
    imgs = x.reshape(b * t, cfg.in_channels, cfg.height, cfg.width).transpose(0, 2, 3, 1)
    p1 = patches(imgs, cfg.conv1_kernel, cfg.conv1_stride)
    w = graph.nodes["conv1"].weight.reshape(cfg.conv1_channels, -1).T
    cur = (p1.reshape(-1, p1.shape[2]) @ w + params["conv1.b"]).reshape(b, t, -1, cfg.conv1_channels)
    thr = np.float32(graph.nodes["lif1"].v_threshold.flat[0])
    rule = _nchw(_snntorch_subtract(cur, cfg.beta, thr), (h1, w1), cfg.conv1_channels)
    assert (rule == sub["lif1"]).mean() >= 0.9999


def test_threshold_shift_is_exact_at_the_threshold():
    """Dyadic weights and decay, integer inputs: potentials land exactly on theta, where our
    ``>=`` and NIR's ``>`` part; the exported graph agrees spike for spike, the unshifted
    threshold does not."""
    cfg = lsm.Config(n_inputs=12, n_neurons=10, decay=0.5, threshold=1.0)
    rng = np.random.default_rng(1)
    w_in = rng.integers(-2, 4, size=(12, 10)) / 4.0
    w_rec = rng.integers(-2, 3, size=(10, 10)) / 4.0
    np.fill_diagonal(w_rec, 0)
    x = rng.poisson(0.6, size=(16, 30, 12)).astype(np.float64)
    graph = lsm_to_nir(w_in, w_rec, cfg)
    ours = lsm_from_nir(graph).reservoir().encode(x)
    assert 0.05 < ours.mean() < 0.6
    # the reservoir computes in float64, so its threshold is shifted in float64: a float32
    # consumer would round it back to theta
    out, _ = run_steps(to_snntorch(graph, dtype="float64"), x)
    np.testing.assert_array_equal(out, ours)
    graph.nodes["reservoir"].v_threshold = np.full(10, 1.0)  # NIR's > at theta itself
    naive, _ = run_steps(to_snntorch(graph, dtype="float64"), x)
    assert (naive != ours).sum() > 0


@pytest.mark.parametrize("form", ["graph", "lif"])
def test_policy_exact_in_snntorch_on_fixed_point(form):
    """The CartPole policy graph with dyadic weights: spikes and scores equal over 12 env
    steps of 8 bins with the membranes carried over, as the policy runs. In both forms: the
    LIF form runs snnTorch's Leaky, whose subtractive reset is ours while ``u < 2 theta``
    (true throughout here)."""
    pcfg = snn_policy.Config(n_hidden=6, n_actions=2, dt_s=0.0025, tau_mem_s=0.0025 / np.log(4 / 3))
    assert np.isclose(pcfg.decay, 0.75)
    rng = np.random.default_rng(3)  # potentials peak at 1.86 and 1.45 < 2 theta
    params = {"w_in": rng.integers(-1, 4, size=(4, 6)) / 8.0,
              "w_out": rng.integers(0, 4, size=(6, 2)) / 8.0,
              "b_h": np.full(6, 0.125), "b_o": np.array([0.125, 0.25])}
    params = {k: np.asarray(v, np.float32) for k, v in params.items()}
    pcfg = snn_policy.Config(n_hidden=6, n_actions=2, dt_s=pcfg.dt_s, tau_mem_s=pcfg.tau_mem_s)
    spikes = (rng.random((3, 12 * 8, 4)) < 0.5).astype(np.float32)

    def synapse(s, name):
        return s @ params[name]

    state = (np.zeros((3, 6), np.float32), np.zeros((3, 2), np.float32))
    scores, hidden, out_spikes = [], [], []
    for k in range(12):  # env steps of 8 bins, membranes carried over
        chunk = spikes[:, 8 * k : 8 * (k + 1)]
        v_o = state[1]
        score, state, s_h = snn_policy.policy_forward(
            chunk, state, params, synapse, pcfg.decay, pcfg.threshold)
        s_o, _ = snn_policy.lif_layer(s_h @ params["w_out"] + params["b_o"], v_o, pcfg.decay,
                                      pcfg.threshold)
        scores.append(score)
        hidden.append(s_h)
        out_spikes.append(s_o)
    graph = policy_to_nir(params, pcfg, n_steps=8, reset_form=form)
    names = ["hidden_spike", "out_spike"] if form == "graph" else ["hidden", "out"]
    out, theirs = run_steps(to_snntorch(graph), spikes, names)
    np.testing.assert_array_equal(theirs[names[0]], np.concatenate(hidden, 1))
    np.testing.assert_array_equal(theirs[names[1]], np.concatenate(out_spikes, 1))
    assert 0.05 < theirs[names[1]].mean() < 0.9
    # the graph's read-out [count, v_out / theta] gives the policy's scores, env step by step
    np.testing.assert_allclose(env_step_scores(out, 8), np.stack(scores, 1), atol=1e-5)


@pytest.mark.data
def test_lsm_from_nir_runs_in_snntorch_and_back_on_real_nmnist(capsys):
    """Both directions on real recordings: our reservoir graph in snnTorch, and graphs
    snnTorch exports (Linear + Leaky, and Linear + RLeaky: recurrent; reset to zero) in our
    LSM."""
    from snntorch.export_nir import export_to_nir

    from neuralbrain.memory.tasks import VisionData, nmnist
    from neuralbrain.nir_torch import reset_states

    root = data_root_or_skip("nmnist")
    x, _, _ = nmnist(root, "test", VisionData(max_samples=64))
    x = x.astype(np.float64)
    cfg = lsm.Config(n_neurons=100, weight_scale=0.2)
    w_in, w_rec = lsm.reservoir_weights(cfg, 0)
    graph = lsm_to_nir(w_in, w_rec, cfg)
    ours = lsm_from_nir(graph).reservoir().encode(x)
    theirs, _ = run_steps(to_snntorch(graph), x)
    forward_agree = float((theirs == ours).mean())

    torch.manual_seed(0)
    n = 100
    feed = torch.nn.Sequential(
        torch.nn.Linear(256, n, bias=False),
        snn.Leaky(beta=torch.full((n,), 0.9), threshold=torch.full((n,), 1.0),
                  reset_mechanism="zero", init_hidden=True, reset_delay=False))
    recurrent = torch.nn.Sequential(
        torch.nn.Linear(256, n, bias=False),
        snn.RLeaky(beta=torch.full((n,), 0.9), threshold=torch.full((n,), 1.0),
                   linear_features=n, reset_mechanism="zero", init_hidden=True,
                   reset_delay=False))
    reverse_agree, rates = {}, {}
    for name, net in (("feedforward", feed), ("recurrent", recurrent)):
        with torch.no_grad():
            net[0].weight.mul_(8.0)  # a firing rate like the reservoir's
            if name == "recurrent":
                net[1].recurrent.bias.zero_()  # our reservoir has no bias current
                net[1].recurrent.weight.mul_(0.5)
        foreign = export_to_nir(net, torch.zeros(1, 256), ignore_dims=[0])
        mine = lsm_from_nir(foreign).reservoir().encode(x)
        reset_states(net)
        with torch.no_grad():
            ref = np.stack([net(torch.as_tensor(x[:, t], dtype=torch.float32)).numpy()
                            for t in range(x.shape[1])], 1)
        reverse_agree[name] = float((mine == ref).mean())
        rates[name] = float(ref.mean())
    print("NIR interop LSM", json.dumps({"ours_in_snntorch": forward_agree,
                                         "snntorch_in_ours": reverse_agree,
                                         "rate": float(ours.mean()), "rates_snntorch": rates}))
    assert 0.01 < ours.mean() < 0.5 and all(0.01 < r < 0.5 for r in rates.values())
    # float32 (snnTorch) against float64 (ours) on decay 0.9: rare last-bit flips only
    assert forward_agree >= 0.999 and min(reverse_agree.values()) >= 0.999


def test_stock_import_runs_a_different_network_without_the_adapter():
    """Why ``to_snntorch`` exists: snnTorch's ``import_from_nir`` wires the LSM's input
    through its recurrent weights (a reservoir with zero recurrence then never fires)."""
    from snntorch.import_nir import import_from_nir

    cfg = lsm.Config(n_inputs=12, n_neurons=10, decay=0.5, threshold=1.0)
    rng = np.random.default_rng(1)
    w_in = rng.integers(0, 4, size=(12, 10)) / 4.0
    graph = lsm_to_nir(w_in, np.zeros((10, 10)), cfg)
    x = rng.poisson(0.6, size=(4, 20, 12)).astype(np.float64)
    ours = lsm_from_nir(graph).reservoir().encode(x)
    stock, _ = run_steps(import_from_nir(lsm_to_nir(w_in, np.zeros((10, 10)), cfg)), x)
    assert ours.sum() > 0 and stock.sum() == 0

"""The Backend contract, checked the same way for every registered backend."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.energy import ACTIONS, Cost
from neuralbrain.errors import CapabilityError, ConfigError, ShapeError
from neuralbrain.hardware import BACKENDS, backends_with, check_backend, make_backend
from neuralbrain.hardware.base import OPS, Backend
from neuralbrain.hardware.qmatrix import quantize_q4

NAMES = BACKENDS.names()


def _operands(seed: int = 1, k: int = 24, n: int = 10, batch: int = 3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, k)).astype(np.float32)
    w = rng.normal(scale=0.3, size=(k, n)).astype(np.float32)
    spikes = (rng.random((batch, k)) < 0.3).astype(np.float32)
    return x, w, spikes


def _close(got: np.ndarray, want: np.ndarray, tol: float) -> bool:
    scale = float(np.abs(want).max()) or 1.0
    return float(np.abs(got - want).max()) <= max(tol, 1e-5) * scale


def _check_cost(cost: Cost) -> None:
    assert isinstance(cost, Cost)
    assert cost.energy_j > 0 and cost.latency_s > 0 and cost.ops > 0


@pytest.mark.parametrize("name", NAMES)
def test_declares_its_contract(name):
    cls = BACKENDS.get(name)
    assert issubclass(cls, Backend)
    assert cls.name == name
    assert set(cls.capabilities) <= set(OPS), f"unknown capabilities {set(cls.capabilities) - set(OPS)}"
    assert cls.energy_table.source.strip()
    assert 0 <= cls.rel_tolerance < 1


@pytest.mark.parametrize("name", NAMES)
def test_prices_only_actions_of_the_vocabulary(name):
    table = make_backend(name).energy_table
    assert table.energy_j, "a backend prices at least one action"
    assert set(table.energy_j) <= set(ACTIONS), set(table.energy_j) - set(ACTIONS)
    assert set(table.latency_s) <= set(table.energy_j)


def _lif_weights(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return (rng.normal(0, 0.5, (12, 16)).astype(np.float32),
            rng.normal(0, 0.2, (16, 16)).astype(np.float32))


def _svm_operands(kernel: str, seed: int = 5):
    """A small SVM and features on a 1/8 grid with gamma = 1: every squared distance is a
    multiple of 1/64, so a fixed-point datapath with a 1/64-step exp table is exact up to its
    formats' rounding (as the LIF test's 1/64 grid makes float sums exact)."""
    rng = np.random.default_rng(seed)

    def grid(*shape: int, scale: float) -> np.ndarray:
        return np.round(rng.normal(0, scale, shape) * 8) / 8

    sv, x, coef = grid(7, 6, scale=0.35), grid(4, 6, scale=0.35), grid(7, 3, scale=0.5)
    intercept, gamma = grid(3, scale=0.5), 1.0
    if kernel == "linear":
        k = x @ sv.T
    else:
        k = np.exp(-gamma * ((x[:, None] - sv[None]) ** 2).sum(-1))
    return (kernel, sv, coef, intercept, gamma), x, k @ coef + intercept


def _run_every_op(backend: Backend) -> list[Cost]:
    """Run each op ``backend`` has once (and one ``charge``); the costs the calls returned."""
    rng = np.random.default_rng(4)
    x, w, spikes = _operands()
    if "check_conv" in backend.capabilities:  # a pixel array holds at most a 5x5x3 kernel
        x, w, spikes = x[:, :12], w[:12], spikes[:, :12]
    costs = []
    placed, cost = backend.place(w)
    costs.append(cost)
    if "matmul" in backend.capabilities:
        costs.append(backend.matmul(x, placed)[1])
    if "accumulate" in backend.capabilities:
        costs.append(backend.accumulate(spikes, placed)[1])
    if "mpgemm" in backend.capabilities:
        xq, wq, _ = _operands(k=64, n=16)
        qw, cost = backend.place(quantize_q4(wq))
        costs += [cost, backend.mpgemm(xq, qw)[1]]
    if "lif_reservoir" in backend.capabilities:
        w_in, w_rec = _lif_weights(rng)
        (p_in, c_in), (p_rec, c_rec) = backend.place(w_in), backend.place(w_rec)
        x_lif = rng.poisson(0.6, size=(2, 5, 12)).astype(np.uint8)
        costs += [c_in, c_rec, backend.lif_reservoir(x_lif, p_in, p_rec, 0.9, 1.0)[1]]
    if "svm" in backend.capabilities:
        model, x_svm, _ = _svm_operands("rbf")
        handle, cost = backend.place_svm(*model)
        costs += [cost, backend.svm_decision(x_svm, handle)[1]]
    costs.append(backend.charge(sorted(backend.energy_table.energy_j)[0], 3))
    return costs


@pytest.mark.parametrize("name", NAMES)
def test_spent_is_the_sum_of_the_returned_costs_and_reset_zeroes_it(name):
    backend = make_backend(name, seed=2)
    assert backend.spent == Cost()
    costs = _run_every_op(backend)
    want = sum(costs, Cost())
    assert want.energy_j > 0
    assert backend.spent.energy_j == pytest.approx(want.energy_j, rel=1e-12)
    assert backend.spent.latency_s == pytest.approx(want.latency_s, rel=1e-12)
    assert (backend.spent.ops, backend.spent.bytes_moved) == (want.ops, want.bytes_moved)
    backend.reset(2)
    assert backend.spent == Cost()


@pytest.mark.parametrize("name", [n for n in NAMES if "matmul" in BACKENDS.get(n).capabilities])
def test_an_op_calling_another_counts_once_as_the_cost_it_returns(name):
    x, w, _ = _operands(k=12)
    backend = make_backend(name, seed=2)
    _, cost = backend.matmul(x, w)  # unplaced: the backend places w itself (rram programs it)
    assert backend.spent == cost


@pytest.mark.parametrize("name", [n for n in NAMES if "matmul" in BACKENDS.get(n).capabilities])
def test_matmul_is_close_to_exact_and_costs(name):
    x, w, _ = _operands()
    backend = make_backend(name, seed=3)
    placed, _ = backend.place(w)
    y, cost = backend.matmul(x, placed)
    assert y.shape == (3, 10)
    assert _close(np.asarray(y), x @ w, BACKENDS.get(name).rel_tolerance)
    _check_cost(cost)


@pytest.mark.parametrize("name", [n for n in NAMES if "accumulate" in BACKENDS.get(n).capabilities])
def test_accumulate_is_close_to_exact_and_costs_only_active_inputs(name):
    _, w, spikes = _operands()
    backend = make_backend(name, seed=3)
    placed, _ = backend.place(w)
    y, cost = backend.accumulate(spikes, placed)
    assert _close(np.asarray(y), spikes @ w, BACKENDS.get(name).rel_tolerance)
    _check_cost(cost)
    _, quiet = backend.accumulate(np.zeros_like(spikes), placed)
    assert quiet.energy_j < cost.energy_j


@pytest.mark.parametrize("name", [n for n in NAMES if "mpgemm" in BACKENDS.get(n).capabilities])
def test_mpgemm_matches_dequantized_product(name):
    x, w, _ = _operands(k=64, n=16)
    qweight = quantize_q4(w)
    backend = make_backend(name, seed=3)
    y, cost = backend.mpgemm(x, qweight)
    assert _close(np.asarray(y), x @ qweight.dequantize(), BACKENDS.get(name).rel_tolerance)
    _check_cost(cost)


def _lif_reference(x, w_in, w_rec, decay, threshold):
    """The base module's LIF equation, step by step in float64."""
    spikes = np.zeros(x.shape[:2] + (w_in.shape[1],), np.uint8)
    for b in range(x.shape[0]):
        v, s = np.zeros(w_in.shape[1]), np.zeros(w_in.shape[1])
        for t in range(x.shape[1]):
            v = decay * v + x[b, t] @ w_in + s @ w_rec
            s = (v >= threshold).astype(np.float64)
            v = v * (1 - s)
            spikes[b, t] = s
    return spikes


@pytest.mark.parametrize("name", [n for n in NAMES if "lif_reservoir" in BACKENDS.get(n).capabilities])
def test_lif_reservoir_follows_the_lif_equation_and_costs(name):
    rng = np.random.default_rng(0)
    x = rng.poisson(0.6, size=(2, 30, 12)).astype(np.uint8)
    # weights on a 1/64 grid: float sums are exact, so ideal backends must agree spike for spike
    w_in = (np.round(rng.normal(0, 0.5, (12, 16)) * 64) / 64).astype(np.float32)
    w_rec = (np.round(rng.normal(0, 0.2, (16, 16)) * 64) / 64).astype(np.float32)
    want = _lif_reference(x.astype(np.float64), w_in, w_rec, 0.9, 1.0)
    assert 0.1 < want.mean() < 0.5  # the test drives the neurons, neither silent nor saturated
    backend = make_backend(name, seed=3)
    placed = backend.place(w_in)[0], backend.place(w_rec)[0]
    spikes, cost = backend.lif_reservoir(x, *placed, 0.9, 1.0)
    assert spikes.shape == want.shape and spikes.dtype == np.uint8
    agree = float(np.mean(spikes == want))
    if BACKENDS.get(name).rel_tolerance < 1e-3:
        assert agree == 1.0
    else:  # device noise within the backend's stated tolerance flips a few threshold calls
        assert agree > 0.9
    _check_cost(cost)
    _, quiet = backend.lif_reservoir(np.zeros_like(x), *placed, 0.9, 1.0)
    assert quiet.energy_j < cost.energy_j


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
@pytest.mark.parametrize("name", [n for n in NAMES if "svm" in BACKENDS.get(n).capabilities])
def test_svm_decision_is_close_to_exact_and_costs(name, kernel):
    model, x, want = _svm_operands(kernel)
    assert float(np.abs(want).mean()) > 0.05  # the decisions are not all near zero
    backend = make_backend(name, seed=3)
    handle, place_cost = backend.place_svm(*model)
    dec, cost = backend.svm_decision(x, handle)
    assert np.shape(dec) == want.shape
    assert _close(np.asarray(dec), want, BACKENDS.get(name).rel_tolerance)
    _check_cost(cost)
    assert backend.spent == place_cost + cost
    again, _ = backend.svm_decision(x, handle)
    np.testing.assert_array_equal(again, dec)


@pytest.mark.parametrize("name", [n for n in NAMES if "svm" not in BACKENDS.get(n).capabilities])
def test_a_module_needing_svm_on_a_backend_without_it_gets_one_line(name):
    with pytest.raises(CapabilityError, match=rf"backend = '{name}' cannot run op 'svm'") as err:
        check_backend(BACKENDS.get(name), "module 'listener'", ops={"svm"})
    assert "\n" not in str(err.value)
    assert all(other in str(err.value) for other in backends_with("svm"))


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_results(name):
    x, w, spikes = _operands()
    results = []
    for _ in range(2):
        backend = make_backend(name, seed=7)
        out = []
        if "matmul" in backend.capabilities:
            out.append(backend.matmul(x, backend.place(w)[0])[0])
        if "accumulate" in backend.capabilities:
            out.append(backend.accumulate(spikes, backend.place(w)[0])[0])
        results.append(out)
    for a, b in zip(results[0], results[1], strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", NAMES)
def test_missing_ops_raise_capability_error_naming_who_can(name):
    backend = make_backend(name)
    x, w, spikes = _operands()
    calls = {
        "matmul": lambda: backend.matmul(x, w),
        "accumulate": lambda: backend.accumulate(spikes, w),
        "mpgemm": lambda: backend.mpgemm(x, w),
        "lif_reservoir": lambda: backend.lif_reservoir(x[None], w, w, 0.9, 1.0),
        "check_conv": lambda: backend.check_conv(3, 2, 8, 1),
        "tensor_parallel": lambda: backend.place_parallel([quantize_q4(w)], "row"),
        "svm": lambda: backend.place_svm("rbf", w.T, np.ones(10), np.zeros(1), 0.1),
    }
    assert set(calls) == set(OPS)
    for op, call in calls.items():
        if op in backend.capabilities:
            continue
        with pytest.raises(CapabilityError, match=f"{name!r} cannot run op {op!r}") as err:
            call()
        for other in backends_with(op):
            assert other in str(err.value)


@pytest.mark.parametrize("name", NAMES)
def test_charge_prices_listed_actions_and_rejects_others(name):
    backend = make_backend(name)
    action = sorted(backend.energy_table.energy_j)[0]
    one, ten = backend.charge(action, 1), backend.charge(action, 10)
    assert ten.energy_j == pytest.approx(10 * one.energy_j)
    with pytest.raises(CapabilityError, match="no action 'no_such_action'"):
        backend.charge("no_such_action", 1)


@pytest.mark.parametrize("name", [n for n in NAMES if "matmul" in BACKENDS.get(n).capabilities])
def test_matmul_rejects_mismatched_shapes(name):
    backend = make_backend(name)
    x, w, _ = _operands()
    with pytest.raises(ShapeError, match=r"expected \(\.\.\., 24\)"):
        backend.matmul(x[:, :5], backend.place(w)[0])


@pytest.mark.parametrize("name", NAMES)
def test_a_config_of_another_backend_is_named(name):
    other = next(BACKENDS.get(n).Config for n in NAMES
                 if BACKENDS.get(n).Config is not BACKENDS.get(name).Config)
    with pytest.raises(ConfigError, match=rf"backend '{name}' got a {other.__name__} config"):
        make_backend(name, other())
    assert isinstance(make_backend(name, BACKENDS.get(name).Config()).config,
                      BACKENDS.get(name).Config)

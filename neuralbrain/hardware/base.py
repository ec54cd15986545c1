"""The ``Backend`` contract: the simulated hardware a module runs its ops on.

A backend is chosen per module by name (``BACKENDS.get("rram")``). It declares

- ``name``: its registry name;
- ``capabilities``: the ops it implements, a subset of ``OPS``: each capability is the name
  of the method that implements it;
- ``energy_table``: joules per primitive action of ``neuralbrain.energy.ACTIONS`` that it
  prices, with a citation (``charge`` prices those);
- ``rel_tolerance``: how far its functional results may stray from the ideal float result
  (0 for an exact backend), which the contract test checks for every op;

and implements some of the ops below. Every op returns ``(result, Cost)``: the result carries
the real functional effects of the hardware (quantization, conductance noise, fixed point),
the ``Cost`` comes from the backend's stated energy and timing model. An op the backend lacks
raises ``CapabilityError`` naming the backend, the op and the backends that have it.

Ops:

- ``place(w)``: put a weight matrix (k, n) on the device; returns a handle the backend's
  ``matmul``/``accumulate`` accept (programming costs energy on non-volatile memories).
- ``matmul(x, w)``: dense ``x @ w`` for ``x`` of shape (..., k).
- ``accumulate(spikes, w)``: event-driven synaptic input ``spikes @ w`` where ``spikes`` is a
  0/1 (or count) array of shape (..., k); only active inputs cost.
- ``charge(action, count)``: price ``count`` primitive actions of the backend's energy table
  that are not matrix products (a message between logic blocks, a control-loop flop);
  available on every backend whose table lists the action.
- ``mpgemm(x, qweight)``: ``x @ dequant(qweight)`` computed on the low-bit codes themselves
  (for example through lookup tables).
- ``lif_reservoir(x, w_in, w_rec, decay, threshold)``: a recurrent layer of discrete-time
  leaky integrate-and-fire neurons driven by ``x`` of shape (batch, steps, k) (event counts
  per time bin); ``w_in`` (k, n) and ``w_rec`` (n, n) are handles from ``place``. Per sample,
  from ``v = 0`` and no spikes: ``v_t = decay * v'_{t-1} + x_t @ w_in + s_{t-1} @ w_rec``,
  ``s_t = v_t >= threshold``, ``v'_t = v_t * (1 - s_t)`` (reset to zero). Returns the spikes
  ``s`` as uint8 (batch, steps, n).
- ``tensor_parallel``: the backend is several devices working on one product (``t3``):
  ``place_parallel(parts, split, shares=None)`` shards a layer over them Megatron-style
  ("column": the ``parts``, read by one fused product, by output features; "row": the one
  part by input features, its partial sums reduced across the devices) and returns a handle
  ``mpgemm`` takes; ``tp`` is the number of devices. A model that knows its layers asks for
  the split, and may say what each device holds (``shares``: whole heads, when ``tp`` does
  not divide them); without ``shares`` the cut is even.
- ``svm``: the backend has a datapath for support-vector machines (``fpga``):
  ``place_svm(kernel, support, coef, intercept, gamma, input_max_abs=None)`` stores a trained
  SVM (support vectors (n_sv, d), coefficients ``alpha_i y_i`` (n_sv, n_decisions), intercepts
  (n_decisions,), kernel ``"linear"`` or ``"rbf"`` with ``gamma``; ``input_max_abs``, the
  largest |feature| the model was trained on, lets the backend size its number formats) and
  returns a handle; ``svm_decision(x, handle)`` gives the decision values
  ``sum_i coef_i K(s_i, x) + intercept`` (batch, n_decisions) of standardized features ``x``
  (batch, d). A backend without it can still run an SVM through ``matmul`` (``memory.svm``).
- ``check_conv(kernel, in_channels, out_channels, stride)``: for backends that compute a
  convolution inside the pixel array, raise ``ConfigError`` unless such a layer fits; having
  it means ``accumulate`` runs in the pixels (its outputs leave the sensor as spikes).

Backends are stateful only in their device model (programmed conductances, drift clock,
noise generator); ``reset(seed)`` restores that state exactly.

Every backend also keeps its own count of what it did: ``spent`` is the sum of the ``Cost``
of every op and ``charge`` called on it from outside since the last ``reset`` (an op that
calls another internally, ``matmul`` placing an unplaced matrix, counts once, as the cost it
returns). Summing a run's trace by backend must give the same figures; a test checks it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from neuralbrain.energy import Cost, EnergyTable
from neuralbrain.errors import CapabilityError, ConfigError, ShapeError

OPS = ("matmul", "accumulate", "mpgemm", "lif_reservoir", "check_conv", "tensor_parallel", "svm")
COUNTED = ("place", "place_parallel", "matmul", "accumulate", "mpgemm", "lif_reservoir",
           "place_svm", "svm_decision", "charge")


@dataclass(frozen=True)
class BackendConfig:
    """Backends without tunable device parameters use this empty config."""


class Backend:
    """Base class of every simulated hardware backend (see the module docstring)."""

    name: ClassVar[str] = "base"
    capabilities: ClassVar[frozenset[str]] = frozenset()
    energy_table: ClassVar[EnergyTable]
    rel_tolerance: ClassVar[float] = 0.0
    Config: ClassVar[type] = BackendConfig
    # bits ``mpgemm`` rounds its activations to before the product (0: it keeps them float)
    act_bits: ClassVar[int] = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for op in COUNTED:  # every op a subclass defines feeds ``spent``
            if op in cls.__dict__:
                setattr(cls, op, _counted(cls.__dict__[op]))

    def __init__(self, config: Any = None, seed: int = 0) -> None:
        if config is not None and not isinstance(config, self.Config):
            raise ConfigError(f"backend {self.name!r} got a {type(config).__name__} config: "
                              f"expected {self.Config.__name__}")
        self.config = config if config is not None else self.Config()
        self.reset(seed)

    def reset(self, seed: int = 0) -> None:
        """Restore the device state (noise generator, clocks) to what ``seed`` gives; zero
        ``spent``."""
        self.rng = np.random.default_rng(seed)
        self.spent = Cost()
        self._depth = 0

    # -- ops -------------------------------------------------------------------------------
    def place(self, w: np.ndarray) -> tuple[Any, Cost]:
        """Store ``w`` (k, n) on the device; the default keeps a checked float32 copy at no
        cost (ops then skip re-checking it)."""
        return as_matrix(w, "w").view(PlacedMatrix), Cost()

    def matmul(self, x: np.ndarray, w: Any) -> tuple[np.ndarray, Cost]:
        raise self._missing("matmul")

    def accumulate(self, spikes: np.ndarray, w: Any) -> tuple[np.ndarray, Cost]:
        raise self._missing("accumulate")

    def mpgemm(self, x: np.ndarray, qweight: Any) -> tuple[np.ndarray, Cost]:
        """Mixed-precision product of float activations with low-bit quantized weights."""
        raise self._missing("mpgemm")

    def lif_reservoir(
        self, x: np.ndarray, w_in: Any, w_rec: Any, decay: float, threshold: float
    ) -> tuple[np.ndarray, Cost]:
        """Spikes of a LIF reservoir driven by ``x`` (see the module docstring)."""
        raise self._missing("lif_reservoir")

    def place_parallel(self, parts: list[Any], split: str,
                       shares: list[Any] | None = None) -> tuple[Any, Cost]:
        """Shard a layer over the devices of a tensor-parallel backend (module docstring)."""
        raise self._missing("tensor_parallel")

    def place_svm(self, kernel: str, support: np.ndarray, coef: np.ndarray,
                  intercept: np.ndarray, gamma: float,
                  input_max_abs: float | None = None) -> tuple[Any, Cost]:
        """Store a trained SVM on the backend's SVM datapath (module docstring, ``svm``)."""
        raise self._missing("svm")

    def svm_decision(self, x: np.ndarray, svm: Any) -> tuple[np.ndarray, Cost]:
        """Decision values (batch, n_decisions) of a ``place_svm`` handle (``svm``)."""
        raise self._missing("svm")

    def check_conv(self, kernel: int, in_channels: int, out_channels: int, stride: int) -> None:
        """Raise ``ConfigError`` unless the conv layer fits the pixel array (in-pixel backends)."""
        raise self._missing("check_conv")

    def charge(self, action: str, count: float = 1) -> Cost:
        """Price ``count`` of a primitive ``action`` listed in this backend's energy table."""
        if action not in self.energy_table.energy_j:
            raise CapabilityError(
                f"backend {self.name!r} has no action {action!r} in its energy table "
                f"(it has {sorted(self.energy_table.energy_j)})"
            )
        latency = self.energy_table.latency_s.get(action, 0.0) * count
        return self.energy_table.cost(latency_s=latency, **{action: count})

    def _missing(self, op: str) -> CapabilityError:
        from neuralbrain.hardware import backends_with

        others = [n for n in backends_with(op) if n != self.name]
        return CapabilityError(
            f"backend {self.name!r} cannot run op {op!r}; backends that can: {others}"
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def _counted(op: Any) -> Any:
    """``op`` adding the ``Cost`` it returns to ``self.spent`` (outermost calls only)."""

    @functools.wraps(op)
    def counted(self: Backend, *args: Any, **kwargs: Any) -> Any:
        self._depth += 1
        try:
            out = op(self, *args, **kwargs)
        finally:
            self._depth -= 1
        if self._depth == 0:
            self.spent = self.spent + (out if isinstance(out, Cost) else out[1])
        return out

    return counted


Backend.place = _counted(Backend.place)
Backend.charge = _counted(Backend.charge)


class PlacedMatrix(np.ndarray):
    """A weight matrix that ``place`` already checked: ops take it without checking again
    (checking a large matrix for NaNs on every product costs more than the product)."""


def as_matrix(w: Any, what: str) -> np.ndarray:
    """``w`` as a finite float32 2-D array, or a ``ShapeError`` saying what was wrong."""
    if isinstance(w, PlacedMatrix):
        return w.view(np.ndarray)
    arr = np.asarray(w)
    if arr.ndim != 2:
        raise ShapeError(f"{what} has shape {arr.shape}: expected a 2-D (inputs, outputs) matrix")
    if not np.issubdtype(arr.dtype, np.number) or not np.all(np.isfinite(arr)):
        raise ShapeError(f"{what} must be a finite numeric matrix (dtype {arr.dtype})")
    return np.ascontiguousarray(arr, dtype=np.float32)


def check_operand(x: Any, k: int, what: str = "x") -> np.ndarray:
    """``x`` as float32 with last axis ``k``, or a ``ShapeError`` naming both shapes."""
    arr = np.asarray(x)
    if arr.ndim < 1 or arr.shape[-1] != k:
        raise ShapeError(f"{what} has shape {arr.shape}: expected (..., {k}) to match the weights")
    return arr.astype(np.float32, copy=False)


def check_lif_operands(
    x: Any, w_in: np.ndarray, w_rec: np.ndarray, decay: float, threshold: float
) -> np.ndarray:
    """Validate the operands of ``lif_reservoir``; returns ``x`` as (batch, steps, k)."""
    arr = np.asarray(x)
    if arr.ndim == 2:
        arr = arr[None]
    k, n = w_in.shape
    if arr.ndim != 3 or arr.shape[-1] != k:
        raise ShapeError(
            f"x has shape {np.shape(x)}: expected (batch, steps, {k}) event counts per time bin"
        )
    if w_rec.shape != (n, n):
        raise ShapeError(f"w_rec has shape {w_rec.shape}: expected ({n}, {n}) to match w_in")
    if not np.issubdtype(arr.dtype, np.number) or (arr.size and not np.all(np.isfinite(arr))):
        raise ShapeError(f"x must hold finite numbers (dtype {arr.dtype})")
    if not 0.0 <= decay <= 1.0 or not threshold > 0.0:
        raise ShapeError(
            f"decay={decay}, threshold={threshold}: expected 0 <= decay <= 1 and threshold > 0"
        )
    return arr

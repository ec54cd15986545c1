"""A small feed-forward spiking policy: input spikes -> hidden LIF -> output LIF -> action.

Equations (discrete-time current-based LIF, reset by subtraction; e.g. Neftci, Mostafa &
Zenke, "Surrogate gradient learning in spiking neural networks", IEEE SPM 2019, eq. 1-4 with
instantaneous synapses). Per env step the network runs ``T`` time bins of ``dt_s`` each;
``beta = exp(-dt_s / tau_mem_s)``; ``theta`` is the threshold:

    I^h_t = s^in_t W_in + b_h                         (synaptic input of the hidden layer)
    v^h_t = beta * v^h_{t-1} + I^h_t
    s^h_t = [v^h_t >= theta],   v^h_t <- v^h_t - theta * s^h_t
    I^o_t = s^h_t W_out + b_o,  v^o, s^o likewise
    score_j = sum_t s^o_{t,j} + v^o_{T,j} / theta,    action = argmax_j score_j

The score is the output spike count, with the charge left on the membrane (below one
threshold) as a finer read-out that breaks ties. Membrane potentials carry over between env
steps and are cleared by ``reset``. The layers have no recurrence, so each layer is run over
all ``T`` bins before the next one, which gives the same spikes as bin-by-bin interleaving.

One function, ``policy_forward``, implements these equations for both paths: the evolution-
strategies trainer (a whole population at once, weights stacked along a leading axis,
products by ``np.matmul``) and the ``SnnPolicy`` module used by ``neuralbrain run``, whose
products are ``self.run("accumulate", spikes, w)`` on its backend so each synaptic event is
booked in its ledger. The module also books one ``neuron_update`` per neuron per bin and
``T`` ``time_step``s per env step (static power where the backend has any), so its backend
must price both (``requires``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from neuralbrain.core import Module, Needs
from neuralbrain.errors import ConfigError, ShapeError

Synapse = Callable[[np.ndarray, str], np.ndarray]


@dataclass(frozen=True)
class Config:
    """``[policy]``: the spiking network and the backend it runs on."""

    backend: str = "cpu"
    n_hidden: int = 32
    n_actions: int = 2
    dt_s: float = 0.0025
    tau_mem_s: float = 0.01
    threshold: float = 1.0
    init_scale: float = 0.5  # initial weight std = init_scale * threshold * 4 / sqrt(fan_in)

    def __post_init__(self) -> None:
        for name, lo in (("n_hidden", 1), ("n_actions", 2)):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and lo <= value <= 4096):
                raise ConfigError(f"policy.{name} = {value!r}: expected an integer in {lo}..4096")
        for name in ("dt_s", "tau_mem_s", "threshold", "init_scale"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ConfigError(f"policy.{name} = {value!r}: expected a finite number > 0")

    @property
    def decay(self) -> float:
        return math.exp(-self.dt_s / self.tau_mem_s)


@dataclass(frozen=True)
class Layout:
    """Where each weight array lives in the flat parameter vector the trainer evolves."""

    n_in: int
    n_hidden: int
    n_out: int

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {
            "w_in": (self.n_in, self.n_hidden),
            "b_h": (self.n_hidden,),
            "w_out": (self.n_hidden, self.n_out),
            "b_o": (self.n_out,),
        }

    @property
    def size(self) -> int:
        return sum(math.prod(s) for s in self.shapes.values())

    def unflatten(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """(..., size) float vectors -> dict of float32 arrays with the same leading axes."""
        theta = np.asarray(theta)
        if theta.shape[-1] != self.size:
            raise ShapeError(f"parameters have shape {theta.shape}: expected (..., {self.size})")
        lead, out, i = theta.shape[:-1], {}, 0
        for name, shape in self.shapes.items():
            n = math.prod(shape)
            out[name] = theta[..., i : i + n].reshape(*lead, *shape).astype(np.float32)
            i += n
        return out

    def init(self, cfg: Config, rng: np.random.Generator) -> np.ndarray:
        """Initial flat parameters: Gaussian weights scaled by fan-in, zero biases."""
        parts = []
        for name, shape in self.shapes.items():
            if name.startswith("b_"):
                parts.append(np.zeros(math.prod(shape)))
            else:
                std = cfg.init_scale * cfg.threshold * 4.0 / math.sqrt(shape[0])
                parts.append(std * rng.standard_normal(math.prod(shape)))
        return np.concatenate(parts)


def lif_layer(
    currents: np.ndarray, v: np.ndarray, decay: float, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Run LIF neurons over the bins of ``currents`` (..., T, n) from potentials ``v`` (..., n).

    Returns the spikes (..., T, n) as float32 0/1 and the final potentials (see the module
    docstring for the equations)."""
    decay32, thr = np.float32(decay), np.float32(threshold)
    v = v.astype(np.float32, copy=True)
    spikes = np.empty(currents.shape, np.float32)
    for t in range(currents.shape[-2]):
        v = decay32 * v + currents[..., t, :]
        s = v >= thr
        spikes[..., t, :] = s
        v = v - thr * s
    return spikes, v


def policy_forward(
    in_spikes: np.ndarray,
    state: tuple[np.ndarray, np.ndarray],
    biases: Mapping[str, np.ndarray],
    synapse: Synapse,
    decay: float,
    threshold: float,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], np.ndarray]:
    """One env step of the policy for a batch (the equations of the module docstring).

    ``in_spikes`` (..., T, n_in); ``state`` = (v_hidden (..., H), v_out (..., A));
    ``biases`` holds ``b_h`` and ``b_o`` broadcastable to them; ``synapse(spikes, "w_in" |
    "w_out")`` returns ``spikes @ W`` (the only place weights are touched, so the caller
    decides where products run). Returns (scores (..., A), new state, hidden spikes).
    """
    v_h, v_o = state
    cur_h = synapse(in_spikes, "w_in") + np.expand_dims(biases["b_h"], -2)
    s_h, v_h = lif_layer(cur_h, v_h, decay, threshold)
    cur_o = synapse(s_h, "w_out") + np.expand_dims(biases["b_o"], -2)
    s_o, v_o = lif_layer(cur_o, v_o, decay, threshold)
    scores = s_o.sum(axis=-2) + v_o / np.float32(threshold)
    return scores, (v_h, v_o), s_h


class SnnPolicy(Module):
    """The spiking policy as a pipeline module: ``obs`` (T, n_in) spikes -> ``action`` (int).

    Weights are placed on the backend (``place``) when loaded and re-placed by ``to()``;
    ``step`` runs ``policy_forward`` with ``self.run("accumulate", ...)`` as the synapse.
    """

    Config: ClassVar[type] = Config
    inputs: ClassVar[Mapping[str, type]] = {"obs": np.ndarray}
    outputs: ClassVar[Mapping[str, type]] = {"action": int}
    requires: ClassVar[Mapping[str, Needs]] = {
        "backend": Needs(ops={"accumulate"}, actions={"neuron_update", "time_step"})}

    def __init__(
        self, config: Config, n_in: int, theta: np.ndarray, hardware: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(config, hardware)
        self.layout = Layout(n_in, config.n_hidden, config.n_actions)
        self.params = self.layout.unflatten(np.asarray(theta, dtype=np.float64))
        self._placed: dict[str, Any] = {}
        self.on_backend_change()
        self._state = self._zero_state()

    def _zero_state(self) -> tuple[np.ndarray, np.ndarray]:
        return (np.zeros((1, self.layout.n_hidden), np.float32), np.zeros((1, self.layout.n_out), np.float32))

    def on_backend_change(self) -> None:
        for name in ("w_in", "w_out"):
            self._placed[name] = self.run("place", self.params[name])

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self._state = self._zero_state()

    def _synapse(self, spikes: np.ndarray, name: str) -> np.ndarray:
        return np.asarray(self.run("accumulate", spikes, self._placed[name]), np.float32)

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        obs = np.asarray(inputs["obs"])
        if obs.ndim != 2 or obs.shape[1] != self.layout.n_in:
            raise ShapeError(
                f"policy obs has shape {obs.shape}: expected (time bins, {self.layout.n_in}) "
                "spikes (env observation = 'spikes' with the code the policy was trained on)"
            )
        spikes = obs.astype(np.float32)[None]
        cfg: Config = self.config
        scores, self._state, _ = policy_forward(
            spikes, self._state, self.params, self._synapse, cfg.decay, cfg.threshold
        )
        bins = obs.shape[0]
        self.charge("neuron_update", bins * (self.layout.n_hidden + self.layout.n_out))
        self.charge("time_step", bins)
        return {"action": int(np.argmax(scores[0]))}

"""Liquid state machine: a fixed, random reservoir of discrete-time LIF neurons.

After Lin et al., "Resistive memory-based zero-shot liquid state machine for multimodal event
data learning", Nature Computational Science (2025). Binned events ``x_t`` (counts per input
channel and time bin) drive ``n`` leaky integrate-and-fire neurons through random, fixed input
weights ``W_in`` (k, n) and recurrent weights ``W_rec`` (n, n); per sample, from rest::

    v_t  = decay * v'_{t-1} + x_t @ W_in + s_{t-1} @ W_rec
    s_t  = [v_t >= threshold]
    v'_t = v_t * (1 - s_t)                      (reset to zero after a spike)

Paper configurations: N-MNIST 16x16 crop (256 inputs), 200 neurons, 50 steps, decay 0.9,
threshold 5.0, weight scale 0.07; spoken digits 64 cochlea channels, 1 ms bins, 200 neurons,
decay 0.97, threshold 5.3, weight scale 0.08.

Weights. In the paper the random weights are the differential conductances ``G+ - G-`` of
resistive-memory cells after stochastic dielectric breakdown; its software model draws them
from a Gaussian. We draw ``W = weight_scale * N(0, 1)`` (optionally thinned to a density,
the fraction of broken-down cells) from the reservoir's seed: these are the *ideal* weights.
How a device realizes them (conductance pairs, programming and read noise, drift, ADC) is the
backend's business: this module only calls ``place`` and ``lif_reservoir``.

Weights are rounded to multiples of ``2**-WEIGHT_FRACTION_BITS``: sums of integer event counts
times such weights are exact in float64 in any order, so two simulators (our numba loop and
Brian2) that add the same synaptic inputs in different orders still agree spike for spike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from neuralbrain.core import Module, Needs
from neuralbrain.errors import ConfigError, ShapeError

WEIGHT_FRACTION_BITS = 16
# Independent random streams under one seed: the ideal weights and the device's noise must
# never be drawn from the same stream (that would make the programming noise a copy of the
# weights, i.e. a systematic gain instead of noise).
_WEIGHTS_STREAM, _DEVICE_STREAM = 0x5EED_0001, 0x5EED_0002


def stream_seed(seed: int, stream: int) -> int:
    """A seed for one named random stream derived from ``seed``."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


@dataclass(frozen=True)
class Config:
    """``[reservoir]``: sizes, LIF constants and weight statistics of the liquid."""

    n_inputs: int = 256
    n_neurons: int = 200
    decay: float = 0.9
    threshold: float = 5.0
    weight_scale: float = 0.07
    recurrent_scale: float | None = None  # defaults to weight_scale
    input_density: float = 1.0
    recurrent_density: float = 1.0
    backend: str = "cpu"

    def __post_init__(self) -> None:
        for name in ("n_inputs", "n_neurons"):
            if getattr(self, name) < 1:
                raise ConfigError(f"reservoir.{name} = {getattr(self, name)}: expected >= 1")
        if not 0.0 < self.decay <= 1.0:
            raise ConfigError(f"reservoir.decay = {self.decay}: expected 0 < decay <= 1")
        if not self.threshold > 0:
            raise ConfigError(f"reservoir.threshold = {self.threshold}: expected > 0")
        if not self.weight_scale > 0:
            raise ConfigError(f"reservoir.weight_scale = {self.weight_scale}: expected > 0")
        if self.recurrent_scale is not None and self.recurrent_scale < 0:
            raise ConfigError(
                f"reservoir.recurrent_scale = {self.recurrent_scale}: expected >= 0"
            )
        for name in ("input_density", "recurrent_density"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ConfigError(f"reservoir.{name} = {value}: expected 0 < density <= 1")


def quantize_weights(w: np.ndarray) -> np.ndarray:
    """Round to the dyadic grid ``2**-WEIGHT_FRACTION_BITS`` (exact in float32 and float64)."""
    step = 2.0**-WEIGHT_FRACTION_BITS
    return (np.round(np.asarray(w, np.float64) / step) * step).astype(np.float32)


def reservoir_weights(cfg: Config, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The ideal ``(W_in, W_rec)`` of a reservoir: Gaussian, thinned, on the dyadic grid.

    Self-connections are removed (a neuron's own spike is already handled by its reset).
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, _WEIGHTS_STREAM]))
    k, n = cfg.n_inputs, cfg.n_neurons
    w_in = rng.standard_normal((k, n)) * cfg.weight_scale
    rec_scale = cfg.weight_scale if cfg.recurrent_scale is None else cfg.recurrent_scale
    w_rec = rng.standard_normal((n, n)) * rec_scale
    if cfg.input_density < 1.0:
        w_in *= rng.random((k, n)) < cfg.input_density
    if cfg.recurrent_density < 1.0:
        w_rec *= rng.random((n, n)) < cfg.recurrent_density
    np.fill_diagonal(w_rec, 0.0)
    return quantize_weights(w_in), quantize_weights(w_rec)


def window_counts(
    spikes: np.ndarray,
    n_windows: int,
    lengths: np.ndarray | None = None,
    starts: np.ndarray | None = None,
) -> np.ndarray:
    """Spike counts of each neuron in ``n_windows`` equal time windows -> (batch, windows*n).

    ``n_windows = 1`` gives the classic LSM state vector (total spikes per neuron). With
    ``lengths`` (and optionally ``starts``), the windows split each sample's own span
    ``[start, start + length)``, so that recordings of different lengths (spoken words) are
    compared part by part; spikes outside the span are not counted.
    """
    s = np.asarray(spikes)
    if s.ndim != 3:
        raise ShapeError(f"spikes has shape {s.shape}: expected (batch, steps, neurons)")
    if not 1 <= n_windows <= s.shape[1]:
        raise ShapeError(f"n_windows = {n_windows}: expected 1..{s.shape[1]} (the steps)")
    batch, steps, n = s.shape
    lengths = np.full(batch, steps) if lengths is None else np.asarray(lengths, np.int64)
    starts = np.zeros(batch, np.int64) if starts is None else np.asarray(starts, np.int64)
    if lengths.shape != (batch,) or starts.shape != (batch,):
        raise ShapeError(
            f"lengths {lengths.shape} / starts {starts.shape}: expected ({batch},) each"
        )
    lengths = np.maximum(lengths, 1)
    t = np.arange(steps)[None, :] - starts[:, None]
    win = np.where(t >= 0, t * n_windows // lengths[:, None], -1)  # >= n_windows: after span
    out = np.zeros((batch, n_windows, n), np.float32)
    for w in range(n_windows):
        out[:, w] = np.einsum("bt,btn->bn", (win == w).astype(np.float32), s, dtype=np.float32)
    return out.reshape(batch, n_windows * n)


def input_lengths(binned: np.ndarray) -> np.ndarray:
    """Steps up to and including the last step with any input event, per sample (>= 1)."""
    starts, lengths = active_span(binned, 0.0)
    return np.where(lengths > 1, starts + lengths, np.maximum(starts + lengths, 1))


def active_span(
    binned: np.ndarray, threshold: float = 0.0, smooth_steps: int = 20
) -> tuple[np.ndarray, np.ndarray]:
    """``(starts, lengths)`` of the part of each sample where the input is active.

    The input event rate is smoothed over ``smooth_steps``; the span runs from the first to
    the last step where it reaches ``threshold`` times its maximum (``threshold = 0``: from
    the first to the last step with any event). A sample without events spans one step.
    """
    x = np.asarray(binned)
    rate = x.reshape(x.shape[0], x.shape[1], -1).sum(axis=2, dtype=np.float64)
    if threshold > 0 and smooth_steps > 1:
        kernel = np.ones(smooth_steps) / smooth_steps
        rate = np.stack([np.convolve(r, kernel, mode="same") for r in rate])
    peak = rate.max(axis=1, keepdims=True)
    on = (rate >= threshold * peak) & (rate > 0)
    any_on = on.any(axis=1)
    starts = np.where(any_on, np.argmax(on, axis=1), 0)
    ends = np.where(any_on, x.shape[1] - np.argmax(on[:, ::-1], axis=1), 1)
    return starts, np.maximum(ends - starts, 1)


class LiquidStateMachine(Module):
    """A reservoir module: binned events (batch, steps, n_inputs) -> spikes (batch, steps, n).

    The weights are fixed at construction from ``seed`` and survive ``reset``; moving the
    module to another backend (``to("rram")``) re-places the same ideal weights there.
    """

    Config = Config
    inputs: Mapping[str, type] = {"binned": np.ndarray}
    outputs: Mapping[str, type] = {"spikes": np.ndarray}
    requires: Mapping[str, Needs] = {"backend": Needs(ops={"lif_reservoir"})}

    def __init__(
        self, config: Config, hardware: Mapping[str, Any] | None = None, seed: int = 0
    ) -> None:
        super().__init__(config, hardware)
        self.seed = seed
        self.w_in, self.w_rec = reservoir_weights(config, seed)
        self.on_backend_change()

    def on_backend_change(self) -> None:
        self.backend.reset(stream_seed(self.seed, _DEVICE_STREAM))
        self._w_in = self.run("place", self.w_in)
        self._w_rec = self.run("place", self.w_rec)

    def encode(self, binned: np.ndarray) -> np.ndarray:
        """Spikes (batch, steps, n_neurons) uint8 of a batch of binned recordings."""
        x = np.asarray(binned)
        k = self.config.n_inputs
        if x.ndim not in (2, 3) or x.shape[-1] != k:
            raise ShapeError(
                f"binned input has shape {x.shape}: expected (batch, steps, {k}) "
                f"(reservoir.n_inputs = {k} channels)"
            )
        return self.run(
            "lif_reservoir", x, self._w_in, self._w_rec, self.config.decay, self.config.threshold
        )

    def reset(self, seed: int = 0) -> None:
        """Episodic reset: the weights stay; the device's noise stream restarts from ``seed``."""
        super().reset(seed)
        self.backend.reset(stream_seed(seed, _DEVICE_STREAM))

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        return {"spikes": self.encode(inputs["binned"])}

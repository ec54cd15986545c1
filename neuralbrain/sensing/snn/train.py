"""Surrogate-gradient training of the SNN in ``model.py`` (numpy, one thread, minutes).

Why surrogate gradients rather than ANN-to-SNN conversion: the network runs for only T = 8
time steps on event counts that change every step, and its first layer must emit binary
spikes from a fixed-point pixel circuit. Conversion assumes a constant input rate-coded over
many steps (it loses accuracy at T < ~32 and cannot see the temporal structure of the
saccades); backpropagation through time with a surrogate derivative of the spike (Neftci et
al., IEEE SPM 2019; fast-sigmoid SuperSpike surrogate) trains exactly the network that runs,
including the quantized in-pixel weights (straight-through estimator). The network is small
enough (about 0.4 M synapses) for numpy: one epoch over ~10 k samples takes about a minute.

Optimizer: Adam (Kingma & Ba, 2015), cosine learning-rate decay; augmentation: random
translations of up to ``shift_px`` pixels (N-MNIST digits wander a few pixels with the
saccades), drawn from the seeded generator.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from neuralbrain.errors import ConfigError
from neuralbrain.resumable import (
    Checkpointer,
    adam_arrays,
    prefixed,
    restore_adam,
    restore_rng,
    rng_state,
    unprefixed,
)
from neuralbrain.sensing.snn.model import (
    SNNConfig,
    backward,
    forward,
    init_params,
    softmax_cross_entropy,
)


@dataclass(frozen=True)
class TrainConfig:
    """``[perception.train]``: optimisation settings."""

    epochs: int = 6
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 0.0
    shift_px: int = 2
    emulated: int = 4000
    seed: int = 0
    checkpoint_every: int = 50  # batches between training-state checkpoints (0: at the end)

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name} = {getattr(self, name)}: expected >= 1")
        if not self.lr > 0:
            raise ConfigError(f"train.lr = {self.lr}: expected > 0")
        if self.weight_decay < 0 or self.shift_px < 0 or self.emulated < 0:
            raise ConfigError("train.weight_decay, shift_px and emulated must be >= 0")
        if not (isinstance(self.checkpoint_every, int) and self.checkpoint_every >= 0):
            raise ConfigError(
                f"train.checkpoint_every = {self.checkpoint_every!r}: expected an integer >= 0")


class Adam:
    """Adam over a dict of numpy arrays (updates in place)."""

    def __init__(self, params: dict[str, np.ndarray], lr: float, b1=0.9, b2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps = lr, b1, b2, eps
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lr: float) -> None:
        self.t += 1
        for k, g in grads.items():
            self.m[k] = self.b1 * self.m[k] + (1 - self.b1) * g
            self.v[k] = self.b2 * self.v[k] + (1 - self.b2) * g * g
            m_hat = self.m[k] / (1 - self.b1**self.t)
            v_hat = self.v[k] / (1 - self.b2**self.t)
            params[k] -= (lr * m_hat / (np.sqrt(v_hat) + self.eps)).astype(np.float32)


def shift(batch: np.ndarray, rng: np.random.Generator, max_px: int) -> np.ndarray:
    """Translate each sample of (B, T, C, H, W) by its own random (dy, dx), zero-filled."""
    if max_px == 0:
        return batch
    out = np.zeros_like(batch)
    h, w = batch.shape[-2:]
    for i, (dy, dx) in enumerate(rng.integers(-max_px, max_px + 1, size=(batch.shape[0], 2))):
        ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
        xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
        out[i, ..., yd, xd] = batch[i, ..., ys, xs]
    return out


def predict(params: dict, x: np.ndarray, cfg: SNNConfig, batch: int = 128) -> np.ndarray:
    """Logits for (N, T, C, H, W) counts, in batches."""
    out = [forward(params, x[i : i + batch], cfg)[0] for i in range(0, len(x), batch)]
    return np.concatenate(out) if out else np.zeros((0, cfg.n_classes), np.float32)


def fit(
    x: np.ndarray,
    y: np.ndarray,
    cfg: SNNConfig,
    tcfg: TrainConfig,
    log: Callable[[str], None] = print,
    params: dict[str, np.ndarray] | None = None,
    checkpoint: Checkpointer | None = None,
) -> dict[str, np.ndarray]:
    """Train on counts ``x`` (N, T, C, H, W) (any numeric dtype) and labels ``y`` (N,).

    With ``checkpoint``, the whole state (parameters, Adam's moments, the generator, the
    epoch's permutation and position) is saved every ``tcfg.checkpoint_every`` batches and when
    training ends, and a resuming checkpointer continues from its last save: the result equals
    an uninterrupted run's bit for bit."""
    rng = np.random.default_rng(tcfg.seed)
    params = params if params is not None else init_params(cfg, tcfg.seed)
    opt = Adam(params, tcfg.lr)
    n = len(x)
    steps = tcfg.epochs * math.ceil(n / tcfg.batch_size)
    step, epoch, start, total, correct = 0, 0, 0, 0.0, 0
    order = rng.permutation(n)
    saved = checkpoint.load() if checkpoint is not None else None
    if saved is not None:
        arrays, state = saved
        params = {k: v.astype(np.float32) for k, v in unprefixed("param", arrays).items()}
        restore_adam("adam", opt, arrays)
        order, rng = arrays["order"], restore_rng(state["rng"])
        step, epoch, start = state["step"], state["epoch"], state["start"]
        total, correct = state["total"], state["correct"]

    def save() -> None:
        checkpoint.save(
            {**prefixed("param", params), **adam_arrays("adam", opt), "order": order},
            {"step": step, "epoch": epoch, "start": start, "total": float(total),
             "correct": int(correct), "rng": rng_state(rng)})

    while epoch < tcfg.epochs:
        while start < n:
            idx = np.sort(order[start : start + tcfg.batch_size])
            xb = shift(x[idx].astype(np.float32), rng, tcfg.shift_px)
            logits, rec = forward(params, xb, cfg, keep=True)
            loss, g = softmax_cross_entropy(logits, y[idx])
            grads = backward(params, rec, g, cfg)
            if tcfg.weight_decay:
                for k in grads:
                    if k.endswith(".w"):
                        grads[k] = grads[k] + tcfg.weight_decay * params[k]
            lr = 0.5 * tcfg.lr * (1 + math.cos(math.pi * step / steps))
            opt.step(params, grads, lr)
            step += 1
            start += tcfg.batch_size
            total += loss * len(idx)
            correct += int((logits.argmax(1) == y[idx]).sum())
            if checkpoint is not None and start < n and checkpoint.due(step):
                save()
        log(f"epoch {epoch + 1}/{tcfg.epochs}: loss {total / n:.4f}, train acc {correct / n:.4f}")
        epoch, start, total, correct = epoch + 1, 0, 0.0, 0
        if epoch < tcfg.epochs:
            order = rng.permutation(n)
        if checkpoint is not None and (checkpoint.due(step) or epoch == tcfg.epochs):
            save()
    return params

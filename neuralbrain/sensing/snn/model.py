"""A small convolutional SNN for 34x34 event streams, as pure numpy math (no hardware here).

Architecture (N-MNIST, after the in-sensor SNN of Datta et al., ICASSP 2023, scaled down)::

    counts (T, 2, 34, 34) --conv1 k1/s1, c1 ch--> LIF --conv2 k2/s2, c2 ch--> LIF --fc--> 10
           [in the pixel array: in_sensor]          [event-driven cores: neuromorphic]

Neuron (leaky integrate-and-fire with soft reset; Neftci, Mostafa & Zenke, "Surrogate
gradient learning in spiking neural networks", IEEE SPM 2019, eq. 1-2, discrete time)::

    u[t] = beta * v[t-1] + I[t]            I[t] = W x[t] + b
    s[t] = H(u[t] - theta)
    v[t] = u[t] - theta * s[t]

The readout layer does not spike: ``logits = mean_t (W3 s2[t] + b3)``. With
``first_layer = "analog"`` conv1 is not spiking (its output is ``relu(I1)``, "direct
encoding" as in the paper's baseline) and its weights stay float: the same network without
the in-sensor constraints (binary in-pixel output, fixed-point transistor-width weights).

The products go through ``ops``: a mapping from layer name to a function
``(inputs (n, k), weights) -> (n, n_out)``. By default it is numpy ``@``; the perception
module passes functions that run the product on a backend (``accumulate`` on in_sensor,
neuromorphic or cpu) and book its cost, so the same code runs on every backend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from neuralbrain.errors import ConfigError, ShapeError

Product = Callable[[np.ndarray, object], np.ndarray]
LAYERS = ("conv1", "conv2", "fc")


@dataclass(frozen=True)
class SNNConfig:
    """Shape and dynamics of the SNN (``[perception.snn]`` in a TOML file)."""

    height: int = 34
    width: int = 34
    in_channels: int = 2
    time_steps: int = 8
    conv1_kernel: int = 4
    conv1_stride: int = 2
    conv1_channels: int = 16
    conv2_kernel: int = 3
    conv2_stride: int = 2
    conv2_channels: int = 32
    n_classes: int = 10
    beta: float = 0.8
    threshold: float = 1.0
    first_layer: Literal["spiking", "analog"] = "spiking"
    conv1_weight_bits: int = 8

    def __post_init__(self) -> None:
        for name in (
            "height", "width", "in_channels", "time_steps", "conv1_kernel", "conv1_stride",
            "conv1_channels", "conv2_kernel", "conv2_stride", "conv2_channels", "n_classes",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"snn.{name} = {getattr(self, name)}: expected >= 1")
        if self.conv1_kernel > min(self.height, self.width):
            raise ConfigError(
                f"snn.conv1_kernel = {self.conv1_kernel}: expected <= the sensor size "
                f"{self.height}x{self.width}"
            )
        h1, w1 = self.conv1_shape
        if self.conv2_kernel > min(h1, w1):
            raise ConfigError(
                f"snn.conv2_kernel = {self.conv2_kernel}: expected <= conv1's output {h1}x{w1}"
            )
        if not 0 <= self.beta <= 1:
            raise ConfigError(f"snn.beta = {self.beta}: expected 0 <= beta <= 1")
        if not self.threshold > 0:
            raise ConfigError(f"snn.threshold = {self.threshold}: expected > 0")
        if not 2 <= self.conv1_weight_bits <= 16:
            raise ConfigError(f"snn.conv1_weight_bits = {self.conv1_weight_bits}: expected 2..16")

    @property
    def conv1_shape(self) -> tuple[int, int]:
        return _out(self.height, self.conv1_kernel, self.conv1_stride), _out(
            self.width, self.conv1_kernel, self.conv1_stride
        )

    @property
    def conv2_shape(self) -> tuple[int, int]:
        h1, w1 = self.conv1_shape
        return _out(h1, self.conv2_kernel, self.conv2_stride), _out(
            w1, self.conv2_kernel, self.conv2_stride
        )

    @property
    def n_features(self) -> int:
        h2, w2 = self.conv2_shape
        return h2 * w2 * self.conv2_channels

    def weight_shapes(self) -> dict[str, tuple[int, int]]:
        return {
            "conv1": (self.in_channels * self.conv1_kernel**2, self.conv1_channels),
            "conv2": (self.conv1_channels * self.conv2_kernel**2, self.conv2_channels),
            "fc": (self.n_features, self.n_classes),
        }


def _out(size: int, kernel: int, stride: int) -> int:
    return (size - kernel) // stride + 1


def init_params(cfg: SNNConfig, seed: int) -> dict[str, np.ndarray]:
    """Kaiming-uniform weights (scaled up so the first spikes come early) and zero biases."""
    rng = np.random.default_rng(seed)
    params: dict[str, np.ndarray] = {}
    for name, (k, n) in cfg.weight_shapes().items():
        gain = 2.0 if name != "fc" else 1.0
        bound = gain * np.sqrt(3.0 / k)
        params[f"{name}.w"] = rng.uniform(-bound, bound, size=(k, n)).astype(np.float32)
        params[f"{name}.b"] = np.zeros(n, np.float32)
    return params


def fake_quantize(w: np.ndarray, bits: int) -> np.ndarray:
    """``w`` rounded to ``bits``-bit symmetric fixed point (the in-pixel weight widths)."""
    levels = 2 ** (bits - 1) - 1
    peak = float(np.abs(w).max())
    if peak == 0:
        return w
    scale = peak / levels
    return (np.clip(np.rint(w / scale), -levels, levels) * scale).astype(np.float32)


def patches(images: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """im2col: (N, H, W, C) -> (N, Ho*Wo, C*kernel*kernel), rows ordered (C, kh, kw)."""
    n, h, w, c = images.shape
    win = sliding_window_view(images, (kernel, kernel), axis=(1, 2))[:, ::stride, ::stride]
    ho, wo = win.shape[1], win.shape[2]
    return np.ascontiguousarray(win).reshape(n, ho * wo, c * kernel * kernel)


def patches_backward(
    grad: np.ndarray, shape: tuple[int, int, int, int], kernel: int, stride: int
) -> np.ndarray:
    """The adjoint of ``patches``: scatter-add (N, Ho*Wo, C*k*k) back to (N, H, W, C)."""
    n, h, w, c = shape
    ho, wo = _out(h, kernel, stride), _out(w, kernel, stride)
    g = grad.reshape(n, ho, wo, c, kernel, kernel)
    out = np.zeros(shape, np.float32)
    for i in range(kernel):
        for j in range(kernel):
            out[:, i : i + stride * ho : stride, j : j + stride * wo : stride, :] += g[..., i, j]
    return out


def check_counts(counts: np.ndarray, cfg: SNNConfig) -> np.ndarray:
    """Event counts as float32 (B, T, C, H, W), or a ``ShapeError`` naming the shape."""
    x = np.asarray(counts)
    want = (cfg.time_steps, cfg.in_channels, cfg.height, cfg.width)
    if x.ndim == 4:
        x = x[None]
    if x.ndim != 5 or tuple(x.shape[1:]) != want:
        raise ShapeError(f"event counts have shape {np.shape(counts)}: expected (B, *{want})")
    return x.astype(np.float32, copy=False)


def default_ops() -> dict[str, Product]:
    return {name: (lambda x, w: x @ w) for name in LAYERS}


def forward(
    params: Mapping[str, np.ndarray],
    counts: np.ndarray,
    cfg: SNNConfig,
    ops: Mapping[str, Product] | None = None,
    weights: Mapping[str, object] | None = None,
    keep: bool = False,
) -> tuple[np.ndarray, dict]:
    """Run the SNN over ``counts`` (B, T, C, H, W); return (logits (B, classes), record).

    ``weights`` are the handles the ``ops`` get (placed on a backend); by default the float
    weights (conv1 quantized to ``conv1_weight_bits`` when the first layer is spiking).
    ``record`` has the spikes per layer ``s1`` (B, T, H1*W1, c1) and ``s2``; with ``keep``
    also what ``backward`` needs.
    """
    x = check_counts(counts, cfg)
    ops = dict(default_ops(), **(ops or {}))
    if weights is None:
        weights = effective_weights(params, cfg)
    b, t_steps = x.shape[:2]
    h1, w1 = cfg.conv1_shape
    # (B*T, H, W, C) channels-last for im2col
    imgs = x.reshape(b * t_steps, cfg.in_channels, cfg.height, cfg.width).transpose(0, 2, 3, 1)
    p1 = patches(imgs, cfg.conv1_kernel, cfg.conv1_stride)
    n1 = p1.shape[1]
    i1 = ops["conv1"](p1.reshape(-1, p1.shape[2]), weights["conv1"]) + params["conv1.b"]
    i1 = i1.reshape(b, t_steps, n1, cfg.conv1_channels)
    if cfg.first_layer == "spiking":
        s1, u1 = lif(i1, cfg.beta, cfg.threshold)
    else:
        s1, u1 = np.maximum(i1, 0.0), i1
    p2 = patches(
        s1.reshape(b * t_steps, h1, w1, cfg.conv1_channels), cfg.conv2_kernel, cfg.conv2_stride
    )
    n2 = p2.shape[1]
    i2 = ops["conv2"](p2.reshape(-1, p2.shape[2]), weights["conv2"]) + params["conv2.b"]
    i2 = i2.reshape(b, t_steps, n2, cfg.conv2_channels)
    s2, u2 = lif(i2, cfg.beta, cfg.threshold)
    flat = s2.reshape(b * t_steps, -1)
    out = ops["fc"](flat, weights["fc"]) + params["fc.b"]
    logits = out.reshape(b, t_steps, cfg.n_classes).mean(axis=1)
    record: dict = {"s1": s1, "s2": s2}
    if keep:
        record.update(p1=p1, u1=u1, p2=p2, u2=u2, flat=flat, shape=(b, t_steps))
    return logits, record


def effective_weights(params: Mapping[str, np.ndarray], cfg: SNNConfig) -> dict[str, np.ndarray]:
    """The weights the forward pass uses (conv1 fixed point when it runs in the pixel)."""
    w1 = params["conv1.w"]
    if cfg.first_layer == "spiking":
        w1 = fake_quantize(w1, cfg.conv1_weight_bits)
    return {"conv1": w1, "conv2": params["conv2.w"], "fc": params["fc.w"]}


def lif(current: np.ndarray, beta: float, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """LIF over axis 1 (time) of (B, T, ...) input currents; returns spikes and u[t]."""
    v = np.zeros_like(current[:, 0])
    spikes = np.empty_like(current)
    u_all = np.empty_like(current)
    for t in range(current.shape[1]):
        u = beta * v + current[:, t]
        s = (u >= threshold).astype(np.float32)
        v = u - threshold * s
        spikes[:, t], u_all[:, t] = s, u
    return spikes, u_all


def surrogate(u: np.ndarray, threshold: float, slope: float = 5.0) -> np.ndarray:
    """d s / d u of the fast sigmoid (SuperSpike, Zenke & Ganguli 2018): 1/(1+k|u-th|)^2."""
    return 1.0 / (1.0 + slope * np.abs(u - threshold)) ** 2


def lif_backward(grad_s: np.ndarray, u: np.ndarray, beta: float, threshold: float) -> np.ndarray:
    """BPTT through ``lif`` with the reset detached; returns d loss / d current."""
    grad_i = np.empty_like(grad_s)
    g_v = np.zeros_like(grad_s[:, 0])
    for t in range(grad_s.shape[1] - 1, -1, -1):
        g_u = grad_s[:, t] * surrogate(u[:, t], threshold) + g_v
        grad_i[:, t] = g_u
        g_v = beta * g_u
    return grad_i


def backward(
    params: Mapping[str, np.ndarray], record: dict, grad_logits: np.ndarray, cfg: SNNConfig
) -> dict[str, np.ndarray]:
    """Gradients of the loss w.r.t. every parameter (straight-through for quantized conv1)."""
    b, t_steps = record["shape"]
    weights = effective_weights(params, cfg)
    grads: dict[str, np.ndarray] = {}
    g_out = np.repeat(grad_logits[:, None, :] / t_steps, t_steps, axis=1).reshape(b * t_steps, -1)
    grads["fc.w"] = record["flat"].T @ g_out
    grads["fc.b"] = g_out.sum(axis=0)
    g_s2 = (g_out @ weights["fc"].T).reshape(record["u2"].shape)
    g_i2 = lif_backward(g_s2, record["u2"], cfg.beta, cfg.threshold)
    g_i2 = g_i2.reshape(-1, cfg.conv2_channels)
    p2 = record["p2"]
    grads["conv2.w"] = p2.reshape(-1, p2.shape[2]).T @ g_i2
    grads["conv2.b"] = g_i2.sum(axis=0)
    h1, w1 = cfg.conv1_shape
    g_p2 = (g_i2 @ weights["conv2"].T).reshape(p2.shape)
    g_s1 = patches_backward(
        g_p2, (b * t_steps, h1, w1, cfg.conv1_channels), cfg.conv2_kernel, cfg.conv2_stride
    ).reshape(record["u1"].shape)
    if cfg.first_layer == "spiking":
        g_i1 = lif_backward(g_s1, record["u1"], cfg.beta, cfg.threshold)
    else:
        g_i1 = g_s1 * (record["u1"] > 0)
    g_i1 = g_i1.reshape(-1, cfg.conv1_channels)
    p1 = record["p1"]
    grads["conv1.w"] = p1.reshape(-1, p1.shape[2]).T @ g_i1
    grads["conv1.b"] = g_i1.sum(axis=0)
    return grads


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy and its gradient w.r.t. the logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = logits.shape[0]
    loss = float(-np.log(p[np.arange(n), labels] + 1e-12).mean())
    p[np.arange(n), labels] -= 1.0
    return loss, (p / n).astype(np.float32)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)

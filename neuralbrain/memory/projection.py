"""Per-modality GELU projections into a shared space, trained with a CLIP-style loss.

Lin et al. 2025 put small trainable ANN projections on top of fixed LSM encoders so that
recordings of the same concept from different senses land close together (an audio "seven"
next to event-camera 7s), and report zero-shot retrieval of classes never trained. Measured
here the projections retrieve the digits they were trained on, but unseen ones only at
chance (``neuralbrain/memory/RESULTS.md``); unseen digits are retrieved through their names
(``through_names`` below, ``neuralbrain.memory.names``).

Each modality m has ``e_m(x) = normalize(GELU(z W1 + b1) W2 + b2)`` with ``z`` the
standardized ``log1p`` spike-count features (200 -> ``hidden`` -> ``dim`` = 64 by default).
Loss on a batch of B (image, audio) pairs, after CLIP (Radford et al., ICML 2021) with
supervised targets (Khosla et al., NeurIPS 2020), because several pairs in a batch share a
digit: ``S = E_img E_aud^T / temperature``; ``T_ij = [y_i == y_j] / #{k: y_k == y_i}``;
``L = (CE(softmax_rows(S), T) + CE(softmax_cols(S), T^T)) / 2``. Trained by Adam in numpy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.memory.optim import Adam
from neuralbrain.memory.readout import gelu, gelu_grad
from neuralbrain.resumable import (
    Checkpointer,
    adam_arrays,
    prefixed,
    restore_adam,
    restore_rng,
    rng_state,
    unprefixed,
)

MatMul = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Config:
    """``[projection]``: the shared embedding and its contrastive training."""

    dim: int = 64
    hidden: int = 128
    temperature: float = 0.1
    epochs: int = 40
    batch_size: int = 128
    steps_per_epoch: int = 50
    lr: float = 2e-3
    weight_decay: float = 1e-4
    checkpoint_every: int = 5  # epochs between training-state checkpoints (0: at the end)

    def __post_init__(self) -> None:
        for name in ("dim", "hidden", "epochs", "batch_size", "steps_per_epoch"):
            if getattr(self, name) < 1:
                raise ConfigError(f"projection.{name} = {getattr(self, name)}: expected >= 1")
        if self.checkpoint_every < 0:
            raise ConfigError(
                f"projection.checkpoint_every = {self.checkpoint_every}: expected >= 0")
        if not self.temperature > 0 or not self.lr > 0 or self.weight_decay < 0:
            raise ConfigError(
                f"projection.temperature = {self.temperature}, lr = {self.lr}, weight_decay = "
                f"{self.weight_decay}: expected temperature > 0, lr > 0, weight_decay >= 0"
            )


class Projection:
    """One modality's projection head (parameters in ``params``; see the module docstring)."""

    def __init__(self, config: Config, n_features: int, rng: np.random.Generator,
                 prefix: str) -> None:
        self.config, self.n_features, self.prefix = config, n_features, prefix
        h, d = config.hidden, config.dim
        self.params = {
            "mean": np.zeros(n_features),
            "std": np.ones(n_features),
            "w1": rng.normal(0, 1 / np.sqrt(n_features), (n_features, h)),
            "b1": np.zeros(h),
            "w2": rng.normal(0, 1 / np.sqrt(h), (h, d)),
            "b2": np.zeros(d),
        }

    def prepare(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features, np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ShapeError(
                f"{self.prefix} features have shape {x.shape}: expected (batch, "
                f"{self.n_features})"
            )
        return np.log1p(x)

    def standardize_on(self, features: np.ndarray) -> None:
        x = self.prepare(features)
        self.params["mean"], self.params["std"] = x.mean(0), x.std(0) + 1e-6

    def forward(self, x: np.ndarray, matmul: MatMul = np.matmul) -> tuple[np.ndarray, dict]:
        p = self.params
        z = (x - p["mean"]) / p["std"]
        a = matmul(z, p["w1"]) + p["b1"]
        h = gelu(a)
        u = matmul(h, p["w2"]) + p["b2"]
        norm = np.linalg.norm(u, axis=1, keepdims=True) + 1e-12
        e = u / norm
        return e, {"z": z, "a": a, "h": h, "e": e, "norm": norm}

    def backward(self, de: np.ndarray, c: dict) -> dict[str, np.ndarray]:
        p, wd = self.params, self.config.weight_decay
        e = c["e"]
        du = (de - e * np.sum(e * de, axis=1, keepdims=True)) / c["norm"]
        dh = (du @ p["w2"].T) * gelu_grad(c["a"])
        return {
            "w2": c["h"].T @ du + wd * p["w2"],
            "b2": du.sum(0),
            "w1": c["z"].T @ dh + wd * p["w1"],
            "b1": dh.sum(0),
        }

    def embed(self, features: np.ndarray, matmul: MatMul = np.matmul) -> np.ndarray:
        """Unit-norm embeddings (batch, dim); ``matmul`` runs the two products (a module's
        backend, to run and price them on hardware)."""
        return self.forward(self.prepare(features), matmul)[0]


def contrastive_loss(
    e_a: np.ndarray, e_b: np.ndarray, labels: np.ndarray, temperature: float
) -> tuple[float, np.ndarray, np.ndarray]:
    """Symmetric supervised CLIP loss and its gradients w.r.t. both embedding batches."""
    s = e_a @ e_b.T / temperature
    same = (labels[:, None] == labels[None, :]).astype(np.float64)
    target = same / same.sum(1, keepdims=True)
    b = s.shape[0]

    def log_softmax(z: np.ndarray) -> np.ndarray:
        z = z - z.max(1, keepdims=True)
        return z - np.log(np.exp(z).sum(1, keepdims=True))

    lr, lc = log_softmax(s), log_softmax(s.T)
    loss = -0.5 * ((target * lr).sum() + (target.T * lc).sum()) / b
    ds = 0.5 * ((np.exp(lr) - target) + (np.exp(lc) - target.T).T) / b
    return float(loss), ds @ e_b / temperature, ds.T @ e_a / temperature


def train_projections(
    cfg: Config,
    feats_a: np.ndarray,
    labels_a: np.ndarray,
    feats_b: np.ndarray,
    labels_b: np.ndarray,
    seed: int = 0,
    progress: bool = False,
    checkpoint: Checkpointer | None = None,
) -> tuple[Projection, Projection, list[float]]:
    """Train projections ``a`` (e.g. image) and ``b`` (e.g. audio) on label-matched pairs.

    Every step draws ``batch_size`` labels from those present in both modalities, then one
    random sample of that label from each modality; returns both heads and the epoch losses.
    With ``checkpoint`` the whole training state is saved every ``checkpoint_every`` epochs
    and at the end, and a resuming checkpointer continues from its last save.
    """
    labels_a, labels_b = np.asarray(labels_a), np.asarray(labels_b)
    common = np.intersect1d(labels_a, labels_b)
    if common.size < 2:
        raise ShapeError(
            f"contrastive training needs >= 2 labels present in both modalities, got {common}"
        )
    rng = np.random.default_rng(seed)
    pa = Projection(cfg, feats_a.shape[1], rng, "image")
    pb = Projection(cfg, feats_b.shape[1], rng, "audio")
    pa.standardize_on(feats_a)
    pb.standardize_on(feats_b)
    xa, xb = pa.prepare(feats_a), pb.prepare(feats_b)
    by_a = {c: np.flatnonzero(labels_a == c) for c in common}
    by_b = {c: np.flatnonzero(labels_b == c) for c in common}
    opt_a, opt_b = Adam(cfg.lr), Adam(cfg.lr)
    losses: list[float] = []
    saved = checkpoint.load() if checkpoint is not None else None
    if saved is not None:
        arrays, state = saved
        for name, head, opt in (("a", pa, opt_a), ("b", pb, opt_b)):
            head.params.update(unprefixed(f"{name}", arrays))
            restore_adam(f"adam_{name}", opt, arrays)
        rng, losses = restore_rng(state["rng"]), list(state["losses"])
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=cfg.epochs, initial=len(losses), desc="projections", leave=False)
    while len(losses) < cfg.epochs:
        total = 0.0
        for _ in range(cfg.steps_per_epoch):
            ys = rng.choice(common, cfg.batch_size)
            ia = np.array([rng.choice(by_a[c]) for c in ys])
            ib = np.array([rng.choice(by_b[c]) for c in ys])
            ea, ca = pa.forward(xa[ia])
            eb, cb = pb.forward(xb[ib])
            loss, dea, deb = contrastive_loss(ea, eb, ys, cfg.temperature)
            opt_a.step(pa.params, pa.backward(dea, ca))
            opt_b.step(pb.params, pb.backward(deb, cb))
            total += loss
        losses.append(total / cfg.steps_per_epoch)
        if bar is not None:
            bar.update(1)
        if checkpoint is not None and (checkpoint.due(len(losses)) or len(losses) == cfg.epochs):
            checkpoint.save(
                {**prefixed("a", pa.params), **prefixed("b", pb.params),
                 **adam_arrays("adam_a", opt_a), **adam_arrays("adam_b", opt_b)},
                {"step": len(losses), "losses": losses, "rng": rng_state(rng)})
    if bar is not None:
        bar.close()
    return pa, pb, losses


def prototypes(embeddings: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(classes, unit-norm mean embedding of each class): what a query is matched against."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    protos = np.stack([embeddings[labels == c].mean(0) for c in classes])
    protos /= np.linalg.norm(protos, axis=1, keepdims=True) + 1e-12
    return classes, protos


Score = Callable[[np.ndarray, np.ndarray], np.ndarray]


def cosine(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """(queries, gallery) similarities of unit-norm embeddings."""
    return queries @ gallery.T


def through_names(q_anchors: np.ndarray, g_anchors: np.ndarray, temperature: float) -> Score:
    """Similarity by way of named classes (``neuralbrain.memory.names``).

    ``q_anchors[k]`` and ``g_anchors[k]`` are the unit-norm anchors of candidate class ``k``
    in the query's and the gallery's embedding space. Each embedding gets a distribution over
    the candidates, ``p(k | x) = softmax_k(cos(x, anchor_k) / temperature)``, and
    ``score(q, g) = sum_k p(k | q) p(k | g)``: the chance both name the same class.
    """
    if q_anchors.shape[0] != g_anchors.shape[0]:
        raise ShapeError(f"anchors for {q_anchors.shape[0]} and {g_anchors.shape[0]} classes: "
                         "expected one anchor per candidate class in each space")

    def posterior(x: np.ndarray, anchors: np.ndarray) -> np.ndarray:
        s = x @ anchors.T / temperature
        p = np.exp(s - s.max(1, keepdims=True))
        return p / p.sum(1, keepdims=True)

    return lambda q, g: posterior(q, q_anchors) @ posterior(g, g_anchors).T


def retrieval_top1(
    queries: np.ndarray, q_labels: np.ndarray, gallery: np.ndarray, g_labels: np.ndarray,
    by_class: bool = True, score: Score = cosine,
) -> float:
    """Top-1 accuracy of retrieving a query's label from the gallery by ``score``.

    ``by_class``: compare against the mean (renormalized) embedding of each gallery label;
    otherwise against every gallery item (nearest neighbour).
    """
    q_labels, g_labels = np.asarray(q_labels), np.asarray(g_labels)
    if by_class:
        classes, protos = prototypes(gallery, g_labels)
        pred = classes[np.argmax(score(queries, protos), axis=1)]
    else:
        pred = g_labels[np.argmax(score(queries, gallery), axis=1)]
    return float(np.mean(pred == q_labels))

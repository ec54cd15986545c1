"""Plastic associative memory of the scene: which digit is where, kept across steps.

The Neural Brain framework's memory stores and updates with neuroplasticity. Ours is a
bidirectional hetero-associative memory (Kosko, "Bidirectional associative memories", IEEE
SMC 1988) between *keys*, one-hot codes of the ten digits ``d``, and *values*, a population
place code of a position ``phi(p)`` (Gaussian place fields on a grid over the workspace, as
hippocampal place cells) with the height appended:

    v(p) = [phi(p); z],   phi_j(p) = exp(-|p_xy - c_j|^2 / (2 sigma^2))

Writing ``(d, p)`` applies the delta rule, which for one-hot keys is Hebbian learning with
forgetting of the old association of the same key (Widrow-Hoff; an Oja-style decay):

    W <- W + eta (v(p) - W d) d^T

so ``eta = 1`` overwrites, ``eta < 1`` averages noisy observations. Reading is a matrix-vector
product in either direction: ``W d`` recalls where digit ``d`` was seen (decoded as the
centre of mass of the place cells above half their maximum), ``W^T v(p)`` recalls which digit
was seen at ``p`` (with a confidence: the cosine between the recalled and the queried code).
Forgetting a key (``W d <- 0``) is the same rule with a zero value.

This module is pure numpy; the module that books its reads and writes on a backend is
``scene_memory``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neuralbrain.errors import ConfigError, ShapeError

N_KEYS = 10


@dataclass(frozen=True)
class PlasticMemoryConfig:
    """Place-code grid over the workspace (metres) and the learning rate of the delta rule."""

    x_range_m: tuple[float, float] = (0.3, 0.8)
    y_range_m: tuple[float, float] = (-0.35, 0.35)
    grid: tuple[int, int] = (16, 16)
    sigma_m: float = 0.03
    eta: float = 1.0

    def __post_init__(self) -> None:
        for name in ("x_range_m", "y_range_m"):
            lo, hi = getattr(self, name)
            if not lo < hi:
                raise ConfigError(f"plastic memory {name}={getattr(self, name)}: expected lo < hi")
        if min(self.grid) < 2:
            raise ConfigError(f"plastic memory grid={self.grid}: expected at least 2x2 place cells")
        if not self.sigma_m > 0:
            raise ConfigError(f"plastic memory sigma_m={self.sigma_m}: expected > 0")
        if not 0 < self.eta <= 1:
            raise ConfigError(f"plastic memory eta={self.eta}: expected in (0, 1]")


@dataclass
class AssociativeMemory:
    """The weight matrix ``W`` (values x keys) and the place code that fills it."""

    config: PlasticMemoryConfig = field(default_factory=PlasticMemoryConfig)

    def __post_init__(self) -> None:
        cfg = self.config
        xs = np.linspace(*cfg.x_range_m, cfg.grid[0])
        ys = np.linspace(*cfg.y_range_m, cfg.grid[1])
        self.centres = np.stack(np.meshgrid(xs, ys, indexing="ij"), -1).reshape(-1, 2)
        self.weights = np.zeros((len(self.centres) + 1, N_KEYS))

    @property
    def n_values(self) -> int:
        return self.weights.shape[0]

    def value(self, position: np.ndarray) -> np.ndarray:
        """The stored value of a position: place code of (x, y), then z."""
        p = np.asarray(position, dtype=np.float64)
        if p.shape != (3,) or not np.all(np.isfinite(p)):
            raise ShapeError(f"position {p.tolist()}: expected 3 finite world coordinates (m)")
        d2 = np.sum((self.centres - p[:2]) ** 2, axis=1)
        return np.append(np.exp(-d2 / (2 * self.config.sigma_m**2)), p[2])

    def write(self, digit: int, position: np.ndarray | None) -> int:
        """Associate ``digit`` with ``position`` (``None`` forgets it); returns cells changed."""
        key = _key(digit)
        target = np.zeros(self.n_values) if position is None else self.value(position)
        column = self.weights[:, key]
        delta = self.config.eta * (target - column)
        self.weights[:, key] = column + delta
        return int(np.count_nonzero(np.abs(delta) > 1e-12))

    def recall_position(self, digit: int) -> np.ndarray | None:
        """Where ``digit`` was last seen, or ``None`` if the memory holds nothing for it."""
        return self.decode(self.weights[:, _key(digit)])

    def decode(self, v: np.ndarray) -> np.ndarray | None:
        """The position a recalled value ``v = W d`` codes (``None`` for an empty value)."""
        v = np.asarray(v, dtype=np.float64)
        code = v[:-1]
        peak = code.max()
        if peak < 1e-3:
            return None
        active = code >= 0.5 * peak
        xy = (code[active, None] * self.centres[active]).sum(0) / code[active].sum()
        return np.array([xy[0], xy[1], v[-1]])

    def recall_digit(self, position: np.ndarray) -> tuple[int, float]:
        """The digit stored nearest ``position`` and the cosine similarity of the match."""
        query = self.value(position)[:-1]
        codes = self.weights[:-1]
        scores = query @ codes
        norms = np.linalg.norm(codes, axis=0) * (np.linalg.norm(query) or 1.0)
        cosine = np.divide(scores, norms, out=np.zeros_like(scores), where=norms > 0)
        best = int(np.argmax(cosine))
        return best, float(cosine[best])

    def known_digits(self) -> list[int]:
        return [d for d in range(N_KEYS) if self.weights[:-1, d].max() >= 1e-3]

    def clear(self) -> None:
        self.weights[:] = 0.0


def _key(digit: int) -> int:
    if not (isinstance(digit, int | np.integer) and 0 <= digit < N_KEYS):
        raise ShapeError(f"digit {digit!r}: expected an int in [0, {N_KEYS})")
    return int(digit)

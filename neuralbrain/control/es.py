"""OpenAI-style evolution strategies: antithetic Gaussian perturbations, rank-shaped fitness,
Adam on the mean (Salimans, Ho, Chen, Sidor & Sutskever, "Evolution Strategies as a
Scalable Alternative to Reinforcement Learning", arXiv:1703.03864, 2017).

For the mean parameters ``mu`` and ``n`` pairs of noise vectors ``eps_i ~ N(0, I)``, the
population is ``mu + sigma * eps_i`` and ``mu - sigma * eps_i``. Fitnesses are replaced by
their centred ranks in ``[-0.5, 0.5]`` (invariant to any monotone change of the fitness);
the gradient estimate of the expected fitness is

    g = 1 / (2 n sigma) * sum_i (F+_i - F-_i) eps_i  - weight_decay * mu

and ``mu`` moves uphill by Adam (Kingma & Ba, ICLR 2015). The pieces are pure functions
plus a small ``Adam`` whose state is plain arrays, so a checkpoint can store and restore it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from neuralbrain.errors import ConfigError


@dataclass(frozen=True)
class EsConfig:
    """``[train]``: evolution-strategies hyper-parameters and budgets."""

    pairs: int = 32  # antithetic pairs per generation (population = 2 * pairs)
    sigma: float = 0.05  # perturbation std, in parameter units
    learning_rate: float = 0.03
    weight_decay: float = 0.005
    episodes_per_member: int = 4  # start states per member per generation (shared by all)
    max_generations: int = 1000
    time_budget_s: float = 480.0  # wall-clock budget of one `train` call
    eval_every: int = 5  # generations between evaluations of the mean
    eval_episodes: int = 100  # start states of each evaluation (held out from training)
    target_return: float = 500.0  # stop once the mean's evaluation return reaches this
    checkpoint_every: int = 5  # generations between training-state checkpoints (0: at the end)

    def __post_init__(self) -> None:
        ints = {
            "checkpoint_every": 0,
            "pairs": 1,
            "episodes_per_member": 1,
            "max_generations": 1,
            "eval_every": 1,
            "eval_episodes": 1,
        }
        for name, lo in ints.items():
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= lo):
                raise ConfigError(f"train.{name} = {value!r}: expected an integer >= {lo}")
        for name in ("sigma", "learning_rate", "time_budget_s", "target_return"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ConfigError(f"train.{name} = {value!r}: expected a finite number > 0")
        if not (isinstance(self.weight_decay, int | float) and 0 <= self.weight_decay < 1):
            raise ConfigError(f"train.weight_decay = {self.weight_decay!r}: expected 0 <= x < 1")


def centered_ranks(fitness: np.ndarray) -> np.ndarray:
    """Ranks of ``fitness`` mapped linearly onto [-0.5, 0.5] (ties get distinct ranks in a
    stable order, so the result is deterministic)."""
    f = np.asarray(fitness, dtype=np.float64).ravel()
    ranks = np.empty(f.size, np.float64)
    ranks[np.argsort(f, kind="stable")] = np.arange(f.size, dtype=np.float64)
    if f.size < 2:
        return np.zeros_like(ranks)
    return ranks / (f.size - 1) - 0.5


def antithetic_noise(rng: np.random.Generator, pairs: int, dim: int) -> np.ndarray:
    """(2 * pairs, dim) noise: ``eps`` stacked on ``-eps``."""
    eps = rng.standard_normal((pairs, dim))
    return np.concatenate([eps, -eps])


def es_gradient(
    noise: np.ndarray, fitness: np.ndarray, sigma: float, mu: np.ndarray, weight_decay: float
) -> np.ndarray:
    """Ascent direction from a population's ``noise`` (P, D) and raw ``fitness`` (P,)."""
    shaped = centered_ranks(fitness)
    return shaped @ noise / (noise.shape[0] * sigma) - weight_decay * mu


@dataclass
class Adam:
    """Adam ascent on a parameter vector; ``m``, ``v``, ``t`` are its whole state."""

    learning_rate: float
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    m: np.ndarray = field(default_factory=lambda: np.zeros(0))
    v: np.ndarray = field(default_factory=lambda: np.zeros(0))
    t: int = 0

    def step(self, mu: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """``mu`` moved one step along the ascent direction ``grad``."""
        if self.m.shape != mu.shape:
            self.m, self.v = np.zeros_like(mu), np.zeros_like(mu)
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * grad
        self.v = self.beta2 * self.v + (1 - self.beta2) * grad * grad
        lr = self.learning_rate * math.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        return mu + lr * self.m / (np.sqrt(self.v) + self.eps)

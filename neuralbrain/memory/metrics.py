"""Accuracy with its Wilson score interval, and per-class accuracy."""

from __future__ import annotations

import math

import numpy as np


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval of a proportion ``k / n`` (Wilson, JASA 1927)."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def accuracy_report(pred: np.ndarray, labels: np.ndarray) -> dict:
    """``{"accuracy", "n", "ci95", "per_class"}`` of predictions against labels."""
    pred, labels = np.asarray(pred), np.asarray(labels)
    k, n = int(np.sum(pred == labels)), int(labels.size)
    per_class = {
        str(int(c)): float(np.mean(pred[labels == c] == c)) for c in np.unique(labels)
    }
    lo, hi = wilson(k, n)
    return {"accuracy": k / n if n else 0.0, "n": n, "ci95": [lo, hi], "per_class": per_class}

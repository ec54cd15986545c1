"""Contrastive projections: exact gradients, training aligns modalities, zero-shot retrieval."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.memory.projection import (
    Config,
    Projection,
    contrastive_loss,
    retrieval_top1,
    through_names,
    train_projections,
)


def test_loss_and_backward_match_finite_differences():
    rng = np.random.default_rng(0)
    cfg = Config(dim=4, hidden=6)
    pa = Projection(cfg, 5, rng, "a")
    pb = Projection(cfg, 3, rng, "b")
    xa, xb = rng.random((6, 5)), rng.random((6, 3))
    labels = np.array([0, 1, 0, 2, 1, 2])

    def loss_of():
        return contrastive_loss(pa.forward(xa)[0], pb.forward(xb)[0], labels, 0.5)[0]

    ea, ca = pa.forward(xa)
    eb, cb = pb.forward(xb)
    _, dea, deb = contrastive_loss(ea, eb, labels, 0.5)
    grads = pa.backward(dea, ca)
    for name in ("w1", "w2", "b1"):
        p = pa.params[name]
        idx = tuple(int(i) for i in np.unravel_index(3 % p.size, p.shape))
        old = p[idx]
        p[idx] = old + 1e-6
        up = loss_of()
        p[idx] = old - 1e-6
        down = loss_of()
        p[idx] = old
        grad_wd = cfg.weight_decay * old if name.startswith("w") else 0.0
        assert grads[name][idx] - grad_wd == pytest.approx((up - down) / 2e-6, abs=1e-6)
    assert pb.backward(deb, cb)["w2"].shape == (6, 4)


def _two_modalities(n=400, seed=0):
    """Two 'senses' of 10 concepts: different random linear views of one latent code."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(10, 8))
    ya, yb = rng.integers(0, 10, n), rng.integers(0, 10, n)
    ma, mb = rng.normal(size=(8, 30)), rng.normal(size=(8, 20))
    fa = np.maximum(latent[ya] @ ma + rng.normal(0, 0.5, (n, 30)), 0) * 5
    fb = np.maximum(latent[yb] @ mb + rng.normal(0, 0.5, (n, 20)), 0) * 5
    return fa, ya, fb, yb


def test_training_aligns_seen_classes_and_transfers_to_unseen():
    fa, ya, fb, yb = _two_modalities()
    seen_a, seen_b = ya < 8, yb < 8
    cfg = Config(dim=16, hidden=32, epochs=15, steps_per_epoch=20, batch_size=64)
    pa, pb, losses = train_projections(cfg, fa[seen_a], ya[seen_a], fb[seen_b], yb[seen_b])
    assert losses[-1] < losses[0]
    ea, eb = pa.embed(fa), pb.embed(fb)
    assert retrieval_top1(eb[seen_b], yb[seen_b], ea[seen_a], ya[seen_a]) > 0.9
    un_a, un_b = ~seen_a, ~seen_b
    assert retrieval_top1(eb[un_b], yb[un_b], ea[un_a], ya[un_a]) > 0.7
    again = train_projections(cfg, fa[seen_a], ya[seen_a], fb[seen_b], yb[seen_b])[0]
    np.testing.assert_array_equal(again.embed(fa), ea)


def test_retrieval_top1_by_prototype_and_nearest():
    g = np.array([[1.0, 0], [0.9, 0.1], [0, 1.0]])
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    q = np.array([[1.0, 0.05], [0.1, 1.0]])
    assert retrieval_top1(q, np.array([0, 1]), g, np.array([0, 0, 1])) == 1.0
    assert retrieval_top1(q, np.array([1, 1]), g, np.array([0, 0, 1]), by_class=False) == 0.5


def test_retrieval_through_names_follows_the_anchors_not_the_direct_similarity():
    # Queries and gallery live in unrelated spaces: the direct cosine pairs them wrongly, the
    # anchors (one per class in each space) pair them by class.
    q = np.array([[1.0, 0.0], [0.0, 1.0]])  # classes 0, 1 in the query space
    g = np.array([[0.0, 1.0], [1.0, 0.0]])  # classes 0, 1 in the gallery space
    labels = np.array([0, 1])
    assert retrieval_top1(q, labels, g, labels) == 0.0
    score = through_names(q_anchors=q, g_anchors=g, temperature=0.1)
    assert retrieval_top1(q, labels, g, labels, score=score) == 1.0
    assert retrieval_top1(q, labels, g, labels, by_class=False, score=score) == 1.0
    swapped = through_names(q_anchors=q[::-1], g_anchors=g, temperature=0.1)
    assert retrieval_top1(q, labels, g, labels, score=swapped) == 0.0
    s = score(q, g)
    np.testing.assert_allclose(s.sum(), 2.0)  # rows: two distributions' overlap, <= 1 each
    with pytest.raises(ShapeError, match="one anchor per candidate class"):
        through_names(q, g[:1], 0.1)


def test_bad_input_is_named():
    with pytest.raises(ConfigError, match="temperature"):
        Config(temperature=0)
    p = Projection(Config(), 10, np.random.default_rng(0), "image")
    with pytest.raises(ShapeError, match=r"image features .* expected \(batch, 10\)"):
        p.embed(np.zeros((2, 3)))
    with pytest.raises(ShapeError, match=">= 2 labels"):
        train_projections(Config(), np.ones((4, 3)), np.zeros(4), np.ones((4, 3)), np.ones(4))

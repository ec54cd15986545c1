"""The request family: every kind's scene and goal agree, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.errors import ConfigError
from neuralbrain.reasoning.requests import KINDS, MIN_CUBES, draw_task, resolve

SEEDS = range(60)


def _draw(kind, seed):
    return draw_task(kind, np.random.default_rng(seed))


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_draws_a_scene_its_goal_fits(kind):
    for seed in SEEDS:
        t = _draw(kind, seed)
        assert t.kind == kind and len(set(t.digits)) == len(t.digits) >= MIN_CUBES[kind]
        if kind == "impossible":
            d = t.named_digit
            assert t.goal.cannot and (d not in t.digits or not t.reachable[t.digits.index(d)])
            continue
        assert set(t.goal.tray) <= set(t.digits) and all(t.reachable)
        assert t.goal.ordered == (kind == "ordered")
        n = {"several": (2, 3), "ordered": (2, 3)}.get(kind, (1, 1))
        assert n[0] <= len(t.goal.tray) <= n[1]
        if kind == "covered":
            target = t.digits.index(t.goal.tray[0])
            depth = sum(1 for _ in _above(t.on, target))
            assert 1 <= depth <= 2
        else:
            assert t.on == (-1,) * len(t.digits)


def _above(on, i):
    while i in on:
        i = on.index(i)
        yield i


def test_relations_name_the_cube_the_words_say():
    assert resolve("largest", (3, 8, 1)) == 8 and resolve("smallest_even", (3, 8, 4)) == 4
    assert resolve("largest_odd", (2, 8, 4)) is None
    for seed in SEEDS:
        t = _draw("relational", seed)
        if "largest number" in t.request or "biggest" in t.request:
            assert t.goal.tray == (max(t.digits),)


def test_draws_are_seeded_and_mixed_covers_every_kind():
    assert _draw("mixed", 3) == _draw("mixed", 3)
    assert {_draw("mixed", s).kind for s in range(60)} == set(KINDS)
    one = {draw_task("mixed", np.random.default_rng(s), among=("single", "covered")).kind
           for s in range(20)}
    assert one == {"single", "covered"}


def test_bad_kinds_and_sizes_are_named():
    with pytest.raises(ConfigError, match="task 'sorted'"):
        _draw("sorted", 0)
    with pytest.raises(ConfigError, match="'several' task with n_cubes=2"):
        draw_task("several", np.random.default_rng(0), n_cubes=2)
    with pytest.raises(ConfigError, match="among"):
        draw_task("mixed", np.random.default_rng(0), among=("sorted",))

"""The scripted plan: unstack whatever covers the target (top-most first), then pick/place."""

from __future__ import annotations

from neuralbrain_envs.oracle import scripted_calls


def info(target: int, on_top_of: list[int], holding: int = -1) -> dict:
    return {"target_cube": target, "on_top_of": on_top_of, "holding": holding}


def test_free_target_is_picked_and_placed():
    assert scripted_calls(info(2, [-1, -1, -1])) == ["pick(cube_2)", "place(tray)"]


def test_covered_target_is_unstacked_top_most_first():
    # cube 1 on 0 (target), cube 3 on 1: move 3, then 1, then the target
    calls = scripted_calls(info(0, [-1, 0, -1, 1]))
    assert calls == [
        "pick(cube_3)",
        "place(table)",
        "pick(cube_1)",
        "place(table)",
        "pick(cube_0)",
        "place(tray)",
    ]


def test_holding_state_is_respected():
    assert scripted_calls(info(1, [-1, -1], holding=1)) == ["place(tray)"]
    assert scripted_calls(info(1, [-1, -1], holding=0))[:2] == ["place(table)", "pick(cube_1)"]

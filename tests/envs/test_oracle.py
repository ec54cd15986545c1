"""The scripted plan: unstack whatever covers a goal cube (top-most first), then pick/place
each goal cube in order; fix a tray stack that does not fit the goal; cannot() when the
request cannot be done."""

from __future__ import annotations

from neuralbrain_envs.oracle import plan_calls, scripted_calls


def test_free_target_is_picked_and_placed():
    assert plan_calls([2], [-1, -1, -1]) == ["pick(cube_2)", "place(tray)"]


def test_covered_target_is_unstacked_top_most_first():
    # cube 1 on 0 (target), cube 3 on 1: move 3, then 1, then the target
    calls = plan_calls([0], [-1, 0, -1, 1])
    assert calls == [
        "pick(cube_3)",
        "place(table)",
        "pick(cube_1)",
        "place(table)",
        "pick(cube_0)",
        "place(tray)",
    ]


def test_holding_state_is_respected():
    assert plan_calls([1], [-1, -1], holding=1) == ["place(tray)"]
    assert plan_calls([1], [-1, -1], holding=0)[:2] == ["place(table)", "pick(cube_1)"]


def test_goal_cubes_go_in_goal_order_skipping_those_in_place():
    assert plan_calls([2, 0, 1], [-1] * 4, ordered=True) == [
        "pick(cube_2)", "place(tray)", "pick(cube_0)", "place(tray)", "pick(cube_1)", "place(tray)"]
    # 2 is already at the bottom of the tray: only 0 then 1 remain
    assert plan_calls([2, 0, 1], [-1, -1, -1, -1], tray_stack=[2], ordered=True) == [
        "pick(cube_0)", "place(tray)", "pick(cube_1)", "place(tray)"]


def test_a_tray_stack_in_the_wrong_order_is_taken_down_to_where_it_fits():
    # goal 2, 0, 1 bottom to top; the tray holds 2 with 1 on it: 1 must come off first
    calls = plan_calls([2, 0, 1], [-1, 2, -1, -1], tray_stack=[2, 1], ordered=True)
    assert calls == ["pick(cube_1)", "place(table)", "pick(cube_0)", "place(tray)",
                     "pick(cube_1)", "place(tray)"]
    # unordered, the same tray is fine: only 0 is missing
    assert plan_calls([2, 0, 1], [-1, 2, -1, -1], tray_stack=[2, 1]) == [
        "pick(cube_0)", "place(tray)"]


def test_a_cube_in_the_tray_that_is_not_asked_for_comes_out():
    assert plan_calls([1], [-1, -1, -1], tray_stack=[2]) == [
        "pick(cube_2)", "place(table)", "pick(cube_1)", "place(tray)"]
    # held, the next goal cube waits on the table until the tray is cleared
    assert plan_calls([1], [-1, -1, -1], holding=1, tray_stack=[2])[:3] == [
        "place(table)", "pick(cube_2)", "place(table)"]


def test_held_cube_out_of_turn_goes_to_the_table():
    assert plan_calls([0, 1], [-1, -1], holding=1, ordered=True)[0] == "place(table)"
    assert plan_calls([0, 1], [-1, -1], holding=1)[0] == "place(tray)"  # any order will do


def test_cannot_and_info_digits():
    assert plan_calls([], [-1, -1], cannot="no cube shows 4") == ["cannot()"]
    info = {"cube_digits": [7, 3, 5], "goal_tray": [5, 7], "goal_ordered": True,
            "goal_cannot": "", "on_top_of": [-1, -1, -1], "holding": -1, "tray_stack": []}
    assert scripted_calls(info) == ["pick(cube_2)", "place(tray)", "pick(cube_0)", "place(tray)"]
    info.update(goal_tray=[], goal_cannot="the cube showing 3 is out of reach")
    assert scripted_calls(info) == ["cannot()"]

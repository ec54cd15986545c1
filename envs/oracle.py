"""A scripted DigitPick solution from privileged ``info`` (an oracle for tests and baselines).

``scripted_calls(info)`` returns the skill calls that finish the task from the current
state: every cube resting on the target is first moved onto the table (top-most first),
then the target is picked and placed in the tray. Replanning after each skill from fresh
``info`` makes it robust to a skill that moved something unexpectedly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def scripted_calls(info: Mapping[str, Any]) -> list[str]:
    """Skill calls that put ``info["target_cube"]`` into the tray from the current state."""
    target = int(info["target_cube"])
    on_top = list(info["on_top_of"])
    holding = int(info.get("holding", -1))
    if holding == target:
        return ["place(tray)"]
    calls: list[str] = []
    if holding >= 0:
        calls.append("place(table)")
    # the chain of cubes above the target, top-most first
    chain, below = [], target
    while True:
        above = [j for j, s in enumerate(on_top) if s == below and j != holding]
        if not above:
            break
        chain.append(above[0])
        below = above[0]
    for j in reversed(chain):
        calls += [f"pick(cube_{j})", "place(table)"]
    return calls + [f"pick(cube_{target})", "place(tray)"]

"""A scripted DigitPick solution from privileged ``info`` (an oracle for tests and baselines).

``scripted_calls(info)`` returns the skill calls that finish the task from the current
state (``plan_calls`` does the same from the facts as cube indices):

- an impossible task (``info["goal_cannot"]`` set): ``["cannot()"]``, touching nothing;
- otherwise: a cube held that does not go into the tray next is set on the table; the part
  of the tray's stack that does not fit the goal is moved to the table, top-most first
  (when ordered, the tray must hold a bottom part of the goal's order; otherwise only goal
  cubes); then for each goal cube not yet in the tray, in goal order, the cubes resting on
  it go to the table top-most first and the cube is picked and placed in the tray
  (``place(tray)`` stacks on what the tray holds, so the order of the calls is the order of
  the stack, bottom first).

Replanning after each skill from fresh ``info`` makes it robust to a skill that moved
something unexpectedly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

CANNOT = "cannot()"


def plan_calls(goal: Sequence[int], on_top_of: Sequence[int], holding: int = -1,
               tray_stack: Sequence[int] = (), ordered: bool = False,
               cannot: str = "") -> list[str]:
    """Skill calls that put the ``goal`` cubes into the tray (stacked in this order when
    ``ordered``), from what each cube rests on (-1: nothing), the cube held (-1: none) and
    the tray's cubes bottom to top; ``["cannot()"]`` when ``cannot`` gives a reason."""
    if cannot:
        return [CANNOT]
    goal = [int(g) for g in goal]
    on = [int(s) for s in on_top_of]
    tray = [int(i) for i in tray_stack if int(i) != holding]
    keep = 0  # the bottom part of the tray's stack that stays
    while keep < len(tray) and (
        (keep < len(goal) and tray[keep] == goal[keep]) if ordered else tray[keep] in goal
    ):
        keep += 1
    kept, remove = tray[:keep], tray[keep:]
    todo = [g for g in goal if g not in kept]  # in goal order, so the next one is todo[0]
    calls: list[str] = []
    if holding >= 0:
        if not remove and todo and (holding == todo[0] if ordered else holding in todo):
            calls.append("place(tray)")
            todo.remove(holding)
        else:
            calls.append("place(table)")
        on[holding] = -1
    for j in reversed(remove):  # top-most first
        calls += [f"pick(cube_{j})", "place(table)"]
        on[j] = -1
    for g in todo:
        chain, below = [], g  # the cubes above g, bottom-most first
        while True:
            above = [j for j, s in enumerate(on) if s == below and j != holding]
            if not above:
                break
            chain.append(above[0])
            below = above[0]
        for j in reversed(chain):
            calls += [f"pick(cube_{j})", "place(table)"]
            on[j] = -1
        calls += [f"pick(cube_{g})", "place(tray)"]
        on[g] = -1
    return calls


def goal_cubes(info: Mapping[str, Any]) -> list[int]:
    """The cubes of ``info["goal_tray"]``'s digits, in goal order."""
    digits = list(info["cube_digits"])
    return [digits.index(d) for d in info["goal_tray"]]


def scripted_calls(info: Mapping[str, Any]) -> list[str]:
    """Skill calls that finish the task of a DigitPick ``info`` from its current state (reads
    ``goal_tray``, ``goal_ordered``, ``goal_cannot``, ``cube_digits``, ``on_top_of``,
    ``holding``, ``tray_stack``)."""
    return plan_calls(goal_cubes(info), info["on_top_of"], int(info["holding"]),
                      info["tray_stack"], bool(info["goal_ordered"]), str(info["goal_cannot"]))


def run_scripted(seeds: range | list[int], max_calls: int = 16, **env_kwargs: Any) -> dict[str, Any]:
    """Run the scripted solution through ``DigitPickSkills`` on ``seeds``; summary figures
    (``env_kwargs`` go to ``DigitPickEnv``, e.g. ``task="ordered"``)."""
    import time

    from neuralbrain_envs.digitpick import DigitPickEnv
    from neuralbrain_envs.wrappers import DigitPickSkills

    env = DigitPickSkills(DigitPickEnv(**env_kwargs))
    rows = []
    t0 = time.perf_counter()
    low_steps = 0
    try:
        for seed in seeds:
            _, info = env.reset(seed=seed)
            target = info["target_cube"]
            covered = target >= 0 and target in info["on_top_of"]
            n_calls, ok = 0, False
            for _ in range(max_calls):
                call = scripted_calls(info)[0]
                _, _, term, trunc, info = env.step(env.skill_names.index(call))
                n_calls += 1
                low_steps += info["skill_steps"]
                if term or trunc:
                    ok = bool(info["is_success"])
                    break
            rows.append((seed, ok, covered, n_calls, info["sim_time_s"], info["task_kind"]))
    finally:
        env.close()
    wall = time.perf_counter() - t0
    n = len(rows)
    cov = [r for r in rows if r[2]]
    kinds = sorted({r[5] for r in rows})
    return {
        "episodes": n,
        "success_rate": sum(r[1] for r in rows) / max(n, 1),
        "success_by_kind": {k: [sum(r[1] for r in rows if r[5] == k),
                                sum(1 for r in rows if r[5] == k)] for k in kinds},
        "covered_target_episodes": len(cov),
        "covered_target_success_rate": (sum(r[1] for r in cov) / len(cov)) if cov else None,
        "mean_skill_calls": sum(r[3] for r in rows) / max(n, 1),
        "mean_sim_time_s": sum(r[4] for r in rows) / max(n, 1),
        "failed_seeds": [r[0] for r in rows if not r[1]],
        "env_steps_per_s_incl_resets": low_steps / wall if wall > 0 else None,
    }


if __name__ == "__main__":
    import argparse
    import json

    ap = argparse.ArgumentParser(description="Scripted DigitPick solution over seeds (JSON)")
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--task", default="single", help="a task kind of DigitPickEnv")
    ap.add_argument("--stack-prob", type=float, default=0.5)
    ap.add_argument("--digit-source", default="auto")
    a = ap.parse_args()
    seeds = range(a.first_seed, a.first_seed + a.seeds)
    out = run_scripted(seeds, task=a.task, stack_prob=a.stack_prob, digit_source=a.digit_source)
    print(json.dumps(out))

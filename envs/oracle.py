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


def run_scripted(seeds: range | list[int], max_calls: int = 8, **env_kwargs: Any) -> dict[str, Any]:
    """Run the scripted solution through ``DigitPickSkills`` on ``seeds``; summary figures."""
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
            covered = info["target_cube"] in info["on_top_of"]
            n_calls, ok = 0, False
            for _ in range(max_calls):
                call = scripted_calls(info)[0]
                _, _, term, trunc, info = env.step(env.skill_names.index(call))
                n_calls += 1
                low_steps += info["skill_steps"]
                if term or trunc:
                    ok = bool(info["is_success"])
                    break
            rows.append((seed, ok, covered, n_calls, info["sim_time_s"]))
    finally:
        env.close()
    wall = time.perf_counter() - t0
    n = len(rows)
    cov = [r for r in rows if r[2]]
    return {
        "episodes": n,
        "success_rate": sum(r[1] for r in rows) / max(n, 1),
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
    ap.add_argument("--stack-prob", type=float, default=0.5)
    ap.add_argument("--digit-source", default="auto")
    a = ap.parse_args()
    seeds = range(a.first_seed, a.first_seed + a.seeds)
    out = run_scripted(seeds, stack_prob=a.stack_prob, digit_source=a.digit_source)
    print(json.dumps(out))

"""The plan suite: seeded (request, facts) cases of every kind, an oracle, and the score.

``cases(seeds, kind)`` draws a ``requests.Task`` per seed and states its scene as the facts
perception and memory would report (``task_facts``: ``shows``, ``reachable``, ``on``, the two
places). ``oracle_plan`` is the plan a solver reading the ground truth (the task's goal) makes:
unstack the cubes on each goal cube top first, stack the goal cubes in the tray in order,
``done()``; or ``cannot(...)`` with the reason. ``outcome`` runs a plan on the facts and checks
the final state against the goal:

- ``satisfied``: exactly the goal's cubes are in the tray (bottom to top in the goal's order
  when it is ordered), nothing is held and the plan ended with ``done()``; for an impossible
  request, the plan is one ``cannot(...)`` call (touching nothing);
- ``exact``: the plan is the oracle's, call for call (a ``cannot`` with the oracle's reason).

Policies to compare a planner with (``baseline_plan``), over the reasoner's verdicts only:
``random`` takes a feasible call uniformly at random each step, ``first`` the first feasible
call in ``affordances.skill_calls`` order; both stop at ``done()``/``cannot(...)`` or after
``max_calls``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from neuralbrain.errors import ConfigError
from neuralbrain.reasoning.affordances import GLJudge, apply_skill
from neuralbrain.reasoning.planner.scene import parse_atom, parse_facts
from neuralbrain.reasoning.requests import Task, check_kind, draw_task

BASELINES = ("random", "first")


@dataclass(frozen=True)
class Case:
    seed: int
    task: Task
    facts: tuple[str, ...]


def cube(i: int) -> str:
    return f"cube_{i}"


def task_facts(task: Task) -> list[str]:
    """The task's scene as the facts memory reports about it."""
    facts = ["location(tray)", "location(table)"]
    for i, d in enumerate(task.digits):
        facts.append(f"shows({cube(i)}, {d})")
        if task.reachable[i]:
            facts.append(f"reachable({cube(i)})")
    facts += [f"on({cube(i)}, {cube(b)})" for i, b in enumerate(task.on) if b >= 0]
    return facts


def cases(seeds: Iterable[int], kind: str = "mixed") -> list[Case]:
    """One seeded case per seed (``kind``: a request kind or ``mixed``)."""
    check_kind(kind)
    out = []
    for seed in seeds:
        task = draw_task(kind, np.random.default_rng(seed))
        out.append(Case(int(seed), task, tuple(task_facts(task))))
    return out


def oracle_plan(task: Task) -> list[str]:
    """The ground-truth solver's plan (see the module docstring)."""
    g = task.goal
    if g.cannot:
        missing = [d for d in (task.named_digit,) if d not in task.digits]
        if missing:
            return [f"cannot(no_cube_shows_{missing[0]})"]
        return [f"cannot({cube(task.digits.index(task.named_digit))}_out_of_reach)"]
    plan: list[str] = []
    on = list(task.on)
    for d in g.tray:
        i = task.digits.index(d)
        chain, below = [], i
        while below in on:
            below = on.index(below)
            chain.append(below)
        for j in reversed(chain):
            plan += [f"pick({cube(j)})", "place(table)"]
            on[j] = -1
        plan += [f"pick({cube(i)})", "place(tray)"]  # stacks on what the tray holds
        on[i] = -2  # in the tray
    return plan + ["done()"]


def outcome(task: Task, facts: Sequence[str], plan: Sequence[str]) -> tuple[bool, bool]:
    """(goal satisfied, plan exact) of ``plan`` on ``facts`` (see the module docstring)."""
    exact = list(plan) == oracle_plan(task)
    if task.goal.cannot:
        return len(plan) == 1 and plan[0].startswith("cannot("), exact
    if not plan or plan[-1] != "done()" or any(c.startswith("cannot(") for c in plan):
        return False, exact
    state = list(facts)
    for call in plan:
        state = apply_skill(state, call)
    scene = parse_facts(state)
    if scene.about("holding"):
        return False, exact
    inside = {a for a, p in scene.about("in") if p == "tray"}
    want = [cube(task.digits.index(d)) for d in task.goal.tray]
    if inside != set(want):
        return False, exact
    if task.goal.ordered:
        on = dict(scene.about("on"))
        stacked = all(on.get(want[k]) == want[k - 1] for k in range(1, len(want)))
        return stacked and want[0] not in on, exact
    return True, exact


def baseline_plan(policy: str, facts: Sequence[str], judge: GLJudge,
                  rng: np.random.Generator, max_calls: int = 12) -> list[str]:
    """A plan by ``policy`` (``random`` or ``first``) over the reasoner's verdicts."""
    if policy not in BASELINES:
        raise ConfigError(f"policy {policy!r}: expected one of {list(BASELINES)}")
    state, plan = list(facts), []
    while len(plan) < max_calls:
        ok = judge.feasible_calls(state, first=not plan)
        if not ok:
            break
        call = ok[int(rng.integers(len(ok)))] if policy == "random" else ok[0]
        if call == "cannot()":
            call = "cannot(guess)"
        plan.append(call)
        if parse_atom(call).pred in ("done", "cannot"):
            break
        state = apply_skill(state, call)
    return plan

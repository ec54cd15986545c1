"""From a goal to skill calls: what follows from the facts once the request has been read.

The language model reads the request into a ``TrayGoal``: the digits to stack in the tray,
bottom first (LLM+P: Liu et al., "LLM+P: Empowering Large Language Models with Optimal
Planning Proficiency", 2023, let the LLM state the goal and a planner reach it). Everything
after that follows from the facts, and is decided here with the GL reasoner's verdicts
(``affordances.GLJudge``):

- a digit no cube shows: if a pile stands on a cube nobody has seen (``on(c, o)`` with ``o``
  showing nothing), it may be under it: take that pile apart and stop, to look again;
  otherwise ``cannot(no_cube_shows_D)``;
- a cube out of reach: ``cannot(CUBE_out_of_reach)``;
- an empty goal (the request names no cube): ``cannot(nothing_asked)``; a scene with no
  object: ``cannot(empty_scene)``;
- otherwise, for each goal cube in order: a cube held that is not the next goal cube goes to
  the table; the cubes on the goal cube go to the table, top first; the goal cube is picked
  and put in the tray (``place(tray)`` stacks it on what the tray holds); then ``done()``.
  Goal cubes already in the tray in the right order are left where they are.

Every call is checked with the reasoner before it is appended; a call it refuses ends the
plan with ``cannot(...)`` naming the refused call (which should not happen in a consistent
scene, but the reasoner, not this code, has the last word).
"""

from __future__ import annotations

from collections.abc import Sequence

from neuralbrain.payloads import TrayGoal
from neuralbrain.reasoning.affordances import GLJudge, apply_skill
from neuralbrain.reasoning.planner.scene import parse_facts


def plan_for(goal: TrayGoal, facts: Sequence[str], judge: GLJudge,
             max_calls: int = 16) -> list[str]:
    """Skill calls that reach ``goal`` from ``facts`` (see the module docstring)."""
    state = list(facts)
    if not any(f.lstrip().startswith(("shows(", "object(")) for f in state):
        return ["cannot(empty_scene)"]
    plan: list[str] = []

    def add(call: str) -> bool:
        ok, why = judge.check(call, state, first=not plan)
        if not ok:
            plan.append(f"cannot({_name(call)}_refused)")
            return False
        plan.append(call)
        state[:] = apply_skill(state, call)
        return True

    scene = parse_facts(state)
    if not goal.tray:
        return ["cannot(nothing_asked)"]
    cube_of = {int(d): o for o, d in scene.digits.items() if d.isdigit()}
    for d in goal.tray:
        if d not in cube_of:
            unseen = _unseen_piles(state)
            if not unseen:
                return [f"cannot(no_cube_shows_{d})"]
            for top in unseen:  # it may be under one of them: uncover and look again
                for cube in _pile_above(state, top, include=True):
                    if not (add(f"pick({cube})") and add("place(table)")):
                        return plan
            return plan
    reach = {args[0] for args in scene.about("reachable")}
    for d in goal.tray:
        if cube_of[d] not in reach:
            return [f"cannot({cube_of[d]}_out_of_reach)"]
    cubes = [cube_of[d] for d in goal.tray]
    done = _done_prefix(state, cubes)
    held = _held(state)
    misplaced = held is not None and (done == len(cubes) or held != cubes[done])
    if misplaced and not add("place(table)"):
        return plan
    for i in range(done, len(cubes)):
        cube = cubes[i]
        if _held(state) != cube:
            for above in _pile_above(state, cube):
                if not (add(f"pick({above})") and add("place(table)")):
                    return plan
            if not add(f"pick({cube})"):
                return plan
        if not add("place(tray)"):
            return plan
        if len(plan) >= max_calls:
            return plan[:max_calls]
    add("done()")
    return plan[:max_calls]


def _name(call: str) -> str:
    return call.replace("(", "_").replace(")", "").replace(", ", "_")


def _held(facts: Sequence[str]) -> str | None:
    return next(iter(a[0] for a in parse_facts(facts).about("holding")), None)


def _pile_above(facts: Sequence[str], cube: str, include: bool = False) -> list[str]:
    """The cubes resting on ``cube``, top first (and ``cube`` last when ``include``)."""
    on = {a: b for a, b in parse_facts(facts).about("on")}
    chain, below = [], cube
    while True:
        above = [a for a, b in on.items() if b == below]
        if not above:
            break
        chain.append(above[0])
        below = above[0]
    return [*reversed(chain), *([cube] if include else [])]


def _unseen_piles(facts: Sequence[str]) -> list[str]:
    """The cubes that rest directly on an object showing no digit (one nobody has seen)."""
    scene = parse_facts(facts)
    return [a for a, b in scene.about("on") if b not in scene.digits]


def _done_prefix(facts: Sequence[str], cubes: list[str]) -> int:
    """How many goal cubes already stand in the tray as the goal wants them, bottom up."""
    scene = parse_facts(facts)
    inside = {a for a, p in scene.about("in") if p == "tray"}
    on = dict(scene.about("on"))
    n = 0
    for i, c in enumerate(cubes):
        support_ok = c not in on if i == 0 else on.get(c) == cubes[i - 1]
        if c in inside and support_ok:
            n += 1
        else:
            break
    return n

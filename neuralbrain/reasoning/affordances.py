"""Affordances: which skill calls can run now, and after the calls a plan may make first.

SayCan (Ahn et al., "Do As I Can, Not As I Say", CoRL 2022) multiplies the LLM's preference
for a skill by the skill's feasibility; in the Neural Brain architecture the reasoner says
what is possible and the LLM what to do. ``explore`` asks a feasibility function about every
candidate call of the scene (``pick(OBJ)``, ``place(PLACE)``, ``done()``), then again after
each feasible call, ``horizon`` calls deep, with the calls' effects applied to the facts:

- ``pick(o)`` adds ``holding(o)`` and lifts ``o`` off what it rested on;
- ``place(l)`` turns ``holding(o)`` into ``placed(o, l)``;
- ``done()`` ends the plan.

``gl_feasibility(reasoner)`` is the feasibility function of the GL reasoner with the DigitPick
theory (``gl/theories/digitpick.mpl``, where ``pick(c)`` and ``place(p)`` are derived
atoms); the plan's own bookkeeping stays here: a placed object is not picked again, and
``done()`` (which the theory lacks) is feasible once nothing is held and something was
placed. Every question runs the reasoner, which books its work on its backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from neuralbrain.payloads import Affordances
from neuralbrain.reasoning.gl.agent import Reasoner, feasible
from neuralbrain.reasoning.planner.scene import parse_atom, parse_facts

Feasibility = Callable[[str, Sequence[str]], tuple[bool, str]]
GL_RELATIONS = ("shows", "on", "reachable", "holding", "heard", "location")


def explore(facts: Sequence[str], horizon: int, feasibility: Feasibility,
            source: str) -> Affordances:
    """The verdict on every candidate call after every feasible prefix of < ``horizon`` calls."""
    verdicts: dict[tuple[str, ...], dict[str, tuple[bool, str]]] = {}

    def visit(prefix: tuple[str, ...], state: list[str]) -> None:
        table = {call: feasibility(call, state) for call in parse_facts(state).skills()}
        verdicts[prefix] = table
        if len(prefix) + 1 < horizon:
            for call, (ok, _) in table.items():
                if ok and call != "done()":
                    visit((*prefix, call), apply_skill(state, call))

    visit((), list(facts))
    return Affordances(verdicts, horizon, source)


def apply_skill(facts: Sequence[str], skill: str) -> list[str]:
    """The facts after ``skill`` ran (see the module docstring)."""
    call = parse_atom(skill)
    if call.pred == "done":
        return list(facts)
    atoms = [parse_atom(f) for f in facts]
    held = [a.args[0] for a in atoms if a.pred == "holding" and a.args]
    out = [f for f, a in zip(facts, atoms, strict=True) if a.pred != "holding"
           and not (call.pred == "pick" and a.pred == "on" and a.args[:1] == call.args)]
    if call.pred == "pick":
        out.append(f"holding({call.args[0]})")
    elif call.pred == "place" and held:
        out.append(f"placed({held[0]}, {call.args[0]})")
    return out


def gl_feasibility(reasoner: Reasoner) -> Feasibility:
    """GL's verdict on a call in a state of the plan (see the module docstring)."""

    def verdict(skill: str, facts: Sequence[str]) -> tuple[bool, str]:
        call = parse_atom(skill)
        scene = parse_facts(facts)
        placed = {a.args[0]: a.args[1] for a in scene.atoms if a.pred == "placed"}
        held = [a.args[0] for a in scene.atoms if a.pred == "holding" and a.args]
        if call.pred == "done":
            if held:
                return False, f"the gripper still holds {held[0]}"
            if not placed:
                return False, "nothing has been placed yet"
            return True, "the gripper is empty and an object was placed"
        if call.pred == "pick" and call.args and call.args[0] in placed:
            return False, f"{call.args[0]} was already placed in the {placed[call.args[0]]}"
        gl_facts = [str(a) for a in scene.atoms if a.pred in GL_RELATIONS]
        gl_facts += [f"location({p})" for p in scene.places]
        ok, why = feasible(skill, gl_facts, reasoner)
        if ok:
            return True, f"GL proof by rule {why.get('proof', {}).get('rule')}"
        return False, "GL: " + "; ".join(str(w.get("fails")) for w in why.get("why_not", []))

    return verdict

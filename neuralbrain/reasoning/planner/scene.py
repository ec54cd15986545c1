"""Ground facts about the scene, the skill calls they allow, and a swappable feasibility check.

Facts are ground atoms written as strings, ``"shows(cube_2, 7)"``, ``"reachable(cube_2)"``.
Objects are declared by ``shows(OBJ, DIGIT)`` or ``object(OBJ)``; places by ``location(L)``
(or ``container(L)``); when no place is declared the defaults ``tray, table, bin, box`` are
offered. Any other atom whose first argument is not a declared object or place is an error
naming it (``facts naming unknown objects``).

Skills: ``pick(OBJ)``, ``place(LOCATION)``, ``done()``.

Feasibility (SayCan's affordance term, Ahn et al., "Do As I Can, Not As I Say", 2022) is a
function ``feasible(skill_call, facts) -> (bool, explanation)``. ``feasibility_function()``
returns the GL reasoner's ``neuralbrain.reasoning.gl.agent.feasible`` (DigitPick theory,
adapted by ``_via_gl``) when it is importable, otherwise ``rule_feasible`` below, a small
documented rule check that can be swapped in:

- ``pick(o)``: ``o`` is a declared object, ``reachable(o)`` holds, nothing rests on it
  (``on(x, o)``), nothing is held, and ``o`` has not been placed yet (``placed(o, l)``);
- ``place(l)``: ``l`` is a declared place and some ``holding(o)`` holds;
- ``done()``: nothing is held and something has been placed (``placed(o, l)``).

The planner adds ``holding(o)`` after a ``pick(o)``, and replaces it by ``placed(o, l)`` after
a ``place(l)``, so the check sees the state the plan has reached.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from neuralbrain.errors import DataError

DEFAULT_PLACES = ("tray", "table", "bin", "box")
_ATOM = re.compile(r"^\s*([a-z_][a-zA-Z0-9_]*)\s*\((.*)\)\s*$")
_NAME = re.compile(r"^[A-Za-z0-9_]+$")
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
OBJECT_DECL = ("shows", "object")
PLACE_DECL = ("location", "container")
STATE = ("holding",)

Feasibility = Callable[[str, Sequence[str]], tuple[bool, str]]


@dataclass(frozen=True)
class Atom:
    pred: str
    args: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.pred}({', '.join(self.args)})"


def parse_atom(text: str) -> Atom:
    """``"shows(cube_2, 7)"`` -> ``Atom("shows", ("cube_2", "7"))``, or a DataError."""
    if not isinstance(text, str):
        raise DataError(f"fact {text!r}: expected a string like 'shows(cube_2, 7)'")
    m = _ATOM.match(text)
    if m is None:
        raise DataError(f"fact {text!r}: expected a ground atom like 'shows(cube_2, 7)'")
    args = tuple(a.strip() for a in m.group(2).split(",")) if m.group(2).strip() else ()
    for a in args:
        if not _NAME.match(a):
            raise DataError(
                f"fact {text!r}: argument {a!r} is not a name or number (letters, digits, _)"
            )
    return Atom(m.group(1), args)


@dataclass(frozen=True)
class Scene:
    """The parsed facts: objects (with the digit each shows), places, and all atoms."""

    atoms: tuple[Atom, ...]
    objects: tuple[str, ...]
    digits: dict
    places: tuple[str, ...]

    @property
    def facts(self) -> list[str]:
        return [str(a) for a in self.atoms]

    def skills(self) -> list[str]:
        """Every syntactically valid skill call in this scene."""
        return [f"pick({o})" for o in self.objects] + [f"place({p})" for p in self.places] + [
            "done()"
        ]

    def say(self, skill: str) -> str:
        """The skill in words, as SayCan scores it: what the call does in this scene."""
        call = parse_atom(skill)
        if call.pred == "pick":
            o = call.args[0]
            d = self.digits.get(o)
            if d is None:
                return f"pick up {o}"
            word = f" ({NUMBER_WORDS[int(d)]})" if d.isdigit() and len(d) == 1 else ""
            return f"pick up the cube showing the number {d}{word}, which is {o}"
        if call.pred == "place":
            p = call.args[0]
            return f"put it {'on' if p == 'table' else 'in'} the {p}"
        return "stop, the request is done"

    def describe(self) -> str:
        """The facts as plain sentences for the prompt (digits also spelled out)."""
        lines = []
        reach = {a.args[0] for a in self.atoms if a.pred == "reachable" and a.args}
        for o in self.objects:
            d = self.digits.get(o)
            what = f"{o} is a cube showing the number {d}" if d is not None else f"{o} is an object"
            if d is not None and d.isdigit() and len(d) == 1:
                what += f" ({NUMBER_WORDS[int(d)]})"
            what += "; it is reachable" if o in reach else "; it is out of reach"
            lines.append(f"- {what}.")
        lines.append("- Places: " + ", ".join(self.places) + ".")
        other = [str(a) for a in self.atoms if a.pred not in ("shows", "object", "reachable",
                                                               *PLACE_DECL)]
        if other:
            lines.append("- Also true: " + ", ".join(other) + ".")
        return "\n".join(lines)


def parse_facts(facts: Sequence[str]) -> Scene:
    """Check and index ``facts`` (see the module docstring for what is declared how)."""
    if isinstance(facts, str) or not isinstance(facts, Sequence):
        raise DataError(f"facts {facts!r}: expected a list of atoms like ['shows(cube_1, 3)']")
    atoms = tuple(parse_atom(f) for f in facts)
    objects: list[str] = []
    digits: dict[str, str] = {}
    places: list[str] = []
    for a in atoms:
        if a.pred in OBJECT_DECL:
            if not a.args or (a.pred == "shows" and len(a.args) != 2):
                raise DataError(f"fact {str(a)!r}: expected shows(OBJECT, DIGIT) or object(OBJECT)")
            if a.args[0] not in objects:
                objects.append(a.args[0])
            if a.pred == "shows":
                digits[a.args[0]] = a.args[1]
        elif a.pred in PLACE_DECL:
            if len(a.args) != 1:
                raise DataError(f"fact {str(a)!r}: expected {a.pred}(PLACE)")
            places.append(a.args[0])
    if not objects:
        raise DataError(
            f"facts {list(facts)!r} declare no object: expected at least one "
            "shows(OBJECT, DIGIT) or object(OBJECT)"
        )
    places = places or list(DEFAULT_PLACES)
    known = set(objects) | set(places)
    for a in atoms:
        if a.pred in OBJECT_DECL or a.pred in PLACE_DECL or not a.args:
            continue
        if a.args[0] not in known:
            raise DataError(
                f"fact {str(a)!r} names unknown object {a.args[0]!r}: expected one declared by "
                f"shows(...)/object(...) ({sorted(objects)}) or a place ({sorted(places)})"
            )
    return Scene(atoms, tuple(objects), digits, tuple(places))


def rule_feasible(skill: str, facts: Sequence[str]) -> tuple[bool, str]:
    """The stand-in affordance check (rules in the module docstring)."""
    scene = parse_facts(facts)
    call = parse_atom(skill)
    held = [a.args[0] for a in scene.atoms if a.pred == "holding" and a.args]
    reach = {a.args[0] for a in scene.atoms if a.pred == "reachable" and a.args}
    if call.pred == "pick" and len(call.args) == 1:
        o = call.args[0]
        if o not in scene.objects:
            return False, f"{o} is not an object in the scene"
        if held:
            return False, f"the gripper already holds {held[0]}"
        if o not in reach:
            return False, f"{o} is not reachable"
        above = [a.args[0] for a in scene.atoms if a.pred == "on" and a.args[1:] == (o,)]
        if above:
            return False, f"{o} is covered by {above[0]}"
        done = [a for a in scene.atoms if a.pred == "placed" and a.args[0] == o]
        if done:
            return False, f"{o} was already placed in the {done[0].args[1]}"
        return True, f"{o} is reachable and the gripper is empty"
    if call.pred == "place" and len(call.args) == 1:
        p = call.args[0]
        if p not in scene.places:
            return False, f"{p} is not a place in the scene"
        if not held:
            return False, "the gripper holds nothing"
        return True, f"the gripper holds {held[0]} and {p} is a place"
    if call.pred == "done" and not call.args:
        if held:
            return False, f"the gripper still holds {held[0]}"
        if not any(a.pred == "placed" for a in scene.atoms):
            return False, "nothing has been placed yet"
        return True, "the gripper is empty and an object was placed"
    return False, f"{skill!r} is not a skill: expected pick(OBJECT), place(PLACE) or done()"


GL_RELATIONS = ("shows", "on", "reachable", "holding", "heard", "location")


def feasibility_function() -> tuple[Feasibility, str]:
    """GL's DigitPick ``feasible`` when the GL reasoner is installed, else ``rule_feasible``.

    Returns the function and which one it is (``"gl"`` or ``"rules"``).
    """
    try:
        from neuralbrain.reasoning.gl.agent import feasible as gl_feasible
    except ImportError:
        return rule_feasible, "rules"
    return _via_gl(gl_feasible), "gl"


def _via_gl(gl_feasible: Callable) -> Feasibility:
    """Adapt GL's ``feasible(skill, facts) -> (bool, proof dict)`` to the planner's state.

    GL's DigitPick theory knows pick/place over shows/on/reachable/holding/heard/location;
    the planner's own bookkeeping stays here: declared places become ``location(p)`` facts, a
    placed object is done (not picked again), and ``done()``, which the theory lacks, uses the
    rule check.
    """

    def feasible(skill: str, facts: Sequence[str]) -> tuple[bool, str]:
        call = parse_atom(skill)
        if call.pred not in ("pick", "place"):
            return rule_feasible(skill, facts)
        scene = parse_facts(facts)
        placed = {a.args[0]: a.args[1] for a in scene.atoms if a.pred == "placed"}
        if call.pred == "pick" and call.args and call.args[0] in placed:
            return False, f"{call.args[0]} was already placed in the {placed[call.args[0]]}"
        gl_facts = [str(a) for a in scene.atoms if a.pred in GL_RELATIONS]
        gl_facts += [f"location({p})" for p in scene.places]
        ok, exp = gl_feasible(skill, gl_facts)
        if ok:
            proof = exp.get("proof", {})
            return True, f"GL proof by rule {proof.get('rule')}"
        fails = "; ".join(str(w.get("fails")) for w in exp.get("why_not", []))
        return False, f"GL: {fails}"

    return feasible


def apply_skill(facts: Sequence[str], skill: str) -> list[str]:
    """The facts after ``skill`` ran: pick adds holding(o) (and lifts o off what it was on);
    place turns holding(o) into placed(o, l)."""
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

"""Ground facts about the scene, the skill calls they allow, and the scene in words.

Facts are ground atoms written as strings, ``"shows(cube_2, 7)"``, ``"reachable(cube_2)"``.
Objects are declared by ``shows(OBJ, DIGIT)`` or ``object(OBJ)``; places by ``location(L)``
(or ``container(L)``); when no place is declared the defaults ``tray, table, bin, box`` are
offered. Any other atom whose first argument is not a declared object or place is an error
naming it (``facts naming unknown objects``).

Skills: ``pick(OBJ)``, ``place(LOCATION)``, ``done()``. Which of them can run is the
reasoner's answer (``neuralbrain.reasoning.affordances``); how the planner says them is here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from neuralbrain.errors import DataError

DEFAULT_PLACES = ("tray", "table", "bin", "box")
_ATOM = re.compile(r"^\s*([a-z_][a-zA-Z0-9_]*)\s*\((.*)\)\s*$")
_NAME = re.compile(r"^[A-Za-z0-9_]+$")
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
OBJECT_DECL = ("shows", "object")
PLACE_DECL = ("location", "container")


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

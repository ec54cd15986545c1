"""Ground facts about the scene, and the words a request may use for the derived ones.

Facts are ground atoms written as strings, ``"shows(cube_2, 7)"``, ``"reachable(cube_2)"``.
Objects are declared by ``shows(OBJ, DIGIT)`` or ``object(OBJ)``; places by ``location(L)``
(or ``container(L)``); when no place is declared the defaults ``tray, table, bin, box`` are
offered. Any other atom whose first argument is not a declared object or place is an error
naming it (``facts naming unknown objects``), and so are facts that contradict each other: a
cube on itself, a cycle of ``on``, a cube resting on two, two cubes held.

Which skill calls can run is the reasoner's answer (``neuralbrain.reasoning.affordances``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from neuralbrain.errors import DataError

DEFAULT_PLACES = ("tray", "table")
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

    def about(self, pred: str) -> list[tuple[str, ...]]:
        """The arguments of every atom of ``pred``."""
        return [a.args for a in self.atoms if a.pred == pred]

    def relation_phrases(self) -> list[tuple[str, str]]:
        """(phrase, object) for every derived fact about a cube, in the words a request may
        use for it: ``largest(c)`` is "the largest number" and "the biggest number",
        ``one_more(c, 4)`` "one more than four", "the number after the four" and "the number
        that comes after 4"; ``one_less`` likewise with "less" and "before"."""
        out = []
        for pred, phrases in RELATION_WORDS.items():
            out += [(p, args[0]) for args in self.about(pred) for p in phrases]
        for pred, (more, order) in (("one_more", ("more", "after")),
                                    ("one_less", ("less", "before"))):
            for c, d in self.about(pred):
                if d.isdigit() and len(d) == 1:
                    w = NUMBER_WORDS[int(d)]
                    out += [(f"one {more} than {w}", c), (f"the number {order} the {w}", c),
                            (f"the number that comes {order} {d}", c)]
        return out


# derived facts in a request's words (``Scene.relation_phrases``)
RELATION_WORDS = {
    "largest": ("the largest number", "the biggest number"),
    "smallest": ("the smallest number", "the lowest number"),
    "largest_even": ("the largest even number",), "smallest_even": ("the smallest even number",),
    "largest_odd": ("the largest odd number",), "smallest_odd": ("the smallest odd number",),
}


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
    _check_consistent(atoms)
    return Scene(atoms, tuple(objects), digits, tuple(places))


def _check_consistent(atoms: tuple[Atom, ...]) -> None:
    """Name facts that cannot all be true of one scene (see the module docstring)."""
    below: dict[str, str] = {}
    for a in atoms:
        if a.pred != "on" or len(a.args) != 2:
            continue
        top, under = a.args
        if top == under:
            raise DataError(f"fact {str(a)!r}: a cube cannot rest on itself")
        if below.get(top, under) != under:
            raise DataError(f"facts say {top} rests on both {below[top]} and {under}: "
                            "expected one support per cube")
        below[top] = under
    grounded: set[str] = set()  # cubes whose chain of supports is known to end
    for start in below:
        seen, c = [start], below[start]
        on_path = {start}
        while c in below and c not in grounded:
            if c in on_path:
                raise DataError("facts put cubes on each other in a cycle: "
                                + " on ".join([*seen[seen.index(c):], c]))
            seen.append(c)
            on_path.add(c)
            c = below[c]
        grounded.update(seen)  # linear overall: each cube's chain is walked once
    held = [a.args[0] for a in atoms if a.pred == "holding" and a.args]
    if len(set(held)) > 1:
        raise DataError(f"facts say the gripper holds {sorted(set(held))}: expected one cube")

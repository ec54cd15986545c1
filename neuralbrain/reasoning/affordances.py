"""What the skills can do in a scene, and what follows from its facts, as the GL reasoner says.

The skill calls of a scene (``skill_calls``): ``pick(OBJ)``; ``place(tray)``, ``place(table)``;
``done()``; ``cannot(REASON)`` (end without touching anything, reporting why). Their effects
on the facts (``apply_skill``):

- ``pick(o)`` adds ``holding(o)`` and lifts ``o`` off what it rested on (``on(o, _)`` and
  ``in(o, _)`` go);
- ``place(tray)`` turns ``holding(o)`` into ``in(o, tray)``, and ``on(o, t)`` when the tray
  holds cubes, ``t`` the top one (the skill stacks on what the tray holds, so the order of the
  calls is the order of the stack); ``place(table)`` sets it on free table (no fact: the table
  is no place a cube is "in");
- ``done()`` and ``cannot(...)`` change nothing.

``GLJudge`` asks the GL reasoner with the DigitPick theory (``gl/theories/digitpick.mpl``, where
``pick(c)`` and ``place(p)`` are derived atoms) which calls can run in a state,
and which facts it derives about the cubes (``clear``, ``above``, ``largest``,
``smallest_even``, ``one_more``, ...). One derivation per distinct state, kept; every message,
unification and grid cycle is booked on the reasoner's backend. The plan's own bookkeeping
stays here: ``done()`` needs an empty hand, ``cannot(...)`` can only start a plan.
"""

from __future__ import annotations

from collections.abc import Sequence

from neuralbrain.reasoning.gl.agent import Reasoner
from neuralbrain.reasoning.planner.scene import Scene, parse_atom, parse_facts

# The relations the theory knows as input facts; derived ones it computes itself.
GL_INPUTS = ("shows", "on", "in", "reachable", "holding", "location")
DERIVED = ("clear", "above", "largest", "smallest", "largest_even", "smallest_even",
           "largest_odd", "smallest_odd", "one_more", "one_less")
SKILL_ATOMS = {"pick": "pick(?x)", "place": "place(?x)"}


def skill_calls(scene: Scene) -> list[str]:
    """Every syntactically valid call in ``scene`` (``cannot`` stands for any reason)."""
    return ([f"pick({o})" for o in scene.objects] + [f"place({p})" for p in scene.places]
            + ["done()", "cannot()"])


def apply_skill(facts: Sequence[str], call: str) -> list[str]:
    """The facts after ``call`` ran (see the module docstring)."""
    c = parse_atom(call)
    if c.pred not in ("pick", "place"):
        return list(facts)
    atoms = [parse_atom(f) for f in facts]
    held = next((a.args[0] for a in atoms if a.pred == "holding" and a.args), None)
    if c.pred == "pick":
        o = c.args[0]
        return [f for f, a in zip(facts, atoms, strict=True)
                if a.pred != "holding" and not (a.pred in ("on", "in") and a.args[:1] == (o,))
                ] + [f"holding({o})"]
    out = [f for f, a in zip(facts, atoms, strict=True) if a.pred != "holding"]
    to = c.args[0]
    if held is None or to == "table":
        return out
    inside = {a.args[0] for a in atoms if a.pred == "in" and a.args[1:] == (to,)}
    under = {a.args[1] for a in atoms if a.pred == "on" and len(a.args) == 2}
    top = sorted(inside - under)
    return out + [f"in({held}, {to})"] + ([f"on({held}, {top[0]})"] if top else [])


class GLJudge:
    """The reasoner's verdicts and derived facts per state (see the module docstring)."""

    def __init__(self, reasoner: Reasoner) -> None:
        self.reasoner = reasoner
        self._memo: dict[frozenset[str], tuple[dict[str, set[str]], list[str]]] = {}

    def _derive(self, facts: Sequence[str]) -> tuple[dict[str, set[str]], list[str]]:
        key = frozenset(facts)
        if key not in self._memo:
            scene = parse_facts(facts)
            r = self.reasoner
            saved = set(r.base)
            try:
                for a in scene.atoms:
                    if a.pred in GL_INPUTS:
                        r.assert_fact(str(a))
                for p in scene.places:
                    r.assert_fact(f"location({p})")
                can = {verb: {ans["bindings"]["?x"] for ans in r.query(q)["answers"]}
                       for verb, q in SKILL_ATOMS.items()}
                derived = []
                for rel in DERIVED:
                    arity = 2 if rel in ("above", "one_more", "one_less") else 1
                    q = f"{rel}(?a, ?b)" if arity == 2 else f"{rel}(?a)"
                    for ans in r.query(q)["answers"]:
                        b = ans["bindings"]
                        derived.append(f"{rel}({b['?a']}, {b['?b']})" if arity == 2
                                       else f"{rel}({b['?a']})")
            finally:
                r.base = saved
                r._dirty = True
            self._memo[key] = (can, sorted(derived))
        return self._memo[key]

    def derived(self, facts: Sequence[str]) -> list[str]:
        """The facts the theory derives about the cubes of this state."""
        return list(self._derive(facts)[1])

    def check(self, call: str, facts: Sequence[str], first: bool = True) -> tuple[bool, str]:
        """(can ``call`` run in the state ``facts``, why); ``first``: it would start the plan."""
        c = parse_atom(call)
        scene = parse_facts(facts)
        held = next((a.args[0] for a in scene.atoms if a.pred == "holding" and a.args), None)
        if c.pred == "done":
            return (False, f"the gripper still holds {held}") if held else (True, "hand empty")
        if c.pred == "cannot":
            return (True, "nothing done yet") if first else (False, "the plan already acted")
        if c.pred not in ("pick", "place") or len(c.args) != 1:
            return False, f"{call!r} is not a skill call of this scene"
        can, _ = self._derive(facts)
        arg = c.args[0]
        ok = arg in can[c.pred]
        why = {"pick": "reachable, clear, hand empty", "place": "a cube is held"}[c.pred]
        return ok, f"GL: {c.pred}({arg}) holds" if ok else f"GL: no proof of {call} ({why})"

    def feasible_calls(self, facts: Sequence[str], first: bool = True) -> list[str]:
        """The calls of this state that can run, in ``skill_calls`` order."""
        return [c for c in skill_calls(parse_facts(facts)) if self.check(c, facts, first)[0]]

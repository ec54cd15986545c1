"""DigitPick's request family: a seeded scene, a request in words, and the goal it means.

One draw serves both the simulator (``neuralbrain_envs.digitpick`` builds the scene) and the
standalone plan suite (``neuralbrain.reasoning.plan_suite`` turns it into facts), so the two
agree on what every kind asks. Kinds:

- ``single``: one digit to the tray ("put the seven in the tray").
- ``several``: two or three digits to the tray, in any order ("put the 3 and the 8 in the
  tray", "the tray needs a four, a one and a nine").
- ``covered``: one digit, whose cube lies under one or two others (a stack built here); the
  plan has to unstack first.
- ``relational``: one cube named by a relation to resolve ("the largest number", "the
  smallest even number", "one more than five", "the number after the three").
- ``ordered``: two or three digits stacked in the tray in the order given ("first the 2,
  then the 9": the 9 ends up on the 2).
- ``impossible``: no cube satisfies the request: the digit is on no cube, or its cube is out
  of the arm's reach. The right answer is ``cannot()``, touching nothing.
- ``mixed``: one of the six above, drawn from the seed.

``single``, ``covered`` and ``impossible`` name one digit, so they also have a spoken and a
shown form (``Task.named_digit``: the digit the recording says or the image shows).
Digits are unique within a scene.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuralbrain.errors import ConfigError

KINDS = ("single", "several", "covered", "relational", "ordered", "impossible")
TASK_KINDS = (*KINDS, "mixed")
ONE_DIGIT_KINDS = ("single", "covered", "impossible")  # kinds with a spoken and shown form
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
MAX_CUBES = 5

# {d} = numeral, {w} = word; several phrasings so that no planner can key on one template.
SINGLE = (
    "put the {d} in the tray",
    "place the cube showing {w} into the tray",
    "move the {w} cube to the tray",
    "pick up the cube with the digit {d} and drop it in the tray",
    "find the {w} and put it in the tray",
    "put cube number {d} into the tray",
    "could you place the {w} in the tray?",
    "the tray needs the cube marked {d}.",
    "take the cube that shows a {d} and put it in the tray",
    "I want the {w} in the tray, please.",
)
# {items}: the digits joined as "the 3 and the 8" / "the 3, the 8 and the 1" ({art} "the"/"a")
SEVERAL = (
    "put {items} in the tray",
    "the tray needs {items}.",
    "move {items} to the tray",
    "I want {items} in the tray, please.",
    "could you put {items} into the tray?",
)
ORDERED = (
    "first put the {0} in the tray, then the {1}{rest}",
    "stack the {0} in the tray, then the {1} on it{rest}",
    "put the {0} in the tray first, then the {1}{rest}",
)
# (phrase, which digit it names given the scene's digits or None when it names none)
RELATIONS = ("largest", "smallest", "largest_even", "smallest_even", "largest_odd",
             "smallest_odd", "one_more", "one_less", "after", "before")
RELATION_PHRASES = {
    "largest": ("the largest number", "the cube with the biggest number"),
    "smallest": ("the smallest number", "the cube with the lowest number"),
    "largest_even": ("the largest even number",),
    "smallest_even": ("the smallest even number",),
    "largest_odd": ("the largest odd number",),
    "smallest_odd": ("the smallest odd number",),
    "one_more": ("the number that is one more than {w}", "one more than {w}"),
    "one_less": ("the number that is one less than {w}", "one less than {w}"),
    "after": ("the number after the {w}", "the number that comes after {d}"),
    "before": ("the number before the {w}", "the number that comes before {d}"),
}
RELATIONAL = ("put {what} in the tray", "move {what} to the tray", "the tray needs {what}.")


@dataclass(frozen=True)
class Goal:
    """What a request asks: ``tray`` digits put in the tray (in this order when ``ordered``:
    each on the one before), or ``cannot``, the reason no plan can satisfy it."""

    tray: tuple[int, ...] = ()
    ordered: bool = False
    cannot: str = ""

    def __post_init__(self) -> None:
        if bool(self.tray) == bool(self.cannot):
            raise ConfigError(f"Goal(tray={self.tray}, cannot={self.cannot!r}): expected digits "
                              "for the tray or a reason it cannot be done, not both")


@dataclass(frozen=True)
class Task:
    """A scene and a request: each cube's ``digits``, the cube it rests on (``on``, -1: the
    table), whether the arm can reach it, the written ``request``, the digit the spoken or
    shown form names (``named_digit``; None for kinds without one) and the ``goal``."""

    kind: str
    digits: tuple[int, ...]
    on: tuple[int, ...]
    reachable: tuple[bool, ...]
    request: str
    named_digit: int | None
    goal: Goal

    def cube_of(self, digit: int) -> int | None:
        return self.digits.index(digit) if digit in self.digits else None


def check_kind(kind: str) -> str:
    if kind not in TASK_KINDS:
        raise ConfigError(f"task {kind!r}: expected one of {list(TASK_KINDS)}")
    return kind


# the fewest cubes a scene of each kind needs
MIN_CUBES = {"single": 1, "several": 3, "covered": 2, "relational": 3, "ordered": 3,
             "impossible": 1}


def draw_task(kind: str, rng: np.random.Generator, n_cubes: int | None = None,
              min_cubes: int = 3, max_cubes: int = MAX_CUBES,
              among: tuple[str, ...] = KINDS) -> Task:
    """A seeded ``Task`` of ``kind`` (``mixed``: a kind drawn first from ``among``) with
    ``n_cubes`` cubes (drawn in ``[min_cubes, max_cubes]`` when None; kinds that need more
    cubes take more)."""
    check_kind(kind)
    if kind == "mixed":
        bad = [k for k in among if k not in KINDS]
        if not among or bad:
            raise ConfigError(f"among={among!r}: expected some of {list(KINDS)}")
        kind = among[int(rng.integers(len(among)))]
    need = MIN_CUBES[kind]
    if n_cubes is None:
        n_cubes = int(rng.integers(max(min_cubes, need), max(max_cubes, need) + 1))
    if not need <= n_cubes <= MAX_CUBES:
        raise ConfigError(f"a {kind!r} task with n_cubes={n_cubes}: expected {need}..{MAX_CUBES}")
    digits = tuple(int(d) for d in rng.choice(10, size=n_cubes, replace=False))
    return _DRAW[kind](rng, digits)


def _flat(kind: str, digits, request: str, goal: Goal, named: int | None = None,
          reachable=None) -> Task:
    n = len(digits)
    return Task(kind, tuple(digits), (-1,) * n, tuple(reachable or (True,) * n), request,
                named, goal)


def _single(rng, digits) -> Task:
    d = int(rng.choice(digits))
    return _flat("single", digits, _say_single(d, rng), Goal((d,)), d)


def _say_single(d: int, rng) -> str:
    return SINGLE[int(rng.integers(len(SINGLE)))].format(d=d, w=WORDS[d])


def _items(ds, rng) -> str:
    art = "a" if rng.random() < 0.5 else "the"
    words = [f"{art} {WORDS[d] if rng.random() < 0.5 else d}" for d in ds]
    return ", ".join(words[:-1]) + " and " + words[-1]


def _several(rng, digits) -> Task:
    k = int(rng.integers(2, min(3, len(digits)) + 1))
    ds = [int(d) for d in rng.choice(digits, size=k, replace=False)]
    text = SEVERAL[int(rng.integers(len(SEVERAL)))].format(items=_items(ds, rng))
    return _flat("several", digits, text, Goal(tuple(ds)))


def _ordered(rng, digits) -> Task:
    k = int(rng.integers(2, min(3, len(digits)) + 1))
    ds = [int(d) for d in rng.choice(digits, size=k, replace=False)]
    rest = f", then the {ds[2]}" if k == 3 else ""
    text = ORDERED[int(rng.integers(len(ORDERED)))].format(*ds[:2], rest=rest)
    return _flat("ordered", digits, text, Goal(tuple(ds), ordered=True))


def _covered(rng, digits) -> Task:
    n = len(digits)
    target = int(rng.integers(n))
    depth = int(rng.integers(1, min(2, n - 1) + 1))  # one or two cubes on the target
    others = [i for i in range(n) if i != target]
    above = [int(i) for i in rng.choice(others, size=depth, replace=False)]
    on = [-1] * n
    below = target
    for i in above:
        on[i], below = below, i
    d = digits[target]
    return Task("covered", digits, tuple(on), (True,) * n, _say_single(d, rng), d, Goal((d,)))


def resolve(relation: str, digits) -> int | None:
    """The digit ``relation`` names among ``digits`` with its anchor (None: none does)."""
    ev = sorted(d for d in digits if d % 2 == 0)
    od = sorted(d for d in digits if d % 2 == 1)
    s = sorted(digits)
    pick = {"largest": s[-1:], "smallest": s[:1], "largest_even": ev[-1:],
            "smallest_even": ev[:1], "largest_odd": od[-1:], "smallest_odd": od[:1]}
    if relation in pick:
        return pick[relation][0] if pick[relation] else None
    return None


def _relational(rng, digits) -> Task:
    for _ in range(100):
        rel = RELATIONS[int(rng.integers(len(RELATIONS)))]
        phrases = RELATION_PHRASES[rel]
        phrase = phrases[int(rng.integers(len(phrases)))]
        if rel in ("one_more", "one_less", "after", "before"):
            step = 1 if rel in ("one_more", "after") else -1
            # "after"/"before" name a neighbour of a cube in the scene; "one more" need not
            answers = [d for d in digits if 0 <= d - step <= 9
                       and (rel in ("one_more", "one_less") or d - step in digits)]
            if not answers:
                continue
            target = int(rng.choice(answers))
            anchor = target - step
            what = phrase.format(w=WORDS[anchor], d=anchor)
        else:
            target = resolve(rel, digits)
            if target is None:
                continue
            what = phrase
        text = RELATIONAL[int(rng.integers(len(RELATIONAL)))].format(what=what)
        return _flat("relational", digits, text, Goal((target,)))
    raise ConfigError(f"no relation resolves among digits {digits}")  # pragma: no cover


def _impossible(rng, digits) -> Task:
    n = len(digits)
    if rng.random() < 0.5:  # a digit on no cube
        missing = [d for d in range(10) if d not in digits]
        d = int(rng.choice(missing))
        return _flat("impossible", digits, _say_single(d, rng),
                     Goal(cannot=f"no cube shows {d}"), d)
    far = int(rng.integers(n))  # the cube is there, out of the arm's reach
    reach = tuple(i != far for i in range(n))
    d = digits[far]
    return _flat("impossible", digits, _say_single(d, rng),
                 Goal(cannot=f"the cube showing {d} is out of reach"), d, reach)


_DRAW = {"single": _single, "several": _several, "covered": _covered,
         "relational": _relational, "ordered": _ordered, "impossible": _impossible}

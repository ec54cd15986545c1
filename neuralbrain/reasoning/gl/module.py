"""``reasoner``: the GL reasoner over the scene facts: the target, and what can be done.

The module keeps the scene's facts asserted in a GL reasoner with the rules of ``theory``
(``theories/digitpick.mpl`` by default): rules such as ``target(C) <- shows(C, D), heard(D)``
and "a cube can be picked if it is reachable, nothing rests on it and the hand is empty"
derive the cube the request asks for. Facts are asserted and retracted as the scene
changes, and the rule engine runs only then. Out:

- ``facts``: what the planner needs to see (``relevant``): the target cube, the places and
  the held cube, plus ``target(c)``; while the requested cube is unseen, the cubes that may
  cover it (``may_cover``) instead, so a plan can only move cubes aside;
- ``affordances``: for those facts, which skill calls can run now and after each call a plan
  may make first, ``horizon`` calls deep (``neuralbrain.reasoning.affordances``), decided by
  a second reasoner over the same rules.

Every message, unification and grid cycle of both reasoners is booked on this module's
backend (``logic_grid``; ``cpu`` prices them as ALU work). The theory is parsed once, when
the module is built; ``reset`` starts from the theory's own facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from neuralbrain.core import Module, Needs
from neuralbrain.errors import ConfigError
from neuralbrain.payloads import Affordances, Facts, Request
from neuralbrain.reasoning.affordances import explore, gl_feasibility
from neuralbrain.reasoning.gl.agent import Reasoner, ReasonerConfig
from neuralbrain.reasoning.gl.mpl import Theory, load_theory, theories_dir


@dataclass(frozen=True)
class Config:
    """``theory``: a shipped theory name (``digitpick``) or a path to an ``.mpl`` file;
    ``horizon``: how many calls ahead the affordances look (the planner's ``max_steps``)."""

    backend: str = "logic_grid"
    theory: str = "digitpick"
    horizon: int = 2
    max_steps: int = 200_000
    max_seconds: float = 2.0

    def __post_init__(self) -> None:
        if not self.theory:
            raise ConfigError("reasoner.theory = '': expected a theory name or an .mpl path")
        if not 1 <= self.horizon <= 8:
            raise ConfigError(f"reasoner.horizon = {self.horizon}: expected 1..8")
        ReasonerConfig(self.max_steps, self.max_seconds)  # validates both budgets

    def theory_path(self) -> Path:
        shipped = theories_dir() / f"{self.theory}.mpl"
        return shipped if shipped.exists() else Path(self.theory)


@lru_cache(maxsize=8)
def _theory(path: Path) -> Theory:
    return load_theory(path)


class SceneReasoner(Module):
    """Facts + rules -> the target, the facts the planner needs, the affordances."""

    Config = Config
    inputs = {"facts": Facts, "request": Request}
    outputs = {"facts": Facts, "affordances": Affordances}
    requires = {"backend": Needs(actions={"message", "unify", "block_cycle"})}

    def __init__(self, config: Config, hardware: Mapping[str, Any] | None = None) -> None:
        super().__init__(config, hardware)
        self.theory = _theory(config.theory_path())
        self.budget = ReasonerConfig(config.max_steps, config.max_seconds)

    def _reasoner(self) -> Reasoner:
        return Reasoner(self.theory, self.backend, self.ledger, self.budget)

    def on_backend_change(self) -> None:
        self.scene.backend = self.checker.backend = self.backend

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self.scene, self.checker = self._reasoner(), self._reasoner()
        self.given: set[str] = set()
        self.out: dict[str, Any] = {"facts": Facts(()), "affordances": None}

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        facts: Facts = inputs["facts"] or Facts(())
        request: Request | None = inputs["request"]
        digit = request.digit if request is not None else None
        given = set(facts.atoms)
        if digit is not None:  # the rules call the request's digit "heard", however it came
            given.add(f"heard({digit})")
        if given != self.given:
            for fact in sorted(self.given - given):
                self.scene.retract_fact(fact)
            for fact in sorted(given - self.given):
                self.scene.assert_fact(fact)
            self.given = given
            targets = [a["bindings"]["?c"] for a in self.scene.query("target(?c)")["answers"]]
            covering = []
            if not targets and digit is not None:
                answers = self.scene.query("may_cover(?c)")["answers"]
                covering = [a["bindings"]["?c"] for a in answers]
            shown = Facts(tuple(relevant(list(facts.atoms), targets, digit is not None, covering)))
            affordances = None
            if any(a.startswith(("shows(", "object(")) for a in shown.atoms):
                affordances = explore(shown.atoms, self.config.horizon,
                                      gl_feasibility(self.checker), f"gl:{self.config.theory}")
            self.out = {"facts": shown, "affordances": affordances}
        return dict(self.out)


def relevant(facts: list[str], targets: list[str], digit_known: bool,
             covering: list[str]) -> list[str]:
    """The facts the planner needs (``set_aside`` facts are for the reasoner only).

    With a derived target: those about the target, the places and the held cube, plus
    ``target(c)``. With a known digit but no cube showing it (it may be under another cube):
    the places but not the tray (only the target belongs there), the held cube and the cubes
    that may cover it (``covering``), so the plan can only move cubes aside; nothing at all
    when no cube may cover it and none is held (the planner waits for the next look). Without
    a known digit: all facts.
    """
    facts = [f for f in facts if not f.startswith("set_aside(")]
    held = [f[len("holding("):-1] for f in facts if f.startswith("holding(")]
    if not targets and not digit_known:
        return facts
    about = [*targets, *held] if targets else [*covering, *held]
    if not about:
        return []
    keep = [f for f in facts if f.startswith("location(")
            or any(f"({c}," in f or f"({c})" in f for c in about)]
    if not targets:
        return [f for f in keep if f != "location(tray)"]
    return keep + [f"target({t})" for t in targets]

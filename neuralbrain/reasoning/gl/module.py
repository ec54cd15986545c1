"""``reasoner``: the GL reasoner over the scene facts: what follows from them, and the plan.

The module keeps a GL reasoner with the rules of ``theory`` (``theories/digitpick.mpl`` by
default) and asks it, for every state of the scene (``affordances.GLJudge``), which skills can
run and what it derives about the cubes (``clear``, ``above``, ``largest``, ``one_more``, ...).
It never reads the request: which cubes the request asks for is the goal the language model
reads (``TrayGoal``, from ``llm_planner``). Out:

- ``facts``: every fact it was given plus the derived ones, for the language model;
- ``plan``: the skill calls that reach the goal from the facts (``neuralbrain.reasoning.goals``:
  unstack, pick, stack in the tray, ``done()``, or ``cannot(...)`` with the reason), every
  call checked by the reasoner. It plans when a goal first arrives and whenever ``replan``
  asks (the executor's plan ran out or a skill failed), once the facts have settled
  (``settling``: memory is looking at a changed scene), and when the plan is empty and the
  facts changed; otherwise it hands on the same ``Plan`` object. Left unwired, ``replan``
  asks at every step.

Every message, unification and grid cycle is booked on this module's backend (``logic_grid``;
``cpu`` prices them as ALU work). The theory is parsed once per process; each state is
derived once per episode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from neuralbrain.core import Module, Needs
from neuralbrain.errors import ConfigError
from neuralbrain.payloads import Facts, Plan, TrayGoal
from neuralbrain.reasoning.affordances import GLJudge
from neuralbrain.reasoning.gl.agent import Reasoner, ReasonerConfig
from neuralbrain.reasoning.gl.mpl import Theory, load_theory, theories_dir
from neuralbrain.reasoning.goals import plan_for


@dataclass(frozen=True)
class Config:
    """``theory``: a shipped theory name (``digitpick``) or a path to an ``.mpl`` file;
    ``max_calls``: the longest plan it hands on (the rest is planned after it ran)."""

    backend: str = "logic_grid"
    theory: str = "digitpick"
    max_calls: int = 16
    max_steps: int = 200_000
    max_seconds: float = 2.0

    def __post_init__(self) -> None:
        if not self.theory:
            raise ConfigError("reasoner.theory = '': expected a theory name or an .mpl path")
        if not 1 <= self.max_calls <= 64:
            raise ConfigError(f"reasoner.max_calls = {self.max_calls}: expected 1..64")
        ReasonerConfig(self.max_steps, self.max_seconds)  # validates both budgets

    def theory_path(self) -> Path:
        shipped = theories_dir() / f"{self.theory}.mpl"
        return shipped if shipped.exists() else Path(self.theory)


@lru_cache(maxsize=8)
def _theory(path: Path) -> Theory:
    return load_theory(path)


class SceneReasoner(Module):
    """Facts + goal -> derived facts and the plan (see the module docstring)."""

    Config = Config
    inputs = {"facts": Facts, "goal": TrayGoal, "replan": bool, "settling": bool}
    optional = frozenset({"goal", "replan", "settling"})
    outputs = {"facts": Facts, "plan": Plan}
    requires = {"backend": Needs(actions={"message", "unify", "block_cycle"})}

    def __init__(self, config: Config, hardware: Mapping[str, Any] | None = None) -> None:
        super().__init__(config, hardware)
        self.theory = _theory(config.theory_path())
        self.budget = ReasonerConfig(config.max_steps, config.max_seconds)

    def on_backend_change(self) -> None:
        self.judge.reasoner.backend = self.backend

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self.judge = GLJudge(Reasoner(self.theory, self.backend, self.ledger, self.budget))
        self.given: Facts | None = None
        self.derived = Facts(())
        self.plan = Plan()
        self.planned_on: tuple[Facts, TrayGoal] | None = None
        self.asked = False  # a plan was asked for: kept until there are facts to plan on

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        facts: Facts = inputs["facts"] or Facts(())
        goal: TrayGoal | None = inputs["goal"]
        if facts != self.given:
            self.given = facts
            shown = any(a.startswith("shows(") for a in facts.atoms)
            extra = self.judge.derived(facts.atoms) if shown else []
            self.derived = Facts((*facts.atoms, *extra))
        self.asked = self.asked or inputs["replan"] is not False
        new_goal = self.planned_on is None or self.planned_on[1] != goal
        stuck = not self.plan.calls and (self.planned_on is None
                                         or self.planned_on[0] != facts)
        if (goal is not None and facts and (self.asked or stuck or new_goal)
                and not inputs["settling"]):
            self.plan = Plan(tuple(plan_for(goal, facts.atoms, self.judge,
                                            self.config.max_calls)))
            self.planned_on = (facts, goal)
            self.asked = False
        return {"facts": self.derived, "plan": self.plan}

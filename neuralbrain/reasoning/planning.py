"""Planning modules: their ports, when they plan, and a rule planner to compare the LLM with.

A planning module turns the ``Request``, the ``Facts`` the reasoner passes on and its
``Affordances`` into a ``Plan``. ``PlanningModule`` fixes when: at the first step and whenever
``replan`` asks (the executor's plan ran out or a skill failed), once the facts have settled
(``settling``: memory is looking at a changed scene), and when the plan is empty and the
facts changed; otherwise it hands on the same ``Plan`` object. Left unwired, ``replan`` asks
at every step. Subclasses implement ``make_plan``.

``rule_planner`` plans without a language model, from the affordances alone, each step the
first feasible call of: put a held target in the tray; put any other held cube on the table;
pick a target; pick any other cube (one that may cover the target). It is the planner to
swap in for the LLM to measure what the LLM contributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from neuralbrain.core import Module, Needs
from neuralbrain.errors import ConfigError
from neuralbrain.payloads import Affordances, Facts, Plan, Request


class PlanningModule(Module):
    """Request + facts + affordances -> plan, gated (see the module docstring)."""

    inputs = {"request": Request, "facts": Facts, "affordances": Affordances, "replan": bool,
              "settling": bool}
    optional = frozenset({"replan", "settling"})
    outputs = {"plan": Plan}

    def make_plan(self, request: Request, facts: Facts, affordances: Affordances) -> Plan:
        raise NotImplementedError

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self.current = Plan()
        self.planned_on: Facts | None = None
        self.asked = False  # a plan was asked for: kept until there are facts to plan on

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        facts: Facts | None = inputs["facts"]
        request: Request | None = inputs["request"]
        affordances: Affordances | None = inputs["affordances"]
        self.asked = self.asked or inputs["replan"] is not False
        stuck = not self.current.calls and facts != self.planned_on
        ready = bool(facts) and request is not None and affordances is not None
        if ready and (self.asked or stuck) and not inputs["settling"]:
            self.current = self.make_plan(request, facts, affordances)
            self.planned_on = facts
            self.asked = False
        return {"plan": self.current}


@dataclass(frozen=True)
class RuleConfig:
    backend: str = "cpu"
    max_steps: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.max_steps <= 16:
            raise ConfigError(f"rule_planner.max_steps = {self.max_steps}: expected 1..16")


class RulePlanner(PlanningModule):
    """Plans by fixed preferences over the feasible calls (see the module docstring); books
    one ALU compare per candidate call it looks at."""

    Config = RuleConfig
    requires = {"backend": Needs(actions={"alu_op"})}

    def make_plan(self, request: Request, facts: Facts, affordances: Affordances) -> Plan:
        targets = {a[len("target("):-1] for a in facts.atoms if a.startswith("target(")}
        held = next((a[len("holding("):-1] for a in facts.atoms if a.startswith("holding(")),
                    None)
        plan: list[str] = []
        for _ in range(min(self.config.max_steps, affordances.horizon)):
            prefix = tuple(plan)
            calls = affordances.calls(prefix)
            self.charge("alu_op", len(calls), op="plan")
            ok = [c for c in calls if affordances.check(c, prefix)[0]]
            picks = [c for c in ok if c.startswith("pick(")]
            choice = next(iter(
                (["place(tray)"] if held in targets and "place(tray)" in ok else [])
                + (["place(table)"] if held is not None and held not in targets
                   and "place(table)" in ok else [])
                + [c for c in picks if c[5:-1] in targets]
                + ([] if held is not None else picks)), None)
            if choice is None:
                break
            plan.append(choice)
            held = choice[5:-1] if choice.startswith("pick(") else None
        return Plan(tuple(plan))

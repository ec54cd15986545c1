"""``GLFeasibility``: the GL reasoner as a pipeline ``Module`` (skill-call feasibility).

Input ports: ``facts`` (a list of scene facts such as ``"on(cube_2, cube_1)"``) and ``skill``
(a skill call such as ``"pick(cube_1)"``). Output ports: ``feasible`` (bool) and
``explanation`` (the JSON dict of ``agent.feasible``: proof tree or failing premises, and
the target cubes). Every message, unification and grid cycle is booked in ``self.ledger`` as
the actions ``message``, ``unify`` and ``block_cycle`` of ``self.backend`` (``logic_grid`` by
default; ``cpu`` prices them as ALU ops), which must price them (``requires``). The module
keeps no state between steps: each step reasons over exactly the facts it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuralbrain.core import Module, Needs
from neuralbrain.errors import ConfigError
from neuralbrain.reasoning.gl.agent import Reasoner, ReasonerConfig, feasible
from neuralbrain.reasoning.gl.blocks import GRID_ACTIONS
from neuralbrain.reasoning.gl.mpl import theories_dir


@dataclass(frozen=True)
class GLFeasibilityConfig:
    """``theory``: a shipped theory name (``digitpick``) or a path to an ``.mpl`` file."""

    backend: str = "logic_grid"
    theory: str = "digitpick"
    max_steps: int = 200_000
    max_seconds: float = 2.0

    def __post_init__(self) -> None:
        if not isinstance(self.backend, str) or not self.backend:
            raise ConfigError(f"GLFeasibility.backend={self.backend!r}: expected a backend name")
        if not isinstance(self.theory, str) or not self.theory:
            raise ConfigError(f"GLFeasibility.theory={self.theory!r}: expected a name or path")
        ReasonerConfig(self.max_steps, self.max_seconds)  # validates both budgets

    def theory_path(self) -> Path:
        shipped = theories_dir() / f"{self.theory}.mpl"
        return shipped if shipped.exists() else Path(self.theory)


class GLFeasibility(Module):
    """Answers "can this skill call run now, and why (not)?" from the scene facts."""

    Config = GLFeasibilityConfig
    inputs: Mapping[str, type] = {"facts": list, "skill": str}
    outputs: Mapping[str, type] = {"feasible": bool, "explanation": dict}
    requires: Mapping[str, Needs] = {"backend": Needs(actions=GRID_ACTIONS)}

    def __init__(self, config: GLFeasibilityConfig | None = None,
                 hardware: Mapping[str, Any] | None = None) -> None:
        config = config if config is not None else GLFeasibilityConfig()
        super().__init__(config, hardware)
        self.reasoner = Reasoner(
            config.theory_path(), self.backend, self.ledger,
            ReasonerConfig(config.max_steps, config.max_seconds),
        )

    def on_backend_change(self) -> None:
        self.reasoner.backend = self.backend

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        ok, why = feasible(inputs["skill"], inputs["facts"], self.reasoner)
        return {"feasible": ok, "explanation": why}

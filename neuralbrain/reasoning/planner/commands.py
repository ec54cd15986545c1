"""``neuralbrain plan``: turn a request and scene facts into skill calls with the LLM planner."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from neuralbrain.errors import DataError


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "plan", help="plan skill calls for a request with the GGUF LLM (SayCan scoring)"
    )
    p.add_argument("instruction", help='the request, e.g. "put the seven in the tray"')
    p.add_argument("--facts", type=Path, required=True,
                   help='JSON file: a list of atoms, e.g. ["shows(cube_1, 3)", "reachable(cube_1)"]')
    p.add_argument("--backend", default="cpu", help="hardware backend (cpu, lut, ...)")
    p.add_argument("--reasoner-backend", default="logic_grid",
                   help="backend of the GL reasoner that decides feasibility (logic_grid, cpu)")
    p.add_argument("--model", default="", help="llama GGUF file (default: shipped SmolLM2-135M)")
    p.add_argument("--mode", default="score", choices=("score", "generate"),
                   help="score: SayCan skill scoring; generate: grammar-constrained decoding")
    p.add_argument("--max-steps", type=int, default=2, help="plan steps (default 2)")
    p.add_argument("--temperature", type=float, default=0.0,
                   help="generate mode: 0 = greedy, else sampled from --seed")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_plan)


def read_facts(path: Path) -> list[str]:
    """The facts file as a list of atom strings, or a DataError naming what is wrong."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise DataError(f"facts file {str(path)!r} does not exist: expected a JSON list") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"facts file {str(path)!r} is not JSON ({exc}): expected a list of "
                        'atoms like ["shows(cube_1, 3)"]') from None
    if not isinstance(data, list) or not all(isinstance(f, str) for f in data):
        raise DataError(f"facts file {str(path)!r} holds {type(data).__name__}: expected a JSON "
                        'list of atom strings like ["shows(cube_1, 3)", "reachable(cube_1)"]')
    return data


def cmd_plan(args: argparse.Namespace) -> int:
    from neuralbrain.reasoning.affordances import explore, gl_feasibility
    from neuralbrain.reasoning.gl.module import Config as ReasonerConfig
    from neuralbrain.reasoning.gl.module import SceneReasoner
    from neuralbrain.reasoning.planner.planner import LlmPlanner, PlannerConfig

    facts = read_facts(args.facts)
    cfg = PlannerConfig(backend=args.backend, model_path=args.model, mode=args.mode,
                        max_steps=args.max_steps, temperature=args.temperature)
    planner = LlmPlanner(cfg)
    planner.reset(args.seed)
    # the reasoner decides what can run, on its own backend (its ledger: its energy)
    reasoner = SceneReasoner(ReasonerConfig(backend=args.reasoner_backend,
                                            horizon=args.max_steps))
    reasoner.reset(args.seed)
    affordances = explore(facts, args.max_steps, gl_feasibility(reasoner.checker),
                          f"gl:{reasoner.config.theory}")
    result = planner.plan(args.instruction, facts, affordances)
    reasoner_j = reasoner.ledger.total.energy_j
    if args.json:
        print(json.dumps({**result.to_json(), "reasoner_energy_j": reasoner_j,
                          "reasoner_backend": args.reasoner_backend}))
    else:
        print("plan:", ", ".join(result.plan) or "(empty)")
        print(f"{result.tokens} tokens at {result.tokens_per_s:.1f} tok/s on {args.backend}, "
              f"{result.energy_j:.3g} J; feasibility by {result.feasibility} on "
              f"{args.reasoner_backend}, {reasoner_j:.3g} J")
    return 0

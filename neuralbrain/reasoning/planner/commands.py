"""``neuralbrain plan``: turn a request and scene facts into skill calls with the LLM planner."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from neuralbrain.errors import DataError


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "plan", help="plan skill calls for a request: the LLM reads the goal, GL plans for it")
    p.add_argument("instruction", help='the request, e.g. "put the seven in the tray"')
    p.add_argument("--facts", type=Path, required=True,
                   help='JSON file: a list of atoms, e.g. ["shows(cube_1, 3)", "reachable(cube_1)"]')
    p.add_argument("--backend", default="cpu", help="the LLM's hardware backend (cpu, lut, ...)")
    p.add_argument("--hardware", action="append", default=[], metavar="BACKEND.KEY=VALUE",
                   help="a backend setting, as [hardware.BACKEND] in an agent TOML, e.g. "
                   "t3.tp=3 or t3.device=lut (repeatable)")
    p.add_argument("--reasoner-backend", default="logic_grid",
                   help="backend of the GL reasoner that derives facts and plans (logic_grid, cpu)")
    p.add_argument("--model", default="", help="llama GGUF file (default: shipped SmolLM2-135M)")
    p.add_argument("--mode", default="score", choices=("score", "generate"),
                   help="score: PMI-scored goal items; generate: grammar-constrained decoding")
    p.add_argument("--max-steps", type=int, default=16,
                   help="the longest plan, in skill calls (a covered cube needs 4 or more)")
    p.add_argument("--heard", type=int, default=None,
                   help="the digit of a spoken or shown request (0-9)")
    p.add_argument("--temperature", type=float, default=0.0,
                   help="generate mode: 0 = greedy, else sampled from --seed")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--explain", action="store_true",
                   help="print each goal item's candidates and scores, and the derived facts")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-prompt-cache", action="store_true",
                   help="compute the fixed prompt prefixes instead of loading them from the "
                   "prompt cache ($NEURALBRAIN_CACHE or ~/.cache/neuralbrain; same readings)")
    p.set_defaults(func=cmd_plan)


MAX_FACTS_BYTES = 1 << 20
MAX_FACTS = 10_000


def read_facts(path: Path) -> list[str]:
    """The facts file as a list of atom strings, or a DataError naming what is wrong.

    Limits (the file may come from anywhere): at most ``MAX_FACTS_BYTES`` bytes (refused by
    size before reading) and ``MAX_FACTS`` facts; JSON nested too deeply for the parser is a
    ``DataError`` too.
    """
    try:
        size = Path(path).stat().st_size
        if size > MAX_FACTS_BYTES:
            raise DataError(f"facts file {str(path)!r} is {size} bytes: expected at most "
                            f"{MAX_FACTS_BYTES}")
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"facts file {str(path)!r} does not exist: expected a JSON list") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"facts file {str(path)!r} is not JSON ({exc}): expected a list of "
                        'atoms like ["shows(cube_1, 3)"]') from None
    except RecursionError:
        raise DataError(f"facts file {str(path)!r} nests JSON too deeply: expected a flat list "
                        'of atoms like ["shows(cube_1, 3)"]') from None
    if not isinstance(data, list) or not all(isinstance(f, str) for f in data):
        raise DataError(f"facts file {str(path)!r} holds {type(data).__name__}: expected a JSON "
                        'list of atom strings like ["shows(cube_1, 3)", "reachable(cube_1)"]')
    if len(data) > MAX_FACTS:
        raise DataError(f"facts file {str(path)!r} holds {len(data)} facts: expected at most "
                        f"{MAX_FACTS}")
    return data


def cmd_plan(args: argparse.Namespace) -> int:
    from neuralbrain.config import apply_overrides, hardware_configs
    from neuralbrain.reasoning.gl.module import Config as ReasonerConfig
    from neuralbrain.reasoning.gl.module import SceneReasoner
    from neuralbrain.reasoning.planner.planner import LlmPlanner, PlannerConfig

    facts = read_facts(args.facts)
    if args.heard is not None and not 0 <= args.heard <= 9:
        raise DataError(f"--heard {args.heard}: expected a digit 0-9")
    if not 1 <= args.max_steps <= 64:
        raise DataError(f"--max-steps {args.max_steps}: expected 1..64 skill calls")
    hardware = hardware_configs(apply_overrides({}, args.hardware))
    planner = LlmPlanner(PlannerConfig(backend=args.backend, model_path=args.model,
                                       mode=args.mode, temperature=args.temperature,
                                       prompt_cache=not args.no_prompt_cache), hardware)
    reasoner = SceneReasoner(ReasonerConfig(backend=args.reasoner_backend,
                                            max_calls=args.max_steps))
    result = plan_request(planner, reasoner, args.instruction, facts, args.heard, args.seed)
    if args.json:
        print(json.dumps(result))
        return 0
    if args.explain:
        print("facts (given and derived):", ", ".join(result["facts"]))
        phrases = sorted(result["reading"]["phrases"].items(),
                         key=lambda kv: -kv[1]["pmi_per_token"])[:5]
        if phrases:
            print("relation phrases (mean PMI per token, best 5): " + ", ".join(
                f"{p!r} {v['pmi_per_token']:+.2f}" for p, v in phrases))
        for i, step in enumerate(result["reading"]["steps"], 1):
            ranked = sorted(step.items(), key=lambda kv: -kv[1].get("pmi", kv[1]["logprob"]))
            print(f"goal item {i}: " + "  ".join(
                f"{c}: " + "/".join(f"{k} {v:+.2f}" for k, v in s.items()) for c, s in ranked))
        lines = sorted(result["reading"]["lines"].items(), key=lambda kv: -kv[1]["sum"])
        if lines:
            print("lines read again (log-probability + channel = sum): " + "  ".join(
                f"[{line}] {v['logprob']:+.2f} {v['channel']:+.2f} = {v['sum']:+.2f}"
                for line, v in lines))
    reading = result["reading"]
    print("goal: tray <-", ", ".join(map(str, reading["goal"])) or "(nothing)")
    print("plan:", ", ".join(result["plan"]) or "(empty)")
    print(f"LLM: {reading['tokens']} tokens in {reading['seconds']:.2f} s on {args.backend}, "
          f"{reading['energy_j']:.3g} J; reasoner on {args.reasoner_backend}: "
          f"{result['reasoner_energy_j']:.3g} J")
    return 0


def plan_request(planner, reasoner, instruction: str, facts: list[str], heard: int | None = None,
                 seed: int = 0) -> dict:
    """One request through the reasoner (derived facts), the LLM (goal) and the reasoner
    (plan), as the agent runs them; everything each spent is booked in its own ledger."""
    from neuralbrain.payloads import Facts

    planner.reset(seed)
    reasoner.reset(seed)
    derived = reasoner.step({"facts": Facts(tuple(facts)), "goal": None, "replan": None,
                             "settling": None})["facts"]
    reading = planner.read(instruction, derived.atoms, heard)
    plan = reasoner.step({"facts": Facts(tuple(facts)), "goal": reading.goal, "replan": True,
                          "settling": None})["plan"]
    return {"plan": list(plan.calls), "reading": reading.to_json(), "facts": list(derived),
            "reasoner_energy_j": reasoner.ledger.total.energy_j}

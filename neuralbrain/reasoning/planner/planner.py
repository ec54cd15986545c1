"""The LLM planner: SayCan-style skill scoring and grammar-constrained plans from a GGUF LLM.

Scoring mode (Ahn et al., "Do As I Can, Not As I Say: Grounding Language in Robotic
Affordances", CoRL 2022). At plan step ``t`` every skill call ``s`` of the scene is scored

    score(s) = p_LLM(s | prompt, s_1..s_{t-1}) * feasible(s | facts, state)

with ``p_LLM`` the model's probability of the text ``s + "\\n"`` as the next line of the plan,
normalized over the candidates (a softmax of their summed token log-likelihoods), and
``feasible`` 0/1 as the reasoner decided it (``payloads.Affordances``: the verdict on every
call after every feasible prefix, computed by the ``reasoner`` module and booked on its
backend). The best call is appended and the loop stops at ``done()`` or after ``max_steps``.
The prompt lists the facts as sentences (digits also spelled out) and the instruction:
grounding "the seven" to ``cube_2`` is the LLM's job; nothing parses the instruction.

Generation mode: the model writes the plan line by line, each line masked by a trie of the
sentences of the skill calls that are valid and feasible in the reached state
(``constrained.CharTrie``), so it can only emit executable calls; greedy at temperature 0,
else sampled from the ``reset(seed)`` generator.

All products run on the module's backend and are booked in its ledger; ``plan`` returns
the energy of that call.

As a module (``llm_planner``) it plans when ``reasoning.planning.PlanningModule`` says.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from neuralbrain.energy import Ledger
from neuralbrain.errors import ConfigError, DataError
from neuralbrain.payloads import Affordances, Facts, Plan, Request
from neuralbrain.reasoning.planner.constrained import CharTrie, mask_logits
from neuralbrain.reasoning.planner.gguf_model import GGUFModel, load_gguf
from neuralbrain.reasoning.planner.llama import NEEDS, LlamaModel
from neuralbrain.reasoning.planner.scene import Scene, parse_facts
from neuralbrain.reasoning.planner.tokenizer import ChatMessage, GGUFTokenizer
from neuralbrain.reasoning.planning import PlanningModule

MODES = ("score", "generate")

SYSTEM = (
    "You control a robot arm. You turn a person's request into a plan, one step per line. "
    "Find the cube whose number is the number the person asks for, pick it up, put it where "
    "the person wants it, then stop."
)


@dataclass(frozen=True)
class PlannerConfig:
    """``model_path`` "" means the shipped SmolLM2-135M-Instruct; ``mode`` score|generate.

    ``max_steps`` defaults to 2 (one pick, one place: the single-object requests of the
    sorting task). With more steps the loop also scores ``done()``; the 135M model often
    prefers another pick to stopping, so longer plans need a larger model.
    """

    backend: str = "cpu"
    model_path: str = ""
    mode: str = "score"
    max_steps: int = 2
    n_ctx: int = 1024
    temperature: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"PlannerConfig.mode={self.mode!r}: expected one of {MODES}")
        if not (isinstance(self.max_steps, int) and 1 <= self.max_steps <= 16):
            raise ConfigError(f"PlannerConfig.max_steps={self.max_steps!r}: expected 1..16")
        if not (isinstance(self.n_ctx, int) and self.n_ctx >= 64):
            raise ConfigError(f"PlannerConfig.n_ctx={self.n_ctx!r}: expected an int >= 64")
        if not (np.isfinite(self.temperature) and self.temperature >= 0):
            raise ConfigError(
                f"PlannerConfig.temperature={self.temperature!r}: expected a number >= 0"
            )


@dataclass
class PlanResult:
    """A plan, the per-step candidate scores, and what producing it cost (``ledger``: the
    backend ops of this plan, booked by op name and backend)."""

    plan: list[str]
    scores: list[dict[str, dict[str, Any]]]
    energy_j: float
    latency_s: float
    tokens: int
    seconds: float
    feasibility: str
    mode: str
    ledger: Ledger = field(default_factory=Ledger)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "scores": self.scores,
            "tokens_per_s": round(self.tokens_per_s, 2),
            "energy_j": self.energy_j,
            "latency_s": self.latency_s,
            "tokens": self.tokens,
            "mode": self.mode,
            "feasibility": self.feasibility,
        }


@lru_cache(maxsize=2)
def load_model(path: str) -> tuple[GGUFModel, GGUFTokenizer]:
    """The GGUF model and its tokenizer (``""``: the shipped SmolLM2), read once per process."""
    model = load_gguf(path or None)
    return model, GGUFTokenizer(model.metadata)


def build_prompt(tok: GGUFTokenizer, instruction: str, scene: Scene) -> str:
    """The chat prompt (system rules, the scene as sentences, the request), assistant turn open."""
    user = f"Scene:\n{scene.describe()}\n\nRequest: {instruction.strip()}"
    return tok.apply_chat_template(
        [ChatMessage("system", SYSTEM), ChatMessage("user", user)], add_generation_prompt=True
    )


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


class LlmPlanner(PlanningModule):
    """A planning module: request + facts + affordances -> skill calls (module docstring)."""

    Config = PlannerConfig
    requires = {"backend": NEEDS}

    def __init__(self, config: PlannerConfig | None = None, hardware: Mapping | None = None):
        super().__init__(config or PlannerConfig(), hardware)
        self.gguf, self.tok = load_model(self.config.model_path)
        self.lm = LlamaModel(self.gguf, self.backend, self.ledger, n_ctx=self.config.n_ctx)

    def on_backend_change(self) -> None:
        self.lm = LlamaModel(self.gguf, self.backend, self.ledger, n_ctx=self.config.n_ctx)

    def make_plan(self, request: Request, facts: Facts, affordances: Affordances) -> Plan:
        return Plan(tuple(self.plan(request.text, facts.atoms, affordances).plan))

    # -- planning -----------------------------------------------------------------------
    def plan(self, instruction: str, facts: Sequence[str], affordances: Affordances) -> PlanResult:
        """Plan for ``instruction`` in the scene ``facts``, feasibility from ``affordances``
        (which must look at least ``max_steps`` calls ahead)."""
        if not isinstance(instruction, str) or not instruction.strip():
            raise DataError(f"instruction {instruction!r}: expected a non-empty request")
        if affordances.horizon < self.config.max_steps:
            raise ConfigError(
                f"the affordances look {affordances.horizon} call(s) ahead and the planner "
                f"plans up to max_steps = {self.config.max_steps}: raise the reasoner's horizon")
        scene = parse_facts(facts)
        prompt = self.tok.encode(build_prompt(self.tok, instruction, scene))
        if len(prompt) + 16 * self.config.max_steps > self.lm.n_ctx:
            raise DataError(
                f"the prompt is {len(prompt)} tokens; with {self.config.max_steps} plan steps it "
                f"needs more than the context of {self.lm.n_ctx} tokens: shorten the instruction "
                "or the facts, or raise n_ctx"
            )
        plan_ledger = Ledger()
        self.lm.set_ledger(plan_ledger)
        t0 = time.perf_counter()
        try:
            self.lm.reset()
            last = self.lm.forward(prompt)[-1]
            self._tokens = len(prompt)
            if self.config.mode == "score":
                base_prompt = self.tok.encode(build_prompt(self.tok, "", scene))
                plan, scores = self._score_loop(scene, affordances, last, base_prompt)
            else:
                plan, scores = self._generate_loop(scene, affordances, last)
        finally:
            self.lm.set_ledger(self.ledger)
        seconds = time.perf_counter() - t0
        # The plan's own ledger is returned; the module ledger books the same ops for the run.
        result_ledger = Ledger()
        for booking in plan_ledger.drain():
            self.ledger.book(booking.op, booking.cost, backend=booking.backend)
            result_ledger.book(booking.op, booking.cost, backend=booking.backend)
        spent = result_ledger.total
        return PlanResult(
            plan=plan,
            scores=scores,
            energy_j=spent.energy_j,
            latency_s=spent.latency_s,
            ledger=result_ledger,
            tokens=self._tokens,
            seconds=seconds,
            feasibility=affordances.source,
            mode=self.config.mode,
        )

    def score_candidates(self, last_logits: np.ndarray, candidates: Sequence[str]) -> list[float]:
        """Sum of token log-probabilities of each candidate text after the cached context."""
        base = self.lm.n_past
        first = log_softmax(last_logits)
        out = []
        for cand in candidates:
            ids = self.tok.encode(cand)
            lp = float(first[ids[0]])
            if len(ids) > 1:
                logits = self.lm.forward(ids[:-1], all_logits=True)
                self._tokens += len(ids) - 1
                lps = log_softmax(logits)
                lp += float(sum(lps[i, ids[i + 1]] for i in range(len(ids) - 1)))
                self.lm.truncate(base)
            out.append(lp)
        return out

    def _advance(self, text: str) -> np.ndarray:
        ids = self.tok.encode(text)
        self._tokens += len(ids)
        return self.lm.forward(ids)[-1]

    def _score_loop(self, scene: Scene, affordances: Affordances, last: np.ndarray,
                    base_prompt: list[int]):
        # Calibration context: the same prompt without the request. Scoring each skill by
        # log p(say | prompt) - log p(say | prompt without request) removes the preference
        # the model has for some numbers, places and list positions regardless of the request
        # (domain-conditional PMI, Holtzman et al., "Surface Form Competition", EMNLP 2021).
        self.lm.select("calib")
        self.lm.reset()
        last_base = self.lm.forward(base_prompt)[-1]
        self._tokens += len(base_prompt)
        self.lm.select("main")
        plan: list[str] = []
        steps: list[dict[str, dict[str, Any]]] = []
        skills = scene.skills()
        for i in range(1, self.config.max_steps + 1):
            head = f"Step {i}:"
            last = self._advance(head)
            self.lm.select("calib")
            last_base = self._advance(head)
            feas = {s: affordances.check(s, tuple(plan)) for s in skills}
            live = [s for s in skills if feas[s][0]]
            texts = [f" {scene.say(s)}.\n" for s in live]
            lp_base = np.array(self.score_candidates(last_base, texts))
            self.lm.select("main")
            lp = np.array(self.score_candidates(last, texts))
            pmi = lp - lp_base
            p = np.exp(pmi - pmi.max()) if live else pmi
            p = p / p.sum() if live else p
            table: dict[str, dict[str, Any]] = {}
            for s in skills:
                table[s] = {"llm_logprob": None, "llm_pmi": None, "llm_p": None,
                            "feasible": False, "why": feas[s][1], "score": 0.0}
            for s, a, b, ps in zip(live, lp, pmi, p, strict=True):
                table[s].update(llm_logprob=round(float(a), 4), llm_pmi=round(float(b), 4),
                                llm_p=round(float(ps), 4), feasible=True, score=round(float(ps), 4))
            steps.append(table)
            if not live:
                break  # nothing feasible: the plan ends here
            best = live[int(np.argmax(p))]
            if best == "done()":
                break
            plan.append(best)
            text = f" {scene.say(best)}.\n"
            last = self._advance(text)
            self.lm.select("calib")
            last_base = self._advance(text)
            self.lm.select("main")
        return plan, steps

    def _generate_loop(self, scene: Scene, affordances: Affordances, last: np.ndarray):
        plan: list[str] = []
        steps: list[dict[str, dict[str, Any]]] = []
        strings = self.tok.token_strings()
        for i in range(1, self.config.max_steps + 1):
            allowed = [s for s in scene.skills() if affordances.check(s, tuple(plan))[0]]
            if not allowed:
                break
            # Each allowed line is a skill's sentence; the trie only admits these lines, so
            # the text decodes to exactly one valid, feasible skill call.
            lines = {f" {scene.say(s)}.\n": s for s in allowed}
            trie = CharTrie(list(lines), strings, self.tok.special_ids)
            last = self._advance(f"Step {i}:")
            line = ""
            logprob = 0.0
            while not trie.is_complete(line):
                ids = trie.allowed_tokens(line)
                lp = log_softmax(mask_logits(last, ids))
                if self.config.temperature > 0:
                    q = np.exp((lp - lp.max()) / self.config.temperature)
                    q /= q.sum()
                    tid = int(self.rng.choice(len(q), p=q))
                else:
                    tid = int(np.argmax(lp))
                logprob += float(lp[tid])
                line += strings[tid]
                last = self.lm.forward([tid])[-1]
                self._tokens += 1
            call = lines[line]
            why = affordances.check(call, tuple(plan))[1]
            steps.append({call: {"llm_logprob": round(logprob, 4), "feasible": True,
                                 "why": why, "text": line.strip()}})
            if call == "done()":
                break
            plan.append(call)
        return plan, steps

"""The LLM planner: a GGUF LLM reads the request into a goal; the reasoner plans for it.

LLM+P (Liu et al., "LLM+P: Empowering Large Language Models with Optimal Planning
Proficiency", 2023): the language model makes every decision that depends on the request's
words, which cubes and in what order, and a planner reaches that goal from the facts (here
the GL reasoner, ``neuralbrain.reasoning.goals``). The model writes the goal as a line

    Numbers: 3, 8.

(the digits to stack in the tray, bottom first) after a short chat prompt that asks it to
copy the numbers the request names, in the order it names them, as digits, with worked
examples (``shots`` per request kind) drawn from the training seeds (0-99) of the request
family (``neuralbrain.reasoning.requests``): the request as given, then its line. The scene is
not in this prompt: a 135M model copies a request's numbers far better from a short prompt
than from one that also lists the cubes and the reasoner's facts (fed the right line, on
validation seeds 100-119, the scene prompt's calibrated scores put the first-named digit first
in 8 of 20 ordered requests, this prompt's in 20 of 20; in 46 of 50 on seeds 120-169).

Two ways to decide each item of the line:

- ``score`` (SayCan-style scoring, Ahn et al., CoRL 2022, over goal items): the first item
  is first sought among the phrases the reasoner's derived facts are said in ("the smallest
  odd number", "one more than four": ``Scene.relation_phrases``), each scored as the words
  of the request that name the cube (a second short prompt; all phrases in one batched
  forward), by mean PMI per token against the same prompt without the request (Holtzman et
  al., "Surface Form Competition", EMNLP 2021). A phrase that reaches ``relation_pmi`` names
  the goal's one cube: the phrase prompt reads the words naming one cube, and its answer is
  the line. Otherwise the first item is the candidate digit with the highest log-probability
  as the next item of the copied line, and every later item the one with the highest PMI:
  its log-probability there minus that after the same prompt whose request is empty and the
  same items so far (``pmi_items``; Holtzman et al. again: the request-free context measures
  how much the model likes writing a digit at that place anyway, e.g. its dislike of "0",
  which made it skip a named 0). The first item may be any digit (a request may name one
  no cube shows: the reasoner then says ``cannot``); later items are digits of the scene not
  yet chosen (the reasoner's feasibility, as in SayCan). After each item the model decides
  whether the line ends: the log-probability of "." (end) against that of ", " followed by
  the best next candidate (a one-item lookahead: the line goes on only when the model both
  wants another item and has one it would write). No threshold is involved.
  A line of two or more items is then read again (``rerank``): a beam search keeps the
  ``beam`` best lines by their log-probability in the copy prompt (every token, "." too), and
  each is scored again by how well it explains the request, the log-probability of the
  request's words after the line in a reversed prompt (worked examples: the line, then its
  request). The line with the highest sum of the two wins: the noisy-channel reranking of Yee
  et al. ("Simple and Effective Noisy Channel Modeling for Neural Machine Translation",
  EMNLP 2019) with both weights 1, log p(line | request) + log p(request | line). The copy
  prompt alone skips or swaps items a request names ("first put the 7 in the tray, then the
  9, then the 4" -> 7, 4); a line that leaves out a named number, or swaps two, explains the
  request badly.
- ``generate``: greedy (or sampled at ``temperature``) decoding masked to the same grammar,
  without the relation phrases or the lookahead: the model's own next token decides the digit
  and whether "," or "." follows.

All candidates of a step are scored from one forward: each digit is one token, so the
logits after the shared prefix score them all at once. The worked examples' prefix is run
once per model and kept in the KV cache; its energy is booked on the first plan. Every
product runs on the module's backend and is booked in its ledger. What is the same in every
process (the two prompts' prefixes; the request-free scores of a list of relation phrases,
also memoized per process) is kept on disk by ``prompt_cache`` and loaded bit for bit, with
the ledger bookings its computation made booked again: readings, energy, latency and token
counts are those of computing it (``prompt_cache=False`` computes everything).

As a module (``llm_planner``) it reads the goal once per episode, when the request and the
first facts are there and the scene has settled (a scene without a cube gives the empty
goal, which the reasoner answers with ``cannot(empty_scene)``); the reasoner plans and
replans for it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from neuralbrain.core import Module
from neuralbrain.energy import Ledger
from neuralbrain.errors import ConfigError, DataError
from neuralbrain.payloads import Facts, Request, TrayGoal
from neuralbrain.reasoning.planner.gguf_model import GGUFModel, load_gguf
from neuralbrain.reasoning.planner.llama import NEEDS, LlamaModel
from neuralbrain.reasoning.planner.prompt_cache import (
    CACHED_BACKENDS,
    PromptCache,
    RecordingLedger,
    bookings_doc,
    bookings_from,
    entry_key,
    file_sha256,
    replay,
)
from neuralbrain.reasoning.planner.scene import Scene, parse_facts
from neuralbrain.reasoning.planner.tokenizer import ChatMessage, GGUFTokenizer

MODES = ("score", "generate")
SYSTEM = ("You help a robot arm. Copy the numbers the person's request names, in the order it "
          "names them, as digits.")
ANSWER = "Numbers: "
# where the relation phrases run as a trie by default (``PlannerConfig.phrase_trie``): the
# backends whose scores it moves by no more than 1e-4 (on 30 requests, the same goals)
TRIE_BACKENDS = frozenset({"lut"})
TRAIN_SEEDS = range(0, 100)  # worked examples come from here; validation 100-999; reports 1000+


@dataclass(frozen=True)
class PlannerConfig:
    """``model_path`` "" means the shipped SmolLM2-135M-Instruct; ``mode`` score|generate;
    ``max_items``: the longest goal it writes; ``shots``: worked examples per request kind
    (2: on validation seeds 100-119, fed the right line, 2, 3 and 4 shots picked its items and
    ended it alike, within one request of 20 per kind; 2 is the shortest prefix);
    ``relations``: score mode also scores the reasoner's relation phrases
    (``Scene.relation_phrases``), taken as the goal when one's mean PMI per token reaches
    ``relation_pmi``, chosen on validation seeds 100-114 per kind (with the scene prompt's
    items, before the copied line): 1.0-1.5 got the first item of 86% of requests right,
    100-93% of relational ones, against 27% without the phrases. ``pmi_items``: score mode
    picks the second and later items by PMI against the request-free prompt (else by
    log-probability), chosen on validation seeds 100-269, 170 ``ordered`` and 170 ``several``
    requests: 308 of 340 planned right, against 302 by log-probability (seeds 100-169:
    ordered 61 / 56 of 70, several 69 / 66; seeds 170-269: ordered 83 / 87 of 100, several
    95 / 93), a small and uneven gain; PMI for the first item too got 47 of 70 ``ordered``
    on seeds 100-169 (it then favours a digit the request names later), and half the
    request-free term (log p - 0.5 log p_base) 60 of 70.
    ``prompt_cache``: keep what every process computes alike on disk (``prompt_cache``; the
    same readings). ``phrase_trie``: run the relation phrases' tokens as a trie, shared
    leading tokens once (``LlamaModel.forward_tree``; 23 tokens for the 92 of 24 phrases):
    fewer tokens, less energy and time, but a phrase's floats then come from another batch:
    on 30 requests the same goals, printed scores within 1e-4 on ``lut``, within 0.14 on
    W4A8 ``cpu`` (8-bit activations round batch-level float differences into larger ones).
    ``None`` (the default): on for ``lut`` (``TRIE_BACKENDS``), off for the others.
    ``rerank``: score mode reads a line of two or more items again, the ``beam`` best lines
    by log-probability scored again by the reversed prompt (module docstring), both weights 1
    (not tuned). Chosen on validation seeds 120-219 on ``lut`` (``bench_plan_suite.py
    --first-seed 120 --per-kind 100 --kinds ordered several --policies score-lut
    score-lut-copy``): 97 of 100 ``ordered`` requests read right, against 85 by the copy
    alone (the 3 misses are one-item lines, which are not read again); ``several``
    satisfied 97 / 96, in the order named 93 / 91; 0.319 J per plan against 0.194."""

    backend: str = "cpu"
    model_path: str = ""
    mode: str = "score"
    max_items: int = 3
    shots: int = 2
    relations: bool = True
    relation_pmi: float = 1.5
    pmi_items: bool = True
    n_ctx: int = 2048
    temperature: float = 0.0
    prompt_cache: bool = True
    phrase_trie: bool | None = None
    rerank: bool = True
    beam: int = 3

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"PlannerConfig.mode={self.mode!r}: expected one of {MODES}")
        if not (isinstance(self.max_items, int) and 1 <= self.max_items <= 5):
            raise ConfigError(f"PlannerConfig.max_items={self.max_items!r}: expected 1..5")
        if not (isinstance(self.shots, int) and 0 <= self.shots <= 5):
            raise ConfigError(f"PlannerConfig.shots={self.shots!r}: expected 0..5")
        if not (isinstance(self.n_ctx, int) and self.n_ctx >= 64):
            raise ConfigError(f"PlannerConfig.n_ctx={self.n_ctx!r}: expected an int >= 64")
        if not (np.isfinite(self.temperature) and self.temperature >= 0):
            raise ConfigError(
                f"PlannerConfig.temperature={self.temperature!r}: expected a number >= 0")
        if not (isinstance(self.beam, int) and 1 <= self.beam <= 10):
            raise ConfigError(f"PlannerConfig.beam={self.beam!r}: expected 1..10")
        if not np.isfinite(self.relation_pmi):
            raise ConfigError(f"PlannerConfig.relation_pmi={self.relation_pmi!r}: expected a "
                              "number")


@dataclass
class GoalReading:
    """The goal read from a request, the candidates of every item with their scores (and of
    the relation phrases, when scored; of the lines read again, ``rerank``: each line's
    log-probability, its channel score and their sum), and what reading it cost (``ledger``:
    this reading's backend ops)."""

    goal: TrayGoal
    steps: list[dict[str, dict[str, float]]]
    energy_j: float
    latency_s: float
    tokens: int
    seconds: float
    ledger: Ledger = field(default_factory=Ledger)
    phrases: dict[str, dict[str, float]] = field(default_factory=dict)
    lines: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"goal": list(self.goal.tray), "source": self.goal.source, "steps": self.steps,
                "phrases": self.phrases, "lines": self.lines,
                "energy_j": self.energy_j, "latency_s": self.latency_s, "tokens": self.tokens,
                "seconds": round(self.seconds, 4)}


CHANNEL_SYSTEM = ("You help a robot arm. Write the person's request that names these numbers, "
                  "in this order.")
CHANNEL_ANSWER = "Request:"


@lru_cache(maxsize=2)
def load_model(path: str, cache: bool = True) -> tuple[GGUFModel, GGUFTokenizer]:
    """The GGUF model and its tokenizer (``""``: the shipped SmolLM2), read once per process
    (``cache``: its layout through the disk cache, ``gguf_model.load_gguf``)."""
    model = load_gguf(path or None, cache=cache)
    return model, GGUFTokenizer(model.metadata)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def training_scenes(shots: int):
    """``shots`` (task, scene with the reasoner's derived facts) per request kind from the
    training seeds (computed here on ``cpu``: worked examples are part of the prompt, fixed
    once per process like the weights)."""
    from neuralbrain.hardware import make_backend
    from neuralbrain.reasoning.affordances import GLJudge
    from neuralbrain.reasoning.gl.agent import digitpick_reasoner
    from neuralbrain.reasoning.plan_suite import task_facts
    from neuralbrain.reasoning.requests import KINDS, draw_task

    judge = GLJudge(digitpick_reasoner(make_backend("cpu")))
    taken = {k: 0 for k in KINDS}
    for seed in TRAIN_SEEDS:
        task = draw_task("mixed", np.random.default_rng(seed))
        if taken[task.kind] < shots:
            taken[task.kind] += 1
            facts = task_facts(task)
            yield task, parse_facts(facts + judge.derived(facts))


@lru_cache(maxsize=4)
def worked_examples(shots: int) -> tuple[tuple[str, str], ...]:
    """(user, answer) pairs of ``training_scenes``: the request, the goal line (for an
    impossible request, the digit it names; for a relational one, the digit it resolves to)."""
    return tuple((f"Request: {task.request}",
                  ANSWER + ", ".join(map(str, task.goal.tray or (task.named_digit,))) + ".")
                 for task, _ in training_scenes(shots))


PHRASE_SYSTEM = ("You help a robot arm. Copy the words of the person's request that name the "
                 "cube it wants.")
PHRASE_ANSWER = "Cube:"


@lru_cache(maxsize=4)
def phrase_examples(shots: int) -> tuple[tuple[str, str], ...]:
    """``shots`` (request, words naming its first cube) pairs per request kind from the
    training seeds: the longest of the cube's relation phrases, numeral or number word that
    the request contains (labels made from the seed's ground truth, for the prompt only)."""
    from neuralbrain.reasoning.plan_suite import cube
    from neuralbrain.reasoning.planner.scene import NUMBER_WORDS

    out = []
    for task, scene in training_scenes(shots):
        d = (task.goal.tray or (task.named_digit,))[0]
        owner = cube(task.digits.index(d)) if d in task.digits else None
        words = [p for p, c in scene.relation_phrases() if c == owner] + [str(d),
                                                                          NUMBER_WORDS[d]]
        said = sorted((w for w in words if f" {w} " in f" {task.request} ".replace(",", " ")
                       .replace(".", " ").replace("?", " ")), key=len)
        out.append((f"Request: {task.request}", f"{PHRASE_ANSWER} {said[-1] if said else d}."))
    return tuple(out)


def chat_prompt(system: str, examples: Sequence[tuple[str, str]]) -> list[ChatMessage]:
    """The system message, then each worked example as a user turn and its answer."""
    msgs = [ChatMessage("system", system)]
    for user, answer in examples:
        msgs += [ChatMessage("user", user), ChatMessage("assistant", answer)]
    return msgs


class LlmPlanner(Module):
    """Request + facts -> the goal the request asks for (see the module docstring)."""

    Config = PlannerConfig
    inputs = {"request": Request, "facts": Facts, "settling": bool}
    optional = frozenset({"settling"})
    outputs = {"goal": TrayGoal}
    requires = {"backend": NEEDS}

    def __init__(self, config: PlannerConfig | None = None, hardware: Mapping | None = None):
        super().__init__(config or PlannerConfig(), hardware)
        self.gguf, self.tok = load_model(self.config.model_path, self.config.prompt_cache)
        # the goal line's tokens: each digit, ",", "." and " " is one token
        self._digit_ids = [self.tok.encode(str(d))[0] for d in range(10)]
        self._comma, self._dot, self._space = (self.tok.encode(c)[0] for c in (",", ".", " "))
        self._build()

    def _build(self) -> None:
        self.lm = LlamaModel(self.gguf, self.backend, self.ledger, n_ctx=self.config.n_ctx)
        cfg = self.config
        # what this config's readings run: the relation phrases, the request-free context
        self._phrases = cfg.mode == "score" and cfg.relations
        self._pmi = cfg.mode == "score" and cfg.pmi_items and cfg.max_items > 1
        self._rerank = cfg.mode == "score" and cfg.rerank and cfg.max_items > 1
        self.lm.reserve(*(("phrase", "phrase_base") if self._phrases else ()),
                        *(("items_base",) if self._pmi else ()),
                        *(("channel",) if self._rerank else ()))
        self._prefix_len = 0  # the worked examples are not in the KV cache yet
        self._phrase_len = 0  # nor the phrase prompt's
        self._channel_len = 0  # nor the reversed prompt's
        self._items_base: tuple[int, np.ndarray] | None = None  # its length, last log-probs
        # request-free phrase scores of this model and backend, by (turn, branches, trie)
        self._base_memo: dict[tuple, tuple[np.ndarray, list, int]] = {}
        trie = self.config.phrase_trie
        self._trie = self.backend.name in TRIE_BACKENDS if trie is None else trie
        self._cache = (PromptCache() if self.config.prompt_cache
                       and self.backend.name in CACHED_BACKENDS else None)

    def on_backend_change(self) -> None:
        self._build()

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self.goal: TrayGoal | None = None

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        facts: Facts | None = inputs["facts"]
        request: Request | None = inputs["request"]
        if self.goal is None and request is not None and facts and not inputs["settling"]:
            if any(a.startswith(("shows(", "object(")) for a in facts.atoms):
                self.goal = self.read(request.text, facts.atoms, request.digit).goal
            else:  # nothing seen: no cube can be meant; the reasoner says cannot(empty_scene)
                self.goal = TrayGoal((), "nothing seen")
        return {"goal": self.goal}

    # -- reading ------------------------------------------------------------------------
    def _messages(self) -> list[ChatMessage]:
        return chat_prompt(SYSTEM, worked_examples(self.config.shots))

    def _prefix(self) -> None:
        """Run the system prompt and worked examples once, into the KV cache."""
        if self._prefix_len:
            return
        text = self.tok.apply_chat_template(self._messages(), add_generation_prompt=False)
        ids = self.tok.encode(text)
        self._prefill("main", ids)
        self._prefix_text, self._prefix_len, self._prefix_ids = text, len(ids), ids

    def _check_kv_entry(self, arrays: dict, value: Any, n: int) -> None:
        """Raise ``ValueError`` unless a prompt-cache entry holds finite float32 keys and
        values of ``n`` positions of this model, and readable bookings."""
        hp = self.lm.hp
        shape = (hp.n_layer, hp.n_head_kv, n, hp.head_dim)
        for name in ("k", "v"):
            a = arrays[name]
            if a.shape != shape or a.dtype != np.float32 or not np.isfinite(a).all():
                raise ValueError(f"{name} is {a.dtype}{a.shape}: expected finite float32 {shape}")
        bookings_from(value["bookings"])

    def _cache_key(self, kind: str, ids: Any) -> str | None:
        """The prompt-cache key of ``ids`` run by this model and backend (None: no cache)."""
        if self._cache is None:
            return None
        return entry_key(kind, {"model": file_sha256(self.gguf.path),
                                "backend": self.backend.name,
                                "config": repr(self.backend.config),
                                "numerics": self.lm.numerics, "ids": ids})

    def _prefill(self, slot: str, ids: list[int]) -> None:
        """Run the fixed prompt ``ids`` into KV slot ``slot`` from its start, or take its keys
        and values from the prompt cache and book again what computing them booked."""
        self.lm.select(slot)
        self.lm.reset()
        self._tokens += len(ids)
        key = self._cache_key("prefix", ids)

        def check(arrays: dict, value: Any) -> None:
            if arrays["ids"].tolist() != ids:
                raise ValueError("its token ids are not the prompt's")
            self._check_kv_entry(arrays, value, len(ids))

        hit = self._cache.load("prefix", key, check) if key else None
        if hit is not None:
            arrays, value = hit
            self.lm.restore(arrays["k"], arrays["v"])
            replay(bookings_from(value["bookings"]), self.lm.ledger, self.backend)
            return
        rec = RecordingLedger(self.lm.ledger)
        self.lm.set_ledger(rec)
        try:
            self.lm.forward(ids)
        finally:
            self.lm.set_ledger(rec.inner)
        if key:
            k, v = self.lm.kv()
            self._cache.save("prefix", key, {"ids": np.asarray(ids, np.int64), "k": k, "v": v},
                             {"bookings": bookings_doc(rec.bookings)})

    def _turn(self, request: str) -> list[int]:
        """The user turn with the request as given, and the start of the answer."""
        text = self.tok.apply_chat_template(
            [*self._messages(), ChatMessage("user", f"Request: {request.strip()}")],
            add_generation_prompt=True)[len(self._prefix_text):]
        return self.tok.encode(text + ANSWER)

    def read(self, instruction: str, facts: Sequence[str],
             heard: int | None = None) -> GoalReading:
        """The goal ``instruction`` asks for in the scene ``facts`` (which should include the
        reasoner's derived facts). ``heard``: the digit a spoken or shown request gave, said
        to the model after the request's text."""
        if not isinstance(instruction, str) or not instruction.strip():
            raise DataError(f"instruction {instruction!r}: expected a non-empty request")
        scene = parse_facts(facts)
        if heard is not None:
            instruction = f"{instruction.strip()} (the number is {heard})"
        ledger = Ledger()
        self.lm.set_ledger(ledger)
        self._tokens = 0
        t0 = time.perf_counter()
        try:
            self._prefix()
            turn = self._turn(instruction)
            n_prompt = self._prefix_len + len(turn)
            # the line: 3 tokens an item; the re-read runs ``beam`` lines side by side
            lines = self.config.beam if self._rerank else 1
            if n_prompt + 3 * self.config.max_items * lines + 1 > self.lm.n_ctx:
                raise DataError(
                    f"the prompt is {n_prompt} tokens; with "
                    f"{self.config.max_items} goal items it needs more than the context of "
                    f"{self.lm.n_ctx} tokens: shorten the request or raise n_ctx")
            first, phrases = (self._read_relation(scene, instruction) if self._phrases
                              else (None, {}))
            # a relation phrase names the goal's one cube; otherwise the copied line is read
            digits, steps = ([first], []) if first is not None else self._read_items(scene, turn)
            lines = {}
            if self._rerank and len(digits) > 1:
                digits, lines = self._reread(scene, turn, instruction, steps[0])
        finally:
            self.lm.set_ledger(self.ledger)
        seconds = time.perf_counter() - t0
        result = Ledger()
        for b in ledger.drain():  # the module's ledger books the same ops for the run
            self.ledger.book(b.op, b.cost, backend=b.backend)
            result.book(b.op, b.cost, backend=b.backend)
        spent = result.total
        goal = TrayGoal(tuple(digits), f"llm:{self.config.mode}")
        return GoalReading(goal, steps, spent.energy_j, spent.latency_s, self._tokens, seconds,
                           result, phrases, lines)

    def _forward(self, slot: str, ids: list[int], rows: bool = False) -> np.ndarray:
        """Log-probabilities after ``ids`` in ``slot`` (after each of them when ``rows``)."""
        self.lm.select(slot)
        self._tokens += len(ids)
        out = log_softmax(self.lm.forward(ids, all_logits=rows))
        return out if rows else out[-1]

    def _read_relation(self, scene: Scene, instruction: str):
        """The first item by the reasoner's relation phrases (``relations``): every phrase is
        scored after "Cube:" with and without the request, all in one forward per context
        (``LlamaModel.forward_branches``); the best mean PMI per token wins if it reaches
        ``relation_pmi``. Returns (its digit or None, the step table)."""
        phrases = scene.relation_phrases()
        if not phrases:
            return None, {}
        msgs = chat_prompt(PHRASE_SYSTEM, phrase_examples(self.config.shots))
        if not self._phrase_len:
            text = self.tok.apply_chat_template(msgs, add_generation_prompt=False)
            ids = self.tok.encode(text)
            self._prefill("phrase", ids)
            self.lm.copy_to("phrase_base")
            self._phrase_text, self._phrase_len, self._phrase_ids = text, len(ids), ids
        branches = [self.tok.encode(f" {p}") for p, _ in phrases]
        total = np.zeros(len(phrases))
        for slot, req, sign in (("phrase", instruction, 1.0), ("phrase_base", "", -1.0)):
            turn = self.tok.apply_chat_template(
                [*msgs, ChatMessage("user", f"Request: {req}".strip())],
                add_generation_prompt=True)[len(self._phrase_text):] + PHRASE_ANSWER
            score = self._base_scores if slot == "phrase_base" else self._branch_scores
            total += sign * score(slot, self.tok.encode(turn), branches)
        mean = total / np.array([len(b) for b in branches])
        table = {p: {"pmi_per_token": round(float(m), 4)}
                 for (p, _), m in zip(phrases, mean, strict=True)}
        best = int(np.argmax(mean))
        if mean[best] < self.config.relation_pmi:
            return None, table
        return int(scene.digits[phrases[best][1]]), table

    def _branch_scores(self, slot: str, turn: list[int], branches: list[list[int]]
                       ) -> np.ndarray:
        """Log-probability of each branch after the phrase prompt in ``slot`` and ``turn``:
        the turn in one forward, the branches' later tokens in one ``forward_branches`` (or
        ``forward_tree`` with ``phrase_trie``: "one more than six" and "one more than two"
        share three tokens)."""
        self.lm.select(slot)
        self.lm.truncate(self._phrase_len)
        first = self._forward(slot, turn)
        rest = [b[:-1] for b in branches if len(b) > 1]
        if self._trie:  # the tokens run: one per distinct leading run
            self._tokens += len({tuple(b[:j + 1]) for b in rest for j in range(len(b))})
            rows = iter(self.lm.forward_tree(rest) if rest else [])
        else:
            self._tokens += sum(len(b) for b in rest)
            rows = iter(self.lm.forward_branches(rest) if rest else [])
        out = np.zeros(len(branches))
        for i, b in enumerate(branches):
            lp = float(first[b[0]])
            if len(b) > 1:
                lps = log_softmax(next(rows))
                lp += float(sum(lps[j, b[j + 1]] for j in range(len(b) - 1)))
            out[i] = lp
        return out

    def _base_scores(self, slot: str, turn: list[int], branches: list[list[int]]
                     ) -> np.ndarray:
        """``_branch_scores`` of the request-free prompt: the same for the same branch list
        in the same order (a branch's floats depend, at the rounding level, on the batch it
        runs in, so they are not memoized per phrase), so memoized per process and kept in
        the prompt cache; a reused entry books again what computing it booked."""
        if not self.config.prompt_cache:  # computes everything
            return self._branch_scores(slot, turn, branches)
        trie = self._trie
        memo = (tuple(turn), tuple(map(tuple, branches)), trie)
        entry = self._base_memo.get(memo)
        if entry is None:
            key = self._cache_key("phrase_base", {"prefix": self._phrase_ids, "turn": turn,
                                                  "branches": branches, "trie": trie})

            def check(arrays: dict, value: Any) -> None:
                scores = arrays["scores"]
                if scores.shape != (len(branches),) or scores.dtype != np.float64 or \
                        value["branches"] != branches:
                    raise ValueError("it holds the scores of other branches")
                bookings_from(value["bookings"]), int(value["tokens"])

            hit = self._cache.load("phrase_base", key, check) if key else None
            if hit is None:  # computed: booked as it runs, kept for the next time
                rec, tokens = RecordingLedger(self.lm.ledger), self._tokens
                self.lm.set_ledger(rec)
                try:
                    scores = self._branch_scores(slot, turn, branches)
                finally:
                    self.lm.set_ledger(rec.inner)
                self._remember(memo, (scores, rec.bookings, self._tokens - tokens))
                if key:
                    self._cache.save("phrase_base", key, {"scores": scores},
                                     {"branches": branches, "tokens": self._tokens - tokens,
                                      "bookings": bookings_doc(rec.bookings)})
                return scores.copy()
            arrays, value = hit
            entry = (arrays["scores"], bookings_from(value["bookings"]), int(value["tokens"]))
            self._remember(memo, entry)
        scores, bookings, tokens = entry
        replay(bookings, self.lm.ledger, self.backend)
        self._tokens += tokens
        return scores.copy()

    def _remember(self, memo: tuple, entry: tuple) -> None:
        if len(self._base_memo) >= 256:  # scenes differ: keep the latest
            self._base_memo.pop(next(iter(self._base_memo)))
        self._base_memo[memo] = entry

    def _base_turn(self) -> list[int]:
        """``_turn`` with an empty request: the request-free context of ``pmi_items``."""
        text = self.tok.apply_chat_template(
            [*self._messages(), ChatMessage("user", "Request:")],
            add_generation_prompt=True)[len(self._prefix_text):]
        return self.tok.encode(text + ANSWER)

    def _request_free_turn(self) -> np.ndarray:
        """Slot "items_base" made to hold the request-free context of ``pmi_items`` (the
        worked examples' prefix, copied from "main", then ``_base_turn``), and the
        log-probabilities after it. Like the prefix, the same in every plan: run once per
        model, by the first line that goes on past its first item (which books its energy;
        a plan whose line ends at one item never runs it), and kept in the prompt cache (the
        turn's keys and values; the prefix's are "main"'s), whose entry books again what
        computing it booked."""
        if self._items_base is None:
            turn = self._base_turn()
            key = self._cache_key("items_base", {"prefix": self._prefix_ids, "turn": turn})
            start, n = self._prefix_len, self._prefix_len + len(turn)

            def check(arrays: dict, value: Any) -> None:
                self._check_kv_entry(arrays, value, len(turn))  # the turn's positions only
                lp = arrays["logprobs"]
                if lp.shape != (self.lm.hp.vocab,) or lp.dtype != np.float64:
                    raise ValueError(f"logprobs is {lp.dtype}{lp.shape}: expected float64")

            hit = self._cache.load("items_base", key, check) if key else None
            self._tokens += len(turn)
            self.lm.select("main")  # the prefix (then, in a plan, its turn): the prefix copied
            self.lm.copy_to("items_base", stop=start)
            self.lm.select("items_base")
            if hit is not None:
                arrays, value = hit
                self.lm.restore(arrays["k"], arrays["v"], start)
                replay(bookings_from(value["bookings"]), self.lm.ledger, self.backend)
                lp = arrays["logprobs"]
            else:
                rec = RecordingLedger(self.lm.ledger)
                self.lm.set_ledger(rec)
                try:
                    lp = log_softmax(self.lm.forward(turn))[-1]
                finally:
                    self.lm.set_ledger(rec.inner)
                if key:
                    k, v = self.lm.kv(start)
                    self._cache.save("items_base", key, {"k": k, "v": v, "logprobs": lp},
                                     {"bookings": bookings_doc(rec.bookings)})
            self._items_base = (n, lp)
        n, lp = self._items_base
        self.lm.select("items_base")
        self.lm.truncate(n)
        return lp.copy()

    def _read_items(self, scene: Scene, turn: list[int]):
        """The copied line, item by item (see the module docstring): returns (digits, one
        table per item with every candidate's log-probability (and PMI, when ``pmi_items``
        picks it: only for an item the line goes on to); from the second item on, also "."
        (end) and "," (go on: in score mode with the best candidate's lookahead))."""
        digit_ids, comma, dot, space = self._digit_ids, self._comma, self._dot, self._space
        scene_digits = sorted(int(d) for d in scene.digits.values() if d.isdigit())
        score = self.config.mode == "score"
        pmi = self._pmi
        self.lm.select("main")
        self.lm.truncate(self._prefix_len)
        lp = self._forward("main", turn)
        said: list[list[int]] = []  # the line after the turn: each item and its ", "
        base_said: int | None = None  # how many of them the request-free context has run
        chosen: list[int] = []
        steps: list[dict[str, dict[str, float]]] = []
        lp_stop = lp_more = 0.0  # after an item: the model's "." and "," (+ lookahead)
        for k in range(self.config.max_items):
            pool = [d for d in (range(10) if k == 0 else scene_digits) if d not in chosen]
            if not pool:
                break
            table = {str(d): {"logprob": round(float(lp[digit_ids[d]]), 4)} for d in pool}
            steps.append(table)
            if k > 0:
                if score:  # go on only with the item the model would write next
                    lp_more += max(float(lp[digit_ids[d]]) for d in pool)
                table["."] = {"logprob": round(float(lp_stop), 4)}
                table[","] = {"logprob": round(float(lp_more), 4)}
                if lp_stop >= lp_more:
                    break
            scores = [float(lp[digit_ids[d]]) for d in pool]
            if pmi and k > 0:  # the request-free context runs only for a line that goes on
                # item by item, as the request's context ran them (one forward of all would
                # give other floats: a batch's size can choose the kernel)
                if base_said is None:
                    lp_base = self._request_free_turn()
                    base_said = 0
                self.lm.select("items_base")
                for chunk in said[base_said:]:
                    lp_base = self._forward("items_base", chunk, rows=True)[-1]
                base_said = len(said)
                scores = [s - float(lp_base[digit_ids[d]])
                          for s, d in zip(scores, pool, strict=True)]
                for d, s in zip(pool, scores, strict=True):
                    table[str(d)]["pmi"] = round(s, 4)
            best = pool[int(np.argmax(scores))] if score else self._pick(pool, scores)
            chosen.append(best)
            if k + 1 == self.config.max_items:
                break
            # the item, then ", " for the next one: one forward; the row after the item holds
            # the model's choice between "," and ".", the next row that of " " after ","
            item = [digit_ids[best], comma, space]
            said.append(item)
            rows = self._forward("main", item, rows=True)
            lp_stop, lp_more, lp = rows[0][dot], rows[0][comma], rows[-1]
            if score:
                lp_more += rows[1][space]
        return chosen, steps

    def _reread(self, scene: Scene, turn: list[int], instruction: str,
                first: dict[str, dict[str, float]]) -> tuple[list[int], dict]:
        """The line read again (``rerank``, module docstring): the ``beam`` best lines by
        log-probability, then the one whose sum with its channel score is highest. Returns
        (its digits, {line: {"logprob", "channel", "sum"}})."""
        lines = self._beam_lines(scene, turn, first)
        channel = self._channel_scores(instruction, [line for line, _ in lines])
        table = {}
        for (line, lp), ch in zip(lines, channel, strict=True):
            table[", ".join(map(str, line))] = {"logprob": round(lp, 4),
                                               "channel": round(float(ch), 4),
                                               "sum": round(lp + float(ch), 4)}
        best = int(np.argmax([lp + ch for (_, lp), ch in zip(lines, channel, strict=True)]))
        return list(lines[best][0]), table

    def _beam_lines(self, scene: Scene, turn: list[int], first: dict[str, dict[str, float]]
                    ) -> list[tuple[tuple[int, ...], float]]:
        """The ``beam`` most likely complete lines after ``turn`` (log-probability of every
        token, the closing "." included), by beam search over items: the first item any digit
        (``first``: its log-probabilities as the first item's table holds them, to 4
        decimals, already computed), later ones digits of the scene
        not yet in the line. Each step runs the kept lines, each with its ", ", in one
        ``forward_branches`` from the end of the turn (the turn is in "main")."""
        digit_ids, comma, dot, space = self._digit_ids, self._comma, self._dot, self._space
        scene_digits = sorted(int(d) for d in scene.digits.values() if d.isdigit())
        width, n_turn = self.config.beam, self._prefix_len + len(turn)
        partial = sorted(((float(v["logprob"]), (int(d),)) for d, v in first.items()),
                         reverse=True)[:width]  # (score, items) of lines still open
        done: list[tuple[float, tuple[int, ...]]] = []
        for k in range(1, self.config.max_items + 1):
            last = k == self.config.max_items
            branches = []
            for _, items in partial:
                said = [t for d in items for t in (digit_ids[d], comma, space)]
                branches.append(said[:-2] if last else said)
            self.lm.select("main")
            self.lm.truncate(n_turn)
            self._tokens += sum(map(len, branches))
            rows = [log_softmax(r) for r in self.lm.forward_branches(branches)]
            grown = []
            for (score, items), lps in zip(partial, rows, strict=True):
                at = len(items) * 3 - 3  # the row after the line's last digit
                done.append((score + float(lps[at, dot]), items))
                if last:
                    continue
                going = score + float(lps[at, comma] + lps[at + 1, space])
                grown += [(going + float(lps[at + 2, digit_ids[d]]), (*items, d))
                          for d in scene_digits if d not in items]
            partial = sorted(grown, reverse=True)[:width]
            if not partial:
                break
        best = sorted(done, reverse=True)[:width]
        return [(items, score) for score, items in best]

    def _channel_scores(self, instruction: str, lines: list[tuple[int, ...]]) -> np.ndarray:
        """Log-probability of the request's words after each line in the reversed prompt
        (``CHANNEL_SYSTEM``; the worked examples turned round: the line, then its request),
        all lines in one ``forward_branches``. The prompt's prefix is run once per model (or
        loaded from the prompt cache) into KV slot "channel"."""
        msgs = chat_prompt(CHANNEL_SYSTEM, [(answer, request) for request, answer
                                            in worked_examples(self.config.shots)])
        if not self._channel_len:
            text = self.tok.apply_chat_template(msgs, add_generation_prompt=False)
            ids = self.tok.encode(text)
            self._prefill("channel", ids)
            self._channel_text, self._channel_len = text, len(ids)
        words = self.tok.encode(f" {instruction.strip()}")
        turns = []
        for line in lines:
            said = ANSWER + ", ".join(map(str, line)) + "."
            text = self.tok.apply_chat_template([*msgs, ChatMessage("user", said)],
                                                add_generation_prompt=True)
            turns.append(self.tok.encode(text[len(self._channel_text):] + CHANNEL_ANSWER))
        self.lm.select("channel")
        self.lm.truncate(self._channel_len)
        branches = [t + words for t in turns]
        self._tokens += sum(map(len, branches))
        out = np.zeros(len(lines))
        for i, (t, logits) in enumerate(zip(turns, self.lm.forward_branches(branches),
                                            strict=True)):
            lps = log_softmax(logits[len(t) - 1:-1])
            out[i] = float(lps[np.arange(len(words)), words].sum())
        return out

    def _pick(self, pool: list[int], logprobs: list[float]) -> int:
        if self.config.temperature <= 0:
            return pool[int(np.argmax(logprobs))]
        z = np.asarray(logprobs) / self.config.temperature
        p = np.exp(z - z.max())
        return pool[int(self.rng.choice(len(pool), p=p / p.sum()))]

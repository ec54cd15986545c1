"""The Neural Brain agent on DigitPick: hear or read the request, see the cubes, reason, plan, act.

Read top to bottom. Every stage is a ``neuralbrain.core.Module`` with its own backend, named in
the TOML and switchable with ``--set <module>.backend=...``:

    env.obs -> perception (event camera saccades -> in-sensor SNN: digit + world position
               of every cube)                            [in_sensor + neuromorphic]
            -> memory (plastic associative memory: which digit is where, kept across steps,
               so the camera only looks again when something changed)              [rram]
    env.obs -> listener (cochlea -> resistive-memory LSM -> contrastive projection: the
               spoken digit is the image prototype its embedding lands nearest to)   [rram]
    env.obs -> glance (the digit shown on the instruction image, read by the same SNN)
    env.obs -> language (the requested digit: heard, shown, or read from text by the LLM)
            -> reasoner (facts + rules: the target cube, what can be picked)  [logic_grid]
            -> planner (SmolLM2 scores skill calls, SayCan style, times feasibility)
                                                                       [cpu, or lut]
            -> control (IK skills execute the plan; report what moved)               [cpu]

Feedback runs through recurrent edges (``port@prev``): control tells memory what it moved and
the planner when to replan; memory tells perception when to look again.

The env's ``info`` gives the agent only the camera's calibration (its view and projection
matrices, to turn pixels into world positions); everything about the scene is perceived.

``train`` trains what is trainable: the perception SNN (as ``perception_task``, an
``insensor_nmnist`` config, says) into ``CK/perception`` and the listener's cross-modal
projections on FSDD through the cochlea and N-MNIST (``listener_task``) into
``CK/listener``. Without a data root the SNN trains on the embedded digits (the scikit-learn
digits DigitPick then shows, through the saccade emulator) and there is no listener: text and
image requests work, spoken ones say what is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from neuralbrain.config import ExperimentConfig
from neuralbrain.control.skills import SceneFacts, Skill, SkillConfig, make_skill
from neuralbrain.core import Agent, Module
from neuralbrain.errors import CheckpointError, ConfigError, Error
from neuralbrain.memory.plastic import AssociativeMemory, PlasticMemoryConfig
from neuralbrain.sensing.perception import Config as PerceptionConfig
from neuralbrain.sensing.perception import Perception, find_blobs, pixel_to_world

PLACES = ("location(tray)", "location(table)")  # where DigitPick's skills can put a cube
REST = "rest"  # control's report that the arm is back where it started, out of the camera's view
REST_TOLERANCE_M = 0.02
CUBE_SIZE_M = 0.06  # DigitPick's cubes (envs.scene.SceneGeometry.cube_size_m)
AUDIO_RATE_HZ = 8000  # DigitPick's audio observation: FSDD recordings at 8 kHz


# -- perception: look only when asked -------------------------------------------------------
@dataclass(frozen=True)
class TrayConfig:
    """How the tray is found among the event blobs: a large square outline (pixels)."""

    min_size_px: int = 61
    max_size_px: int = 160
    rim_z_m: float = 0.0  # the plane its pixel centre is projected on

    def __post_init__(self) -> None:
        if not 1 <= self.min_size_px <= self.max_size_px:
            raise ConfigError(f"tray.min_size_px = {self.min_size_px}, max_size_px = "
                              f"{self.max_size_px}: expected 1 <= min <= max")


class LookingPerception(Perception):
    """The in-sensor SNN perception, run only on steps where ``look`` is not False.

    A DVS sees nothing of a still scene; looking means making the three saccades and reading
    every cube, which is the expensive part of a step. The memory decides when that is needed.
    The same events also show the tray: the largest square blob of cube-detection's kind but
    of tray size (allowed to touch the image border), projected to the world like the cubes.
    """

    inputs = {**Perception.inputs, "look": object}
    outputs = {**Perception.outputs, "tray": object}

    def __init__(self, config: PerceptionConfig, hardware: Any, tray: TrayConfig) -> None:
        super().__init__(config, hardware)
        self.tray_detect = replace(config.detect, min_size_px=tray.min_size_px,
                                   max_size_px=tray.max_size_px, keep_cut=True,
                                   plane_z_m=tray.rim_z_m)

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        if inputs["look"] is False:
            return {"detections": None, "tray": None}
        events, info, size, offset = self.events(inputs)
        detections = self.detect(events, info, size, offset)
        tray = None
        blobs = find_blobs(events, size, self.tray_detect) if events.size and size else []
        if blobs:
            u, v, _ = max(blobs, key=lambda b: b[2])
            tray = pixel_to_world(u - offset[0], v - offset[1], info, size,
                                  self.tray_detect.plane_z_m)
        return {"detections": detections, "tray": tray}


# -- memory: what is where --------------------------------------------------------------------
@dataclass(frozen=True)
class MemoryConfig:
    backend: str = "rram"
    enabled: bool = True  # False: look every step (the ablation without plastic memory)
    plastic: PlasticMemoryConfig = field(default_factory=PlasticMemoryConfig)
    cube_top_z_m: float = CUBE_SIZE_M  # the plane the camera's detections are projected on


class SceneMemory(Module):
    """Keeps the digit and position of every cube seen, in a plastic associative memory.

    Writes (Hebbian delta rule, ``neuralbrain.memory.plastic``) are booked as cell programming
    on the backend (``cell_program`` on ``rram``), reads as matrix-vector products. Cubes are
    named ``cube_<k>`` in the order their digit was first seen. After a place, the moved cube
    is rewritten at the tool tip's position (no need to look); after a failed skill, or with
    the memory disabled, the camera looks again.
    """

    Config = MemoryConfig
    inputs = {"detections": object, "tray": object, "obs": object, "info": dict,
              "moved": object}
    outputs = {"facts": list, "scene": dict, "look": bool, "settling": bool}

    def __init__(self, config: MemoryConfig, hardware: Any = None) -> None:
        super().__init__(config, hardware)
        self.memory = AssociativeMemory(config.plastic)
        self.names: dict[int, str] = {}
        self.held: int | None = None
        self.refresh_all = True
        self.tray: np.ndarray | None = None
        self.set_aside: set[int] = set()  # digits of the cubes this agent put on the table

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self.memory.clear()
        self.names = {}
        self.held = None
        self.refresh_all = True
        self.tray: np.ndarray | None = None
        self.set_aside = set()

    def _write(self, digit: int, position: np.ndarray | None) -> None:
        cells = self.memory.write(digit, position)
        table = self.backend.energy_table.energy_j
        if "cell_program" in table:
            self.charge("cell_program", cells, op="write")
        else:  # a digital memory: a 4-byte word per cell written back
            self.charge("dram_byte" if "dram_byte" in table else sorted(table)[0], 4 * cells,
                        op="write")

    def _recall(self, digit: int) -> np.ndarray | None:
        """``W d`` computed on the backend (with its read noise, on rram), then decoded."""
        key = np.zeros(self.memory.weights.shape[1], np.float32)
        key[digit] = 1.0
        value = self.run("matmul", key, self.memory.weights.T.astype(np.float32))
        return self.memory.decode(value)

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        moved = inputs["moved"]
        detections = inputs["detections"]
        proprio = np.asarray(inputs["obs"]["proprio"])
        half = CUBE_SIZE_M / 2
        if moved is not None and moved["status"] == "done":
            if moved["skill"].startswith("pick"):
                self.held = moved["digit"]
            elif self.held is not None:  # placed: below the tip, resting on the table or tray
                tip = np.asarray(moved["tip"], np.float64)  # (the skill retreated upwards)
                self._write(self.held, np.array([tip[0], tip[1], half]))
                if moved["skill"] == "place(table)":
                    self.set_aside.add(self.held)
                self.held = None
        if detections is not None:
            # After an unstack the arm is still over the table: keep what memory knows and only
            # add cubes seen for the first time; a failed skill (or no memory) rewrites all.
            rewrite = self.refresh_all
            seen = set()
            for digit, _, _, world in sorted(detections, key=lambda d: (d[2][1], d[2][0])):
                if world is None or digit in seen or digit == self.held:
                    continue
                if digit in self.names and not rewrite:
                    continue
                seen.add(digit)
                self.names.setdefault(digit, f"cube_{len(self.names)}")
                centre = np.array([world[0], world[1], world[2] - half])
                self._write(digit, centre)
        if inputs["tray"] is not None and (self.tray is None or self.refresh_all):
            self.tray = np.asarray(inputs["tray"], np.float64)
        holding = bool(proprio[11] > 0.5) if proprio.size > 11 else self.held is not None
        places = PLACES if self.tray is not None else ("location(table)",)
        facts, positions, digits = list(places), {}, {}
        for digit, name in self.names.items():
            where = self._recall(digit)
            if where is None:
                continue
            positions[name], digits[name] = where, digit
            facts += [f"shows({name}, {digit})", f"reachable({name})"]
            if digit in self.set_aside:
                facts.append(f"set_aside({name})")
        if holding and self.held is not None and self.held in self.names:
            facts.append(f"holding({self.names[self.held]})")
        failed = moved is not None and moved["status"] == "failed"
        # look again when a skill failed, or once the arm is back at rest after a cube went to
        # the table (an unstack can uncover a cube nobody has seen yet; the arm hides it until
        # it has moved away)
        unstacked = moved is not None and moved["skill"] == REST and moved["status"] == "done"
        look = (not self.config.enabled or failed or unstacked or not self.names
                or self.tray is None)
        self.refresh_all = not self.config.enabled or failed or not self.names
        scene = {
            "positions": positions,
            "digits": digits,
            "tray_position": self.tray,
            "held": self.names.get(self.held) if self.held is not None else None,
        }
        # failed / unstacked: the scene has changed and the facts will too after this look
        return {"facts": facts, "scene": scene, "look": look, "settling": failed or unstacked}


# -- hearing and glancing: the requested digit from audio or from an image ------------------
@dataclass(frozen=True)
class ListenerConfig:
    """The spoken-digit pathway, as trained by ``listener_task`` (an ``agents.lsm`` config)."""

    backend: str = "rram"


class Listener(Module):
    """Cochlea -> LSM reservoir -> the digit spoken in ``obs["audio"]`` (or None).

    With an ``lsm_zeroshot`` task (``lsm_crossmodal.toml``, the default) the reservoir's
    features go through the contrastive audio projection and the heard digit is the image
    prototype the embedding lands nearest to (``agents.lsm.HeardDigit``): what was heard is
    matched with what digits look like to the event camera. With an ``lsm_fsdd`` task a linear
    readout classifies the features instead. Either way the reservoir, features and weights
    are exactly those the checkpoint was trained with; this module runs them once per
    episode, on its own backend.
    """

    Config = ListenerConfig
    inputs = {"obs": object}
    outputs = {"heard": object}

    def __init__(
        self, config: ListenerConfig, hardware: Any, task: Any, arrays: dict | None
    ) -> None:
        super().__init__(config, hardware)
        from neuralbrain.memory import readout
        from neuralbrain_agents.lsm import HeardDigit, _unprefixed, make_reservoir

        self.crossmodal = task.agent == "lsm_zeroshot"
        table = "audio_reservoir" if self.crossmodal else "reservoir"
        reservoir_cfg = replace(getattr(task.modules, table), backend=config.backend)
        self.task = replace(task, modules=replace(task.modules, **{table: reservoir_cfg}))
        self.reservoir = make_reservoir(self.task, table)
        self.ledger = self.reservoir.ledger  # the reservoir books its ops on this module's rows
        self.decide = None
        if arrays is not None:
            silence = np.zeros((1, task.modules.audio.n_steps, reservoir_cfg.n_inputs), np.uint8)
            features = self._features(silence).shape[1]
            if self.crossmodal:
                heard = HeardDigit.from_arrays(task.modules.projection, arrays, features)
                self.decide = lambda x: heard(x, self._matmul)
            else:
                head = readout.Readout(task.modules.readout, features, 10)
                head.load_state(_unprefixed("readout", arrays))
                self.decide = head.predict
        self.ledger.reset()
        self.heard: int | None = None
        self.done = False

    def _matmul(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """The projection's products on this module's backend (booked with the reservoir's)."""
        return self.run("matmul", np.asarray(x, np.float32), np.asarray(w, np.float32))

    def _features(self, binned: np.ndarray) -> np.ndarray:
        from neuralbrain_agents.lsm import LsmFsdd, LsmZeroShot

        features = LsmZeroShot.audio_features if self.crossmodal else LsmFsdd.features
        return features(self.task, self.reservoir, binned)

    def on_backend_change(self) -> None:
        self.reservoir.to(self.backend.name)

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self.reservoir.reset(seed)
        self.heard, self.done = None, False

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        if not self.done:
            self.done = True
            audio = np.asarray(inputs["obs"]["audio"], np.float64)
            if np.abs(audio).max() > 0:
                from neuralbrain.memory.tasks import audio_to_binned

                if self.decide is None:
                    raise CheckpointError(
                        "a spoken instruction needs the trained listener, and the checkpoint "
                        "has none (it was trained without data): run `neuralbrain train CONFIG "
                        "--out CK` with $NEURALBRAIN_DATA holding fsdd/ and pass --checkpoint CK")
                binned = audio_to_binned(audio, AUDIO_RATE_HZ, self.task.modules.audio)
                self.heard = int(self.decide(self._features(binned[None]))[0])
        return {"heard": self.heard}


class Glance(Module):
    """The digit shown on ``obs["instruction_image"]`` (or None), read by the perception SNN.

    The image is looked at the way N-MNIST was recorded: the saccade emulator turns it into
    a 34x34 event recording, which the same in-sensor SNN as the scene's cubes classifies.
    """

    Config = PerceptionConfig
    inputs = {"obs": object}
    outputs = {"shown": object}

    def __init__(self, config: PerceptionConfig, hardware: Any = None) -> None:
        super().__init__(config, hardware)
        self.eye = Perception(config, hardware)
        self.ledger = self.eye.ledger
        self.shown: int | None = None
        self.done = False

    def on_backend_change(self) -> None:
        self.eye.to(self.backend.name)

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self.eye.reset(seed)
        self.shown, self.done = None, False

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        if not self.done:
            self.done = True
            image = np.asarray(inputs["obs"]["instruction_image"])
            if image.any():
                from neuralbrain.sensing.saccade import Saccades

                events = Saccades()(image, seed=int(self.rng.integers(2**31)))
                probs = self.eye.classify(self.eye.counts(events)[None])
                self.shown = int(np.argmax(probs[0]))
        return {"shown": self.shown}


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


def requested(inputs: Mapping[str, Any]) -> int | None:
    """The digit of a spoken or shown request (None for a written one)."""
    return inputs["heard"] if inputs["heard"] is not None else inputs["shown"]


# -- reasoning: facts + rules -> target and feasibility ----------------------------------------
@dataclass(frozen=True)
class ReasonerConfig:
    backend: str = "logic_grid"


class SceneReasoner(Module):
    """The GL reasoner over the scene facts with the DigitPick rules (``theories/digitpick.mpl``).

    Rules such as ``target(C) <- shows(C, D), heard(D)`` and "a cube can be picked if it is
    reachable, nothing rests on it and the hand is empty" derive the target cube from the
    requested digit; the derived ``target(...)`` facts are passed on to the planner. Facts are
    asserted and retracted as the scene changes, and the rule engine runs (and books its
    messages and unifications on the backend, ``logic_grid`` by default) only then.
    """

    Config = ReasonerConfig
    inputs = {"facts": list, "digit": object}
    outputs = {"facts": list}

    def __init__(self, config: ReasonerConfig, hardware: Any = None) -> None:
        super().__init__(config, hardware)
        self._build()

    def _build(self) -> None:
        from neuralbrain.reasoning.gl.agent import digitpick_reasoner

        self.reasoner = digitpick_reasoner(self.backend, self.ledger)
        self.given: set[str] = set()
        self.derived: list[str] = []
        self.covering: list[str] = []

    def on_backend_change(self) -> None:
        self._build()

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self._build()

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        given = set(inputs["facts"])
        digit = inputs["digit"]
        if digit is not None:  # the rules call the request's digit "heard", however it came
            given.add(f"heard({digit})")
        if given != self.given:
            for fact in sorted(self.given - given):
                self.reasoner.retract_fact(fact)
            for fact in sorted(given - self.given):
                self.reasoner.assert_fact(fact)
            self.given = given
            answers = self.reasoner.query("target(?c)")["answers"]
            self.derived = [a["bindings"]["?c"] for a in answers]
            self.covering = []
            if not self.derived and digit is not None:
                answers = self.reasoner.query("may_cover(?c)")["answers"]
                self.covering = [a["bindings"]["?c"] for a in answers]
        return {"facts": relevant(inputs["facts"], self.derived, digit is not None,
                                  self.covering)}


# -- planning: the LLM, asked again only when the last plan ran out or failed -----------------
def _planner_module():
    from neuralbrain.reasoning.planner.planner import LlmPlanner

    class GatedPlanner(LlmPlanner):
        """The LLM planner, run at the first step and whenever control asks to replan (once
        memory has looked at the changed scene)."""

        inputs = {**LlmPlanner.inputs, "replan": object, "settling": object}

        def reset(self, seed: int = 0) -> None:
            super().reset(seed)
            self.current: list[str] = []
            self.planned_on: list[str] | None = None
            self.asked = False  # control asked for a plan: kept until there are facts to plan on

        def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
            facts = inputs["facts"]
            self.asked = self.asked or inputs["replan"] is not False
            stuck = not self.current and facts != self.planned_on
            # while memory is looking at a changed scene, wait for the facts it will give
            if facts and (self.asked or stuck) and not inputs["settling"]:
                self.current = self.plan(inputs["instruction"], facts).plan
                self.planned_on = list(facts)
                self.asked = False
            return {"plan": self.current}  # the same list until the next plan

    return GatedPlanner


@dataclass(frozen=True)
class LanguageConfig:
    """How the request becomes a digit and a sentence for the planner."""

    backend: str = "lut"
    model_path: str = ""  # "" = the shipped SmolLM2-135M-Instruct
    system: str = ("You read a request to a robot and answer with the single digit (0-9) of "
                   "the number the request asks for.")
    heard_template: str = "Put the cube showing the number {digit} in the tray."


class Language(Module):
    """The requested digit and the request as text, once per episode.

    A spoken or shown request already gives the digit (listener, glance). A written request
    is read by the LLM: after the question "which number does it ask for?" the ten answers
    "0".."9" are scored by their log-likelihood (one prefill on this module's backend) and the
    most likely wins. Number words, digits, synonyms and other phrasings are the LLM's job;
    nothing parses the text by rule. Once the digit is known, the planner gets the request in
    one wording (``heard_template``: every DigitPick request asks for the tray), since the
    small planner LLM is sensitive to phrasing ("the tray needs the cube marked 5" made it
    choose the table).
    """

    Config = LanguageConfig
    inputs = {"obs": object, "heard": object, "shown": object}
    outputs = {"digit": object, "instruction": str}

    def __init__(self, config: LanguageConfig, hardware: Any = None) -> None:
        super().__init__(config, hardware)
        from neuralbrain.reasoning.planner.planner import _load

        self.gguf, self.tok = _load(config.model_path)
        self._build()

    def _build(self) -> None:
        from neuralbrain.reasoning.planner.llama import LlamaModel

        self.lm = LlamaModel(self.gguf, self.backend, self.ledger, n_ctx=256)

    def on_backend_change(self) -> None:
        self._build()

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self.result: dict[str, Any] | None = None

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        if self.result is None:
            text = str(inputs["obs"]["instruction"])
            digit = requested(inputs)
            if digit is None and text.strip():
                digit = self.read_digit(text)
            if digit is not None:  # the planner gets the request in one canonical wording
                text = self.config.heard_template.format(digit=digit)
            self.result = {"digit": digit, "instruction": text}
        return dict(self.result)

    def read_digit(self, request: str) -> int:
        from neuralbrain.reasoning.planner.planner import log_softmax
        from neuralbrain.reasoning.planner.tokenizer import ChatMessage

        prompt = self.tok.apply_chat_template(
            [ChatMessage("system", self.config.system),
             ChatMessage("user", f"Request: {request.strip()}\nWhich number does it ask for?")],
            add_generation_prompt=True,
        ) + "The number is "
        self.lm.reset()
        logits = log_softmax(self.lm.forward(self.tok.encode(prompt))[-1])
        answers = [self.tok.encode(str(d))[0] for d in range(10)]
        return int(np.argmax(logits[answers]))


# -- control: execute the plan with IK skills ----------------------------------------------
@dataclass(frozen=True)
class ControlConfig:
    backend: str = "cpu"
    skills: SkillConfig = field(default_factory=SkillConfig)


class PlanControl(Module):
    """Runs the plan's calls one after the other; reports each finished or failed skill.

    After ``place(table)`` (a cube moved aside) the arm first returns to where it started the
    episode, out of the camera's way, and reports ``rest`` done; only then does the plan go on
    or a new plan get asked for.
    """

    Config = ControlConfig
    inputs = {"plan": list, "scene": dict, "obs": object}
    outputs = {"action": np.ndarray, "moved": object, "replan": bool}

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self.skill: Skill | None = None
        self.call = ""
        self.index = 0
        self.plan: list[str] = []
        self.home: np.ndarray | None = None  # the tip where the episode started
        self.resting = False

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        proprio = np.asarray(inputs["obs"]["proprio"])
        scene = inputs["scene"]
        moved = None
        if self.home is None:
            self.home = proprio[7:10].copy()
        if inputs["plan"] is not self.plan:  # a new plan (possibly equal to the last one)
            self.plan, self.index, self.skill = inputs["plan"], 0, None
        if self.skill is not None and (self.skill.done or self.skill.failed):
            status = "done" if self.skill.done else "failed"
            digit = scene["digits"].get(self.call.removeprefix("pick(").rstrip(")"))
            moved = {"skill": self.call, "status": status, "digit": digit,
                     "tip": proprio[7:10].copy(), "reason": self.skill.reason}
            self.skill = None
            self.index = self.index + 1 if status == "done" else len(self.plan)
            self.resting = status == "done" and self.call == "place(table)"
        elif self.resting and np.linalg.norm(proprio[7:10] - self.home) < REST_TOLERANCE_M:
            self.resting = False
            moved = {"skill": REST, "status": "done", "digit": None,
                     "tip": proprio[7:10].copy(), "reason": ""}
        if self.resting:
            self.charge("alu_op", 3, op="skill_step")  # a straight move: one target per axis
            action = np.append(self.home, -1.0)
            return {"action": np.asarray(action, np.float32), "moved": moved, "replan": False}
        if self.skill is None and self.index < len(self.plan) and scene["tray_position"] is not None:
            self.call = self.plan[self.index]
            try:
                self.skill = self._make(self.call, scene, proprio)
            except Error as err:  # a call the skills cannot run: fail it, ask for a new plan
                moved = {"skill": self.call, "status": "failed", "digit": None,
                         "tip": proprio[7:10].copy(), "reason": str(err)}
                self.index = len(self.plan)
        if self.skill is None:  # nothing to do: hold still, suction as it is
            action = np.append(proprio[7:10], 1.0 if proprio[10] > 0.5 else -1.0)
        else:
            action = self.skill.step(proprio)
            self.charge("alu_op", self.skill.ops_per_step, op="skill_step")
        replan = moved is not None and self.index >= len(self.plan)
        return {"action": np.asarray(action, np.float32), "moved": moved, "replan": replan}

    def _make(self, call: str, scene: Mapping[str, Any], proprio: np.ndarray) -> Skill:
        names = sorted(scene["positions"], key=lambda n: int(n.split("_")[1]))
        # skills index cubes by position in this list; rename the call accordingly
        if call.startswith("pick("):
            target = call[5:-1]
            if target in names:
                call = f"pick(cube_{names.index(target)})"
        held = scene["held"]
        facts = SceneFacts(
            cube_positions=np.array([scene["positions"][n] for n in names]).reshape(-1, 3),
            tray_position=scene["tray_position"],
            holding=names.index(held) if held in names else -1,
            cube_size_m=CUBE_SIZE_M,
        )
        skill = make_skill(call, facts, self.config.skills, proprio[7:9])
        self.charge("alu_op", skill.setup_ops, op="skill_setup")
        return skill


# -- the assembly ------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlannerTable:
    backend: str = "lut"
    model_path: str = ""
    mode: str = "score"
    max_steps: int = 2
    n_ctx: int = 1024


@dataclass(frozen=True)
class NeuralBrainConfig:
    perception: PerceptionConfig = field(default_factory=PerceptionConfig)
    tray: TrayConfig = field(default_factory=TrayConfig)
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    listener: ListenerConfig = field(default_factory=ListenerConfig)
    reasoner: ReasonerConfig = field(default_factory=ReasonerConfig)
    language: LanguageConfig = field(default_factory=LanguageConfig)
    planner: PlannerTable = field(default_factory=PlannerTable)
    control: ControlConfig = field(default_factory=ControlConfig)
    listener_task: str = "agents/configs/lsm_crossmodal.toml"
    perception_task: str = "agents/configs/insensor_nmnist.toml"


def _listener_task(cfg: ExperimentConfig) -> ExperimentConfig:
    from neuralbrain.config import load_task

    return load_task(cfg, "listener_task", ("lsm_zeroshot", "lsm_fsdd"))


class NeuralBrain(Agent):
    """Event camera + in-sensor SNN, cochlea + RRAM LSM, rules, LLM planner, IK skills."""

    Config = NeuralBrainConfig

    @classmethod
    def train(cls, cfg: ExperimentConfig, out: Path, data_root: Path | None, resume: bool) -> dict:
        from neuralbrain.core import agent_class
        from neuralbrain_agents.insensor import train_perception

        out = Path(out)
        task = _listener_task(cfg)  # a wrong listener_task fails before minutes of training
        report = {"perception": train_perception(cfg, out / "perception", data_root, resume)}
        if data_root is None:
            # Spoken requests need FSDD: without data the agent takes text and image requests.
            print("no data root: the listener is not trained (spoken requests need FSDD)",
                  flush=True)
            report["listener"] = None
        else:
            report["listener"] = agent_class(task.agent).train(
                task, out / "listener", data_root, resume)
        return report

    @classmethod
    def from_config(cls, cfg: ExperimentConfig, checkpoint: Path | None = None) -> NeuralBrain:
        from neuralbrain.reasoning.planner.planner import PlannerConfig
        from neuralbrain_agents.lsm import load_checkpoint

        m = cfg.modules
        if checkpoint is None:
            raise CheckpointError(
                f"agent {cfg.agent!r} needs --checkpoint: the output of `neuralbrain train "
                f"{cfg.source or 'CONFIG'} --out CK` (its perception SNN and listener)")
        task = _listener_task(cfg)
        listener_dir = Path(checkpoint) / "listener"
        arrays = None  # trained without data: no listener, spoken requests raise CheckpointError
        if listener_dir.exists():
            arrays = load_checkpoint(listener_dir, task)[0]
        perception = m.perception
        if not perception.weights:
            from neuralbrain_agents.insensor import CHECKPOINT

            perception = replace(perception, weights=str(Path(checkpoint) / "perception" / CHECKPOINT))
        planner_cls = _planner_module()
        modules = {
            "perception": LookingPerception(perception, cfg.hardware, m.tray),
            "memory": SceneMemory(m.memory, cfg.hardware),
            "listener": Listener(m.listener, cfg.hardware, task, arrays),
            "glance": Glance(perception, cfg.hardware),
            "language": Language(m.language, cfg.hardware),
            "reasoner": SceneReasoner(m.reasoner, cfg.hardware),
            "planner": planner_cls(PlannerConfig(
                backend=m.planner.backend, model_path=m.planner.model_path, mode=m.planner.mode,
                max_steps=m.planner.max_steps, n_ctx=m.planner.n_ctx), cfg.hardware),
            "control": PlanControl(m.control, cfg.hardware),
        }
        edges = [
            ("env.obs", "perception.obs"),
            ("env.info", "perception.info"),
            ("memory.look@prev", "perception.look"),
            ("perception.detections", "memory.detections"),
            ("perception.tray", "memory.tray"),
            ("env.obs", "memory.obs"),
            ("env.info", "memory.info"),
            ("control.moved@prev", "memory.moved"),
            ("env.obs", "listener.obs"),
            ("env.obs", "glance.obs"),
            ("env.obs", "language.obs"),
            ("listener.heard", "language.heard"),
            ("glance.shown", "language.shown"),
            ("memory.facts", "reasoner.facts"),
            ("language.digit", "reasoner.digit"),
            ("language.instruction", "planner.instruction"),
            ("reasoner.facts", "planner.facts"),
            ("control.replan@prev", "planner.replan"),
            ("memory.settling", "planner.settling"),
            ("planner.plan", "control.plan"),
            ("memory.scene", "control.scene"),
            ("env.obs", "control.obs"),
            ("control.action", "action"),
        ]
        return cls(modules, edges)

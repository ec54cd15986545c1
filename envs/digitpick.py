"""DigitPick: do what a request asks with the digit cubes on the table, or say it cannot be done.

A KUKA iiwa (``kuka_iiwa/model.urdf`` from ``pybullet_data``) stands at a table with 3-5
cubes (count drawn from the seed unless ``n_cubes`` is given; a kind needing more takes
more) whose top faces show digit images (scikit-learn's 8x8 digits, or MNIST test digits
when ``$NEURALBRAIN_DATA`` has them), and a tray.

Tasks (``task``, default ``"single"``): each reset draws a
``neuralbrain.reasoning.requests.Task`` of that kind from the env's seeded ``np_random``
(the same generator the standalone plan suite uses), and the scene is built from it
(``envs.scene.sample_layout``): its digits (unique within the scene), its stacks (a cube
resting on another stands exactly on it; ``covered`` puts the target under one or two
cubes), and a cube it puts out of reach (``impossible``) stands on the table in the
camera's view but beyond the arm's reach (``SceneGeometry.place_reach_m``, 0.74 m, from
the base at the origin; the suction does not grip a cube that far out). Kinds:
``single`` (one digit to the tray), ``several`` (two or three, any order), ``covered``
(one, under others: unstack first), ``relational`` ("the largest even number"),
``ordered`` (two or three stacked in the tray in the order given, the first at the
bottom), ``impossible`` (the digit is on no cube, or its cube is out of reach: the answer
is "cannot"), ``mixed`` (one of these, drawn from the seed). Only ``single`` also stacks
one cube on another at random (``stack_prob``), as the scene always did.

The request is given as text (``task.request``), as an FSDD recording of a speaker saying
the digit (``instruction="speech"``), or as a different image of the digit
(``instruction="image"``). Speech and image name one digit (``Task.named_digit``; for an
impossible task it may be a digit no cube shows), so they take only the one-digit kinds
(``single``, ``covered``, ``impossible``) or ``mixed``, which then draws its kind among
those three; any other task with them is a ``ConfigError`` at construction.

Gripper: a suction cup, modelled the usual way in simulation: while the gripper command is
on, the first time the tool tip is within 1.5 cm above a cube's top face (and over it), a
fixed constraint attaches that cube to the flange (not a cube beyond the reach plus
``GRIP_REACH_MARGIN_M``); turning the gripper off removes it.

Observation (``spaces.Dict``, same keys in every mode):
  ``image``             uint8 (S, S, 3) overhead RGB camera (image up = world +x).
  ``depth``             float32 (S, S): height above the table (m, 0 = table) of the
                        surface each pixel sees, from the camera's depth buffer (a cube on
                        the table tops at one cube size, the top of a stack at two or three).
  ``proprio``           float32 (12,), ``neuralbrain.control.arm.Proprio``: 7 joint angles
                        (rad), tool-tip xyz (m), suction on (0/1), holding a cube (0/1).
  ``instruction``       ``spaces.Text``: the request (text mode) or a neutral sentence
                        that does not reveal the digit (speech / image modes).
  ``audio``             float32 (8000,): 1 s at 8 kHz, zero-padded/clipped; zeros unless
                        speech mode.
  ``instruction_image`` uint8 (28, 28); zeros unless image mode.
Action: ``Box(5)``: tool-tip target x, y, z (clipped to the workspace bounds; the commanded
point moves at most ``max_ee_step_m`` from the current tip per step), gripper command
(> 0 = suction on) and "cannot" (> 0 = the agent reports that the request cannot be done;
``neuralbrain.control.skills.arm_action`` builds the vector). Each step: IK -> joint
position targets -> ``physics_hz/control_hz`` physics substeps.

Success (reward 1.0 and ``terminated``), judged from the simulator's state after the step:
  - a tray goal: exactly the goal's cubes are in the tray (centre inside the tray's inner
    footprint, below the tray floor plus three cubes, so a stack three high counts; not
    held), every one at rest (speed < 5 cm/s); for ``ordered`` they form one stack in the
    goal's order, the first on the tray floor and each on the one before.
  - a "cannot" report ends the episode (``terminated``) whatever the task: a success only
    when the goal is ``cannot``, no cube is held and none moved more than 1 cm from where it
    stood after reset; on a possible task it is a failure (reward 0).

``info`` (privileged, for oracles and evaluation): ``task_kind`` (the kind drawn, also
under ``mixed``), ``request`` (the written request, in every mode), ``goal_tray`` (the
digits for the tray, in order), ``goal_ordered``, ``goal_cannot`` (the reason the request
cannot be done, "" when it can), ``target_digit`` and ``target_cube`` (the first goal
digit and its cube; for an impossible task the digit named and its cube, -1 when no cube
shows it), ``cube_digits``, ``cube_reachable`` (per cube), ``cube_positions`` (n x 3),
``on_top_of`` (per cube, the cube it rests on or -1), ``holding`` (held cube or -1),
``tray_stack`` (the cubes in the tray, bottom to top by height), ``tray_position``,
``sim_time_s``, ``is_success``, ``cannot_reported``, ``n_cubes``, ``cube_samples`` (bank
index of each cube's digit image), ``instruction_source`` ("text", "fsdd:<file>.wav", or
"<bank>:<index>" of the instruction image), ``physics_time_s`` (including the settling
steps of reset), and the camera's ``view_matrix`` / ``projection_matrix`` (also
``env.camera``, whose ``pixel_to_world`` maps pixels to the table plane or any height).
Not privileged: ``workspace``, the ``neuralbrain.control.arm.Workspace`` the skills plan in
(cube size, tray size, the table region where a cube may be set down, the arm's reach),
which an agent is told as it is told the camera's calibration.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from neuralbrain.control.arm import Proprio, Workspace
from neuralbrain.control.ik import IKConfig, IKSolver
from neuralbrain.control.skills import ACTION_SIZE, TRAY_LEVELS, SceneFacts
from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.reasoning import requests as R
from neuralbrain_envs import digits as D
from neuralbrain_envs import instructions as I_
from neuralbrain_envs.camera import Camera, overhead_camera
from neuralbrain_envs.scene import (
    TABLE_RGB,
    SceneBodies,
    SceneGeometry,
    TextureCache,
    build_scene,
    sample_layout,
)

INSTRUCTION_MODES = ("text", "speech", "image")
SPOKEN_TASKS = (*R.ONE_DIGIT_KINDS, "mixed")  # tasks allowed with speech / image requests
MAX_CUBES = R.MAX_CUBES
# ACTION_SIZE (5) and TRAY_LEVELS (3) come from the skills, which act in this world: one
# definition of the action's layout and of the tray's height.
CANNOT = 4  # index of the "cannot" report in the action
# A "cannot" report is right only if the scene is as it was: no cube moved farther than this.
UNTOUCHED_M = 0.01
MAX_DEPTH_M = 2.0  # bound of the depth observation (the camera is 1.8 m up)
ROBOT_URDF = "kuka_iiwa/model.urdf"
ARM_JOINTS = tuple(range(7))
EE_LINK = 6
AUDIO_SAMPLES = 8000
PROPRIO_DIM = Proprio.SIZE
# Suction window: the tip must be over the top face and at most this far above it.
SUCTION_REACH_M = 0.015
# The suction grips no cube whose centre is farther than the arm's reach plus this from the
# base (xy): the iiwa's links would still get the tip over a cube a task puts out of reach
# (within ~1 cm, 0.77-0.79 m out), and "out of reach" must mean it cannot be taken. Every
# cube of the strip (<= 0.744 m out) and every table spot of place(table) (<= the reach) is
# nearer than this.
GRIP_REACH_MARGIN_M = 0.015
REST_SPEED_M_S = 0.05
# Joint angles stay inside the iiwa's limits (< 3.06 rad), the tip inside the arm's reach.
PROPRIO_LOW = np.array([-2 * np.pi] * 7 + [-2.0, -2.0, -1.0, 0.0, 0.0], dtype=np.float32)
PROPRIO_HIGH = np.array([2 * np.pi] * 7 + [2.0, 2.0, 2.0, 1.0, 1.0], dtype=np.float32)


@contextlib.contextmanager
def _native_output_silenced() -> Iterator[None]:
    """Silence what C code writes to file descriptors 1 and 2 (Python's own streams are
    flushed first and restored after): pybullet writes its build banner and ``argv[0]=`` on
    import and connect, which would interleave with progress bars and JSON output."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


@dataclass(frozen=True)
class DigitPickConfig:
    """Constructor kwargs of ``DigitPickEnv`` (validated; unknown keys are errors)."""

    task: str = "single"
    n_cubes: int | None = None
    min_cubes: int = 3
    max_cubes: int = 5
    stack_prob: float = 0.3
    instruction: str = "text"
    image_size: int = 128
    digit_source: str = "auto"
    data_root: str | None = None
    speakers: tuple[str, ...] | None = None
    takes: tuple[int, ...] | None = None
    physics_hz: int = 240
    control_hz: int = 24
    max_ee_step_m: float = 0.05
    motor_force_n: float = 300.0

    def __post_init__(self) -> None:
        def bad(name: str, expected: str) -> ConfigError:
            return ConfigError(f"DigitPickEnv {name}={getattr(self, name)!r}: expected {expected}")

        def is_int(v: Any) -> bool:
            return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

        try:
            R.check_kind(self.task)
        except (ConfigError, TypeError):  # TypeError: an unhashable value such as a list
            raise bad("task", f"one of {list(R.TASK_KINDS)}") from None
        if self.instruction in ("speech", "image") and self.task not in SPOKEN_TASKS:
            raise ConfigError(
                f"DigitPickEnv task={self.task!r} with instruction={self.instruction!r}: expected "
                f"a task in {list(SPOKEN_TASKS)} (only those name one digit, which a recording "
                "says or an image shows) or instruction='text'")
        for name in ("min_cubes", "max_cubes"):
            v = getattr(self, name)
            if not is_int(v) or not 1 <= v <= MAX_CUBES:
                raise bad(name, f"an int in [1, {MAX_CUBES}]")
        if self.min_cubes > self.max_cubes:
            raise bad("min_cubes", f"<= max_cubes ({self.max_cubes})")
        if self.n_cubes is not None and (not is_int(self.n_cubes) or not 1 <= self.n_cubes <= MAX_CUBES):
            raise bad("n_cubes", f"None or an int in [1, {MAX_CUBES}]")
        if not (isinstance(self.stack_prob, (int, float)) and 0.0 <= self.stack_prob <= 1.0):
            raise bad("stack_prob", "a probability in [0, 1]")
        if self.instruction not in INSTRUCTION_MODES:
            raise bad("instruction", f"one of {list(INSTRUCTION_MODES)}")
        if not is_int(self.image_size) or not 32 <= self.image_size <= 512:
            raise bad("image_size", "an int in [32, 512] (pixels per side)")
        if self.digit_source not in D.DIGIT_SOURCES:
            raise bad("digit_source", f"one of {list(D.DIGIT_SOURCES)}")
        if self.speakers is not None and (
            isinstance(self.speakers, str)
            or not all(isinstance(s, str) for s in self.speakers)
            or not self.speakers
        ):
            raise bad("speakers", "None or a non-empty sequence of speaker names")
        if self.takes is not None and (not self.takes or not all(is_int(t) and t >= 0 for t in self.takes)):
            raise bad("takes", "None or a non-empty sequence of take numbers >= 0")
        if not is_int(self.physics_hz) or self.physics_hz < 60:
            raise bad("physics_hz", "an int >= 60")
        if not is_int(self.control_hz) or not (
            1 <= self.control_hz <= self.physics_hz and self.physics_hz % self.control_hz == 0
        ):
            raise bad("control_hz", f"an int dividing physics_hz ({self.physics_hz})")
        if not (isinstance(self.max_ee_step_m, (int, float)) and 0 < self.max_ee_step_m <= 0.5):
            raise bad("max_ee_step_m", "a distance in (0, 0.5] m")
        if not (isinstance(self.motor_force_n, (int, float)) and self.motor_force_n > 0):
            raise bad("motor_force_n", "a force > 0")
        if self.n_cubes is not None:
            # a kind needs a few cubes (several: three); find out now, not at the first reset
            for kind in self.kinds:
                try:
                    R.draw_task(kind, np.random.default_rng(0), self.n_cubes)
                except ConfigError as err:
                    raise ConfigError(f"DigitPickEnv task={self.task!r} with n_cubes="
                                      f"{self.n_cubes}: {err}") from None

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds an episode may draw: the task's, or for ``mixed`` every kind (only the
        one-digit kinds when the request is spoken or shown)."""
        if self.task != "mixed":
            return (self.task,)
        return R.ONE_DIGIT_KINDS if self.instruction != "text" else R.KINDS

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> DigitPickConfig:
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - fields)
        if unknown:
            raise ConfigError(f"DigitPickEnv got unknown kwargs {unknown}: expected some of {sorted(fields)}")
        kw = dict(kwargs)
        for k in ("speakers", "takes"):  # accept lists (TOML) as well as tuples
            if isinstance(kw.get(k), list):
                kw[k] = tuple(kw[k])
        return cls(**kw)


class DigitPickEnv(gym.Env):
    """Gymnasium env ``neuralbrain/DigitPick-v0`` (see the module docstring)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 24}

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(f"DigitPickEnv render_mode={render_mode!r}: expected None or 'rgb_array'")
        self.config = cfg = DigitPickConfig.from_kwargs(kwargs)
        self.render_mode = render_mode
        self.metadata = {**self.metadata, "render_fps": cfg.control_hz}
        self.geometry = g = SceneGeometry()
        self.workspace = Workspace(
            cube_size_m=g.cube_size_m, tray_inner_half_m=g.tray_inner_half_m,
            tray_outer_half_m=g.tray_inner_half_m + g.tray_wall_m, tray_floor_m=g.tray_floor_m,
            table_region=g.place_region, reach_xy_m=g.place_reach_m)
        self._root = D.data_root_from_env(cfg.data_root)
        self._source = D.resolve_source(cfg.digit_source, self._root)
        self._speech = (
            D.fsdd_index(self._root, cfg.speakers, cfg.takes) if cfg.instruction == "speech" else None
        )
        self._bank: D.DigitBank | None = None  # loaded on first reset (sklearn import is slow)
        self.camera: Camera = overhead_camera(
            g.camera_center_xy,
            g.camera_height_m,
            g.camera_view_width_m,
            cfg.image_size,
            cfg.image_size,
        )
        # Nothing in the scene is below the table plane: deeper pixels are empty background.
        self._table_depth = float(self.camera.depth_buffer_value(np.array([*g.camera_center_xy, 0.0]))) + 1e-5
        self._near, self._far = _near_far(self.camera.projection)
        self.view_matrix = self.camera.view
        self.projection_matrix = self.camera.projection
        self.substeps = cfg.physics_hz // cfg.control_hz
        self.dt_s = 1.0 / cfg.control_hz

        s = cfg.image_size
        self.observation_space = spaces.Dict(
            {
                "image": spaces.Box(0, 255, (s, s, 3), np.uint8),
                "proprio": spaces.Box(PROPRIO_LOW, PROPRIO_HIGH, dtype=np.float32),
                "instruction": spaces.Text(max_length=I_.MAX_LENGTH, min_length=1, charset=I_.CHARSET),
                "audio": spaces.Box(-1.0, 1.0, (AUDIO_SAMPLES,), np.float32),
                "instruction_image": spaces.Box(0, 255, (28, 28), np.uint8),
                "depth": spaces.Box(0.0, MAX_DEPTH_M, (s, s), np.float32),
            }
        )
        low = np.array([*g.action_low, -1.0, -1.0], dtype=np.float32)
        high = np.array([*g.action_high, 1.0, 1.0], dtype=np.float32)
        self.action_space = spaces.Box(low, high, dtype=np.float32)
        self._act_low, self._act_high = low[:3].astype(np.float64), high[:3].astype(np.float64)

        self._client = None
        self._textures: TextureCache | None = None
        self._bodies: SceneBodies | None = None
        self._ik: IKSolver | None = None
        self._rest_pose: np.ndarray | None = None
        self._frame: np.ndarray | None = None

    # ------------------------------------------------------------------ physics client
    def _connect(self) -> None:
        with _native_output_silenced():  # pybullet prints its build banner and argv[0]
            import pybullet as pb
            import pybullet_data
            from pybullet_utils.bullet_client import BulletClient

            self._client = BulletClient(connection_mode=pb.DIRECT)
        self._client.setAdditionalSearchPath(pybullet_data.getDataPath())
        self._textures = TextureCache(self._client)
        self._pb = pb

    def _rest(self) -> np.ndarray:
        """Joint angles with the tip at the rest point, pointing down (IK from zero pose)."""
        if self._rest_pose is None:
            c = self._client
            robot = c.loadURDF(ROBOT_URDF, (0, 0, 0), useFixedBase=True)
            ik = IKSolver(c, robot, ARM_JOINTS, EE_LINK, np.zeros(7), IKConfig(max_iterations=200))
            q = np.zeros(7)
            for _ in range(5):  # IK starts from the current state: iterate to convergence
                q = ik.solve(np.array(self.geometry.rest_tip_xyz))
                for j, a in enumerate(q):
                    c.resetJointState(robot, j, float(a))
            self._rest_pose = q
            c.removeBody(robot)
        return self._rest_pose

    # ------------------------------------------------------------------ gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        cfg, g, rng = self.config, self.geometry, self.np_random
        if self._client is None:
            self._connect()
        if self._bank is None:
            self._bank = D.load_bank(self._source, str(self._root) if self._root else None)
        c = self._client
        rest = self._rest()
        kind = cfg.task  # draw_task draws a mixed task's kind itself...
        if kind == "mixed" and cfg.instruction != "text":
            # ...but among every kind; a spoken or shown request can only name one digit
            kind = R.ONE_DIGIT_KINDS[int(rng.integers(len(R.ONE_DIGIT_KINDS)))]
        task = R.draw_task(kind, rng, cfg.n_cubes, cfg.min_cubes, cfg.max_cubes)
        layout = sample_layout(rng, task, cfg.stack_prob, self._bank, g)
        self._task, self._layout = task, layout
        self._goal_cubes = [task.cube_of(d) for d in task.goal.tray]
        self._instruction, self._audio, self._instr_image = self._make_instruction(task, layout, rng)

        # A fresh world each episode: identical state for identical seeds, whatever ran before.
        c.resetSimulation()
        c.setGravity(0, 0, -9.81)
        c.setTimeStep(1.0 / cfg.physics_hz)
        self._textures.clear()  # resetSimulation dropped them
        tex = self._textures.get_many(self._bank, layout.samples)
        self._bodies = build_scene(c, g, layout, tex, ROBOT_URDF, rest)
        self._ik = IKSolver(c, self._bodies.robot, ARM_JOINTS, EE_LINK, rest)
        pb = self._pb
        c.setJointMotorControlArray(
            self._bodies.robot,
            ARM_JOINTS,
            pb.POSITION_CONTROL,
            targetPositions=list(rest),
            forces=[cfg.motor_force_n] * 7,
        )
        self._cube_ids = list(self._bodies.cubes)
        self._suction_on = False
        self._held = -1
        self._constraint = None
        self._steps = 0
        self._cannot: bool | None = None  # the verdict of a "cannot" report (None: none yet)
        self._reset_positions: np.ndarray | None = None
        # Let the cubes settle on the table (they are placed exactly, this is a few ms).
        for _ in range(int(0.1 * cfg.physics_hz)):
            c.stepSimulation()
        self._physics_steps_at_reset = int(0.1 * cfg.physics_hz)
        obs, info = self._observe()
        # where "untouched" is measured from: the settled scene the agent first sees
        self._reset_positions = info["cube_positions"].copy()
        return obs, info

    def step(self, action: np.ndarray):
        if self._client is None or self._bodies is None:
            raise ShapeError("DigitPickEnv.step called before reset()")
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape != (ACTION_SIZE,) or not np.all(np.isfinite(a)):
            raise ShapeError(
                f"DigitPickEnv action {np.asarray(action).tolist()!r}: expected {ACTION_SIZE} "
                "finite floats (tip x, y, z in metres, gripper > 0 = on, cannot > 0 = the "
                "request cannot be done)"
            )
        c, pb, cfg = self._client, self._pb, self.config
        robot = self._bodies.robot
        suction = bool(a[3] > 0.0)
        if not suction and self._constraint is not None:
            c.removeConstraint(self._constraint)
            self._constraint, self._held = None, -1
        self._suction_on = suction

        target = np.clip(a[:3], self._act_low, self._act_high)
        delta = target - self._tip
        dist = float(np.sqrt(delta @ delta))
        if dist > cfg.max_ee_step_m:
            target = self._tip + delta * (cfg.max_ee_step_m / dist)
        q = self._ik.solve(target)
        c.setJointMotorControlArray(
            robot,
            ARM_JOINTS,
            pb.POSITION_CONTROL,
            targetPositions=q.tolist(),
            forces=[cfg.motor_force_n] * 7,
        )
        for _ in range(self.substeps):
            c.stepSimulation()
        self._steps += 1
        if self._suction_on and self._held < 0:
            self._try_attach()
        if a[CANNOT] > 0.0 and self._cannot is None:
            # judged on the state after this step's motion, like every other success
            self._cannot = self._cannot_is_right()
        obs, info = self._observe()
        success = info["is_success"]
        return obs, (1.0 if success else 0.0), success or self._cannot is not None, False, info

    def render(self) -> np.ndarray | None:
        if self.render_mode == "rgb_array":
            return None if self._frame is None else self._frame.copy()
        return None

    def close(self) -> None:
        if self._client is not None:
            # already disconnected (e.g. the server died): nothing left to free
            with contextlib.suppress(Exception):
                self._client.disconnect()
            self._client = None
            self._bodies = None

    def scene_facts(self, info: dict[str, Any]) -> SceneFacts:
        """What the skills need (``neuralbrain.control.skills.SceneFacts``) from an ``info``."""
        return SceneFacts.from_info(info)

    # ------------------------------------------------------------------ internals
    def _make_instruction(self, task: R.Task, layout, rng: np.random.Generator):
        audio = np.zeros(AUDIO_SAMPLES, dtype=np.float32)
        image = np.zeros((28, 28), dtype=np.uint8)
        mode = self.config.instruction
        if mode == "text":
            self._instruction_source = "text"
            return task.request, audio, image
        # one-digit kinds only (checked at construction); for a missing digit the recording
        # or the image names a digit no cube shows, which is what makes the task impossible
        digit = task.named_digit
        if mode == "speech":
            files = self._speech[digit]
            path = files[int(rng.integers(len(files)))]
            self._instruction_source = f"fsdd:{path.name}"
            return I_.NEUTRAL["speech"], D.load_audio(path, AUDIO_SAMPLES), image
        pool = self._bank.by_class[digit]
        cube = task.cube_of(digit)
        if cube is not None:  # a different handwriting sample than the cube's
            pool = pool[pool != layout.samples[cube]]
        sample = int(rng.choice(pool))
        self._instruction_source = f"{self._bank.source}:{sample}"
        image = np.array(self._bank.images[sample], dtype=np.uint8)
        return I_.NEUTRAL["image"], audio, image

    def _try_attach(self) -> None:
        """Attach the topmost cube whose top face is just under the tip (suction model), if
        it is within the arm's reach (``GRIP_REACH_MARGIN_M``)."""
        c, half = self._client, self.geometry.half
        tip = self._tip_now()
        grip_reach = self.geometry.place_reach_m + GRIP_REACH_MARGIN_M
        best, best_top = -1, -np.inf
        for i, body in enumerate(self._cube_ids):
            pos, _ = c.getBasePositionAndOrientation(body)
            top = pos[2] + half
            gap = tip[2] - top
            if (
                np.hypot(pos[0], pos[1]) <= grip_reach
                and abs(tip[0] - pos[0]) < half
                and abs(tip[1] - pos[1]) < half
                and -0.01 <= gap <= SUCTION_REACH_M
                and top > best_top
            ):
                best, best_top = i, top
        if best < 0:
            return
        body = self._cube_ids[best]
        link = c.getLinkState(self._bodies.robot, EE_LINK, computeForwardKinematics=True)
        com_pos, com_orn = link[0], link[1]
        cube_pos, cube_orn = c.getBasePositionAndOrientation(body)
        inv_pos, inv_orn = c.invertTransform(com_pos, com_orn)
        rel_pos, rel_orn = c.multiplyTransforms(inv_pos, inv_orn, cube_pos, cube_orn)
        self._constraint = c.createConstraint(
            self._bodies.robot,
            EE_LINK,
            body,
            -1,
            self._pb.JOINT_FIXED,
            (0, 0, 0),
            parentFramePosition=rel_pos,
            childFramePosition=(0, 0, 0),
            parentFrameOrientation=rel_orn,
            childFrameOrientation=(0, 0, 0, 1),
        )
        c.changeConstraint(self._constraint, maxForce=200.0)
        self._held = best

    def _tip_now(self) -> np.ndarray:
        return self._ik.tip_position()

    def _cube_state(self) -> tuple[np.ndarray, np.ndarray]:
        """Cube centres (n, 3) and speeds (n,) from the simulator."""
        c = self._client
        n = len(self._cube_ids)
        pos = np.empty((n, 3))
        speed = np.empty(n)
        for i, body in enumerate(self._cube_ids):
            pos[i] = c.getBasePositionAndOrientation(body)[0]
            v = c.getBaseVelocity(body)[0]
            speed[i] = np.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
        return pos, speed

    def _depth(self, buffer: np.ndarray) -> np.ndarray:
        """Height above the table (m) of the surface each pixel sees, from depth-buffer values.

        The overhead camera's eye depth is the vertical distance from the camera, so the
        height is the camera's height less the linearised depth; empty pixels (no body drawn,
        where the env paints the table) are the table, 0.
        """
        near, far = self._near, self._far
        d = buffer.astype(np.float64)
        eye = near * far / (far - d * (far - near))
        height = self.geometry.camera_height_m - eye
        height[d > self._table_depth] = 0.0
        return np.clip(height, 0.0, MAX_DEPTH_M).astype(np.float32)

    def _observe(self) -> tuple[dict[str, Any], dict[str, Any]]:
        c, pb = self._client, self._pb
        robot = self._bodies.robot
        q = np.array([s[0] for s in c.getJointStates(robot, ARM_JOINTS)], dtype=np.float64)
        self._tip = tip = self._ik.tip_position()
        proprio = Proprio(q, tip, self._suction_on, self._held >= 0).to_vector()

        s = self.config.image_size
        _, _, img, depth, _ = c.getCameraImage(
            s,
            s,
            self.view_matrix,
            self.projection_matrix,
            renderer=pb.ER_TINY_RENDERER,
            flags=pb.ER_NO_SEGMENTATION_MASK,
            shadow=0,
            lightDirection=(0.3, 0.2, 1.0),
        )
        frame = np.asarray(img, dtype=np.uint8).reshape(s, s, 4)[:, :, :3].copy()
        buffer = np.asarray(depth, dtype=np.float32).reshape(s, s)
        # nothing drawn (depth at the far plane) = the table: see envs.scene.build_scene
        frame[buffer > self._table_depth] = TABLE_RGB
        self._frame = frame

        pos, speed = self._cube_state()
        on_top = self._supports(pos)
        stack = self._tray_stack(pos)
        success = self._cannot if self._cannot is not None else self._goal_met(pos, speed, stack, on_top)
        obs = {
            "image": frame,
            "proprio": proprio,
            "instruction": self._instruction,
            "audio": self._audio.copy(),
            "instruction_image": self._instr_image.copy(),
            "depth": self._depth(buffer),
        }
        lay, task = self._layout, self._task
        goal = task.goal
        # the first goal digit and its cube; a cannot task: the digit named, its cube or -1
        target_digit = goal.tray[0] if goal.tray else task.named_digit
        target_cube = task.cube_of(target_digit)
        phys = self._physics_steps_at_reset + self._steps * self.substeps
        info = {
            "task_kind": task.kind,
            "request": task.request,
            "goal_tray": list(goal.tray),
            "goal_ordered": bool(goal.ordered),
            "goal_cannot": goal.cannot,
            "target_digit": int(target_digit),
            "target_cube": -1 if target_cube is None else int(target_cube),
            "cube_digits": list(lay.digits),
            "cube_samples": list(lay.samples),
            "cube_reachable": list(lay.reachable),
            "cube_positions": pos,
            "on_top_of": on_top,
            "holding": int(self._held),
            "tray_stack": stack,
            "tray_position": lay.tray_position.copy(),
            "n_cubes": len(self._cube_ids),
            "sim_time_s": self._steps * self.dt_s,
            "physics_time_s": phys / self.config.physics_hz,
            "is_success": bool(success),
            "cannot_reported": self._cannot is not None,
            "instruction_source": self._instruction_source,
            "view_matrix": self.view_matrix,
            "projection_matrix": self.projection_matrix,
            "workspace": self.workspace,
        }
        return obs, info

    def _supports(self, pos: np.ndarray) -> list[int]:
        """For each cube, the cube it rests on (centre about one cube size above it) or -1."""
        size, half = self.geometry.cube_size_m, self.geometry.half
        n = pos.shape[0]
        out = [-1] * n
        for i in range(n):
            for j in range(n):
                if i == j:
                    continue
                dz = pos[i, 2] - pos[j, 2]
                if (
                    abs(dz - size) < 0.25 * size
                    and abs(pos[i, 0] - pos[j, 0]) < half * 1.6
                    and abs(pos[i, 1] - pos[j, 1]) < half * 1.6
                ):
                    out[i] = j
                    break
        return out

    def _tray_stack(self, pos: np.ndarray) -> list[int]:
        """The cubes in the tray, bottom to top by height (none held).

        In the tray: the centre inside the tray's inner footprint and low enough to be at
        most ``TRAY_LEVELS`` cubes up from the tray floor (a cube carried over the tray is
        higher, and is held anyway).
        """
        g = self.geometry
        tray = self._layout.tray_position
        top = tray[2] + g.tray_floor_m + TRAY_LEVELS * g.cube_size_m
        inside = [
            i for i in range(pos.shape[0])
            if i != self._held
            and abs(pos[i, 0] - tray[0]) < g.tray_inner_half_m
            and abs(pos[i, 1] - tray[1]) < g.tray_inner_half_m
            and pos[i, 2] < top
        ]
        return sorted(inside, key=lambda i: (pos[i, 2], i))

    def _goal_met(self, pos: np.ndarray, speed: np.ndarray, stack: list[int],
                  on_top: list[int]) -> bool:
        """Exactly the goal's cubes in the tray, at rest; stacked in goal order when ordered.

        A cannot goal is never met here: only a "cannot" report ends such a task well.
        """
        goal = self._goal_cubes
        if not goal or sorted(stack) != sorted(goal):
            return False
        if any(speed[i] >= REST_SPEED_M_S for i in goal):
            return False
        if not self._task.goal.ordered:
            return True
        # bottom to top: on the tray (no cube under it), then each on the one before
        below = [-1, *goal[:-1]]
        return stack == goal and all(on_top[i] == b for i, b in zip(goal, below, strict=True))

    def _cannot_is_right(self) -> bool:
        """A "cannot" report is right when the task is impossible and the agent left the
        scene as it was: nothing held, no cube moved more than ``UNTOUCHED_M``."""
        if not self._task.goal.cannot or self._held >= 0:
            return False
        pos, _ = self._cube_state()
        moved = np.linalg.norm(pos - self._reset_positions, axis=1)
        return bool(np.all(moved <= UNTOUCHED_M))


def _near_far(projection: tuple[float, ...]) -> tuple[float, float]:
    """The near and far planes of an OpenGL perspective matrix (column-major 16 floats)."""
    m22, m32 = projection[10], projection[14]  # (far+near)/(near-far), 2 far near/(near-far)
    return m32 / (m22 - 1.0), m32 / (m22 + 1.0)

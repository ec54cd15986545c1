"""The DigitPick scene: geometry, seeded layouts, and building it in a pybullet client.

World frame: the table top is the plane z = 0, the KUKA iiwa's base sits at the origin and
faces +x. Cubes (side ``cube_size_m``) stand in a strip on one side of the camera's view,
the tray (a floor and four low walls) on the other; the side is drawn per episode. A cube
the task puts out of reach stands on the cubes' side too, past the strip's far end, where
the camera still sees it but beyond the arm's ``place_reach_m``. Cubes are visual meshes
with explicit texture coordinates so that only the TOP face shows the digit (upright in the
overhead camera, whose image "up" is world +x); the side and bottom faces all sample one
plain border texel of the same texture.

``sample_layout`` is pure numpy (seeded by a ``np.random.Generator``) and places the cubes
of a ``neuralbrain.reasoning.requests.Task`` (which digits, which stacks, which cube is out
of reach); ``build_scene`` makes the bodies in a given ``BulletClient`` after
``resetSimulation``.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neuralbrain.errors import ConfigError
from neuralbrain.reasoning.requests import Task
from neuralbrain.sensing.cube_views import TABLE_RGB  # noqa: F401  (re-exported)
from neuralbrain_envs import digits as D


@dataclass(frozen=True)
class SceneGeometry:
    """Fixed sizes and regions of the scene (metres, world frame)."""

    cube_size_m: float = 0.06
    cube_mass_kg: float = 0.1
    cube_x_range: tuple[float, float] = (0.44, 0.71)
    # cube strip across y for tray_side = +1 (mirrored for -1): keeps clear of the tray
    cube_y_range: tuple[float, float] = (-0.22, 0.01)
    min_cube_spacing_m: float = 0.11
    # where place(table) may put a cube: the visible, reachable table (minus the tray). Not
    # nearer the base than x = 0.42: with the tool pointing down the iiwa's wrist reaches its
    # joint limit above (x < 0.42, |y| < 0.1) at travel heights (0.13 m and up; tip off by
    # up to 2.5 cm at x = 0.38), so a cube set down there could not be carried away again.
    place_region: tuple[float, float, float, float] = (0.42, 0.72, -0.24, 0.24)
    place_reach_m: float = 0.74
    tray_x_range: tuple[float, float] = (0.48, 0.64)
    tray_abs_y_m: float = 0.165
    tray_inner_half_m: float = 0.08
    tray_wall_m: float = 0.01
    tray_wall_height_m: float = 0.04
    tray_floor_m: float = 0.01
    camera_center_xy: tuple[float, float] = (0.56, 0.0)
    camera_height_m: float = 1.8
    camera_view_width_m: float = 0.55
    far_view_margin_m: float = 0.01  # an unreachable cube's top face stays this far in view
    rest_tip_xyz: tuple[float, float, float] = (0.28, 0.0, 0.50)
    action_low: tuple[float, float, float] = (0.20, -0.40, 0.0)
    action_high: tuple[float, float, float] = (0.85, 0.40, 0.55)

    @property
    def half(self) -> float:
        return 0.5 * self.cube_size_m

    def cube_region(self, tray_side: int) -> tuple[float, float, float, float]:
        """(x_lo, x_hi, y_lo, y_hi) of the strip where cube centres may stand."""
        y0, y1 = self.cube_y_range
        if tray_side < 0:
            y0, y1 = -y1, -y0
        return (self.cube_x_range[0], self.cube_x_range[1], y0, y1)


@dataclass(frozen=True)
class Layout:
    """One episode's scene: what stands where (all drawn from the episode seed)."""

    digits: tuple[int, ...]  # digit on each cube's top face (unique)
    samples: tuple[int, ...]  # index of each cube's digit image in the bank
    positions: np.ndarray = field(repr=False)  # (n, 3) initial cube centres
    on_top_of: tuple[int, ...]  # initial support of each cube (-1 = table)
    reachable: tuple[bool, ...]  # False: on the table, in view, beyond the arm's reach
    tray_position: np.ndarray = field(repr=False)  # (3,) tray floor centre at z = 0
    tray_side: int  # +1: tray at +y, cubes at -y; -1 mirrored


def sample_layout(
    rng: np.random.Generator,
    task: Task,
    stack_prob: float,
    bank: D.DigitBank,
    geometry: SceneGeometry,
) -> Layout:
    """Place ``task``'s cubes: its digits, its stacks, its unreachable cubes.

    A cube resting on another (``task.on``) stands exactly one cube size above it; a cube
    with ``reachable=False`` stands on the table in the camera's view but beyond
    ``geometry.place_reach_m`` of the arm's base (``far_spot``); every other cube gets a spot
    in the cube strip, clear of the others by ``min_cube_spacing_m``. Only for the
    ``single`` kind, with probability ``stack_prob``, one cube is set on another (the random
    stacking the scene always had, kept for the agents written against it); the other kinds
    stack exactly as the task says.
    """
    g = geometry
    n = len(task.digits)
    tray_side = 1 if rng.random() < 0.5 else -1
    tray = np.array([rng.uniform(*g.tray_x_range), tray_side * g.tray_abs_y_m, 0.0])
    samples = tuple(int(rng.choice(bank.by_class[d])) for d in task.digits)
    on = list(task.on)
    if task.kind == "single" and n >= 2 and rng.random() < stack_prob:
        top = int(rng.integers(n))
        on[top] = int(rng.choice([i for i in range(n) if i != top]))
    positions = np.zeros((n, 3))
    spots: list[np.ndarray] = []
    for i in range(n):
        if not task.reachable[i]:
            if on[i] >= 0 or any(s == i for s in on):
                raise ConfigError(f"cube {i} of the task is out of reach and in a stack "
                                  f"(on={task.on}): expected unreachable cubes alone")
            spots.append(far_spot(rng, g, tray_side))
            positions[i] = (*spots[-1], g.half)
    base = [i for i in range(n) if on[i] < 0 and task.reachable[i]]
    for i, p in zip(base, _strip_spots(rng, g, tray_side, len(base), spots), strict=True):
        positions[i] = (p[0], p[1], g.half)
    for i in range(n):  # each stacked cube: its chain's base spot, one cube per level
        below, level = on[i], 0
        while below >= 0:
            level += 1
            if level > n:
                raise ConfigError(f"task supports {task.on}: expected chains, found a cycle")
            root, below = below, on[below]
        if level:
            positions[i] = positions[root] + (0.0, 0.0, level * g.cube_size_m)
    return Layout(task.digits, samples, positions, tuple(on), tuple(task.reachable), tray,
                  tray_side)


def _strip_spots(rng: np.random.Generator, g: SceneGeometry, tray_side: int, k: int,
                 taken: list[np.ndarray]) -> list[np.ndarray]:
    """``k`` cube spots in the strip, ``min_cube_spacing_m`` from each other and ``taken``."""
    x0, x1, y0, y1 = g.cube_region(tray_side)
    spots: list[np.ndarray] = []
    # Rejection sampling with a fixed budget; the region fits 5 spots with a wide margin,
    # and the fallback (a jittered grid) keeps the draw total even if the budget runs out.
    for _ in range(2000):
        if len(spots) == k:
            return spots
        p = np.array([rng.uniform(x0, x1), rng.uniform(y0, y1)])
        if all(np.hypot(*(p - q)) >= g.min_cube_spacing_m for q in (*spots, *taken)):
            spots.append(p)
    gx, gy = np.meshgrid(np.linspace(x0, x1, 3), np.linspace(y0, y1, 2))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    free = [p for p in grid if all(np.hypot(*(p - q)) >= g.min_cube_spacing_m for q in taken)]
    return [free[j] for j in rng.permutation(len(free))[:k]]


def far_spot(rng: np.random.Generator, g: SceneGeometry, tray_side: int) -> np.ndarray:
    """A table spot (x, y) in the camera's view but out of the arm's reach, on the cubes' side.

    The centre is at least ``place_reach_m`` plus half a cube from the base (the origin) and
    the whole top face is in view with ``far_view_margin_m`` to spare (the face is a cube
    closer to the camera than the table, so it looks larger); on the cubes' side of the view
    (the tray is on the other) it clears the tray.
    """
    reach = g.place_reach_m + g.half
    # the view's half width at the height of a cube top, less the margin
    half_view = (g.camera_view_width_m / 2 - g.far_view_margin_m) * (
        (g.camera_height_m - g.cube_size_m) / g.camera_height_m)
    x_hi = g.camera_center_xy[0] + half_view - g.half
    cy = g.camera_center_xy[1]
    _, _, y0, y1 = g.cube_region(tray_side)
    y0, y1 = max(y0, cy - half_view + g.half), min(y1, cy + half_view - g.half)
    x_lo = float(np.sqrt(max(reach**2 - max(y0 * y0, y1 * y1), 0.0)))
    if not x_lo < x_hi:
        raise ConfigError(f"SceneGeometry: no table spot in view beyond the reach {reach:.3f} m "
                          f"(view ends at x = {x_hi:.3f} m): expected a camera view past the reach")
    for _ in range(1000):
        p = np.array([rng.uniform(x_lo, x_hi), rng.uniform(y0, y1)])
        if np.hypot(*p) >= reach:
            return p
    # the corner of the band farthest from the base is always beyond the reach
    return np.array([x_hi, y0 if abs(y0) > abs(y1) else y1])


def _cube_mesh(half: float) -> tuple[list, list, list, list]:
    """Vertices, indices, uvs, normals of a cube whose top face maps the whole texture.

    Top-face texture coordinates are chosen so texture row 0 lies at +x and column 0 at +y:
    the digit then reads upright in a camera whose image up is +x and image right is -y.
    Every other face samples texel (0, 31), inside the plain border of the texture.
    """
    faces = {  # normal: (a axis, b axis) spanning the face
        (0, 0, 1): ((1, 0, 0), (0, 1, 0)),
        (0, 0, -1): ((1, 0, 0), (0, -1, 0)),
        (1, 0, 0): ((0, 1, 0), (0, 0, 1)),
        (-1, 0, 0): ((0, -1, 0), (0, 0, 1)),
        (0, 1, 0): ((-1, 0, 0), (0, 0, 1)),
        (0, -1, 0): ((1, 0, 0), (0, 0, 1)),
    }
    verts, idx, uvs, normals = [], [], [], []
    for n, (a_ax, b_ax) in faces.items():
        n_, a_, b_ = (np.array(v, dtype=float) for v in (n, a_ax, b_ax))
        base = len(verts)
        for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
            p = half * (n_ + a * a_ + b * b_)
            verts.append([float(c) for c in p])
            normals.append([float(c) for c in n_])
            if n[2] > 0:
                xs, ys = p[0] / half, p[1] / half
                uvs.append([(1.0 - ys) / 2.0, (1.0 + xs) / 2.0])
            else:
                uvs.append([0.02, 0.02])
        idx += [base, base + 1, base + 2, base, base + 2, base + 3]
    return verts, idx, uvs, normals


class TextureCache:
    """Cube-top textures of one client, loaded once per digit sample per episode.

    pybullet's TinyRenderer cannot update a texture in place in DIRECT mode
    (``changeTexture`` has no effect there), and ``resetSimulation`` drops every loaded
    texture's image (reusing an old id then renders plain white): so the env calls
    ``clear()`` after each ``resetSimulation`` and loads the episode's few textures again.
    PNG files go to a temporary folder that is removed right after loading.
    """

    def __init__(self, client) -> None:
        self.client = client
        self.ids: dict[tuple[str, int], int] = {}

    def clear(self) -> None:
        self.ids.clear()

    def get_many(self, bank: D.DigitBank, samples: tuple[int, ...]) -> list[int]:
        missing = [s for s in samples if (bank.source, s) not in self.ids]
        if missing:
            with tempfile.TemporaryDirectory(prefix="digitpick_tex_") as tmp:
                for s in dict.fromkeys(missing):
                    path = Path(tmp) / f"{s}.png"
                    D.write_png(path, D.cube_texture(bank.images[s]))
                    self.ids[(bank.source, s)] = self.client.loadTexture(str(path))
        return [self.ids[(bank.source, s)] for s in samples]


@dataclass
class SceneBodies:
    """Body ids of a built scene."""

    robot: int
    table: int
    tray: int
    cubes: list[int]


def build_scene(
    client,
    geometry: SceneGeometry,
    layout: Layout,
    texture_ids: list[int],
    robot_urdf: str,
    rest_pose: np.ndarray,
) -> SceneBodies:
    """Create table, tray, cubes and the robot (at ``rest_pose``) in an emptied client."""
    import pybullet as pb

    g = geometry
    # The table is invisible: it fills every pixel the camera sees that nothing else
    # covers, so the env paints those pixels TABLE_RGB instead of rasterising a plane that
    # spans the whole image (TinyRenderer spends most of a frame on it).
    table_half = (0.75, 0.75, 0.025)
    table = client.createMultiBody(
        0,
        client.createCollisionShape(pb.GEOM_BOX, halfExtents=table_half),
        # a transparent visual: with none at all the renderer would draw the collision box
        client.createVisualShape(pb.GEOM_BOX, halfExtents=table_half, rgbaColor=(1, 1, 1, 0)),
        basePosition=(0.35, 0.0, -table_half[2]),
    )
    tray = _build_tray(client, g, layout.tray_position)
    robot = client.loadURDF(robot_urdf, (0, 0, 0), useFixedBase=True)
    # The base and the first two links stay within ~0.15 m of the z axis below 0.45 m, out
    # of the camera's frustum in every pose: hide them so the renderer skips their meshes.
    for link in (-1, 0, 1):
        client.changeVisualShape(robot, link, rgbaColor=(1, 1, 1, 0))
    for j, q in enumerate(rest_pose):
        client.resetJointState(robot, j, float(q))
    col = client.createCollisionShape(pb.GEOM_BOX, halfExtents=(g.half,) * 3)
    verts, idx, uvs, normals = _cube_mesh(g.half)
    cubes = []
    for i in range(len(layout.digits)):
        vis = client.createVisualShape(pb.GEOM_MESH, vertices=verts, indices=idx, uvs=uvs, normals=normals)
        body = client.createMultiBody(
            g.cube_mass_kg, col, vis, basePosition=[float(c) for c in layout.positions[i]]
        )
        client.changeVisualShape(body, -1, textureUniqueId=texture_ids[i])
        client.changeDynamics(body, -1, lateralFriction=0.8)
        cubes.append(body)
    return SceneBodies(robot, table, tray, cubes)


def _build_tray(client, g: SceneGeometry, center: np.ndarray) -> int:
    import pybullet as pb

    inner, w, hgt, fl = g.tray_inner_half_m, g.tray_wall_m, g.tray_wall_height_m, g.tray_floor_m
    outer = inner + w
    halves = [
        (outer, outer, fl / 2),  # floor
        (w / 2, outer, hgt / 2),  # +x wall
        (w / 2, outer, hgt / 2),  # -x wall
        (inner, w / 2, hgt / 2),  # +y wall
        (inner, w / 2, hgt / 2),  # -y wall
    ]
    offsets = [
        (0, 0, fl / 2),
        (inner + w / 2, 0, hgt / 2),
        (-inner - w / 2, 0, hgt / 2),
        (0, inner + w / 2, hgt / 2),
        (0, -inner - w / 2, hgt / 2),
    ]
    n = len(halves)
    col = client.createCollisionShapeArray(
        [pb.GEOM_BOX] * n, halfExtents=halves, collisionFramePositions=offsets
    )
    vis = client.createVisualShapeArray(
        [pb.GEOM_BOX] * n,
        halfExtents=halves,
        visualFramePositions=offsets,
        rgbaColors=[(0.18, 0.3, 0.52, 1)] * n,
    )
    return client.createMultiBody(0, col, vis, basePosition=[float(c) for c in center])

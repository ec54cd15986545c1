"""Overhead pinhole camera: OpenGL-style view/projection matrices and pixel <-> world maps.

The matrices are the 16-float column-major lists pybullet's ``computeViewMatrix`` /
``computeProjectionMatrixFOV`` return (and ``getCameraImage`` consumes), computed here in
numpy so they are known without a physics client. A world point ``X`` maps to clip space
``c = P @ V @ [X, 1]``, normalised device coordinates ``n = c[:3] / c[3]`` in [-1, 1], and
pixel ``(u, v) = ((n_x + 1) / 2 * W - 0.5, (1 - n_y) / 2 * H - 0.5)`` (u = column, v = row,
pixel centres at integers, row 0 at the top of the image). ``pixel_to_world`` inverts this
for a point known to lie at height ``z`` (e.g. the table plane, or a cube's top face).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuralbrain.errors import ConfigError, ShapeError


def view_matrix(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> tuple[float, ...]:
    """Look-at view matrix (same convention as ``pybullet.computeViewMatrix``), column-major."""
    eye, target, up = (np.asarray(a, dtype=np.float64) for a in (eye, target, up))
    f = target - eye
    f /= np.linalg.norm(f)
    s = np.cross(f, up)
    s /= np.linalg.norm(s)
    u = np.cross(s, f)
    m = np.eye(4)
    m[0, :3], m[1, :3], m[2, :3] = s, u, -f
    m[:3, 3] = -m[:3, :3] @ eye
    return tuple(float(x) for x in m.T.reshape(-1))


def projection_matrix(fov_deg: float, aspect: float, near: float, far: float) -> tuple[float, ...]:
    """Perspective matrix (as ``pybullet.computeProjectionMatrixFOV``), column-major."""
    t = 1.0 / np.tan(np.deg2rad(fov_deg) / 2.0)
    m = np.zeros((4, 4))
    m[0, 0], m[1, 1] = t / aspect, t
    m[2, 2] = (far + near) / (near - far)
    m[2, 3] = 2.0 * far * near / (near - far)
    m[3, 2] = -1.0
    return tuple(float(x) for x in m.T.reshape(-1))


def _as_mat(m16) -> np.ndarray:
    a = np.asarray(m16, dtype=np.float64)
    if a.shape == (4, 4):
        return a
    if a.shape != (16,):
        raise ShapeError(f"camera matrix of shape {a.shape}: expected 16 column-major floats")
    return a.reshape(4, 4).T


@dataclass(frozen=True)
class Camera:
    """A fixed camera: image size plus view and projection matrices (column-major tuples)."""

    width: int
    height: int
    view: tuple[float, ...]
    projection: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.width < 1 or self.height < 1:
            raise ConfigError(f"camera size {self.width}x{self.height}: expected >= 1x1")
        _as_mat(self.view), _as_mat(self.projection)

    def world_to_pixel(self, points: np.ndarray) -> np.ndarray:
        """World points ``(..., 3)`` -> float pixel coordinates ``(..., 2)`` as (u=col, v=row)."""
        p = np.asarray(points, dtype=np.float64)
        if p.shape[-1] != 3:
            raise ShapeError(f"points of shape {p.shape}: expected (..., 3)")
        pv = _as_mat(self.projection) @ _as_mat(self.view)
        hom = np.concatenate([p, np.ones(p.shape[:-1] + (1,))], axis=-1) @ pv.T
        ndc = hom[..., :3] / hom[..., 3:4]
        u = (ndc[..., 0] + 1.0) * 0.5 * self.width - 0.5
        v = (1.0 - ndc[..., 1]) * 0.5 * self.height - 0.5
        return np.stack([u, v], axis=-1)

    def depth_buffer_value(self, points: np.ndarray) -> np.ndarray:
        """The [0, 1] depth-buffer value (as ``getCameraImage`` returns) of world points."""
        p = np.asarray(points, dtype=np.float64)
        pv = _as_mat(self.projection) @ _as_mat(self.view)
        hom = np.concatenate([p, np.ones(p.shape[:-1] + (1,))], axis=-1) @ pv.T
        return 0.5 * (hom[..., 2] / hom[..., 3] + 1.0)

    def pixel_to_world(self, pixels: np.ndarray, z: float | np.ndarray = 0.0) -> np.ndarray:
        """Pixels ``(..., 2)`` (u=col, v=row) -> world points ``(..., 3)`` on the plane at ``z``.

        Casts the ray through each pixel and intersects it with the horizontal plane at
        height ``z`` (metres, world frame; broadcast against the pixels).
        """
        px = np.asarray(pixels, dtype=np.float64)
        if px.shape[-1] != 2:
            raise ShapeError(f"pixels of shape {px.shape}: expected (..., 2) as (col, row)")
        inv = np.linalg.inv(_as_mat(self.projection) @ _as_mat(self.view))
        nx = (px[..., 0] + 0.5) / self.width * 2.0 - 1.0
        ny = 1.0 - (px[..., 1] + 0.5) / self.height * 2.0
        ones = np.ones_like(nx)
        near = np.stack([nx, ny, -ones, ones], axis=-1) @ inv.T
        far = np.stack([nx, ny, ones, ones], axis=-1) @ inv.T
        near = near[..., :3] / near[..., 3:4]
        far = far[..., :3] / far[..., 3:4]
        d = far - near
        zz = np.broadcast_to(np.asarray(z, dtype=np.float64), nx.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (zz - near[..., 2]) / d[..., 2]
        return near + t[..., None] * d


def overhead_camera(
    center_xy: tuple[float, float], height_m: float, view_width_m: float, width: int, height: int
) -> Camera:
    """A camera ``height_m`` above the table point ``center_xy`` looking straight down.

    Image "up" is world +x (away from the robot base), image "right" is world -y; the field
    of view is chosen so the table strip ``view_width_m`` wide fills the image vertically.
    """
    cx, cy = center_xy
    fov = float(np.rad2deg(2.0 * np.arctan(0.5 * view_width_m / height_m)))
    view = view_matrix(np.array([cx, cy, height_m]), np.array([cx, cy, 0.0]), np.array([1.0, 0, 0]))
    # near/far hug the scene (nothing reaches 1 m above the table) for depth precision, and
    # keep the table plane well in front of the far plane so empty pixels are told apart
    near = max(0.05, height_m - 1.0)
    proj = projection_matrix(fov, width / height, near, height_m + 0.2)
    return Camera(width, height, view, proj)

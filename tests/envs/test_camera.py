"""Camera matrices match pybullet's and pixel <-> world maps invert each other."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain_envs.camera import Camera, overhead_camera, projection_matrix, view_matrix


def test_matrices_match_pybullet():
    pb = pytest.importorskip("pybullet")
    v = view_matrix(np.array([0.5, 0.1, 1.2]), np.array([0.55, 0.0, 0.0]), np.array([1.0, 0, 0]))
    assert np.allclose(v, pb.computeViewMatrix([0.5, 0.1, 1.2], [0.55, 0, 0], [1, 0, 0]), atol=1e-6)
    p = projection_matrix(21.0, 1.25, 0.8, 2.0)
    assert np.allclose(p, pb.computeProjectionMatrixFOV(21.0, 1.25, 0.8, 2.0), atol=1e-6)


@pytest.mark.parametrize("size", [(128, 128), (96, 64)])
def test_pixel_world_round_trip(size):
    cam = overhead_camera((0.56, 0.0), 1.8, 0.55, *size)
    rng = np.random.default_rng(0)
    pts = np.stack([rng.uniform(0.35, 0.75, 50), rng.uniform(-0.2, 0.2, 50), rng.uniform(0.0, 0.3, 50)], -1)
    px = cam.world_to_pixel(pts)
    back = cam.pixel_to_world(px, z=pts[:, 2])
    assert np.allclose(back, pts, atol=1e-9)
    # and pixel -> world -> pixel on the table plane
    grid = np.stack(np.meshgrid(np.arange(0, size[0], 7.0), np.arange(0, size[1], 5.0)), -1)
    on_table = cam.pixel_to_world(grid, z=0.0)
    assert np.allclose(on_table[..., 2], 0.0)
    assert np.allclose(cam.world_to_pixel(on_table), grid, atol=1e-8)


def test_overhead_camera_orientation_and_scale():
    cam = overhead_camera((0.56, 0.0), 1.8, 0.55, 128, 128)
    c = cam.world_to_pixel(np.array([0.56, 0.0, 0.0]))
    assert np.allclose(c, [63.5, 63.5])
    up = cam.world_to_pixel(np.array([0.66, 0.0, 0.0]))  # +x is image up (smaller row)
    right = cam.world_to_pixel(np.array([0.56, -0.1, 0.0]))  # -y is image right
    assert up[1] < c[1] and abs(up[0] - c[0]) < 1e-9
    assert right[0] > c[0] and abs(right[1] - c[1]) < 1e-9
    edge = cam.world_to_pixel(np.array([0.56 + 0.275, 0.0, 0.0]))  # view width spans the image
    assert abs(edge[1] - (-0.5)) < 1e-6


def test_bad_inputs():
    cam = overhead_camera((0.5, 0.0), 1.0, 0.5, 64, 64)
    with pytest.raises(ShapeError, match=r"\(\.\.\., 3\)"):
        cam.world_to_pixel(np.zeros((4, 2)))
    with pytest.raises(ShapeError, match=r"\(\.\.\., 2\)"):
        cam.pixel_to_world(np.zeros(3))
    with pytest.raises(ConfigError, match="0x64"):
        Camera(0, 64, cam.view, cam.projection)
    with pytest.raises(ShapeError, match="16 column-major"):
        Camera(64, 64, (1.0, 2.0), cam.projection)

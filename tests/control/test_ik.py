"""IK: the KUKA iiwa tool tip reaches workspace targets pointing down."""

from __future__ import annotations

import numpy as np
import pytest

from neuralbrain.control.ik import IKConfig, IKSolver
from neuralbrain.errors import ConfigError

pb = pytest.importorskip("pybullet")


@pytest.fixture
def arm():
    import pybullet_data
    from pybullet_utils.bullet_client import BulletClient

    c = BulletClient(connection_mode=pb.DIRECT)
    c.setAdditionalSearchPath(pybullet_data.getDataPath())
    robot = c.loadURDF("kuka_iiwa/model.urdf", (0, 0, 0), useFixedBase=True)
    yield c, robot
    c.disconnect()


@pytest.mark.parametrize("target", [(0.5, 0.0, 0.2), (0.65, -0.2, 0.06), (0.45, 0.2, 0.35)])
def test_ik_reaches_target_with_tool_down(arm, target):
    c, robot = arm
    ik = IKSolver(c, robot, tuple(range(7)), 6, np.zeros(7))
    for _ in range(20):  # the solver starts from the current state: iterate to convergence
        q = ik.solve(np.array(target))
        for j, a in enumerate(q):
            c.resetJointState(robot, j, float(a))
    tip = ik.tip_position()
    assert np.linalg.norm(tip - np.array(target)) < 0.005
    rot = np.array(c.getMatrixFromQuaternion(c.getLinkState(robot, 6)[5])).reshape(3, 3)
    assert rot[:, 2] @ np.array([0, 0, -1.0]) > 0.99  # flange z axis points down
    lo = np.array([c.getJointInfo(robot, j)[8] for j in range(7)])
    hi = np.array([c.getJointInfo(robot, j)[9] for j in range(7)])
    assert np.all(q >= lo - 1e-6) and np.all(q <= hi + 1e-6)


def test_ik_is_deterministic(arm):
    c, robot = arm
    ik = IKSolver(c, robot, tuple(range(7)), 6, np.zeros(7))
    a = ik.solve(np.array([0.55, 0.1, 0.2]))
    b = ik.solve(np.array([0.55, 0.1, 0.2]))
    assert np.array_equal(a, b)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"max_iterations": 0}, "max_iterations"),
        ({"residual_threshold": 0.0}, "residual_threshold"),
        ({"tip_offset_m": -0.1}, "tip_offset_m"),
        ({"joint_damping": -1.0}, "joint_damping"),
    ],
)
def test_ik_config_validation(kw, field):
    with pytest.raises(ConfigError, match=field):
        IKConfig(**kw)


def test_rest_pose_length_checked(arm):
    c, robot = arm
    with pytest.raises(ConfigError, match="rest pose of length 3"):
        IKSolver(c, robot, tuple(range(7)), 6, np.zeros(3))

"""Inverse kinematics for a position-controlled arm with a tool pointing straight down.

``IKSolver.solve`` asks pybullet's damped-least-squares IK (``calculateInverseKinematics``)
for joint angles that put the tool tip at a world position with the tool axis pointing
down (-z), using the null-space variant (joint limits, ranges and a rest pose) so redundant
7-DoF arms such as the KUKA iiwa stay near a comfortable posture instead of drifting. The
solver starts from the arm's current joint state (pybullet's behaviour), which makes
successive small targets cheap and the result deterministic for a given state.

The tip is ``tip_offset_m`` along the flange's z axis; with the tool pointing down that is
straight below the IK link, so the link target is the tip target raised by the offset.
This module needs a pybullet client; ``neuralbrain.control.skills`` does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuralbrain.errors import ConfigError

# Quaternion (x, y, z, w) of a 180 degree rotation about y: the flange z axis points down.
DOWN_QUAT = (0.0, 1.0, 0.0, 0.0)


@dataclass(frozen=True)
class IKConfig:
    """IK settings: iterations and residual of pybullet's solver, tool tip offset."""

    max_iterations: int = 20
    residual_threshold: float = 1e-4
    tip_offset_m: float = 0.05
    joint_damping: float = 0.01

    def __post_init__(self) -> None:
        if not (isinstance(self.max_iterations, int) and self.max_iterations >= 1):
            raise ConfigError(f"IKConfig.max_iterations={self.max_iterations!r}: expected int >= 1")
        if not self.residual_threshold > 0:
            raise ConfigError(f"IKConfig.residual_threshold={self.residual_threshold!r}: expected > 0")
        if not 0 <= self.tip_offset_m < 0.5:
            raise ConfigError(f"IKConfig.tip_offset_m={self.tip_offset_m!r}: expected in [0, 0.5)")
        if not self.joint_damping >= 0:
            raise ConfigError(f"IKConfig.joint_damping={self.joint_damping!r}: expected >= 0")


class IKSolver:
    """Null-space IK for one arm body in one pybullet client.

    ``client`` is a ``pybullet_utils.bullet_client.BulletClient`` (or the ``pybullet``
    module); ``joints`` are the controlled joint indices, ``ee_link`` the IK link.
    """

    def __init__(
        self,
        client,
        body: int,
        joints: tuple[int, ...],
        ee_link: int,
        rest_pose: np.ndarray,
        config: IKConfig | None = None,
    ) -> None:
        config = config if config is not None else IKConfig()
        self.client, self.body, self.joints, self.ee_link = client, body, tuple(joints), ee_link
        self.config = config
        info = [client.getJointInfo(body, j) for j in self.joints]
        self.lower = [float(i[8]) for i in info]
        self.upper = [float(i[9]) for i in info]
        self.ranges = [u - lo for lo, u in zip(self.lower, self.upper, strict=True)]
        self.rest = [float(r) for r in rest_pose]
        self.damping = [config.joint_damping] * client.getNumJoints(body)
        if len(self.rest) != len(self.joints):
            raise ConfigError(
                f"rest pose of length {len(self.rest)}: expected one angle per joint ({len(self.joints)})"
            )

    def solve(self, tip_target: np.ndarray) -> np.ndarray:
        """Joint angles (float64, one per controlled joint) putting the tool tip at target."""
        x, y, z = (float(v) for v in tip_target)
        q = self.client.calculateInverseKinematics(
            self.body,
            self.ee_link,
            (x, y, z + self.config.tip_offset_m),
            DOWN_QUAT,
            lowerLimits=self.lower,
            upperLimits=self.upper,
            jointRanges=self.ranges,
            restPoses=self.rest,
            jointDamping=self.damping,
            maxNumIterations=self.config.max_iterations,
            residualThreshold=self.config.residual_threshold,
        )
        return np.asarray(q[: len(self.joints)], dtype=np.float64)

    def tip_position(self) -> np.ndarray:
        """Current tool-tip world position (forward kinematics of the IK link plus offset)."""
        st = self.client.getLinkState(self.body, self.ee_link, computeForwardKinematics=True)
        pos = np.asarray(st[4], dtype=np.float64)
        rot = np.asarray(self.client.getMatrixFromQuaternion(st[5]), dtype=np.float64)
        return pos + rot.reshape(3, 3)[:, 2] * self.config.tip_offset_m

"""The robot interface the skills are written against: the arm's proprioception and the
workspace it acts in.

An env with an arm (DigitPick) builds its ``proprio`` observation with ``Proprio.to_vector``
and puts its ``Workspace`` in ``info["workspace"]``; modules and skills read both through
these names, so no layout index or size is copied out of the env.

``Proprio`` (float32, ``SIZE`` = 12): 7 joint angles (rad), the tool tip's xyz (m), suction on
(1/0), a cube held (1/0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuralbrain.errors import ConfigError, ShapeError


@dataclass(frozen=True)
class Proprio:
    """A named view of the proprioception vector (see the module docstring)."""

    joints: np.ndarray
    tip: np.ndarray
    suction: bool
    holding: bool

    SIZE = 12
    JOINTS = slice(0, 7)
    TIP = slice(7, 10)
    SUCTION = 10
    HOLDING = 11

    @classmethod
    def from_vector(cls, vector: np.ndarray) -> Proprio:
        v = np.asarray(vector, np.float64)
        if v.shape != (cls.SIZE,):
            raise ShapeError(f"proprio of shape {v.shape}: expected ({cls.SIZE},) (joints, tip "
                             "xyz, suction, holding)")
        return cls(v[cls.JOINTS].copy(), v[cls.TIP].copy(), bool(v[cls.SUCTION] > 0.5),
                   bool(v[cls.HOLDING] > 0.5))

    def to_vector(self) -> np.ndarray:
        v = np.empty(self.SIZE, np.float32)
        v[self.JOINTS], v[self.TIP] = self.joints, self.tip
        v[self.SUCTION], v[self.HOLDING] = float(self.suction), float(self.holding)
        return v


@dataclass(frozen=True)
class Workspace:
    """The fixed geometry the skills plan in (metres, world frame; the arm's base at the
    origin): cube size, tray, the table region where a cube may be put down, the reach."""

    cube_size_m: float
    tray_inner_half_m: float
    tray_outer_half_m: float
    tray_floor_m: float
    table_region: tuple[float, float, float, float]  # x_lo, x_hi, y_lo, y_hi
    reach_xy_m: float
    table_z_m: float = 0.0

    def __post_init__(self) -> None:
        if not self.cube_size_m > 0 or not 0 < self.tray_inner_half_m <= self.tray_outer_half_m:
            raise ConfigError(
                f"Workspace: cube_size_m = {self.cube_size_m}, tray halves "
                f"{self.tray_inner_half_m} <= {self.tray_outer_half_m}: expected positive sizes")
        x0, x1, y0, y1 = self.table_region
        if not (x0 <= x1 and y0 <= y1) or not self.reach_xy_m > 0:
            raise ConfigError(f"Workspace.table_region = {self.table_region}, reach_xy_m = "
                              f"{self.reach_xy_m}: expected lo <= hi and a reach > 0")

    @property
    def half(self) -> float:
        return 0.5 * self.cube_size_m

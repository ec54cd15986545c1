"""How a digit cube looks from above: the texture on its top and the table around it.

DigitPick paints these textures on its cubes (``neuralbrain_envs.scene``), and the in-sensor
SNN's training emulates recordings of cubes with them (``snn.task``): one definition, so the
two cannot drift apart. Digits are 28x28 uint8 images, ink = high values.
"""

from __future__ import annotations

import numpy as np

# Cube top texture: 32x32 RGB; the digit's 28x28 is centred with a 2 px plain border, which
# is also the texel every side face samples (so the sides are plain).
TEXTURE_SIZE = 32
CUBE_RGB = np.array([236, 232, 220], dtype=np.float32)  # cream: a plain, light cube
INK_RGB = np.array([18, 18, 28], dtype=np.float32)  # near-black digit ink
TABLE_RGB = np.array([140, 107, 77], dtype=np.uint8)  # the table as the camera sees it


def sklearn_to_28(images8: np.ndarray) -> np.ndarray:
    """8x8 images with values 0..16 -> 28x28 uint8 (3x nearest upsampling, 2 px border)."""
    up = np.repeat(np.repeat(images8, 3, axis=1), 3, axis=2)  # N x 24 x 24
    out = np.zeros((images8.shape[0], 28, 28), dtype=np.uint8)
    out[:, 2:26, 2:26] = np.clip(np.rint(up * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    return out


def cube_texture(digit28: np.ndarray) -> np.ndarray:
    """A 32x32x3 uint8 cube-top texture: cream face with the digit in dark ink, plain border.

    Rows run along the cube's +x axis and columns along its -y axis once mapped by
    DigitPick's cube mesh (chosen so the digit reads upright in the overhead camera, whose
    image "up" is world +x).
    """
    alpha = np.zeros((TEXTURE_SIZE, TEXTURE_SIZE, 1), dtype=np.float32)
    alpha[2:30, 2:30, 0] = digit28.astype(np.float32) / 255.0
    rgb = CUBE_RGB * (1.0 - alpha) + INK_RGB * alpha
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)

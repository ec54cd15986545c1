"""Typeset characters as MNIST-style images: how a digit's name becomes something to see.

``numeral("8", Font("DejaVu Serif"))`` draws the character with matplotlib's Agg renderer
and normalizes it the way MNIST normalized its handwriting (LeCun et al., 1998): the ink's
bounding box scaled to fit a 20x20 box (aspect kept, anti-aliased), placed in a 28x28 image
with its centre of mass at the centre. Output: uint8 (28, 28), ink = 255 on 0, ready for the
saccade emulator (``neuralbrain.sensing.saccade``). Only fonts that matplotlib ships or finds
on the system are used; a font it cannot find is an error, not a silent fallback.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from neuralbrain.errors import ConfigError

_BOX, _SIZE = 20, 28


@dataclass(frozen=True)
class Font:
    family: str = "DejaVu Sans"
    weight: str = "normal"  # "normal" or "bold"
    style: str = "normal"  # "normal", "italic" or "oblique"

    @classmethod
    def parse(cls, spec: str) -> Font:
        """``"family"``, ``"family:bold"``, ``"family:italic"`` or ``"family:bold:italic"``."""
        family, *rest = spec.split(":")
        weight = "bold" if "bold" in rest else "normal"
        style = next((r for r in rest if r in ("italic", "oblique")), "normal")
        unknown = [r for r in rest if r not in ("bold", "italic", "oblique")]
        if unknown or not family:
            raise ConfigError(f"font {spec!r}: expected 'family[:bold][:italic|:oblique]'")
        return cls(family, weight, style)


def _properties(font: Font):
    from matplotlib import font_manager

    props = font_manager.FontProperties(family=font.family, weight=font.weight, style=font.style)
    try:
        font_manager.findfont(props, fallback_to_default=False)
    except ValueError:
        raise ConfigError(f"font family {font.family!r}: matplotlib cannot find it (try "
                          "'DejaVu Sans', 'DejaVu Serif', 'DejaVu Sans Mono', 'STIXGeneral')"
                          ) from None
    return props


def numeral(text: str, font: Font = Font()) -> np.ndarray:
    """``text`` typeset in ``font`` as a uint8 (28, 28) MNIST-style image."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not text.strip():
        raise ConfigError(f"text {text!r}: expected a character to draw")
    fig = Figure(figsize=(1.2, 1.2), dpi=100)
    canvas = FigureCanvasAgg(fig)
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=64,
             fontproperties=_properties(font))
    canvas.draw()
    ink = 255.0 - np.asarray(canvas.buffer_rgba())[..., 0].astype(np.float64)
    rows, cols = np.nonzero(ink > 8)
    ink = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    ink = np.clip(ndimage.zoom(ink, _BOX / max(ink.shape), order=1), 0.0, 255.0)
    image = np.zeros((_SIZE, _SIZE))
    image[:ink.shape[0], :ink.shape[1]] = ink[:_SIZE, :_SIZE]
    cy, cx = ndimage.center_of_mass(image)
    image = ndimage.shift(image, ((_SIZE - 1) / 2 - cy, (_SIZE - 1) / 2 - cx), order=1)
    return np.clip(image, 0, 255).round().astype(np.uint8)

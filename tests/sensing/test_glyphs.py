"""Typeset numerals: MNIST's size and centring, fonts that differ, named errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from neuralbrain.errors import ConfigError
from neuralbrain.sensing.glyphs import Font, numeral


def test_numerals_are_normalized_like_mnist():
    for text in "0189":
        img = numeral(text)
        assert img.shape == (28, 28) and img.dtype == np.uint8 and img.max() > 200
        rows, cols = np.nonzero(img > 30)
        assert max(np.ptp(rows), np.ptp(cols)) + 1 in range(18, 23)  # the 20-pixel box
        cy, cx = ndimage.center_of_mass(img.astype(float))
        assert abs(cy - 13.5) < 0.6 and abs(cx - 13.5) < 0.6
    assert not np.array_equal(numeral("8"), numeral("9"))
    assert not np.array_equal(numeral("8"), numeral("8", Font("DejaVu Serif")))
    np.testing.assert_array_equal(numeral("8"), numeral("8"))


def test_font_specs_parse_and_bad_ones_are_named():
    assert Font.parse("DejaVu Sans:bold:oblique") == Font("DejaVu Sans", "bold", "oblique")
    with pytest.raises(ConfigError, match="'DejaVu Sans:heavy'"):
        Font.parse("DejaVu Sans:heavy")
    with pytest.raises(ConfigError, match="'No Such Font'"):
        numeral("8", Font("No Such Font"))
    with pytest.raises(ConfigError, match="expected a character"):
        numeral(" ")

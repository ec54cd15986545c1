"""Digits described by their names: spoken and typeset renderings as class anchors.

Zero-shot recognition needs *some* description of the classes it never trained on; CLIP
(Radford et al., 2021) uses their names. Here a digit's name is rendered in each sense by a
generic, rule-based renderer that knows nothing about our data: its English word spoken by
eSpeak NG (``neuralbrain.sensing.speech``; several voices and speaking rates) and its numeral
typeset in several fonts (``neuralbrain.sensing.glyphs``). The renderings go through the
same sensors as real recordings (the software cochlea; the saccade emulator) and the same
reservoirs, so each digit gets an anchor in each modality's feature space.

The space is the reservoir's own (``log1p`` spike counts in time windows, for audio with the
cochlea's own counts beside them when ``audio_include_inputs`` is set), centred per domain: real
recordings minus the mean of the seen digits' real training recordings, renderings minus the
mean of all renderings. Centring removes what separates the renderer from the real sensor
for every digit alike (loudness, event rate, the emulator's contrast) without using any
label of an unseen digit. An anchor is the unit-norm mean of a digit's centred renderings.
(The contrastive projections are no place for this: trained to separate the seen digits,
they map two unseen digits onto seen-digit directions arbitrarily, and measured over all 45
held-out pairs their anchors were worse than chance for some pairs.)

Retrieval through the names (``projection.through_names``) then links an audio query to
an image by way of the digit whose spoken anchor it is closest to and whose typeset anchor
the image is closest to. Nothing about the unseen digits is learnt from data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuralbrain.errors import ConfigError
from neuralbrain.memory.projection import prototypes

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@dataclass(frozen=True)
class Config:
    """``[names]``: the renderings each digit's anchors are the mean of."""

    enabled: bool = False
    voices: tuple[str, ...] = ("en-us", "en", "en-us+m1", "en-us+m3", "en-us+f2", "en-us+f4",
                               "en-gb-scotland", "en-029")
    wpm: tuple[int, ...] = (140, 175, 210)
    fonts: tuple[str, ...] = ("DejaVu Sans", "DejaVu Sans:bold", "DejaVu Sans:oblique",
                              "DejaVu Serif", "DejaVu Sans Mono", "STIXGeneral", "cmr10",
                              "cmss10")
    temperature: float = 0.1  # softmax over candidate digits, see projection.through_names

    def __post_init__(self) -> None:
        if self.enabled and not (self.voices and self.wpm and self.fonts):
            raise ConfigError(
                f"names.voices = {self.voices}, wpm = {self.wpm}, fonts = {self.fonts}: "
                "expected at least one of each (or names.enabled = false)"
            )
        if not self.temperature > 0:
            raise ConfigError(f"names.temperature = {self.temperature}: expected > 0")


def spoken(digits: np.ndarray, cfg: Config, rate_hz: int = 8000) -> tuple[list[np.ndarray], np.ndarray]:
    """Each digit's word in every voice and rate: (waveforms at ``rate_hz``, labels)."""
    from neuralbrain.sensing.speech import Utterance, synthesize

    requests = [Utterance(WORDS[int(d)], voice=voice, wpm=wpm)
                for d in digits for voice in cfg.voices for wpm in cfg.wpm]
    labels = np.repeat(np.asarray(digits, np.int64), len(cfg.voices) * len(cfg.wpm))
    return synthesize(requests, rate_hz), labels


def written(digits: np.ndarray, cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """Each digit's numeral in every font: (uint8 (n, 28, 28) images, labels)."""
    from neuralbrain.sensing.glyphs import Font, numeral

    fonts = [Font.parse(f) for f in cfg.fonts]
    images = [numeral(str(int(d)), font) for d in digits for font in fonts]
    labels = np.repeat(np.asarray(digits, np.int64), len(fonts))
    return np.stack(images), labels


def centred(features: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Unit-norm ``log1p(features) - mean``: where recordings and anchors are compared."""
    x = np.log1p(np.asarray(features, np.float64)) - mean
    return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-12)


def domain_mean(features: np.ndarray) -> np.ndarray:
    """The mean ``log1p`` feature vector of one domain's recordings."""
    return np.log1p(np.asarray(features, np.float64)).mean(0)


def anchors(rendered: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(digits, unit-norm anchors): each digit's mean centred rendering, renormalised."""
    return prototypes(centred(rendered, domain_mean(rendered)), labels)

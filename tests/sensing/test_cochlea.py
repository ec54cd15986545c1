import numpy as np
import pytest

from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.sensing.cochlea import Cochlea, Config, centre_frequencies, erb_rate


def _tone(f, fs=16000, seconds=0.5, amp=0.5):
    t = np.arange(int(fs * seconds)) / fs
    return amp * np.sin(2 * np.pi * f * t)


def test_centre_frequencies_erb_spaced():
    cfg = Config()
    f = centre_frequencies(cfg)
    assert f.shape == (64,) and f[0] == pytest.approx(100) and f[-1] == pytest.approx(3600)
    np.testing.assert_allclose(np.diff(erb_rate(f)), np.diff(erb_rate(f))[0])
    rev = centre_frequencies(Config(low_to_high=False))
    np.testing.assert_allclose(rev, f[::-1])


@pytest.mark.parametrize("freq", [130.0, 523.0, 2000.0])
def test_tone_peaks_at_its_channel(freq):
    cfg = Config()
    ev = Cochlea(cfg)(_tone(freq), 16000)
    hist = np.bincount(ev["x"], minlength=64)
    best = np.argmin(np.abs(np.log(centre_frequencies(cfg) / freq)))
    assert abs(int(hist.argmax()) - best) <= 1
    assert 0.45 < ev["p"].mean() < 0.55  # ON and OFF half-waves balance for a sine
    assert np.all(np.diff(ev["t"]) >= 0) and ev["y"].max() == 0


def test_rate_matches_integrate_and_fire():
    # A unit sine at a channel's centre frequency fires full_scale_rate_hz per polarity there.
    cfg = Config(full_scale_rate_hz=1000.0)
    f = centre_frequencies(cfg)[30]
    ev = Cochlea(cfg)(_tone(f, seconds=1.0, amp=1.0), 16000)
    on = ((ev["x"] == 30) & (ev["p"] == 1)).sum()
    assert abs(on - 1000) < 60  # the filter's onset transient costs a few spikes


def test_silence_and_determinism():
    c = Cochlea()
    assert c(np.zeros(8000), 8000).size == 0
    x = np.random.default_rng(0).standard_normal(4000) * 0.1
    np.testing.assert_array_equal(c(x, 8000), c(x, 8000))


def test_bad_input():
    with pytest.raises(ShapeError, match="Nyquist"):
        Cochlea()(np.zeros(100), 4000)
    with pytest.raises(ShapeError, match="mono"):
        Cochlea()(np.zeros((100, 2)), 8000)
    with pytest.raises(ConfigError, match="cochlea.f_min_hz"):
        Config(f_min_hz=5000)

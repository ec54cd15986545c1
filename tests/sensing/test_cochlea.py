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


def test_resonator_stable_at_low_centre_frequencies():
    cfg = Config(f_min_hz=10.0, f_max_hz=9000.0, spacing="log")
    ev = Cochlea(cfg)(_tone(20.0, fs=24000, seconds=1.0), 24000)
    hist = np.bincount(ev["x"], minlength=64)
    # finite rates (a 0.5 sine at unity gain: ~1000 ON + 1000 OFF per s) and the peak near 20 Hz
    assert hist.max() < 2500
    assert 20.0 / 1.5 < centre_frequencies(cfg)[int(hist.argmax())] < 20.0 * 1.5


def test_nas_cascade_edge_and_order():
    # In the NAS topology a tone drives the channels whose cut-off is above it and stops
    # sharply below; channel 0 is the highest cut-off.
    from neuralbrain.sensing.cochlea import NAS64

    f_c = centre_frequencies(NAS64)
    assert f_c[0] > f_c[-1]
    hists = {}
    for freq in (130.0, 523.0):
        ev = Cochlea(NAS64)(_tone(freq, fs=48000), 48000)
        hists[freq] = np.bincount(ev["x"], minlength=64)
        h = hists[freq]
        below = f_c < freq / 2  # cut-offs an octave under the tone
        assert h[below].sum() < 0.02 * h.sum()
        assert f_c[int(h.argmax())] > freq
    assert hists[523.0].argmax() < hists[130.0].argmax()
    with pytest.raises(ConfigError, match="cochlea.filter"):
        Config(filter="fft")


def test_agc_compresses_loud_bands_and_is_off_by_default():
    # two tones 20 dB apart: with the gain control the loud one's lead in events shrinks
    cfg, agc = Config(), Config(agc_tau_s=0.05)
    f = centre_frequencies(cfg)
    x = _tone(f[20], fs=8000, amp=0.5) + _tone(f[45], fs=8000, amp=0.05)
    plain, ctl = (np.bincount(Cochlea(c)(x, 8000)["x"], minlength=64) for c in (cfg, agc))
    assert plain[20] / plain[45] > 2 * ctl[20] / ctl[45] > 2
    np.testing.assert_array_equal(Cochlea(agc)(x, 8000), Cochlea(agc)(x, 8000))
    assert Config().agc_tau_s == 0.0  # off unless asked for
    with pytest.raises(ConfigError, match="agc_exponent = 1.5"):
        Config(agc_tau_s=0.05, agc_exponent=1.5)

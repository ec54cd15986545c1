"""Software silicon cochlea: mono audio -> 64-channel ON/OFF events.

Model, per channel ``c`` (vectorized over channels; no Python loop over samples):

1. Centre frequencies ``f_c`` from ``f_min_hz`` to ``f_max_hz``, equally spaced on the
   ERB-rate scale of Glasberg & Moore (Hear. Res. 47, 1990),
   ``E(f) = 21.4 log10(1 + 0.00437 f)`` (``spacing="erb"``), or on a log scale
   (``spacing="log"``, a constant number of channels per octave, like the FPGA NAS).
2. Band-pass: ``order`` identical resonator sections with poles at
   ``r exp(+-i 2 pi f_c T)``, ``r = exp(-2 pi b T)``, ``b = bandwidth_erb * ERB(f_c)``,
   ``ERB(f) = 24.7 (4.37 f / 1000 + 1)``, and one zero at DC: order 4 with b = 1.019 ERB is
   the one-zero gammatone filter (OZGF; Lyon, JASA 1997), a stable approximation of the
   4th-order gammatone of Patterson et al. (1992); order 1 is a 2nd-order band-pass. Gain is
   normalized to 1 at ``f_c``; filtering is ``scipy.signal.sosfilt`` (second-order sections
   stay stable at low ``f_c / rate``, where the direct-form gammatone of
   ``scipy.signal.gammatone`` does not).
   ``filter="nas_cascade"`` instead builds the FPGA NAS's topology (Jimenez-Fernandez et
   al. 2017): a cascade of 2nd-order low-pass stages with cut-offs ``f_c`` from high to low
   (RBJ biquad, quality ``q_factor``); channel c = input of stage c - its output, so a tone
   drives every channel whose cut-off lies above it, most strongly some channels above its
   frequency, and stops sharply below.
   Optional automatic gain control (``agc_tau_s > 0``), per channel, causal, before the
   rectifier: the envelope ``e_c[n] = a e_c[n-1] + (1 - a) |y_c[n]|``, ``a = exp(-T /
   agc_tau_s)``, divides the channel, ``y_c <- agc_gain * y_c * (agc_floor / (e_c +
   agc_floor)) ** agc_exponent``: loud bands are compressed towards quiet ones, so a new
   voice or microphone shifts the spectrum less (the compressive, level-dependent gain of
   the cochlea's outer hair cells; after the AGC of Lyon's CAR-FAC cochlea model, R. F. Lyon,
   "Human and Machine Hearing", Cambridge UP 2017, here as one feed-forward stage). Below
   ``agc_floor`` the gain is ``agc_gain``.
3. Half-wave rectification into two streams, as the FPGA Neuromorphic Auditory Sensor does
   (Jimenez-Fernandez et al., IEEE TNNLS 28(4), 2017: spike polarity carries the sign of the
   band-passed signal): ``ON = max(y, 0)``, ``OFF = max(-y, 0)``.
4. Integrate-and-fire with reset by subtraction (a sigma-delta modulator) per stream:
   ``sum_{k<=n} r_k dt`` crosses ``m * theta`` -> spike number ``m``, its time interpolated
   linearly inside the sample. ``theta = 1 / (pi * full_scale_rate_hz)``, so a unit-amplitude
   sine at ``f_c`` (rectified mean ``1/pi``) fires ``full_scale_rate_hz`` per polarity.
   Spike counts come from ``floor(cumsum / theta)``, so the whole thing is two cumsums.

Events: ``x`` = channel (0 = lowest frequency when ``low_to_high``), ``y`` = 0, ``t`` in us,
``p`` = 1 for the positive half-wave (ON), 0 for the negative (OFF). Deterministic: the model
has no noise, so the seed is not needed; ``Cochlea(cfg)(audio, rate_hz)`` is stateless.

FSDD passed through this cochlea is *derived* data ("FSDD through the software cochlea"),
not N-TIDIGITS (which was recorded with the CochleaAMS1b from the TIDIGITS corpus).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from neuralbrain.errors import ConfigError, ShapeError
from neuralbrain.sensing.events import EVENT_DTYPE


@dataclass(frozen=True)
class Config:
    n_channels: int = 64
    f_min_hz: float = 100.0
    f_max_hz: float = 3600.0
    full_scale_rate_hz: float = 2000.0  # events/s per polarity for a unit sine at f_c
    low_to_high: bool = True  # channel 0 = lowest centre frequency
    spacing: str = "erb"  # "erb" or "log"
    filter: str = "resonator"  # "resonator" (gammatone-like) or "nas_cascade"
    q_factor: float = 0.5  # low-pass stage quality, nas_cascade only
    order: int = 4  # resonator sections: 4 ~ gammatone, 1 = 2nd-order band-pass
    bandwidth_erb: float = 1.019
    agc_tau_s: float = 0.0  # automatic gain control time constant; 0 = off
    agc_exponent: float = 0.5  # 0 = no compression, 1 = every band to the same level
    agc_floor: float = 0.01  # envelope (full scale 1) below which the gain stays agc_gain
    agc_gain: float = 2.2  # keeps FSDD's mean event count near the plain cochlea's

    def __post_init__(self) -> None:
        if self.agc_tau_s < 0 or not 0 <= self.agc_exponent <= 1 or not (
                self.agc_floor > 0 and self.agc_gain > 0):
            raise ConfigError(
                f"cochlea.agc_tau_s = {self.agc_tau_s}, agc_exponent = {self.agc_exponent}, "
                f"agc_floor = {self.agc_floor}, agc_gain = {self.agc_gain}: expected tau >= 0 "
                "(0 = off), exponent in [0, 1], floor > 0 and gain > 0"
            )
        if not isinstance(self.n_channels, int) or not 1 <= self.n_channels <= 1024:
            raise ConfigError(f"cochlea.n_channels = {self.n_channels!r}: expected 1..1024")
        if not (0 < self.f_min_hz < self.f_max_hz):
            raise ConfigError(
                f"cochlea.f_min_hz = {self.f_min_hz}, f_max_hz = {self.f_max_hz}: "
                "expected 0 < f_min_hz < f_max_hz"
            )
        if self.spacing not in ("erb", "log"):
            raise ConfigError(f"cochlea.spacing = {self.spacing!r}: expected 'erb' or 'log'")
        if self.filter not in ("resonator", "nas_cascade"):
            raise ConfigError(
                f"cochlea.filter = {self.filter!r}: expected 'resonator' or 'nas_cascade'"
            )
        if not (self.q_factor > 0 and np.isfinite(self.q_factor)):
            raise ConfigError(f"cochlea.q_factor = {self.q_factor}: expected > 0")
        if not isinstance(self.order, int) or not 1 <= self.order <= 8:
            raise ConfigError(f"cochlea.order = {self.order!r}: expected an int 1..8")
        if not (self.bandwidth_erb > 0 and np.isfinite(self.bandwidth_erb)):
            raise ConfigError(f"cochlea.bandwidth_erb = {self.bandwidth_erb}: expected > 0")
        if not (self.full_scale_rate_hz > 0 and np.isfinite(self.full_scale_rate_hz)):
            raise ConfigError(
                f"cochlea.full_scale_rate_hz = {self.full_scale_rate_hz}: expected > 0"
            )


def erb_rate(f_hz: np.ndarray | float) -> np.ndarray:
    """Glasberg & Moore ERB-rate (number of ERBs below ``f_hz``)."""
    return 21.4 * np.log10(1.0 + 0.00437 * np.asarray(f_hz, dtype=np.float64))


def erb_rate_inverse(e: np.ndarray) -> np.ndarray:
    return (10.0 ** (np.asarray(e) / 21.4) - 1.0) / 0.00437


def centre_frequencies(cfg: Config) -> np.ndarray:
    """Channel centre frequencies in Hz, in channel order."""
    if cfg.spacing == "erb":
        f = erb_rate_inverse(
            np.linspace(erb_rate(cfg.f_min_hz), erb_rate(cfg.f_max_hz), cfg.n_channels)
        )
    else:
        f = np.geomspace(cfg.f_min_hz, cfg.f_max_hz, cfg.n_channels)
    return f if cfg.low_to_high else f[::-1]


def erb_hz(f_hz: np.ndarray | float) -> np.ndarray:
    """Equivalent rectangular bandwidth (Glasberg & Moore 1990) in Hz."""
    return 24.7 * (4.37 * np.asarray(f_hz, dtype=np.float64) / 1000.0 + 1.0)


def channel_sos(f_hz: float, rate_hz: float, cfg: Config) -> np.ndarray:
    """Second-order sections of one channel (see module docstring), unity gain at ``f_hz``."""
    dt = 1.0 / rate_hz
    r = np.exp(-2.0 * np.pi * cfg.bandwidth_erb * erb_hz(f_hz) * dt)
    theta = 2.0 * np.pi * f_hz * dt
    sos = np.tile([1.0, 0.0, 0.0, 1.0, -2.0 * r * np.cos(theta), r * r], (cfg.order, 1))
    sos[0, :3] = [1.0, -1.0, 0.0]  # the zero at DC
    _, h = signal.sosfreqz(sos, worN=[theta])
    sos[0, :3] /= np.abs(h[0])
    return sos


def lowpass_sos(f_hz: float, rate_hz: float, q: float) -> np.ndarray:
    """2nd-order low-pass biquad (RBJ audio-EQ cookbook) as one second-order section."""
    w = 2.0 * np.pi * f_hz / rate_hz
    alpha = np.sin(w) / (2.0 * q)
    cw = np.cos(w)
    b = np.array([(1.0 - cw) / 2.0, 1.0 - cw, (1.0 - cw) / 2.0])
    a = np.array([1.0 + alpha, -2.0 * cw, 1.0 - alpha])
    return np.concatenate([b / a[0], a / a[0]])[None, :]


def filterbank(audio: np.ndarray, rate_hz: float, cfg: Config) -> np.ndarray:
    """Filterbank output in channel order, shape (n_channels, n_samples)."""
    freqs = centre_frequencies(cfg)
    out = np.empty((cfg.n_channels, audio.size))
    if cfg.filter == "resonator":
        for c, f in enumerate(freqs):
            out[c] = signal.sosfilt(channel_sos(f, rate_hz, cfg), audio)
        return out
    # NAS cascade: stages run from the highest cut-off down, whatever the channel numbering.
    y = audio.astype(np.float64)
    for c in np.argsort(-freqs):
        z = signal.sosfilt(lowpass_sos(freqs[c], rate_hz, cfg.q_factor), y)
        out[c] = y - z
        y = z
    return out


def agc(y: np.ndarray, rate_hz: float, cfg: Config) -> np.ndarray:
    """The automatic gain control of the module docstring on filterbank output (C, N)."""
    a = np.exp(-1.0 / (cfg.agc_tau_s * rate_hz))
    env = signal.lfilter([1.0 - a], [1.0, -a], np.abs(y), axis=1)
    return cfg.agc_gain * y * (cfg.agc_floor / (env + cfg.agc_floor)) ** cfg.agc_exponent


def _if_spikes(drive: np.ndarray, dt: float, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """IF with subtraction on non-negative ``drive`` (C, N) -> (channel, time_s) of spikes."""
    charge = np.cumsum(drive, axis=1) * (dt / theta)  # in units of theta
    count = np.floor(charge).astype(np.int64)
    prev = np.concatenate([np.zeros((count.shape[0], 1), np.int64), count[:, :-1]], axis=1)
    new = count - prev
    ch, k = np.nonzero(new)
    reps = new[ch, k]
    ch_r = np.repeat(ch, reps)
    k_r = np.repeat(k, reps)
    # spike m (1-based overall) crosses level m; linear interpolation inside sample k
    m = np.repeat(prev[ch, k], reps) + (np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps,
                                                                          reps)) + 1
    c_before = np.where(k_r > 0, charge[ch_r, np.maximum(k_r - 1, 0)], 0.0)
    step = drive[ch_r, k_r] * (dt / theta)
    frac = np.clip((m - c_before) / np.where(step > 0, step, 1.0), 0.0, 1.0)
    return ch_r, (k_r - 1 + frac) * dt + dt


def cochlea_events(audio: np.ndarray, rate_hz: float, cfg: Config) -> np.ndarray:
    """Pure function behind ``Cochlea``: mono audio (float, ~[-1, 1]) -> events."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 2 and 1 in x.shape:
        x = x.ravel()
    if x.ndim != 1:
        raise ShapeError(f"audio shape {np.shape(audio)}: expected mono samples (n,)")
    if not np.all(np.isfinite(x)):
        raise ShapeError("audio contains NaN or inf samples")
    if not (rate_hz > 0 and np.isfinite(rate_hz)):
        raise ShapeError(f"rate_hz = {rate_hz}: expected a positive sample rate")
    if cfg.f_max_hz >= 0.5 * rate_hz * 0.95:
        raise ShapeError(
            f"cochlea.f_max_hz = {cfg.f_max_hz} is too close to the Nyquist frequency "
            f"{rate_hz / 2} of {rate_hz} Hz audio: expected f_max_hz < {0.475 * rate_hz}"
        )
    if x.size == 0:
        return np.empty(0, EVENT_DTYPE)
    y = filterbank(x, float(rate_hz), cfg)
    if cfg.agc_tau_s > 0:
        y = agc(y, float(rate_hz), cfg)
    theta = 1.0 / (np.pi * cfg.full_scale_rate_hz)
    dt = 1.0 / rate_hz
    ch_on, t_on = _if_spikes(np.maximum(y, 0.0), dt, theta)
    ch_off, t_off = _if_spikes(np.maximum(-y, 0.0), dt, theta)
    t = np.rint(np.concatenate([t_on, t_off]) * 1e6).astype(np.int64)
    ch = np.concatenate([ch_on, ch_off])
    p = np.concatenate([np.ones(ch_on.size, np.int8), np.zeros(ch_off.size, np.int8)])
    order = np.lexsort((p, ch, t))
    ev = np.empty(order.size, EVENT_DTYPE)
    ev["t"] = t[order]
    ev["x"] = ch[order]
    ev["y"] = 0
    ev["p"] = p[order]
    return ev


@dataclass(frozen=True)
class Cochlea:
    """Frozen, stateless cochlea: ``Cochlea(cfg)(audio, rate_hz) -> events``."""

    config: Config = Config()

    def __call__(self, audio: np.ndarray, rate_hz: float) -> np.ndarray:
        return cochlea_events(audio, rate_hz, self.config)


# A 64-channel preset of the FPGA Neuromorphic Auditory Sensor recordings in
# $NEURALBRAIN_DATA/nas_cochlea (benchmarks/bench_sensing_realism.py prints the comparison):
# its low-pass cascade, channel 0 the highest frequency, cut-offs log-spaced from 18.8 kHz to
# 35.6 Hz (6.97 channels per octave). The map comes from the sharp low-frequency edge of the
# tone-locked channels in the two tone recordings (130 Hz: last locked channel 50; 523 Hz:
# 36), a two-point fit; it lands on the 20 Hz - 20 kHz range such sensors are built for.
# q_factor 0.5 is the best of {0.5, 0.707, 1, 1.5} on the spread of the tone responses.
# Needs audio sampled at >= 40 kHz.
NAS64 = Config(
    n_channels=64,
    f_min_hz=35.6,
    f_max_hz=18_800.0,
    spacing="log",
    low_to_high=False,
    filter="nas_cascade",
    q_factor=0.5,
)

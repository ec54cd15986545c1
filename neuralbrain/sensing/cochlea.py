"""Software silicon cochlea: mono audio -> 64-channel ON/OFF events.

Model, per channel ``c`` (vectorized over channels; no Python loop over samples):

1. Centre frequencies ``f_c`` equally spaced on the ERB-rate scale of Glasberg & Moore
   (Hear. Res. 47, 1990): ``E(f) = 21.4 log10(1 + 0.00437 f)``, from ``f_min_hz`` to
   ``f_max_hz``.
2. Band-pass: 4th-order gammatone filter at ``f_c`` with bandwidth ``1.019 ERB(f_c)``
   (Patterson et al. 1992; IIR form of Slaney 1993 via ``scipy.signal.gammatone``, unity gain
   at ``f_c``), applied with ``scipy.signal.lfilter``.
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

    def __post_init__(self) -> None:
        if not isinstance(self.n_channels, int) or not 1 <= self.n_channels <= 1024:
            raise ConfigError(f"cochlea.n_channels = {self.n_channels!r}: expected 1..1024")
        if not (0 < self.f_min_hz < self.f_max_hz):
            raise ConfigError(
                f"cochlea.f_min_hz = {self.f_min_hz}, f_max_hz = {self.f_max_hz}: "
                "expected 0 < f_min_hz < f_max_hz"
            )
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
    f = erb_rate_inverse(np.linspace(erb_rate(cfg.f_min_hz), erb_rate(cfg.f_max_hz),
                                     cfg.n_channels))
    return f if cfg.low_to_high else f[::-1]


def filterbank(audio: np.ndarray, rate_hz: float, cfg: Config) -> np.ndarray:
    """Gammatone filterbank output, shape (n_channels, n_samples)."""
    out = np.empty((cfg.n_channels, audio.size))
    for c, f in enumerate(centre_frequencies(cfg)):
        b, a = signal.gammatone(f, "iir", fs=rate_hz)
        out[c] = signal.lfilter(b, a, audio)
    return out


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

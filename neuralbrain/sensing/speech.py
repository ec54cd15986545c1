"""Speech synthesis: text -> mono waveforms, by the eSpeak NG formant synthesizer.

The zero-shot memory task describes a digit it has never heard by its name; this module is
how a name becomes sound. eSpeak NG (GPL-3.0, loaded at run time from the
``espeakng-loader`` wheel, which bundles the library and its voice data) is a rule-based
formant synthesizer: no trained model, nothing to download.

``synthesize([Utterance("eight", voice="en-us+f2", wpm=140)], rate_hz=8000)`` returns one
float64 waveform in [-1, 1] per utterance at ``rate_hz`` (eSpeak renders at 22,050 Hz;
``scipy.signal.resample_poly`` converts). Voices are eSpeak language names with an optional
variant (``"en-us"``, ``"en-gb-scotland"``, ``"en-us+m3"``).

Determinism: eSpeak keeps state across utterances in a process (the phase of its pitch
flutter is a static variable in the wave generator), so the same word said twice in one
process differs slightly, and breathy voices add noise from a generator seeded from the
clock. ``synthesize`` therefore renders each list in a fresh process with the generator's
seed fixed: the same list always gives the same samples.
"""

from __future__ import annotations

import ctypes
import importlib.util
import io
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from neuralbrain.errors import ConfigError

_SYNCHRONOUS = 2  # espeak_AUDIO_OUTPUT: AUDIO_OUTPUT_SYNCHRONOUS (samples to our callback)
_POS_CHARACTER = 1  # espeak_POSITION_TYPE
_RATE, _PITCH = 1, 3  # espeak_PARAMETER: words per minute, base pitch 0-100


@dataclass(frozen=True)
class Utterance:
    text: str
    voice: str = "en-us"
    wpm: int = 175  # words per minute
    pitch: int = 50  # base pitch, 0-100

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ConfigError(f"text {self.text!r}: expected something to say")
        if not 80 <= self.wpm <= 450:
            raise ConfigError(f"wpm = {self.wpm}: expected 80..450 words per minute")
        if not 0 <= self.pitch <= 100:
            raise ConfigError(f"pitch = {self.pitch}: expected 0..100")


def synthesize(utterances: Sequence[Utterance], rate_hz: int = 8000) -> list[np.ndarray]:
    """One waveform per utterance, rendered in a fresh process (see the module docstring)."""
    if rate_hz < 1000:
        raise ConfigError(f"rate_hz = {rate_hz}: expected >= 1000")
    utterances = list(utterances)
    if not utterances:
        return []
    if importlib.util.find_spec("espeakng_loader") is None:
        raise ConfigError("speech synthesis needs the espeakng-loader package (a dependency of "
                          "neuralbrain: reinstall with `pip install -e .` or `make install`)")
    request = json.dumps({"rate_hz": int(rate_hz), "utterances": [asdict(u) for u in utterances]})
    # the worker imports this module: make sure it finds the package we were imported from
    package_root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [package_root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-m", __name__], input=request.encode(),
                          capture_output=True, check=False, env=env)
    if done.returncode == 2:
        raise ConfigError(done.stderr.decode().strip())
    if done.returncode != 0:
        raise RuntimeError(f"speech synthesis failed: {done.stderr.decode().strip()[-2000:]}")
    with np.load(io.BytesIO(done.stdout), allow_pickle=False) as waves:
        return [waves[str(i)] for i in range(len(utterances))]


def _main() -> None:
    """The worker: a JSON request on stdin, an ``.npz`` of waveforms ("0", "1", ...) on stdout."""
    request = json.loads(sys.stdin.buffer.read())
    try:
        utterances = [Utterance(**u) for u in request["utterances"]]
        waves = _render(utterances, int(request["rate_hz"]))
    except ConfigError as err:
        print(err, file=sys.stderr)
        raise SystemExit(2) from None
    buf = io.BytesIO()
    np.savez(buf, **{str(i): w for i, w in enumerate(waves)})
    sys.stdout.buffer.write(buf.getvalue())


def _render(utterances: list[Utterance], rate_hz: int) -> list[np.ndarray]:
    import espeakng_loader
    from scipy.signal import resample_poly

    data = Path(espeakng_loader.get_data_path())
    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                 ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    native = lib.espeak_Initialize(_SYNCHRONOUS, 0, str(data).encode(), 0)
    if native <= 0:
        raise RuntimeError(f"eSpeak NG failed to initialise from {data} (returned {native})")
    # Breathy voices mix in noise from eSpeak's own generator, seeded from the clock at start
    lib.espeak_ng_SetRandSeed(0)
    chunks: list[np.ndarray] = []

    @ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
    def collect(wav, n, _events):
        if n > 0:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    lib.espeak_SetSynthCallback(collect)
    languages = _languages(lib)
    ratio = Fraction(rate_hz, native)
    out = []
    for u in utterances:
        language, _, variant = u.voice.partition("+")
        if language not in languages or (variant and not (data / "voices" / "!v" / variant).is_file()):
            raise ConfigError(
                f"voice {u.voice!r}: expected an eSpeak NG language with an optional variant, "
                f"e.g. 'en-us', 'en-gb-scotland', 'en-us+f2'"
            )
        lib.espeak_SetVoiceByName(u.voice.encode())
        lib.espeak_SetParameter(_RATE, u.wpm, 0)
        lib.espeak_SetParameter(_PITCH, u.pitch, 0)
        chunks.clear()
        text = u.text.encode() + b"\0"
        lib.espeak_Synth(text, len(text), 0, _POS_CHARACTER, 0, 0, None, None)
        samples = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        out.append(resample_poly(samples / 32768.0, ratio.numerator, ratio.denominator))
    return out


class _Voice(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("languages", ctypes.c_void_p),
                ("identifier", ctypes.c_char_p), ("gender", ctypes.c_ubyte),
                ("age", ctypes.c_ubyte), ("variant", ctypes.c_ubyte), ("xx1", ctypes.c_ubyte),
                ("score", ctypes.c_int), ("spare", ctypes.c_void_p)]


def _languages(lib: ctypes.CDLL) -> set[str]:
    """Every language name eSpeak's voices declare (``languages`` is a list of
    [priority byte, name, NUL] entries ended by a zero priority)."""
    lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
    voices = lib.espeak_ListVoices(None)
    names: set[str] = set()
    i = 0
    while voices[i]:
        addr = voices[i].contents.languages
        while addr and ctypes.c_ubyte.from_address(addr).value:
            name = ctypes.string_at(addr + 1)
            names.add(name.decode())
            addr += 2 + len(name)
        i += 1
    return names


if __name__ == "__main__":
    _main()

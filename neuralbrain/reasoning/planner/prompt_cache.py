"""A disk cache of what the planner computes the same way in every process (as llama.cpp's
``--prompt-cache``): the KV cache of its fixed prompt prefixes (and of the request-free
context ``pmi_items`` scores against, with its log-probabilities), the request-free scores of
a set of relation phrases, and the GGUF metadata the model loader derives.

The worked-example prompts are identical in every process, and computing their keys and
values is most of a first plan (~900 of its ~1000 tokens). Each entry is one ``.npz`` file in
``cache_dir()`` (``$NEURALBRAIN_CACHE``, else ``~/.cache/neuralbrain/``) named by a sha256
(``entry_key``) of everything its values depend on: the model file's sha256 (its bytes), the
backend's name and config, the forward's numerics, the token ids, the versions of
neuralbrain and numpy, the CPU (numpy's BLAS picks its kernels per CPU, and they round
differently) and ``CACHE_FORMAT``. So an entry computed for another model, backend setting or
prompt is never read; it is simply another file. A value loaded is the value computed, bit
for bit: readings with and without the cache are identical (tests check both).

Energy stays honest: the trace prices the modeled device, which computes the prefix in every
process whatever the emulator saves, so an entry stores the ledger bookings its computation
made, in order, and ``replay`` books them again, one by one, into the ledger (the same sums in
the same order: identical figures) and into the backend's own count ``spent``. Energy,
latency and token counts of a reading do not change with the cache.

Only backends whose ops are deterministic functions of their inputs are cached
(``CACHED_BACKENDS``): a backend with a noise generator or drifting state must compute, or
its state would advance differently. A file that does not load, or whose key, token ids or
shapes do not match what was asked, is ignored with a warning and recomputed (and then
rewritten). Files are written atomically (``neuralbrain.atomic``); a cache folder that cannot
be written is a warning, never an error; a kind written once per scene keeps its newest
``MAX_ENTRIES``. ``PlannerConfig(prompt_cache=False)`` or
``neuralbrain plan --no-prompt-cache`` turns the cache off.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import io
import json
import os
import platform
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neuralbrain.energy import Cost, Ledger

CACHE_FORMAT = 1
# backends whose ops are pure functions of their inputs (no noise generator, no drift)
CACHED_BACKENDS = frozenset({"cpu", "lut", "t3"})
MAX_ENTRY_BYTES = 1 << 30  # a larger file is not read
# entries of a kind kept at most (the oldest go first): one phrase_base entry (~50 KB) is
# written per scene, so a long sweep would otherwise grow the folder without end
MAX_ENTRIES = {"phrase_base": 1000}


def cache_dir() -> Path:
    """``$NEURALBRAIN_CACHE``, else ``~/.cache/neuralbrain``."""
    env = os.environ.get("NEURALBRAIN_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "neuralbrain"


@functools.lru_cache(maxsize=8)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path: str | Path) -> str:
    """The sha256 of the file's bytes (hashed once per process while its size and mtime stay)."""
    st = os.stat(path)
    return _sha256_of(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=1)
def _environment() -> dict[str, str]:
    """What a cached float depends on besides the model, backend and prompt."""
    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh
                        if line.startswith("model name")), "")
    except OSError:
        pass
    try:
        version = importlib.metadata.version("neuralbrain")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return {"neuralbrain": version, "numpy": np.__version__, "machine": platform.machine(),
            "cpu": cpu or platform.processor(), "format": str(CACHE_FORMAT)}


def entry_key(kind: str, parts: Mapping[str, Any]) -> str:
    """The sha256 naming an entry of ``kind`` whose values depend on ``parts`` (JSON-able)."""
    doc = json.dumps({"kind": kind, "env": _environment(), **parts}, sort_keys=True,
                     default=repr)
    return hashlib.sha256(doc.encode()).hexdigest()


# -- ledger bookings --------------------------------------------------------------------------
class RecordingLedger(Ledger):
    """Books into ``inner`` as usual and keeps every booking, in order, for ``replay``."""

    def __init__(self, inner: Ledger) -> None:
        super().__init__()
        self.inner = inner
        self.bookings: list[tuple[str, str, Cost]] = []

    def book(self, op: str, cost: Cost, *, backend: str) -> Cost:
        self.bookings.append((op, backend, cost))
        return self.inner.book(op, cost, backend=backend)


def replay(bookings: Iterable[tuple[str, str, Cost]], ledger: Ledger, device: Any) -> None:
    """Book ``bookings`` again, in order, into ``ledger`` and ``device.spent``."""
    for op, backend, cost in bookings:
        ledger.book(op, cost, backend=backend)
        device.spent = device.spent + cost


def _cost_doc(c: Cost) -> list:
    # json writes floats as their shortest repr, which reads back as the same float
    return [c.energy_j, c.latency_s, c.ops, c.bytes_moved,
            [[name, _cost_doc(p)] for name, p in c.parts]]


def _cost_from(doc: Any) -> Cost:
    e, lat, ops, nbytes, parts = doc
    return Cost(float(e), float(lat), int(ops), int(nbytes),
                tuple((str(n), _cost_from(p)) for n, p in parts))


def bookings_doc(bookings: Sequence[tuple[str, str, Cost]]) -> list:
    return [[op, backend, _cost_doc(c)] for op, backend, c in bookings]


def bookings_from(doc: Any) -> list[tuple[str, str, Cost]]:
    return [(str(op), str(backend), _cost_from(c)) for op, backend, c in doc]


# -- entries ----------------------------------------------------------------------------------
class PromptCache:
    """Entries (named arrays + a JSON document) in ``directory`` (default ``cache_dir()``)."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else cache_dir()

    def path(self, kind: str, key: str) -> Path:
        return self.directory / f"{kind}-{key}.npz"

    def load(self, kind: str, key: str, check: Callable[[dict, Any], None] | None = None
             ) -> tuple[dict[str, np.ndarray], Any] | None:
        """(arrays, value) of the entry, or None when there is none or it is unusable (then
        with a warning naming the file and what is wrong). ``check(arrays, value)`` raises
        ``ValueError`` saying what does not match what the caller asked for."""
        path = self.path(kind, key)
        try:
            if path.stat().st_size > MAX_ENTRY_BYTES:
                raise ValueError(f"larger than {MAX_ENTRY_BYTES} bytes")
            with np.load(path, allow_pickle=False) as z:
                arrays = {name: z[name] for name in z.files}
            doc = json.loads(arrays.pop("__doc__").tobytes().decode("utf-8"))
            if not isinstance(doc, dict) or doc.get("key") != key:
                raise ValueError("its key does not match its name")
            if check is not None:
                check(arrays, doc["value"])
            return arrays, doc["value"]
        except (FileNotFoundError, NotADirectoryError):
            return None
        except Exception as exc:  # noqa: BLE001 - any damage means: recompute
            warnings.warn(f"prompt cache: ignoring {path} ({type(exc).__name__}: {exc}); "
                          "recomputing it", stacklevel=3)
            return None

    def save(self, kind: str, key: str, arrays: Mapping[str, np.ndarray], value: Any) -> None:
        """Write the entry atomically; a folder that cannot be written is a warning."""
        from neuralbrain.atomic import atomic_write_bytes

        doc = json.dumps({"key": key, "value": value}).encode("utf-8")
        buf = io.BytesIO()
        np.savez(buf, __doc__=np.frombuffer(doc, np.uint8), **arrays)
        try:
            atomic_write_bytes(self.path(kind, key), buf.getvalue())
        except OSError as exc:
            warnings.warn(f"prompt cache: cannot write {self.path(kind, key)} ({exc}); "
                          "going on without it", stacklevel=3)
            return
        if kind in MAX_ENTRIES:
            self._prune(kind, MAX_ENTRIES[kind])

    def _prune(self, kind: str, keep: int) -> None:
        """Remove all but the ``keep`` most recently written entries of ``kind``."""
        entries = []
        for path in self.directory.glob(f"{kind}-*.npz"):
            with contextlib.suppress(OSError):  # removed meanwhile by another process
                entries.append((path.stat().st_mtime_ns, path))
        for _, path in sorted(entries)[:max(len(entries) - keep, 0)]:
            path.unlink(missing_ok=True)

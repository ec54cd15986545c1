"""Training that survives kill -9: periodic, atomic checkpoints of a training loop's whole state.

A trainer keeps everything its next step depends on in two parts: arrays (parameters,
optimizer moments, the permutation of the epoch in progress) and a JSON-able dict (step
counters, running sums, every random generator's ``bit_generator.state``).
``Checkpointer.save`` writes both as one ``.npz``, atomically (a temp file, then
``os.replace``: a process killed at any moment leaves the previous complete checkpoint, never
a torn one), stamped with the sha256 of the resolved task config and the package version.
``Checkpointer.load`` refuses a checkpoint written for another config, naming both hashes.

Because the checkpoint holds every input of the next step, a run resumed from it continues
exactly as the uninterrupted run would have: the final parameters are equal bit for bit (at
one BLAS thread; a multi-threaded BLAS may sum in another order). ``tests/test_resumable.py``
checks it by SIGKILLing real ``neuralbrain train`` processes twice at random moments.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neuralbrain.atomic import atomic_write_bytes
from neuralbrain.errors import CheckpointError
from neuralbrain.npz import read_npz

STATE_KEY = "__state__"
# the bit generators a checkpoint may name (restored by name: nothing else is looked up)
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


def package_version() -> str:
    """The installed neuralbrain version ("unknown" in a source tree that is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("neuralbrain")
    except PackageNotFoundError:
        return "unknown"


def config_sha256(config_toml: str) -> str:
    """The config hash runs and checkpoints record: sha256 of the resolved TOML text."""
    return hashlib.sha256(config_toml.encode()).hexdigest()


def task_config_sha256(cfg: Any, stop_keys: tuple[str, ...] = ()) -> str:
    """``config_sha256`` of a ``TaskConfig`` (every table, overrides applied), leaving out the
    keys that cannot change the training trajectory: ``checkpoint_every`` anywhere, and the
    dotted ``stop_keys`` a trainer names because they only decide when it stops (an ES run's
    generation or time budget). So a resumed run may save more often or train longer, and
    anything else refuses the checkpoint."""
    from neuralbrain.config import dumps_toml

    def strip(table: Any, where: str) -> Any:
        if not isinstance(table, dict):
            return table
        return {k: strip(v, f"{where}{k}.") for k, v in table.items()
                if k != "checkpoint_every" and f"{where}{k}" not in stop_keys}

    return config_sha256(dumps_toml(strip(cfg.to_dict(), "")))


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """The generator's whole state, JSON-able."""
    return rng.bit_generator.state


def restore_rng(state: Mapping[str, Any]) -> np.random.Generator:
    """A generator in exactly ``state`` (from ``rng_state``)."""
    name = state.get("bit_generator") if isinstance(state, Mapping) else None
    if name not in BIT_GENERATORS:
        raise CheckpointError(f"random generator state names bit generator {name!r}: expected "
                              f"one of {BIT_GENERATORS}")
    rng = np.random.Generator(getattr(np.random, name)())
    try:
        rng.bit_generator.state = dict(state)
    except (TypeError, ValueError, KeyError) as err:
        raise CheckpointError(f"random generator state is damaged: {err}") from None
    return rng


def prefixed(prefix: str, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``arrays`` with every key under ``prefix/`` (to keep several dicts in one file)."""
    return {f"{prefix}/{k}": v for k, v in arrays.items()}


def unprefixed(prefix: str, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays stored by ``prefixed(prefix, ...)``, keys without the prefix."""
    return {k[len(prefix) + 1:]: v for k, v in arrays.items() if k.startswith(prefix + "/")}


def adam_arrays(prefix: str, opt: Any) -> dict[str, np.ndarray]:
    """An Adam optimizer's whole state (moment dicts ``m``, ``v`` and step count ``t``, as
    both Adams of the project keep it) as arrays under ``prefix/``."""
    return {**prefixed(f"{prefix}/m", opt.m), **prefixed(f"{prefix}/v", opt.v),
            f"{prefix}/t": np.array(opt.t)}


def restore_adam(prefix: str, opt: Any, arrays: Mapping[str, np.ndarray]) -> None:
    """Put the state ``adam_arrays(prefix, opt)`` saved back into ``opt``."""
    opt.m, opt.v = unprefixed(f"{prefix}/m", arrays), unprefixed(f"{prefix}/v", arrays)
    opt.t = int(arrays[f"{prefix}/t"])


def check_config_hash(file: str | Path, theirs: Any, mine: str) -> None:
    """Refuse a checkpoint whose recorded config hash ``theirs`` is not ``mine``."""
    if theirs is None:
        raise CheckpointError(
            f"checkpoint {str(file)!r} records no config hash (this config's sha256 is {mine}): "
            "it cannot be resumed safely; train into a new --out")
    if theirs != mine:
        raise CheckpointError(
            f"checkpoint {str(file)!r} was written by a config with sha256 {theirs}, not by "
            f"this one (sha256 {mine}): resume with the config and --set overrides it was "
            "trained with, or train into a new --out")


@dataclass(frozen=True)
class Checkpointer:
    """Where one training loop keeps its state, and how often.

    ``every``: steps between saves (what a step is, batch, epoch or generation, is the
    trainer's; 0 = only when the loop ends). ``resume``: whether ``load`` reads an existing
    checkpoint (a fresh run ignores and then overwrites it)."""

    path: Path
    config_hash: str
    every: int = 1
    resume: bool = False

    @classmethod
    def for_task(cls, out: str | Path, name: str, cfg: Any, every: int,
                 resume: bool) -> Checkpointer:
        """The checkpointer of the loop ``name`` of task config ``cfg`` training into ``out``
        (the file ``out/NAME.train_state.npz``)."""
        return cls(Path(out) / f"{name}.train_state.npz", task_config_sha256(cfg), every, resume)

    def due(self, step: int) -> bool:
        """Whether to save after ``step`` (counted from 1)."""
        return self.every > 0 and step % self.every == 0

    def save(self, arrays: Mapping[str, np.ndarray], state: Mapping[str, Any]) -> None:
        """Write ``arrays`` and the JSON-able ``state`` atomically."""
        if STATE_KEY in arrays:
            raise ValueError(f"array name {STATE_KEY!r} is reserved")
        meta = {"config_sha256": self.config_hash, "version": package_version(),
                "state": dict(state)}
        buf = io.BytesIO()
        np.savez(buf, **{STATE_KEY: np.frombuffer(json.dumps(meta).encode(), np.uint8)},
                 **arrays)
        atomic_write_bytes(self.path, buf.getvalue())

    def load(self) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        """(arrays, state) of the checkpoint when resuming and one exists, else None.
        A checkpoint of another config or a damaged one is a ``CheckpointError``."""
        if not (self.resume and self.path.is_file()):
            return None
        arrays, meta = read_checkpoint(self.path)
        check_config_hash(self.path, meta.get("config_sha256"), self.config_hash)
        state = meta["state"]
        print(f"resuming from {self.path} at step {state.get('step')}", file=sys.stderr,
              flush=True)
        return arrays, state


def read_checkpoint(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays of a ``Checkpointer`` file and its metadata (``config_sha256``,
    ``version``, ``state``), read without pickle; damage is one ``CheckpointError`` line."""
    arrays = read_npz(path)
    try:
        meta = json.loads(arrays.pop(STATE_KEY).tobytes().decode())
        if not isinstance(meta.get("state"), dict):
            raise ValueError("no training state in it")
    except (KeyError, ValueError, AttributeError) as err:
        raise CheckpointError(f"checkpoint {str(path)!r} has no readable training state: "
                              f"{' '.join(str(err).split())}") from None
    return arrays, meta

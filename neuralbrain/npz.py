"""Reading the ``.npz`` files the project writes (checkpoints, weights) as untrusted input."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from neuralbrain.errors import CheckpointError


def read_npz(path: str | Path, what: str = "checkpoint") -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` at ``path``, read without pickle; any damage (empty,
    truncated, a bad zip or array header, a pickled object) is one ``CheckpointError`` line
    naming the file, never a traceback from inside numpy or zipfile."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise CheckpointError(f"{what} {str(path)!r} is not a readable .npz: {reason}") from None

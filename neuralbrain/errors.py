"""One exception hierarchy for everything neuralbrain raises on purpose.

Every error a user can cause (a bad config, a wrong name, a broken file, a backend that
cannot run an op) is an ``Error``. The CLI prints ``str(error)`` on one line and exits with
code 2; anything else escaping is a bug in neuralbrain. Messages name the offending value
and what was expected, so the one line is enough to fix the input.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class Error(Exception):
    """Base of every neuralbrain error caused by input (config, data, names, files)."""


class ConfigError(Error):
    """A config value, key or type is not what its dataclass declares."""


class UnknownNameError(ConfigError):
    """A name (backend, module, env, agent, ...) that no registry knows."""

    def __init__(self, kind: str, name: str, known: Iterable[str], also: Iterable[str] = ()):
        """``known`` are listed in the message; ``also`` are only searched for a suggestion."""
        self.kind, self.name, self.known = kind, name, sorted(known)
        close = difflib.get_close_matches(name, [*self.known, *also], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        super().__init__(f"unknown {kind} {name!r}: expected one of {self.known}{hint}")


class DataError(Error):
    """A data file is missing, truncated or malformed (the message names file and offset)."""


class CapabilityError(Error):
    """A backend was asked for an op it does not implement."""


class CheckpointError(Error):
    """A checkpoint is missing, corrupted, or was written for another config."""


class ShapeError(Error):
    """An array handed to a module or backend has the wrong shape, dtype or range."""


class BudgetExceeded(Error):
    """A step or time budget ran out before the work was done."""


class IsolationError(Error):
    """A module's worker process crashed, passed its deadline or exceeded a resource limit
    (the message names the module and the limit). Unlike other errors it is not bad input:
    the runner fails that episode and goes on, with a fresh worker at the next reset."""

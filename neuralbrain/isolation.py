"""Modules run out of process: ``isolation = "process"`` in a ``[modules.NAME]`` table.

``IsolatedModule`` is a proxy ``Module`` with the real module's ports and its own ``Ledger``:
``reset`` / ``step`` / ``bind_spaces`` / ``to`` are forwarded over a pipe to a worker process
(``python -m neuralbrain.isolation``, started with ``subprocess`` so that it also works inside
the daemonic workers of ``run --workers``) that builds the real module from its class, its
config and its trained state. Inputs and outputs cross pickled (numpy arrays and the frozen
payloads of ``neuralbrain.payloads``). Identity is part of some ports' meaning (a plan that
``is`` the last one is not a new plan), so a value that is the very object its port carried
at the previous step crosses as a reference to the other side's copy of it, except mutable
containers (arrays, dicts, lists, sets), which are sent again. After each call the worker
drains the real module's ledger and the proxy books those bookings in its own, so the trace
is the same as in process.

The worker, before it builds the module (``Limits``, from ``[modules.NAME.limits]``):

- ``address_space_mb``: ``RLIMIT_AS`` (soft and hard); an allocation past it raises
  ``MemoryError`` in the worker, reported as that limit.
- ``cpu_s``: CPU seconds per episode: ``RLIMIT_CPU`` re-armed at every ``reset`` to the CPU
  time used so far plus ``cpu_s`` (whole seconds, rounded up); past it the kernel kills
  the worker with ``SIGXCPU``. (The hard limit stays where it was, so the soft one can be
  re-armed; a module that raises its own soft limit escapes this one.)
- ``step_deadline_s``: wall-clock seconds per ``reset`` / ``step``, enforced by the parent
  (``poll`` on the pipe with a timeout, then ``SIGKILL``); ``start_deadline_s`` bounds
  starting the worker and building the module.
- Filesystem: the worker runs in a fresh scratch directory (its cwd and ``TMPDIR``, removed
  when the worker ends) and, where the kernel has Landlock (Linux >= 5.13), it can write,
  create, remove or rename nothing outside it (``/dev/null`` aside); reading is allowed.
- Network: a new, empty network namespace (``unshare(CLONE_NEWNET)``, as root, else inside a
  new user namespace) where the kernel permits it: no interface but a down loopback;
  Landlock (ABI >= 4) also denies TCP bind and connect.

``Worker.guarantees`` says which of these hold in the worker that runs (see ``probe``).

A worker that dies, hangs past its deadline or exceeds a limit raises ``IsolationError``
naming the module and the limit; the proxy then has no worker, and the next ``reset`` starts
a fresh one (the runner marks the episode failed and goes on). An ordinary exception raised
by the module in the worker is raised again in the parent as it is, and the worker is kept,
as an in-process module would be.

These limits contain faults (a crash, a hang, a leak) of the project's own modules; they
are not a boundary against hostile code running as root.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Mapping
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from neuralbrain.core import Module
from neuralbrain.energy import Cost, Ledger
from neuralbrain.errors import IsolationError

# ---------------------------------------------------------------------------------------
# the sandbox, applied inside the worker
# ---------------------------------------------------------------------------------------

_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_PDEATHSIG = 1
# Landlock syscalls (the same numbers on every architecture)
_LL_CREATE, _LL_ADD_RULE, _LL_RESTRICT = 444, 445, 446
_LL_RULE_PATH_BENEATH, _LL_CREATE_RULESET_VERSION = 1, 1
_LL_WRITE_FILE = 1 << 1
_LL_WRITES = (_LL_WRITE_FILE | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 9)
              | (1 << 10) | (1 << 11) | (1 << 12))  # write, remove, make any kind of file
_LL_REFER, _LL_TRUNCATE = 1 << 13, 1 << 14
_LL_NET_BIND_TCP, _LL_NET_CONNECT_TCP = 1 << 0, 1 << 1


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _no_network() -> str | None:
    """Move this process into a new network namespace; how, or None if not permitted."""
    libc = _libc()
    if libc.unshare(_CLONE_NEWNET) == 0:
        return "network namespace"
    if libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) == 0:
        return "user + network namespace"
    return None


def _landlock(scratch: Path) -> int:
    """Allow writes only beneath ``scratch`` (and to /dev/null), deny TCP bind/connect where
    the ABI has it; returns the Landlock ABI used, 0 if the kernel has none."""
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(_LL_CREATE, None, ctypes.c_size_t(0),
                       ctypes.c_uint32(_LL_CREATE_RULESET_VERSION))
    if abi < 1:
        return 0
    writes = _LL_WRITES | (_LL_REFER if abi >= 2 else 0) | (_LL_TRUNCATE if abi >= 3 else 0)
    net = (_LL_NET_BIND_TCP | _LL_NET_CONNECT_TCP) if abi >= 4 else 0
    attr = (ctypes.c_uint64 * 2)(writes, net)
    size = 16 if abi >= 4 else 8
    ruleset = libc.syscall(_LL_CREATE, ctypes.byref(attr), ctypes.c_size_t(size),
                           ctypes.c_uint32(0))
    if ruleset < 0:
        return 0

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    try:
        for path, access in ((scratch, writes),
                             (Path(os.devnull), _LL_WRITE_FILE | (writes & _LL_TRUNCATE))):
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = PathBeneath(access, fd)
                if libc.syscall(_LL_ADD_RULE, ctypes.c_int(ruleset),
                                ctypes.c_int(_LL_RULE_PATH_BENEATH), ctypes.byref(rule),
                                ctypes.c_uint32(0)) != 0:
                    return 0
            finally:
                os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return 0
        if libc.syscall(_LL_RESTRICT, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            return 0
    finally:
        os.close(ruleset)
    return int(abi)


def _arm_cpu(cpu_s: float) -> None:
    """Let this process use ``cpu_s`` more CPU seconds from now (``RLIMIT_CPU``)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + cpu_s)
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _sandbox(scratch: Path, limits: Any) -> dict[str, str]:
    """Apply every limit this OS permits to this (worker) process; what holds, by limit."""
    import resource

    _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # no orphan if the parent dies
    os.chdir(scratch)
    os.environ["TMPDIR"] = str(scratch)
    tempfile.tempdir = str(scratch)
    holds: dict[str, str] = {"scratch_dir": str(scratch)}
    net = _no_network()
    abi = _landlock(scratch)
    holds["network"] = net or ("landlock: TCP bind/connect denied" if abi >= 4 else "NOT blocked")
    holds["filesystem"] = (f"landlock ABI {abi}: writes only beneath the scratch dir" if abi
                           else "NOT restricted (no Landlock): cwd is the scratch dir")
    as_bytes = int(limits.address_space_mb) * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (as_bytes, as_bytes))
    holds["address_space_mb"] = f"RLIMIT_AS = {limits.address_space_mb} MB"
    _arm_cpu(limits.cpu_s)
    holds["cpu_s"] = f"RLIMIT_CPU re-armed per episode: {limits.cpu_s} s"
    holds["step_deadline_s"] = f"parent poll timeout: {limits.step_deadline_s} s"
    return holds


class _Same:
    """Stands for "the very object this port carried at the previous step" on the pipe."""

    __slots__ = ()


_SAME = _Same()
# containers that may have changed in place although they are the same object: sent again
_MUTABLE = (np.ndarray, dict, list, set, bytearray)


def _encode(values: Mapping[str, Any], last: dict[str, Any]) -> dict[str, Any]:
    """``values`` for the pipe: a value that is the object ``last`` holds for its port (and
    not a mutable container) becomes ``_SAME``; ``last`` is updated."""
    out = {}
    for port, value in values.items():
        same = port in last and value is last[port] and not isinstance(value, _MUTABLE)
        out[port] = _SAME if same else value
        last[port] = value
    return out


def _decode(values: Mapping[str, Any], last: dict[str, Any]) -> dict[str, Any]:
    """The inverse of ``_encode`` on the other side: ``_SAME`` is this side's copy of the
    object that port carried before, so identity ("the same plan") survives the pipe."""
    out = {}
    for port, value in values.items():
        if isinstance(value, _Same):
            value = last[port]
        out[port] = last[port] = value
    return out


def _drain(module: Module) -> tuple[list[tuple[str, str, Cost]], Cost]:
    return [(b.op, b.backend, b.cost) for b in module.ledger.drain()], module.ledger.total


def _serve(conn: Connection) -> None:
    """The worker loop: the spec, then one reply per request until ``close`` or EOF."""
    sys.path[:] = conn.recv()  # first, so that the module's class unpickles
    spec = conn.recv()
    limits = spec["limits"]
    holds = _sandbox(Path(spec["scratch"]), limits)
    try:
        module: Module = spec["cls"](*spec["args"])
    except MemoryError:
        raise
    except Exception as err:  # bad input stays what it is (a ConfigError stops the run)
        conn.send(("raise", _pickled(err), [], None))
        return
    conn.send(("ok", holds, [], module.ledger.total))
    inputs_seen: dict[str, Any] = {}
    outputs_sent: dict[str, Any] = {}
    while True:
        try:
            request, arg = conn.recv()
        except EOFError:
            return
        if request == "close":
            return
        try:
            if request == "reset":
                _arm_cpu(limits.cpu_s)
                module.reset(arg)
                module.ledger.reset()
                value = None
            elif request == "step":
                value = _encode(module.step(_decode(arg, inputs_seen)), outputs_sent)
            elif request == "bind":
                value = module.bind_spaces(*arg)
            elif request == "to":
                module.to(arg)
                value = module.backend.name
            else:
                raise ValueError(f"unknown request {request!r}")
            conn.send(("ok", value, *_drain(module)))
        except MemoryError:
            conn.send(("limit", "address_space_mb", None, None))
            return
        except Exception as err:  # the module's own error: raised again in the parent
            conn.send(("raise", _pickled(err), *_drain(module)))


def _pickled(err: Exception) -> bytes:
    """``err`` pickled, or a ``RuntimeError`` carrying its text if it does not pickle."""
    try:
        return pickle.dumps(err)
    except Exception:
        return pickle.dumps(RuntimeError(f"{type(err).__name__}: {err}\n"
                                         f"{traceback.format_exc()}"))


def main(argv: list[str]) -> None:
    """``python -m neuralbrain.isolation READ_FD WRITE_FD``: serve one module."""
    read_fd, write_fd = int(argv[0]), int(argv[1])
    reader = Connection(read_fd, writable=False)
    writer = Connection(write_fd, readable=False)

    class Duplex:  # one object with recv and send over the two pipes
        recv = reader.recv
        send = writer.send

    try:
        _serve(Duplex())  # type: ignore[arg-type]
    except MemoryError:
        os._exit(3)


# ---------------------------------------------------------------------------------------
# the parent's side
# ---------------------------------------------------------------------------------------


class Worker:
    """One worker process serving module ``name`` (see the module docstring)."""

    def __init__(self, name: str, cls: type[Module], args: tuple, limits: Any) -> None:
        self.name, self.limits = name, limits
        self.scratch = Path(tempfile.mkdtemp(prefix=f"neuralbrain-worker-{name}-"))
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        # pyarrow's default allocator reserves ~1 GB of address space on import (the worker
        # imports it with the runner): the system allocator keeps RLIMIT_AS about real use
        # numba's on-disk cache (``cache=True`` kernels) must be in the only writable place
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "ARROW_DEFAULT_MEMORY_POOL": "system",
               "NUMBA_CACHE_DIR": str(self.scratch / "numba")}
        self._stderr = self.scratch / "stderr.txt"  # the last line goes in a crash's message
        with open(self._stderr, "wb") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "neuralbrain.isolation", str(to_child_r),
                 str(from_child_w)],
                pass_fds=(to_child_r, from_child_w), cwd=self.scratch, env=env,
                stdin=subprocess.DEVNULL, stderr=stderr)
        os.close(to_child_r)
        os.close(from_child_w)
        self._send = Connection(to_child_w, readable=False)
        self._recv = Connection(from_child_r, writable=False)
        self.guarantees: dict[str, str] = {}
        try:
            self._send.send(list(sys.path))
            self._send.send({"limits": limits,
                             "scratch": str(self.scratch), "cls": cls, "args": args})
            self.guarantees = self.call(None, None, limits.start_deadline_s, "start_deadline_s")[0]
        except BaseException:
            self.close()
            raise

    def call(self, request: str | None, arg: Any, deadline_s: float | None = None,
             limit: str = "step_deadline_s") -> tuple[Any, list[tuple[str, str, Cost]], Cost]:
        """Send ``(request, arg)`` (None: only wait for the start reply) and return the reply
        ``(value, bookings, ledger total)``; an ``IsolationError`` (the worker is then gone)
        when it dies, passes ``deadline_s`` or exceeds a limit."""
        deadline_s = self.limits.step_deadline_s if deadline_s is None else deadline_s
        what = {None: "starting", "reset": "resetting", "step": "stepping",
                "bind": "binding the spaces", "to": "changing backend"}.get(request, request)
        try:
            if request is not None:
                self._send.send((request, arg))
            if not self._recv.poll(deadline_s):
                self.close()
                raise IsolationError(
                    f"module {self.name!r}: the worker passed its wall-clock deadline "
                    f"{limit} = {deadline_s} s while {what} and was killed")
            reply = self._recv.recv()
        except (EOFError, OSError):
            raise self._died(what) from None
        kind, value, bookings, total = reply
        if kind == "limit":
            self.close()
            raise IsolationError(
                f"module {self.name!r}: the worker exceeded its address space limit "
                f"{value} = {self.limits.address_space_mb} MB (MemoryError while {what}); "
                "worker stopped")
        if kind == "raise":
            if request is None:  # the module could not be built: no worker
                self.close()
            raise pickle.loads(value)
        return value, bookings, total

    def _died(self, what: str) -> IsolationError:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        try:
            lines = self._stderr.read_text(errors="replace").strip().splitlines()
        except OSError:
            lines = []
        said = f"; it said: {lines[-1][:300]}" if lines else ""
        self.close()
        if code == -signal.SIGXCPU:
            return IsolationError(
                f"module {self.name!r}: the worker exceeded its CPU time limit cpu_s = "
                f"{self.limits.cpu_s} s (killed by SIGXCPU while {what})")
        if code == 3:  # MemoryError outside a request (building the module)
            return IsolationError(
                f"module {self.name!r}: the worker exceeded its address space limit "
                f"address_space_mb = {self.limits.address_space_mb} MB while {what}")
        how = ("did not exit" if code is None else
               f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}")
        return IsolationError(f"module {self.name!r}: the worker crashed while {what} ({how}; "
                              f"limits address_space_mb = {self.limits.address_space_mb}, "
                              f"cpu_s = {self.limits.cpu_s}){said}")

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        """Stop the worker (politely, then SIGKILL) and remove its scratch directory."""
        if self.proc.poll() is None:
            try:
                self._send.send(("close", None))
                self.proc.wait(timeout=1)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for conn in (self._send, self._recv):
            conn.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


class _RemoteBackend:
    """What the parent knows of the worker's module backend: its name."""

    def __init__(self, name: str) -> None:
        self.name = name


class IsolatedModule(Module):
    """A proxy for module ``name`` of class ``cls`` built in a worker from ``args`` (see the
    module docstring); use ``isolated(cls)`` for the subclass carrying ``cls``'s ports."""

    target: type[Module]

    def __init__(self, name: str, args: tuple, limits: Any) -> None:
        self.name, self.args, self.limits = name, tuple(args), limits
        self.config = args[0]
        self.hardware = dict(args[1] or {}) if len(args) > 1 else {}
        self.ledger = Ledger()
        self.backend = _RemoteBackend(self.config.backend)  # type: ignore[assignment]
        self._spaces: tuple[Any, Any] | None = None
        self._sent: dict[str, Any] = {}      # per input port, the object sent last
        self._received: dict[str, Any] = {}  # per output port, the object received last
        self.worker: Worker | None = None
        self._ensure()

    def _ensure(self) -> Worker:
        if self.worker is None or not self.worker.alive:
            if self.worker is not None:
                self.worker.close()
            self.worker = Worker(self.name, self.target, self.args, self.limits)
            self._sent, self._received = {}, {}  # the new worker has seen nothing yet
            if self.backend.name != self.config.backend:
                self._call("to", self.backend.name)
            if self._spaces is not None:
                self._call("bind", self._spaces)
        return self.worker

    def _call(self, request: str, arg: Any) -> Any:
        worker = self.worker
        assert worker is not None
        try:
            value, bookings, total = worker.call(request, arg)
        except IsolationError:
            self.worker = None
            raise
        for op, backend, cost in bookings:
            self.ledger.book(op, cost, backend=backend)
        self.ledger.total = total
        return value

    @property
    def guarantees(self) -> dict[str, str]:
        """Which limits hold in the current worker (see ``_sandbox``)."""
        return dict(self._ensure().guarantees)

    def to(self, backend: str) -> Module:
        self._ensure()
        self.backend = _RemoteBackend(self._call("to", backend))  # type: ignore[assignment]
        return self

    def bind_spaces(self, observation_space: Any, action_space: Any) -> None:
        self._spaces = (observation_space, action_space)
        self._ensure()
        self._call("bind", self._spaces)

    def reset(self, seed: int = 0) -> None:
        self._ensure()  # a fresh worker after a failure
        self._call("reset", seed)

    def step(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        if self.worker is None:
            raise IsolationError(f"module {self.name!r}: its worker failed this episode; "
                                 "reset starts a fresh one")
        return _decode(self._call("step", _encode(inputs, self._sent)), self._received)

    def devices(self) -> list[Any]:
        return [self.backend]

    def close(self) -> None:
        """Stop the worker (a new one starts at the next ``reset``)."""
        if self.worker is not None:
            self.worker.close()
            self.worker = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown: best effort
            self.close()


_PROXIES: dict[type[Module], type[IsolatedModule]] = {}


def isolated(cls: type[Module]) -> type[IsolatedModule]:
    """The proxy class for ``cls``: ``IsolatedModule`` with ``cls``'s ports and config."""
    if cls not in _PROXIES:
        _PROXIES[cls] = type(f"Isolated{cls.__name__}", (IsolatedModule,), {
            "target": cls, "Config": cls.Config, "inputs": cls.inputs, "outputs": cls.outputs,
            "optional": cls.optional, "requires": cls.requires, "tasks": cls.tasks,
            "__module__": __name__})
    return _PROXIES[cls]


if __name__ == "__main__":  # run the importable copy: what it pickles names this module
    from neuralbrain.isolation import main as _main

    _main(sys.argv[1:])

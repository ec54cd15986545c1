"""Where independent tasks run: a local process pool, or Ray tasks on a cluster.

Both engines take a task function ``fn(state, task) -> result`` (importable by name, so a
worker process can unpickle it), a list of picklable tasks, and yield one ``Outcome`` per
task as tasks finish (not in task order: the caller sorts by ``Outcome.index``).

- ``local_outcomes``: ``workers`` processes started from a fork server (a clean process that
  imported ``neuralbrain.runner`` once, so starting a worker costs a fork, not the imports).
  Each worker runs ``init(*init_args)`` once (building an agent, say) and then one task at a
  time. A task that raises gives ``Outcome(ok=False, value=the exception)``; a worker that dies
  (segfault, kill -9, ``os._exit``) gives ``Outcome(ok=False, value=WorkerDied(...))`` for the
  task it held, and a fresh worker takes its place, so the other tasks still run. An
  exception from ``init`` is raised in the caller (it would fail every task alike). Workers
  ignore SIGINT: Ctrl-C stops the caller, which then stops its workers. As with any
  non-fork start method, a script that calls this must keep its top level under
  ``if __name__ == "__main__":`` (workers import the main module).
- ``ray_outcomes``: each task a Ray task (``max_retries=0``: a task whose worker died is
  reported, not silently rerun) on the cluster at ``address`` (or ``$RAY_ADDRESS``), or on a
  local Ray instance started with ``num_cpus``. The state is built inside each task. A Ray
  worker process runs many tasks (Ray reuses it), so what a task function keeps in module
  globals (an agent, say) stays between its tasks, as in a local worker.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import pickle
import signal
import socket
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from neuralbrain.errors import ConfigError, Error


class WorkerDied(Error):
    """A worker process ended while it was running a task."""


@dataclass(frozen=True)
class Outcome:
    """The result of task ``index`` (``ok``) or the exception that ended it (not ``ok``)."""

    index: int
    ok: bool
    value: Any


def _portable(err: BaseException) -> BaseException:
    """``err`` if it survives pickling, else an ``Error``/``RuntimeError`` with its text."""
    try:
        pickle.loads(pickle.dumps(err))
        return err
    except Exception:
        if isinstance(err, Error):
            return Error(str(err))
        return RuntimeError(f"{type(err).__name__}: {err}")


def _worker_main(conn: Connection, fn: Callable, init: Callable | None, init_args: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    state, init_error = None, None
    try:
        state = init(*init_args) if init is not None else None
    except Exception as err:
        init_error = _portable(err)
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        if init_error is not None:
            conn.send(("init_error", init_error))
            continue
        try:
            reply = ("ok", fn(state, msg))
        except Exception as err:
            reply = ("error", _portable(err))
        conn.send(reply)


def _signal_text(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def local_outcomes(
    fn: Callable[[Any, Any], Any],
    tasks: Sequence[Any],
    workers: int,
    init: Callable[..., Any] | None = None,
    init_args: tuple = (),
) -> Iterator[Outcome]:
    """Run ``tasks`` on ``workers`` local processes (see the module docstring)."""
    if workers < 1:
        raise ConfigError(f"workers = {workers}: expected >= 1")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["neuralbrain.runner"])
    pending = deque(enumerate(tasks))
    # each slot: [process, connection, index of the task it runs or None]
    slots: list[list[Any]] = []

    def start() -> list[Any]:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker_main, args=(child, fn, init, init_args), daemon=True)
        proc.start()
        child.close()
        return [proc, parent, None]

    def dispatch(slot: list[Any]) -> None:
        if pending:
            index, task = pending.popleft()
            slot[1].send(task)
            slot[2] = index

    try:
        for _ in range(min(workers, len(pending))):
            slots.append(start())
            dispatch(slots[-1])
        while any(s[2] is not None for s in slots):
            busy = [s for s in slots if s[2] is not None]
            ready = set(wait([s[1] for s in busy] + [s[0].sentinel for s in busy]))
            for k, slot in enumerate(slots):
                proc, conn, index = slot
                if index is None or (conn not in ready and proc.sentinel not in ready):
                    continue
                msg = None
                if conn in ready or conn.poll():
                    try:
                        msg = conn.recv()
                    except (EOFError, OSError):
                        msg = None
                if msg is not None:
                    kind, value = msg
                    if kind == "init_error":
                        raise value
                    slot[2] = None
                    yield Outcome(index, kind == "ok", value)
                    dispatch(slot)
                    continue
                proc.join()
                conn.close()
                yield Outcome(index, False, WorkerDied(
                    f"worker process {proc.pid} died running task {index} "
                    f"({_signal_text(proc.exitcode)})"))
                slots[k] = start()
                dispatch(slots[k])
    finally:
        for _proc, conn, _ in slots:
            with contextlib.suppress(OSError, ValueError):
                conn.send(None)
        for proc, conn, _ in slots:
            proc.join(timeout=2)
            if proc.is_alive():
                proc.terminate()
                proc.join()
            conn.close()


def check_ray_address(address: str, timeout_s: float = 5.0) -> None:
    """A one-line ``ConfigError`` unless ``host:port`` (or ``ray://host:port``) accepts a TCP
    connection within ``timeout_s`` ("auto" and "local" are left to Ray)."""
    if address in ("auto", "local"):
        return
    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"--address {address!r}: expected HOST:PORT or ray://HOST:PORT of a "
                          "Ray head node (ray start --head prints it)")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as err:
        raise ConfigError(f"--address {address!r}: cannot reach a Ray head node there "
                          f"({err.strerror or err}); expected a running `ray start --head`") from None


def ray_available() -> Any:
    """The ``ray`` module, or a one-line ``ConfigError`` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--engine ray needs Ray: pip install 'neuralbrain[ray]'") from None
    return ray


def ray_outcomes(
    fn: Callable[[Any, Any], Any],
    tasks: Sequence[Any],
    address: str | None,
    num_cpus: int,
    init: Callable[..., Any] | None = None,
    init_args: tuple = (),
) -> Iterator[Outcome]:
    """Run each task as a Ray task (see the module docstring); connects to ``address`` (or
    ``$RAY_ADDRESS``) or starts a local instance with ``num_cpus`` CPUs, and shuts down only
    an instance it started."""
    ray = ray_available()
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address is not None:
        check_ray_address(address)
    started = False
    if not ray.is_initialized():
        if address is None:
            # No job runtime_env here: Ray prestarts idle workers at start-up only for jobs
            # without one, so with it every sweep booted fresh workers on its own clock. The
            # local instance's workers inherit this process's environment (OMP_NUM_THREADS
            # too), and Ray sets OMP_NUM_THREADS to a task's num_cpus (1) where it is unset.
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        else:  # a cluster's nodes do not inherit this process's environment
            env = {"env_vars": {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}}
            ray.init(address=address, log_to_driver=False, runtime_env=env)
        started = True
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(_ray_task)
        refs = {remote.remote(fn, init, init_args, task): i for i, task in enumerate(tasks)}
        waiting = list(refs)
        while waiting:
            done, waiting = ray.wait(waiting, num_returns=1)
            ref = done[0]
            try:
                kind, value = ray.get(ref)
            except Exception as err:  # the worker died, or Ray could not run the task
                kind, value = "error", WorkerDied(f"ray task {refs[ref]} failed: "
                                                  f"{str(err).splitlines()[0] if str(err) else err!r}")
            yield Outcome(refs[ref], kind == "ok", value)
    finally:
        if started:
            ray.shutdown()


def _ray_task(fn: Callable, init: Callable | None, init_args: tuple, task: Any) -> tuple[str, Any]:
    try:
        state = init(*init_args) if init is not None else None
        return "ok", fn(state, task)
    except Exception as err:
        return "error", _portable(err)

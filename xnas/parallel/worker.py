"""What runs around every evaluation on a worker, and the one place where a failure
becomes a result: ``call_task`` turns any exception (or a timeout) into a stored
``failed`` result with its traceback, and stamps rank, host and timings.

Evaluators only compute or raise. Bad input (an ``XnasError``: a table without the
key, a dataset that cannot load) is not a failed evaluation: it passes through and
stops the search with its one line, keeping everything stored.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator

from xnas.errors import DiskFullError, XnasError
from xnas.parallel import launch
from xnas.parallel.launch import world_rank
from xnas.results import EvalResult, EvalTask, FailureKind
from xnas.store.rundir import inflight_marker


class EvaluationTimeout(BaseException):
    """Raised by the alarm inside a running evaluation. A BaseException, so that no
    ``except Exception`` inside an objective or the trainer can swallow it."""


@contextlib.contextmanager
def _alarm(seconds: float | None) -> Iterator[None]:
    """Interrupt the code inside after ``seconds`` (SIGALRM; main thread, Unix). Python
    code and torch calls returning to Python are interrupted; a C call that never returns
    is not (a batch system's time limit is the backstop there)."""
    usable = (
        seconds
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def ring(_signum, _frame):
        raise EvaluationTimeout(f"timed out after {seconds:g} s (parallel.task_timeout)")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_markers: dict[str, int] = {}  # inflight folder -> this process's open marker file


def _marker(folder: str) -> int:
    """This process's marker file in ``folder``, opened once and kept open (two syscalls
    a task instead of a create and an unlink); reopened if someone removed it. Markers of
    other folders that were removed (a finished run's clean-up) are closed."""
    for other, fd in list(_markers.items()):
        try:
            gone = os.fstat(fd).st_nlink == 0
        except OSError:  # a bad descriptor: forget it
            gone = True
        if gone:
            with contextlib.suppress(OSError):
                os.close(fd)
            del _markers[other]
    fd = _markers.get(folder)
    if fd is None:
        path = inflight_marker(folder)
        path.parent.mkdir(exist_ok=True)
        fd = _markers[folder] = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    return fd


@contextlib.contextmanager
def _inflight(task: EvalTask) -> Iterator[None]:
    """The marker names the key while it is evaluated (``RUN/inflight/HOST-PID``) and is
    empty otherwise. A process killed outright (SIGKILL, the out-of-memory killer) leaves
    the key behind, so the next resume knows which genome was running when the job died.
    Every task of a run carries the folder (reuses too)."""
    if not task.inflight:
        yield
        return
    key = task.key.encode()
    try:
        fd: int | None = _marker(task.inflight)
        os.pwrite(fd, key, 0)
        os.ftruncate(fd, len(key))
    except OSError:
        fd = None  # a read-only or vanished run directory: evaluate anyway
    try:
        yield
    finally:
        if fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)


def _forget_modules_since(loaded: set[str]) -> None:
    """After a timeout: modules first imported during the interrupted evaluation are
    dropped, so the next task imports them afresh instead of meeting one that the alarm
    left half-initialised (``prepare`` makes this rare: the heavy imports happen before)."""
    for name in [n for n in sys.modules if n not in loaded]:
        sys.modules.pop(name, None)


WORKER_DIED = (
    "worker died: the process evaluating this genome was killed twice, the second time "
    "while it ran alone (by the OS, e.g. out of memory, a crash in native code, or the job "
    "killed from outside); stored as failed so the run can go on"
)


def worker_died(task: EvalTask) -> EvalResult:
    """The stored form of a genome present at two deaths of its worker (the driver decides,
    from the inflight markers; nothing ran)."""
    return EvalResult.failed(task, WORKER_DIED, "worker-died")


def as_failure(task: EvalTask, exc: BaseException, kind: FailureKind = "exception") -> EvalResult:
    """The stored form of an exception raised while evaluating ``task`` (``transport``:
    raised around it, moving the task or its result between processes)."""
    text = "".join(traceback.format_exception(exc))
    return EvalResult.failed(task, f"{type(exc).__name__}: {exc}\n{text}", kind)


def call_task(
    fn: Callable[[EvalTask], EvalResult], task: EvalTask, timeout: float | None = None
) -> EvalResult:
    """``fn(task)`` with wall-clock start/end stamps (``timings.started_at/finished_at``,
    seconds since the epoch) and this process's rank and host; an exception, or an
    evaluation running longer than ``timeout`` seconds, becomes a failed result."""
    started = time.time()
    prepare = getattr(fn, "prepare", None)
    try:
        with _inflight(task):
            if prepare is not None:  # start-up (data, imports): outside the timeout
                prepare(task)
            loaded = set(sys.modules) if timeout else set()
            with _alarm(timeout):
                result = fn(task)
    except XnasError:
        raise  # bad input: the search stops with its one line, it is no failure
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            result = as_failure(task, exc)
        else:  # the machine, not the genome: stop the run, store nothing wrong
            raise DiskFullError(f"disk full while evaluating {task.key} ({exc})") from None
    except EvaluationTimeout as exc:
        result = EvalResult.failed(task, str(exc), "timeout")
        _forget_modules_since(loaded)
    except Exception as exc:
        result = as_failure(task, exc)
    finished = time.time()
    timings = {"total": finished - started, **result.timings}
    timings.update(started_at=started, finished_at=finished)
    return dataclasses.replace(
        result,
        timings=timings,
        rank=world_rank(),
        host=socket.gethostname(),
        device=result.device or launch.device(),
    )

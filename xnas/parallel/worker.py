"""What runs around every evaluation on a worker: stamp who ran it and when, and turn
any exception into a stored failure (with its traceback) instead of a lost result."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

from xnas.errors import XnasError
from xnas.parallel.launch import world_rank
from xnas.results import EvalResult, EvalTask, failed_result


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


INFLIGHT = "inflight"  # folder of the run directory: one file per evaluation running


@contextlib.contextmanager
def _inflight(task: EvalTask) -> Iterator[None]:
    """A file naming the key while it is evaluated (``RUN/inflight/HOST-PID``). A process
    killed outright (SIGKILL, the out-of-memory killer) leaves it behind, so the next
    resume knows which genome was running when the job died."""
    if not task.weights_dir:
        yield
        return
    folder = Path(task.weights_dir).parent / INFLIGHT
    marker = folder / f"{socket.gethostname()}-{os.getpid()}"
    try:
        folder.mkdir(exist_ok=True)
        marker.write_text(task.key)
    except OSError:
        marker = None  # a read-only or vanished run directory: evaluate anyway
    try:
        yield
    finally:
        if marker is not None:
            marker.unlink(missing_ok=True)


def call_task(
    fn: Callable[[EvalTask], EvalResult], task: EvalTask, timeout: float | None = None
) -> EvalResult:
    """``fn(task)`` with wall-clock start/end stamps (``timings.started_at/finished_at``,
    seconds since the epoch) and this process's rank and host; an evaluation running
    longer than ``timeout`` seconds is stopped and stored as failed ("timed out after")."""
    started = time.time()
    try:
        with _inflight(task), _alarm(timeout):
            result = fn(task)
    except XnasError:
        raise  # bad input (a table without the key...): the search stops, it is no failure
    except EvaluationTimeout as exc:
        result = failed_result(task, str(exc), timings={})
    except Exception as exc:
        result = failed_result(
            task, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}", timings={}
        )
    timings = {**result.timings, "started_at": started, "finished_at": time.time()}
    return dataclasses.replace(
        checked(result), timings=timings, rank=world_rank(), host=socket.gethostname()
    )


def checked(result: EvalResult) -> EvalResult:
    """A result whose objective values are not all finite numbers is a failure."""
    if result.status == "failed":
        return result
    bad = {
        k: v
        for k, v in result.objectives.items()
        if not isinstance(v, int | float) or not math.isfinite(v)
    }
    if not bad:
        return result
    return dataclasses.replace(
        result,
        status="failed",
        error=f"non-finite objective values {bad} (treated as a failed evaluation)",
    )

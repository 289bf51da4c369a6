"""What runs around every evaluation on a worker: stamp who ran it and when, and turn
any exception into a stored failure (with its traceback) instead of a lost result."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator

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


def call_task(
    fn: Callable[[EvalTask], EvalResult], task: EvalTask, timeout: float | None = None
) -> EvalResult:
    """``fn(task)`` with wall-clock start/end stamps (``timings.started_at/finished_at``,
    seconds since the epoch) and this process's rank and host; an evaluation running
    longer than ``timeout`` seconds is stopped and stored as failed ("timed out after")."""
    started = time.time()
    try:
        with _alarm(timeout):
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

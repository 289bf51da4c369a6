"""What runs around every evaluation on a worker: stamp who ran it and when, and turn
any exception into a stored failure (with its traceback) instead of a lost result."""

from __future__ import annotations

import dataclasses
import math
import socket
import time
import traceback
from collections.abc import Callable

from xnas.errors import XnasError
from xnas.evaluate import EvalResult, EvalTask
from xnas.evaluate.task import failed_result
from xnas.parallel.launch import world_rank


def call_task(fn: Callable[[EvalTask], EvalResult], task: EvalTask) -> EvalResult:
    """``fn(task)`` with wall-clock start/end stamps (``timings.started_at/finished_at``,
    seconds since the epoch) and this process's rank and host."""
    started = time.time()
    try:
        result = fn(task)
    except XnasError:
        raise  # bad input (a table without the key...): the search stops, it is no failure
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

"""The one driver loop: the barrier policy says what to ask and when to tell; the loop
keeps ``policy.window`` tasks in flight and commits each result the moment it arrives.

A key that was running when an earlier job died (a suspect) runs alone, so a second
death names it; present at two deaths, it is stored as failed without running.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait

from xnas.driver.policy import Policy, Search, Work
from xnas.driver.state import Row
from xnas.errors import XnasError
from xnas.parallel import as_failure, call_task, worker_died
from xnas.results import EvalTask


def drive(s: Search, policy: Policy) -> None:
    pending: dict[Future, tuple[EvalTask, Work]] = {}
    queue: deque[Work] = deque()  # asked, not yet sent
    alone: str | None = None  # a suspect of an earlier job's death, running by itself
    state, timeout = s.state, s.cfg.parallel.task_timeout
    while True:
        if not pending and not queue:
            policy.settle()  # everything sent has arrived (generational: the barrier)
            queue.extend(policy.refill(set()))
            if not queue:
                break  # a termination criterion was met
        elif not queue:
            queue.extend(policy.refill({t.key for t, _ in pending.values()}))
        while alone is None and queue and len(pending) < policy.window:
            work = queue[0]
            task = policy.task(work)  # built when sent: it sees the latest results
            deaths = state.suspects.get(task.key, 0)
            if deaths >= 2:  # present at two deaths, the second time alone: the culprit
                queue.popleft()
                row = state.commit(worker_died(task), policy.generation_of(work))
                queue.extend(policy.arrived(row))
                continue
            if deaths == 1:  # run it alone, so that a second death names it
                if pending:
                    break
                alone = task.key
            queue.popleft()
            s.callbacks.on_launch(task)
            pending[s.executor.submit(call_task, s.evaluate_fn, task, timeout)] = (task, work)
        if not pending:
            continue
        future, (task, work) = next(arrivals(pending))
        del pending[future]
        alone = None if task.key == alone else alone
        queue.extend(policy.arrived(record(s, future, task, policy.generation_of(work))))
    policy.finish()


def record(s: Search, future: Future, task: EvalTask, generation: int) -> Row:
    """Commit one finished evaluation (one transaction) the moment it arrives."""
    exc = future.exception()
    if isinstance(exc, XnasError):
        raise exc  # bad input found on a worker: stop with its one line, keep the store
    # an exception here was lost in transport (pickling, a worker-side import...)
    result = future.result() if exc is None else as_failure(task, exc, "transport")
    return s.state.commit(result, generation, task)


def arrivals(futures: dict[Future, object]) -> Iterator[tuple[Future, object]]:
    """Futures in the order they finish; those found finished together in the order
    they were submitted (so a serial run stores its results deterministically)."""
    remaining = dict(futures)
    while remaining:
        finished, _ = wait(remaining, return_when=FIRST_COMPLETED)
        for future in [f for f in remaining if f in finished]:
            yield future, remaining.pop(future)

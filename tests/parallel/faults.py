"""A real search under mpiexec with injected faults (run as ``python -m tests.parallel.faults``).

``mpiexec -n 3 python -m tests.parallel.faults RUN_DIR MODE [overrides...]``: the first
three genomes of generation 0 (known in advance: the strategy is seeded) fail in three
ways: the first raises, the second returns NaN, and in MODE=die the third kills its
own worker process with SIGKILL, as the out-of-memory killer would; in MODE=hang it
never returns (pass ``parallel.task_timeout=...``). MODE=resume-die resumes RUN_DIR with
the same faults (the third genome kills its worker again). MODE=crash raises
in the driver after the first generation (a driver bug). MODE=kill-after-K injects no
fault in the evaluations: the driver (rank 0) kills itself with SIGKILL right after its
K-th committed result, as ``kill -9`` of rank 0 would; MODE=clean injects nothing.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import time
from dataclasses import dataclass

from xnas.cli import abort_job
from xnas.config import load_config
from xnas.driver import FunctionCallback, run_search
from xnas.evaluate import EvalResult, EvalTask, evaluate
from xnas.space import get_space
from xnas.strategy import STRATEGIES

SEARCH = [
    "search.population=4",
    "search.generations=2",
    "search.seed=3",
    "space.name=nb201",
    "space.channels=4",
    "data.name=lines",
    "data.train_size=96",
    "data.val_size=48",
    "train.epochs=1",
    "objectives=[error, params]",
]


@dataclass(frozen=True)
class Faulty:
    raises: str
    nan: str
    dies: str | None
    hangs: str | None = None

    def __call__(self, task: EvalTask) -> EvalResult:
        if task.key == self.raises:
            raise RuntimeError(f"injected failure for {task.key}")
        if task.key == self.dies:
            os.kill(os.getpid(), signal.SIGKILL)
        if task.key == self.hangs:
            while True:  # a hung evaluation: never returns
                time.sleep(3600)
        result = evaluate(task)
        if task.key == self.nan:
            nan = {**result.objectives, "error": float("nan")}
            return dataclasses.replace(result, objectives=nan)
        return result


def crash(summary) -> None:
    raise RuntimeError("a bug in the driver")


class KillDriver(FunctionCallback):
    """SIGKILL of this process (the driver) right after its ``n``-th commit."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.seen = n, 0

    def on_done(self, result) -> None:
        self.seen += 1
        if self.seen == self.n:
            os.kill(os.getpid(), signal.SIGKILL)


def first_keys(cfg) -> list[str]:
    space = get_space(cfg.space)
    strategy = STRATEGIES.get(cfg.search.strategy)(
        space, len(cfg.objectives), 1, cfg.search.population, cfg.search.seed
    )
    return [space.canonical(g) for g in strategy.ask(cfg.search.population)]


def main(run_dir: str, mode: str, *overrides: str) -> int:
    cfg = load_config(None, [*SEARCH, *overrides])
    from tests.parallel.faults import Faulty as Importable  # not __main__.Faulty: workers import it

    keys = first_keys(cfg)
    faulty = Importable(
        keys[0],
        keys[1],
        keys[2] if mode in ("die", "resume-die") else None,
        keys[2] if mode == "hang" else None,
    )
    callbacks = [FunctionCallback(on_generation=crash)] if mode == "crash" else []
    if mode == "clean":  # no fault at all
        faulty = None
    if mode.startswith("kill-after-"):
        faulty, callbacks = None, [KillDriver(int(mode.rsplit("-", 1)[1]))]
    try:
        outcome = run_search(
            None if mode == "resume-die" else cfg,
            run_dir,
            resume=mode == "resume-die",
            evaluate_fn=faulty,
            callbacks=callbacks,
        )
    except BaseException as exc:  # a program's job: abort every rank on an uncaught error
        if type(exc).__name__ == "RankFailed":
            abort_job(exc)
        raise
    if outcome is not None:
        print("front", len(outcome.front), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))

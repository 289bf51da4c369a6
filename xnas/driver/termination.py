"""When a search stops: small criteria objects (pymoo-style), pure and torch-free.

The driver checks them before it asks for more work: generational mode at each
generation boundary (so a stopped run is always resumable), steady-state mode before
each launch, counting evaluations that are still running.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    generations: int  # complete generations (steady-state: every ``population`` evaluations)
    evaluations: int  # stored, plus launched and still running in steady-state
    started: float  # time.monotonic() when this process started the search


@dataclass(frozen=True)
class MaxGenerations:
    n: int

    def reached(self, p: Progress) -> bool:
        return p.generations >= self.n

    def reason(self) -> str:
        return f"search.generations ({self.n}) done"


@dataclass(frozen=True)
class MaxEvaluations:
    n: int

    def reached(self, p: Progress) -> bool:
        return p.evaluations >= self.n

    def reason(self) -> str:
        return f"search.max_evaluations ({self.n}) spent"


@dataclass(frozen=True)
class MaxWallTime:
    seconds: float

    def reached(self, p: Progress) -> bool:
        return time.monotonic() - p.started >= self.seconds

    def reason(self) -> str:
        return f"search.max_wall_time ({self.seconds:g} s) spent"


Termination = MaxGenerations | MaxEvaluations | MaxWallTime


def terminations(search) -> list[Termination]:
    """The criteria a ``SearchConfig`` sets (generations always; the others if given)."""
    out: list[Termination] = [MaxGenerations(search.generations)]
    if search.max_evaluations is not None:
        out.append(MaxEvaluations(search.max_evaluations))
    if search.max_wall_time is not None:
        out.append(MaxWallTime(search.max_wall_time))
    return out


def reached(criteria: list[Termination], progress: Progress) -> Termination | None:
    """The first criterion met, or None."""
    return next((c for c in criteria if c.reached(progress)), None)

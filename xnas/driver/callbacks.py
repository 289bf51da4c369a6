"""Callbacks: objects the driver notifies as a search runs, and that can stop it.

In the spirit of pymoo's ``Callback`` and Optuna's ``study.stop()``: subclass
``Callback``, override what you need, pass instances to ``xnas.search(...,
callbacks=[...])``. ``stop(reason)`` asks the run to stop at its next safe point (a
generation boundary; steady-state: before the next launch), so the run stays
resumable, and the reason is stored and shown (``xnas status``, the CLI's last line).
Callbacks run on the driver (rank 0) only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from xnas.results import EvalResult, EvalTask


@dataclass(frozen=True)
class GenerationSummary:
    """What a committed generation did, and the run's front after it."""

    generation: int
    evaluated: int  # new evaluations (trained, or looked up) in this generation
    reused: int  # keys stored in an earlier generation, asked again
    failed: int
    front_size: int
    hypervolume: float
    evaluations: int = 0  # stored in the whole run so far
    elapsed: float = 0.0  # seconds since this process started the search
    # seconds still to go by search.generations, at this process's pace (None: unknown)
    eta: float | None = None
    generations: int = 0  # search.generations, the budget


def duration(seconds: float) -> str:
    """Seconds as a person says them: 42 s, 3 min 5 s, 2 h 10 min."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def describe(s: GenerationSummary) -> str:
    """The one line a generation gets (the CLI's, and the ``xnas.driver`` log's)."""
    eta = f", about {duration(s.eta)} to go" if s.eta is not None and s.eta > 0 else ""
    return (
        f"gen {s.generation:>3}: evaluated {s.evaluated}, reused {s.reused}, "
        f"failed {s.failed}, front size {s.front_size}, hypervolume {s.hypervolume:.6g} "
        f"({duration(s.elapsed)} so far{eta})"
    )


class Callback:
    """Notified by the driver; every method does nothing by default."""

    stop_requested: str | None = None

    def on_launch(self, task: EvalTask) -> None:
        """A task was sent to a worker."""

    def on_done(self, result: EvalResult) -> None:
        """A final result was committed (as stored)."""

    def on_generation(self, summary: GenerationSummary) -> None:
        """A generation was committed."""

    def stop(self, reason: str = "stopped by a callback") -> None:
        """Ask the run to stop at its next safe point, saying why."""
        self.stop_requested = reason


class FunctionCallback(Callback):
    """Plain functions as a callback (``on_generation=print`` and the like)."""

    def __init__(
        self,
        on_generation: Callable[[GenerationSummary], None] | None = None,
        on_launch: Callable[[EvalTask], None] | None = None,
        on_done: Callable[[EvalResult], None] | None = None,
    ) -> None:
        self._generation, self._launch, self._done = on_generation, on_launch, on_done

    def on_launch(self, task: EvalTask) -> None:
        if self._launch is not None:
            self._launch(task)

    def on_done(self, result: EvalResult) -> None:
        if self._done is not None:
            self._done(result)

    def on_generation(self, summary: GenerationSummary) -> None:
        if self._generation is not None:
            self._generation(summary)


class Callbacks:
    """Several callbacks as one (the driver's view of them), notified in the order given."""

    def __init__(self, callbacks: Iterable[Callback] = ()) -> None:
        self.items = list(callbacks)

    @property
    def stop_requested(self) -> str | None:
        return next((c.stop_requested for c in self.items if c.stop_requested), None)

    def on_launch(self, task: EvalTask) -> None:
        for c in self.items:
            c.on_launch(task)

    def on_done(self, result: EvalResult) -> None:
        for c in self.items:
            c.on_done(result)

    def on_generation(self, summary: GenerationSummary) -> None:
        for c in self.items:
            c.on_generation(summary)

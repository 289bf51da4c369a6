"""What the loop and its barrier policy share, and the policy contract.

A policy decides what to ask and when to tell: ``refill`` hands the loop the work it may
send now, ``task`` turns one piece of work into the task sent, ``arrived`` takes each
committed row and may release more work, ``settle`` runs when everything sent has
arrived (generational: the barrier), ``finish`` after the last arrival. Two policies:
``generational.Generational`` and ``steady.SteadyState``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from xnas.config import Config
from xnas.driver.callbacks import Callbacks, GenerationSummary, describe
from xnas.driver.resume import restore_state
from xnas.driver.state import Row, RunState
from xnas.driver.tasks import TaskFactory
from xnas.driver.termination import Progress, reached, terminations
from xnas.evaluate.base import Evaluator
from xnas.parallel import Executor
from xnas.results import EvalResult, EvalTask
from xnas.space import Genome, SearchSpace
from xnas.store import GenerationState
from xnas.strategy import Strategy

log = logging.getLogger("xnas.driver")


@dataclass(frozen=True)
class Work:
    """A genome to send: its key (computed once, when it was asked), the generation it
    was asked in, an equivalent evaluation to reuse, and its multi-fidelity rung."""

    genome: Genome
    key: str
    generation: int
    reuse: EvalResult | None = None
    rung: int | None = None


@dataclass
class Search:
    """One run as the driver loop sees it (driver rank only)."""

    cfg: Config
    space: SearchSpace
    names: tuple[str, ...]
    state: RunState
    tasks: TaskFactory
    strategy: Strategy
    evaluator: Evaluator
    executor: Executor
    evaluate_fn: Callable[[EvalTask], EvalResult]  # what workers call (the evaluator)
    callbacks: Callbacks


class Policy:
    """A barrier policy: how ``loop.drive`` asks, tells and counts generations."""

    mode = ""
    window = 1  # tasks kept in flight

    def __init__(self, search: Search) -> None:
        self.search = search
        self.pop = search.cfg.search.population
        self.criteria = terminations(search.cfg.search)
        self.stopped_by: str | None = None  # why the run stopped (a criterion or callback)
        self.failed = 0  # failures in the open generation
        self.late: list[Work] = []  # failed keys retried on purpose, evaluated first
        self.screener = None  # search.proxy: the run's driver.screen.Screener
        # the first generation this process commits (its pace gives the ETA)
        last = search.state.store.last_generation()
        self.first_generation = 0 if last is None else last.generation + 1

    # ------------------------------------------------------------ the contract
    def refill(self, running: set[str]) -> list[Work]:
        raise NotImplementedError

    def arrived(self, row: Row) -> list[Work]:
        raise NotImplementedError

    def view(self, work: Work) -> int | None:
        """The generation whose predecessors ``work``'s task may see (None: all)."""
        raise NotImplementedError

    def generation_of(self, work: Work) -> int:
        """The generation ``work``'s result is stored in."""
        raise NotImplementedError

    def settle(self) -> None:
        """Everything sent has arrived."""

    def finish(self) -> None:
        """After the last arrival."""

    # ------------------------------------------------------------ shared
    def stop(self, progress: Progress) -> bool:
        """Whether to stop before asking more: a callback asked, or a criterion is met."""
        requested = self.search.callbacks.stop_requested
        criterion = reached(self.criteria, progress)
        self.stopped_by = requested or (criterion.reason() if criterion else None)
        return self.stopped_by is not None

    def task(self, work: Work) -> EvalTask:
        """The task for ``work``, built when it is sent: a reuse, or a fresh training
        with its donor (``cost.inherit``) and stop rule (``cost.extrapolate``) from the
        results its generation may see."""
        s = self.search
        tasks, state, cost = s.tasks, s.state, s.cfg.cost
        tasks.pin_energy(state.energy_source)
        if work.reuse is not None or not (cost.inherit or cost.extrapolate):
            return tasks.build(work.genome, work.key, reuse=work.reuse)
        state.advance(self.view(work))
        donor = self.donor(work.genome) if cost.inherit else None
        if not cost.extrapolate:
            return tasks.build(work.genome, work.key, donor=donor)
        prior = tuple(donor.curve) if donor is not None and cost.donor_prior else ()
        front = state.archive.vectors()
        return tasks.build(
            work.genome, work.key, donor=donor, front=front, names=s.names, prior=prior
        )

    def donor(self, genome: Genome) -> EvalResult | None:
        """The strategy's parent where it keeps lineage (``cost.donor: parent``), else the
        nearest donor with weights."""
        s = self.search
        donors = s.state.donors
        lineage = s.strategy.lineage
        if s.cfg.cost.donor == "parent" and genome in lineage:
            parent = donors.get(s.space.canonical(lineage[genome]))
            if parent is not None:
                return parent
        return donors.nearest(genome)

    def retry(self, works: list[Work]) -> None:
        """Evaluate these failed keys again first (``xnas resume --retry-failed``), before
        any budget check: each result is stored in its work's generation, never told."""
        self.late = list(works)

    def take_late(self) -> list[Work]:
        late, self.late = self.late, []
        return late

    def commit_generation(self, gen: int, population: list[str], evaluated: int, reused: int):
        s = self.search
        cfg, state = s.cfg, s.state
        state.commit_generation(
            GenerationState(
                gen,
                tuple(population),
                restore_state(cfg.search.strategy, self.mode, cfg.search.seed),
                None,
                {"evaluated": evaluated, "failed": self.failed},
            ),
            cfg.cost.keep_weights,
        )
        if s.callbacks.items or log.isEnabledFor(logging.INFO):
            front, hv = state.front()
            elapsed = time.monotonic() - state.started
            done_here = gen + 1 - self.first_generation
            left = cfg.search.generations - gen - 1
            eta = elapsed / done_here * left if done_here > 0 and left >= 0 else None
            summary = GenerationSummary(
                gen,
                evaluated,
                reused,
                self.failed,
                len(front),
                hv,
                len(state),
                elapsed,
                eta,
                cfg.search.generations,
            )
            log.info("%s", describe(summary))
            s.callbacks.on_generation(summary)
        self.failed = 0

"""The generational barrier policy.

Ask ``population``; evaluate the new keys (the evaluator's dispatch order on many
workers: largest first); once every result is in, tell them in the order asked,
whatever order they arrived in, so the run is the same on any number of ranks; commit
the generation. A resumed run replays the committed generations through the same loop:
each must ask exactly its stored population (``resume.check_replay``) and finds its
results stored. With ``cost.fidelity`` a generation's candidates climb a ladder of rungs
(``driver.fidelity.Rungs``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from xnas.driver.fidelity import Rungs
from xnas.driver.policy import Policy, Search, Work
from xnas.driver.resume import check_replay
from xnas.driver.screen import ProxyFilter
from xnas.driver.state import Row
from xnas.driver.termination import Progress
from xnas.results import EvalTask
from xnas.space import Genome


@dataclass(frozen=True)
class Batch:
    """A generation as asked: what ``tell`` gets once every result is in."""

    genomes: list[Genome]
    keys: list[str]
    evaluated: int  # new in this generation (the rest were stored earlier: reused)


class Generational(Policy):
    mode = "generational"

    def __init__(self, search: Search) -> None:
        super().__init__(search)
        self.window = search.executor.workers + search.executor.prefetch
        self.history = {g.generation: g.population for g in search.state.store.generations()}
        self.committed = max(self.history, default=-1)
        self.gen = 0
        self.batch: Batch | None = None
        self.waiting: dict[str, list[Work]] = {}  # class -> members asked, not yet sent
        self.rungs: Rungs | None = None  # cost.fidelity: this generation's ladder
        self.filter: ProxyFilter | None = None  # search.proxy_filter (driver.screen)

    def view(self, work: Work) -> int:
        return work.generation  # what a generation sees is fixed when it starts

    def generation_of(self, work: Work) -> int:
        return work.generation

    def task(self, work: Work) -> EvalTask:
        if work.rung is None:
            return super().task(work)
        assert self.rungs is not None
        # rung 0 starts like any training (a donor); a promotion continues its own
        if work.rung == 0:
            base = super().task(work)
        else:  # a promotion continues its own training: no donor, no stop rule
            self.search.tasks.pin_energy(self.search.state.energy_source)
            base = self.search.tasks.build(work.genome, work.key)
        return self.rungs.task(base, work.rung)

    def refill(self, running: set[str]) -> list[Work]:
        s = self.search
        state = s.state
        if self.late:  # retried failures first, whatever the budget left
            return self.take_late()
        while self.batch is None:
            if self.gen > self.committed and self.stop(
                Progress(self.gen, len(state), state.started)
            ):
                return []  # at a generation boundary: the state stays resumable
            if self.filter is not None and self.gen > 0:  # proxy-assisted: k x pop offspring
                asked = s.strategy.ask(self.filter.factor * self.pop)
                genomes = self.filter.choose(asked, self.pop, self.gen)
            else:
                genomes = s.strategy.ask(self.pop)
            keys = [s.space.canonical(g) for g in genomes]
            if self.gen in self.history:
                check_replay(self.gen, keys, self.history[self.gen])
            new: dict[str, Genome] = {}
            for genome, key in zip(genomes, keys, strict=True):
                if key not in state and key not in new:
                    new[key] = genome
            # on resume, what the interrupted attempt stored in this generation was
            # evaluated in it, not reused: the counters equal an uninterrupted run's
            earlier: set[str] = set()
            if self.gen > self.committed:
                earlier = set(state.keys_of_generation(self.gen)) & set(keys)
            self.batch = Batch(genomes, keys, len(new) + len(earlier))
            work = self._classes(new)
            if s.cfg.cost.fidelity and self.gen > self.committed:
                work = self._start_rungs(work)
            if work:
                return work
            self.settle()  # every key stored already: tell at once, ask the next
        return []

    def _classes(self, new: dict[str, Genome]) -> list[Work]:
        """One genome per equivalence class is evaluated; members of an evaluated class
        are reuses, the others wait for their class's result. Fresh trainings go out in
        the evaluator's order on many workers (largest first)."""
        s = self.search
        work: list[Work] = []
        for key, genome in new.items():
            eq = s.state.class_of(genome, key)
            done = s.state.evaluated(eq)
            item = Work(genome, key, self.gen, reuse=done)
            if done is not None:
                work.append(item)
            elif eq is not None and eq in self.waiting:
                self.waiting[eq].append(item)
            else:
                if eq is not None:
                    self.waiting[eq] = []
                work.append(item)
        if s.executor.workers > 1:
            fresh = {w.genome: w for w in work if w.reuse is None}
            ordered = s.evaluator.order(s.space, list(fresh))
            work = [w for w in work if w.reuse is not None] + [fresh[g] for g in ordered]
        return work

    # ----------------------------------------------------------- multi-fidelity rungs
    def _start_rungs(self, work: list[Work]) -> list[Work]:
        """Successive halving over this generation's trained candidates: the fresh ones
        and, on resume, those stored in this (uncommitted) generation."""
        s = self.search
        state = s.state
        assert self.batch is not None
        fresh = {w.key: w for w in work if w.reuse is None}
        candidates: dict[str, Genome] = {}
        finals: dict[str, Row] = {}  # stored in this generation already (resume)
        for genome, key in zip(self.batch.genomes, self.batch.keys, strict=True):
            if key in candidates:
                continue
            if key in fresh:
                candidates[key] = genome
            elif key in state and state.rows[key].generation == self.gen:
                row = state.rows[key]
                if row.result.reused_from is None and row.result.fidelity is not None:
                    candidates[key], finals[key] = genome, row
        cost = s.cfg.cost
        self.rungs = Rungs(state, cost.eta, cost.rungs, candidates, finals)
        starting = set(self.rungs.start())
        reuses = [w for w in work if w.reuse is not None]
        # sent in the work's order (largest first on many workers)
        first = [replace(w, rung=0) for w in fresh.values() if w.key in starting]
        return reuses + first + self._step()

    def _step(self) -> list[Work]:
        """Promotions that became runnable; candidates halted at a lower rung are
        committed as ``partial`` (the rung's values, never the full budget's)."""
        assert self.rungs is not None
        promoted, halted = self.rungs.step()
        work = [Work(genome, key, self.gen, rung=rung) for genome, key, rung in promoted]
        for result in halted:
            work.extend(self._release(self.search.state.commit(result, self.gen)))
        return work

    def arrived(self, row: Row) -> list[Work]:
        """Members of the result's class that waited for it: reuses now (or, if it
        failed, evaluations of their own). With rungs, the result moves its ladder on."""
        result = row.result
        if self.batch is None:  # a retried failure (before any batch): stored, not told
            return []
        self.failed += result.status == "failed"
        if self.rungs is None or result.key not in self.rungs or result.reused_from:
            return self._release(row)
        self.rungs.feed(row)
        if not row.final:  # a rung below the candidate's last
            return self._step()
        return self._release(row) + self._step()

    def _release(self, row: Row) -> list[Work]:
        """A final result releases the members of its class that waited for it."""
        result = row.result
        eq = self.search.state.class_of(result.genome, result.key)
        if result.reused_from is not None or eq is None:
            return []
        members = self.waiting.pop(eq, [])
        reuse = result if result.has_values else None
        return [replace(w, reuse=reuse) for w in members]

    def settle(self) -> None:
        if self.batch is None:
            return
        batch = self.batch
        F, G = self.search.state.rows_of(batch.keys, self.gen)  # as told then, on a replay
        # a candidate halted at a lower rung (partial) has that rung's values only: it is
        # not told, so it never competes with full-budget results in the survival
        told = [i for i, k in enumerate(batch.keys) if self.search.state.told_fully(k, self.gen)]
        if told:
            self.search.strategy.tell([batch.genomes[i] for i in told], F[told], G[told])
        if self.gen > self.committed:
            evaluated = batch.evaluated
            self.commit_generation(self.gen, batch.keys, evaluated, len(batch.keys) - evaluated)
        else:  # replayed: redo what its commit did to the donor pool
            self.search.state.replayed(self.gen, self.search.cfg.cost.keep_weights)
        self.batch, self.gen, self.rungs = None, self.gen + 1, None

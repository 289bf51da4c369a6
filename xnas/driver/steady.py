"""The steady-state policy: keep every evaluator busy.

Each free worker gets ``ask(1)``, each arrival is told at once (the strategy's survival
runs on it) and frees its worker. Every ``population`` arrivals count as one generation
for the store and reports. A resumed run tells the stored arrivals in their stored
order, then reseeds the strategy; evaluations running at a kill are not stored and are
replaced by new asks. Which population an offspring is bred from depends on the order
evaluations finish, so on more than one evaluator rank a run is not bit-for-bit
reproducible.
"""

from __future__ import annotations

from xnas.driver.policy import Policy, Search, Work
from xnas.driver.state import Row
from xnas.driver.termination import Progress


class SteadyState(Policy):
    mode = "steady_state"

    def __init__(self, search: Search) -> None:
        super().__init__(search)
        state, strategy = search.state, search.strategy
        self.window = search.executor.workers
        self.done = 0
        self.running: dict[str, str] = {}  # key sent and not yet arrived -> its class
        for row in list(state.rows.values()):  # replay the stored arrivals in order
            strategy.tell([row.result.genome], row.F[None, :], row.G[None, :])
            self.done += 1
        if self.done:
            strategy.reseed(self.done)
        last = state.store.last_generation()
        self.committed = -1 if last is None else last.generation

    def view(self, work: Work) -> None:
        return None  # every result stored so far

    def generation_of(self, work: Work) -> int:
        return self.done // self.pop

    def refill(self, running: set[str]) -> list[Work]:
        """One new key per free worker; a genome whose class is being evaluated is asked
        again (like a running key), one whose class was evaluated is a reuse."""
        s = self.search
        state, out = s.state, []
        busy_classes = set(self.running.values())
        while self.late and len(running) < self.window:  # retried keys go first
            work = self.late.pop(0)
            eq = state.class_of(work.genome, work.key) or work.key
            running.add(work.key)
            busy_classes.add(eq)
            self.running[work.key] = eq
            out.append(work)
        while len(running) < self.window:
            busy = len(running)
            if self.stop(Progress((self.done + busy) // self.pop, self.done + busy, state.started)):
                break
            for _ in range(1000):  # a new key; tiny spaces run out
                (genome,) = s.strategy.ask(1)
                key = s.space.canonical(genome)
                eq = state.class_of(genome, key) or key
                if key not in state and key not in running and eq not in busy_classes:
                    break
            else:
                self.stopped_by = "no new architecture found in 1,000 asks (space exhausted?)"
                break
            running.add(key)
            busy_classes.add(eq)
            self.running[key] = eq
            out.append(Work(genome, key, 0, reuse=state.classes.get(eq)))
        return out

    def arrived(self, row: Row) -> list[Work]:
        result = row.result
        self.running.pop(result.key, None)
        gen = self.done // self.pop
        self.search.strategy.tell([result.genome], row.F[None, :], row.G[None, :])
        self.done += 1
        self.failed += result.status == "failed"
        if self.done % self.pop == 0:
            self._commit(gen)
        return []

    def finish(self) -> None:
        if self.done % self.pop:  # the last, partial generation
            self._commit(self.done // self.pop)

    def _commit(self, gen: int) -> None:
        if gen > self.committed:
            members = [self.search.space.canonical(g) for g in self.search.strategy.members()]
            self.commit_generation(gen, members, self.done - gen * self.pop, 0)
            self.committed = gen

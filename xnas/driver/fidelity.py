"""Multi-fidelity evaluation (``cost.fidelity``): successive halving inside a generation.

A generation's new candidates train to the first rung's epochs; after each rung only the
best ``1/eta`` by non-dominated rank (then crowding distance, then the order asked)
continue, from their own weights, to the next rung; the last rung is the full budget.
MO-ASHA (Schmucker et al., Syne Tune) ranks the same way; here a generation's rung is
decided as a whole, so the same genomes are promoted on any number of ranks.

Everything about rungs is here: ``Ladder`` (pure: numpy + pymoo's sorting) says which
(key, rung) to train next and which candidates are finished; ``Rungs`` drives one
generation's ladder for the generational policy (builds rung tasks that continue the
rung before's checkpoint, feeds stored rows back in on resume, turns a candidate halted
at a lower rung into a ``partial`` result). The checks of settings rungs cannot use are
in ``driver.checks``; the trainer's checkpoint in ``evaluate.train``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from xnas.results import EvalResult, EvalTask, RungSpec

if TYPE_CHECKING:
    from xnas.driver.state import Row, RunState
    from xnas.space import Genome


def rung_epochs(total: int, eta: int, rungs: int) -> tuple[int, ...]:
    """Cumulative epochs at each rung for a full budget of ``total``: total / eta^j for
    j = rungs-1 .. 0, at least 1, duplicates dropped (a small budget has fewer rungs)."""
    return tuple(sorted({max(1, round(total / eta**j)) for j in range(rungs)}))


def promotion_order(F: np.ndarray, violation: np.ndarray | None = None) -> list[int]:
    """Row indices best first: feasible rows by non-dominated front (pymoo), within a
    front by crowding distance (pymoo, largest first), ties by row order; then the
    infeasible by violation; rows with NaN (no values) last, in row order."""
    from pymoo.operators.survival.rank_and_crowding.metrics import calc_crowding_distance
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    n = len(F)
    violation = np.zeros(n) if violation is None else np.asarray(violation, dtype=float)
    valid = ~np.isnan(F).any(axis=1) if n else np.zeros(0, bool)
    feasible = [i for i in range(n) if valid[i] and violation[i] <= 0]
    order: list[int] = []
    if feasible:
        sub = F[feasible]
        for front in NonDominatedSorting().do(sub, sort_by_objectives=False):
            front = sorted(int(i) for i in front)
            crowd = (
                calc_crowding_distance(sub[front])
                if len(front) > 2
                else np.full(len(front), np.inf)
            )
            ranked = sorted(range(len(front)), key=lambda j: (-crowd[j], front[j]))
            order.extend(feasible[front[j]] for j in ranked)
    infeasible = [i for i in range(n) if valid[i] and violation[i] > 0]
    order.extend(sorted(infeasible, key=lambda i: (violation[i], i)))
    order.extend(i for i in range(n) if not valid[i])
    return order


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.all(a <= b) and np.any(a < b))


@dataclass
class Ladder:
    """Successive halving over one generation's candidates (keys in the order asked).

    ``schedule[key]`` is the candidate's cumulative epochs per rung (its last entry its
    full budget), known once its first rung is built. ``add`` records a rung result (a
    minimisation row, NaN when it has no values, and its constraint violation); ``step``
    returns the (key, rung) tasks that became runnable and the (key, rung) results that
    became final (not promoted). A
    result at a candidate's last rung, or without values, is final by itself.

    Rung r+1 takes ``max(1, n_r // eta)`` of rung r's n_r members. A candidate is promoted
    as soon as that is certain (fewer rows than the slots could still outrank it: those
    not finished plus the finished ones it does not dominate, since a dominated row always
    ranks below its dominator), so no rank idles at a rung's barrier when it can be
    avoided; the rest are decided when the rung is complete. Both give the same set.
    """

    keys: list[str]
    eta: int
    depth: int  # most rungs a candidate can have
    schedule: dict[str, tuple[int, ...]] = field(default_factory=dict)  # set with its rung 0
    rows: dict[tuple[str, int], tuple[np.ndarray, float]] = field(default_factory=dict)
    members: list[list[str]] = field(default_factory=list)  # per rung
    complete: list[bool] = field(default_factory=list)  # rung membership is final
    decided: list[bool] = field(default_factory=list)  # rung's promotions are all made
    sent: set[tuple[str, int]] = field(default_factory=set)
    finals: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.index = {k: i for i, k in enumerate(self.keys)}
        self.members = [list(self.keys)] + [[] for _ in range(self.depth - 1)]
        self.complete = [True] + [False] * (self.depth - 1)
        self.decided = [False] * self.depth

    def slots(self, rung: int) -> int:
        """How many of rung ``rung``'s members go on to the next rung."""
        return max(1, len(self.members[rung]) // self.eta) if self.members[rung] else 0

    def last(self, key: str, rung: int) -> bool:
        return rung == len(self.schedule[key]) - 1

    def add(self, key: str, rung: int, row: np.ndarray, violation: float = 0.0) -> None:
        self.rows[(key, rung)] = (np.asarray(row, dtype=float), float(violation))
        self.sent.add((key, rung))
        if self.last(key, rung) or np.isnan(row).any():
            self.finals.add(key)

    def start(self) -> list[tuple[str, int]]:
        """The first rung's tasks not yet known (all of them in a fresh generation)."""
        out = [(k, 0) for k in self.keys if (k, 0) not in self.sent]
        self.sent.update(out)
        return out

    def step(self) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        runnable: list[tuple[str, int]] = []
        final: list[tuple[str, int]] = []
        for r in range(len(self.members) - 1):
            if not self.complete[r] or self.decided[r]:
                continue
            members = self.members[r]
            done = [k for k in members if (k, r) in self.rows]
            slots = self.slots(r)
            promoted = set(self.members[r + 1])
            open_slots = slots - len(promoted)
            if len(done) == len(members):  # the whole rung is in: decide the rest
                # in the order asked, whatever order early promotions came in: ties are
                # broken the same way on any number of ranks
                members = sorted(members, key=self.index.__getitem__)
                F = np.array([self.rows[(k, r)][0] for k in members])
                viol = np.array([self.rows[(k, r)][1] for k in members])
                chosen = []
                for i in promotion_order(F, viol):
                    k = members[i]
                    if len(chosen) + len(promoted) >= slots:
                        break
                    if k not in promoted and self._can_continue(k, r):
                        chosen.append(k)
                for k in chosen:
                    self._promote(k, r, runnable)
                for k in members:
                    if k not in self.members[r + 1] and k not in self.finals:
                        self.finals.add(k)
                        final.append((k, r))
                self.decided[r] = True
                self.complete[r + 1] = True
                continue
            for k in done:  # before the rung is complete: promote only what is certain
                if open_slots <= 0:
                    break
                if k in promoted or not self._can_continue(k, r):
                    continue
                row, viol = self.rows[(k, r)]
                if viol > 0:
                    continue
                # rows that could still precede k among those that can continue
                outrank = (len(members) - len(done)) + sum(
                    1
                    for j in done
                    if j != k
                    and self._can_continue(j, r)
                    and self.rows[(j, r)][1] <= 0
                    and not dominates(row, self.rows[(j, r)][0])
                )
                if outrank < slots:
                    self._promote(k, r, runnable)
                    promoted.add(k)
                    open_slots -= 1
        return runnable, final

    def _can_continue(self, key: str, rung: int) -> bool:
        row, _ = self.rows[(key, rung)]
        return not self.last(key, rung) and not np.isnan(row).any()

    def _promote(self, key: str, rung: int, runnable: list[tuple[str, int]]) -> None:
        self.members[rung + 1].append(key)
        if (key, rung + 1) not in self.sent:
            self.sent.add((key, rung + 1))
            runnable.append((key, rung + 1))

    @property
    def done(self) -> bool:
        return all(k in self.finals for k in self.keys)


class Rungs:
    """One generation's ladder, driven: the candidates trained in it (fresh ones, and on
    resume those stored in it already, whose stored rung rows and finals are fed in again
    so that every decision is remade the same way)."""

    def __init__(
        self,
        state: RunState,
        eta: int,
        depth: int,
        candidates: dict[str, Genome],
        finals: dict[str, Row],
    ) -> None:
        self.state, self.eta, self.depth = state, eta, depth
        self.genomes = dict(candidates)  # in the order asked: ties break the same way
        self.ladder = Ladder(list(candidates), eta, depth)
        for key, rung in sorted(k for k in state.rungs if k[0] in self.genomes):
            self.feed(state.rungs[(key, rung)])
        for row in finals.values():  # final already: never committed twice
            self.feed(row, final=True)

    def __contains__(self, key: str) -> bool:
        return key in self.genomes

    def schedule(self, full_epochs: int) -> tuple[int, ...]:
        return rung_epochs(full_epochs, self.eta, self.depth)

    def start(self) -> list[str]:
        """Keys whose first rung is still to train."""
        return [k for k, _ in self.ladder.start()]

    def feed(self, row: Row, final: bool = False) -> None:
        """A rung result (or a final one) of one of this generation's candidates. A result
        without a fidelity record (none of a rung task's own, e.g. written by another
        evaluator) is final at the rung it ended."""
        result = row.result
        fidelity = result.fidelity or {}
        full = fidelity.get("full_epochs") or result.epochs or 1
        self.ladder.schedule[result.key] = self.schedule(int(full))
        F = row.F if result.has_values else np.full(len(row.F), np.nan)
        self.ladder.add(result.key, result.rung or 0, F, row.violation)
        if final or not fidelity:
            self.ladder.finals.add(result.key)

    def step(self) -> tuple[list[tuple[Genome, str, int]], list[EvalResult]]:
        """(promotions that became runnable as (genome, key, rung), and the results of
        candidates halted at a lower rung as they are to be stored: ``partial``)."""
        runnable, final = self.ladder.step()
        promoted = [(self.genomes[k], k, r) for k, r in runnable]
        halted = [self.state.rungs[(k, r)].result.as_partial() for k, r in final]
        return promoted, halted

    def task(self, task: EvalTask, rung: int) -> EvalTask:
        """``task`` (rung 0: the full budget in ``epochs``, with its donor; above: a fresh
        task) as rung ``rung``: train up to that rung's epochs of the full budget's
        schedule, continuing the rung before's checkpoint (its own weights: no donor)."""
        rundir = self.state.rundir
        if rung == 0:
            full = task.epochs
        else:
            first = self.state.rungs[(task.key, 0)].result
            full = int(first.fidelity["full_epochs"])
            task = replace(task, donor_key=first.donor_key, donor_weights=None)
        schedule = self.schedule(full)
        before = rundir.rung_file(task.key, rung - 1) if rung else None
        return replace(
            task,
            epochs=schedule[rung],
            fidelity=RungSpec(
                rung,
                full,
                # a lost checkpoint: train this rung from scratch (same schedule), not fail
                resume_from=str(before.resolve()) if before and before.is_file() else None,
                checkpoint_to=(
                    None
                    if rung == len(schedule) - 1
                    else str(rundir.rung_file(task.key, rung).resolve())
                ),
            ),
        )

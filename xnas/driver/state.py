"""The driver's in-memory mirror of its run, and the one writer of its results.

The store is read once when the run opens; from then on every result is committed
through ``RunState.commit``, which writes the store and updates the mirror in one step:
each result's minimisation row and violation (computed once), the non-dominated archive,
the functional classes evaluated so far, the donor pool, the rung rows, the suspects of
earlier worker deaths. Nothing on the hot path re-reads SQLite, so the driver's cost per
evaluation stays flat as a run grows (``benchmarks/bench_driver.py``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from xnas.driver.donors import DonorPool
from xnas.driver.front import Archive
from xnas.driver.invariants import admit, energy_source_of
from xnas.objectives import to_minimization
from xnas.results import EvalResult, EvalTask
from xnas.space import Genome, SearchSpace
from xnas.store import GenerationState, RunStore
from xnas.summary import (
    Constraint,
    check_reference,
    full_budget,
    ideal_point,
    objective_rows,
    reference_point,
    violation,
)

log = logging.getLogger("xnas.driver.evaluations")  # one line per stored result


def describe_result(result: EvalResult) -> str:
    """One line per stored evaluation: status, key, where, how long (``xnas -v``)."""
    seconds = result.timings.get("total")
    took = f"{seconds:.1f} s" if isinstance(seconds, int | float) else "?"
    how = f"reuse of {result.reused_from[:24]}..." if result.reused_from else f"{result.epochs} ep"
    reason = f": {(result.error or '').splitlines()[0][:80]}" if result.status == "failed" else ""
    return f"  {result.status:<8} {result.key}  rank {result.rank}, {how}, {took}{reason}"


@dataclass(frozen=True)
class Row:
    """One committed result as the driver keeps it: its pymoo rows, computed once."""

    generation: int
    violation: float
    result: EvalResult
    F: np.ndarray  # minimisation form (placeholders for failed and rejected results)
    G: np.ndarray  # constraint values, pymoo's convention (<= 0 satisfied)
    final: bool = True  # the key's final result (False: a rung below its last)


class RunState:
    """What the driver knows of its run (lives on the driver only)."""

    def __init__(
        self,
        store: RunStore,
        space: SearchSpace,
        names: list[str],
        constraints: list[Constraint],
        *,
        reuse_equivalent: bool,
        on_done: Callable[[EvalResult], None] | None = None,
        declared_reference: tuple[float, ...] | None = None,
    ) -> None:
        self.store, self.space, self.names, self.constraints = store, space, names, constraints
        # search.hv_reference: the reference point in each objective's own sense, or None
        self.declared_reference = declared_reference
        self.rundir = store.dir
        # what every result with values must have: the searched and the budgeted objectives
        self.required = tuple(dict.fromkeys([*names, *(c.objective for c in constraints)]))
        self.reuse_equivalent = reuse_equivalent
        self.on_done = on_done
        self.started = time.monotonic()
        self.writes = 0  # results and generations this process committed
        self.energy_source: str | None = store.meta("energy_source", None)
        self.rows: dict[str, Row] = {}  # every final result, by key
        self.by_generation: dict[int, list[str]] = defaultdict(list)
        # class -> its evaluated (trained) result: of its members with values, the one of
        # the earliest generation, then the smallest key (never the first to arrive)
        self.classes: dict[str, EvalResult] = {}
        self._class_rank: dict[str, tuple[int, str]] = {}
        self._classes_of: dict[str, str] = {}  # key -> its class (class_of's cache)
        self.rungs: dict[tuple[str, int], Row] = {}  # rung results below a final one
        self.archive = Archive(len(names))
        self.donors = DonorPool(space)
        self.unconsumed: deque[Row] = deque()  # committed, not yet in archive and donors
        stored = list(store.results())
        if stored:
            F, G = objective_rows([r for *_, r in stored], names, constraints)
            for (gen, viol, result), f, g in zip(stored, F, G, strict=True):
                self._remember(Row(gen, viol, result, f, g))
        # retried keys: their original (failed) rows, told in generations before retired_at
        self.retired: dict[str, tuple[int, Row]] = {}
        retired = list(store.retired())
        if retired:
            F, G = objective_rows([r for *_, r in retired], names, constraints)
            for (gen, viol, at, result), f, g in zip(retired, F, G, strict=True):
                self.retired[result.key] = (at, Row(gen, viol, result, f, g))
        rung_rows = list(store.rungs())
        if rung_rows:
            F, G = objective_rows([r for *_, r in rung_rows], names, constraints)
            for (gen, viol, result), f, g in zip(rung_rows, F, G, strict=True):
                self.rungs[(result.key, result.rung)] = Row(gen, viol, result, f, g, False)
        self.suspects: dict[str, int] = self._collect_suspects()

    # ------------------------------------------------------------------ lookups
    def __contains__(self, key: str) -> bool:
        return key in self.rows

    def __len__(self) -> int:
        return len(self.rows)

    def class_of(self, genome: Genome, key: str) -> str | None:
        """The functional equivalence class of ``genome`` (canonical ``key``), or None when
        reuse is off; computed once per key."""
        if not self.reuse_equivalent:
            return None
        eq = self._classes_of.get(key)
        if eq is None:
            eq = self._classes_of[key] = self.space.equivalence(genome)
        return eq

    def evaluated(self, eq: str | None) -> EvalResult | None:
        """The evaluated (trained, not failed) result of class ``eq``, if any."""
        return None if eq is None else self.classes.get(eq)

    def keys_of_generation(self, generation: int) -> list[str]:
        return self.by_generation.get(generation, [])

    def rows_of(
        self, keys: list[str], generation: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(F, G) of stored ``keys`` in their order: what ``tell`` gets. For a replayed
        ``generation``, a key retried later gives the values told then (its retired row)."""
        rows = [self.row_as_told(k, generation) for k in keys]
        return np.array([r.F for r in rows]), np.array([r.G for r in rows])

    def told_fully(self, key: str, generation: int | None = None) -> bool:
        """Whether the row told for ``key`` holds full-budget values (or a failure: failed
        and rejected rows are told, as infeasible); False for a partial."""
        return self.row_as_told(key, generation).result.status != "partial"

    def row_as_told(self, key: str, generation: int | None = None) -> Row:
        retired = self.retired.get(key)
        if retired is not None and generation is not None and generation < retired[0]:
            return retired[1]
        return self.rows[key]

    # ------------------------------------------------------------------ writing
    def _writing(self) -> None:
        """Before this process's first write: the run is no longer stopped (a kill from
        here on leaves no stale reason behind)."""
        if self.writes == 0 and self.store.meta("stopped_by", None) is not None:
            self.store.set_meta("stopped_by", None)
        self.writes += 1

    def commit(self, result: EvalResult, generation: int, task: EvalTask | None = None) -> Row:
        """Store ``result`` (one transaction) and take it into the mirror. A rung below
        its candidate's last (``task.fidelity.checkpoint_to``) with values goes to the rung
        rows; everything else is the key's final result."""
        self._writing()
        result = self._admit(result)
        F, G = objective_rows([result], self.names, self.constraints)
        viol = violation(G[0])
        below_last = (
            task is not None
            and task.fidelity is not None
            and (task.fidelity.checkpoint_to is not None)
        )
        if below_last and result.has_values:
            self.store.add_rung(result, generation, viol)
            row = Row(generation, viol, result, F[0], G[0], False)
            self.rungs[(result.key, result.rung)] = row
            return row
        stored = self.store.add_result(result, generation, viol)
        row = Row(generation, viol, stored, F[0], G[0])
        self._remember(row)
        if stored.fidelity is not None:  # final: its rung checkpoints are done with
            for path in self.rundir.rung_files(stored.key):
                path.unlink(missing_ok=True)
        if self.suspects.pop(stored.key, None) is not None:
            self.store.set_meta("suspects", self.suspects)
        if log.isEnabledFor(logging.INFO):
            log.info("%s", describe_result(stored))
        if self.on_done is not None:
            self.on_done(stored)
        return row

    def commit_generation(self, state: GenerationState, keep_weights: int | None) -> None:
        """Store a finished generation, then fix the run's hypervolume reference (once)
        and prune weight files beyond ``keep_weights``."""
        self._writing()
        self.store.commit_generation(state)
        self.fix_reference()
        self.prune_weights(keep_weights)

    def _admit(self, result: EvalResult) -> EvalResult:
        result = admit(result, self.energy_source, self.required)
        source = energy_source_of(result)
        if source is not None and self.energy_source is None:
            self.energy_source = self.store.set_meta_once("energy_source", source)
            result = admit(result, self.energy_source, self.required)
        return result

    def _remember(self, row: Row) -> None:
        result = row.result
        self.rows[result.key] = row
        self.by_generation[row.generation].append(result.key)
        self.unconsumed.append(row)
        eq = self.class_of(result.genome, result.key)
        if eq is not None and result.has_values and result.reused_from is None:
            rank = (row.generation, result.key)
            if eq not in self.classes or rank < self._class_rank[eq]:
                self.classes[eq], self._class_rank[eq] = result, rank

    # ------------------------------------------------------------- what tasks see
    def advance(self, generation: int | None) -> None:
        """Take every row of generations before ``generation`` (all rows when None) into
        the archive and the donor pool; rows arrive in generation order (the barrier, or
        steady-state's nominal generations), so what a generation's tasks see is fixed
        when it starts."""
        while self.unconsumed:
            row = self.unconsumed[0]
            if generation is not None and row.generation >= generation:
                break
            self.unconsumed.popleft()
            result = row.result
            if full_budget(result) and row.violation == 0:  # partials: never on the front
                self.archive.add(result.key, row.F)
            if result.weights_path:
                path = self.rundir.stored_weights(result.weights_path)
                self.donors.add(result, result.has_values and path.is_file(), row.generation)

    def prune_weights(self, keep: int | None, generation: int | None = None) -> None:
        """Keep weight files of the front and the ``keep`` most recent results (of the
        generations up to ``generation``; all when None). Only files inside this run's
        ``weights/`` are ever deleted."""
        if keep is None:
            return
        self.advance(None if generation is None else generation + 1)
        for result in self.donors.prune(set(self.archive.keys) | self.donors.recent(keep)):
            self.rundir.stored_weights(result.weights_path).unlink(missing_ok=True)

    def replayed(self, generation: int, keep_weights: int | None) -> None:
        """A committed generation replayed on resume: what its commit did to the donor
        pool is done again, so a job killed between the generation's row and its pruning
        hands the next generation exactly the donors an uninterrupted run would."""
        self.prune_weights(keep_weights, generation)

    # ------------------------------------------------------------- the front
    def fix_reference(self) -> None:
        """The run's hypervolume reference point, decided once: after the first committed
        generation with feasible results (``summary.reference_point``)."""
        self.advance(None)
        if self.archive.count and self.store.meta("hv_reference", None) is None:
            declared = self.declared_reference
            ref = (
                to_minimization(dict(zip(self.names, declared, strict=True)), self.names).tolist()
                if declared is not None
                else reference_point(self.names, self.archive.worst[None, :])
            )
            _, F = self.archive.front()
            self.store.set_meta_once("hv_reference", ref)
            self.store.set_meta_once("hv_ideal", ideal_point(self.names, np.asarray(F)))

    def front(self) -> tuple[list[str], float]:
        """(front keys, hypervolume) from memory, as ``summary.front_summary`` gives them."""
        from pymoo.indicators.hv import HV

        self.advance(None)
        keys, F = self.archive.front()
        if not keys:
            return [], 0.0
        ref = self.store.meta("hv_reference", None)
        check_reference(ref, self.names)
        if ref is None:  # not fixed yet: provisional, from every feasible result so far
            ref = reference_point(self.names, self.archive.worst[None, :])
        return keys, float(HV(ref_point=np.array(ref))(F))

    # ------------------------------------------------------------- worker deaths
    def tidy(self) -> None:
        """At the end of a search: remove the empty inflight markers (every worker of this
        job is idle now; an empty marker names nothing) and the folder when nothing else is
        in it. A marker that names a key is kept: a worker died on it."""
        folder = self.rundir.inflight
        for marker in folder.glob("*") if folder.is_dir() else []:
            with contextlib.suppress(OSError):
                if marker.stat().st_size == 0:
                    marker.unlink()
        with contextlib.suppress(OSError):
            folder.rmdir()

    def _collect_suspects(self) -> dict[str, int]:
        """Keys that were being evaluated when an earlier job died (their ``inflight``
        markers survived), with how many deaths each was present at; kept in the meta."""
        suspects = dict(self.store.meta("suspects", {}))
        folder = self.rundir.inflight
        markers = sorted(folder.glob("*")) if folder.is_dir() else []
        markers = [m for m in markers if m.is_file()]  # (anything else is not ours)
        for marker in markers:
            key = marker.read_bytes().decode(errors="replace").strip()
            if key and key not in self.rows:
                suspects[key] = suspects.get(key, 0) + 1
            marker.unlink(missing_ok=True)
        if markers:
            self.store.set_meta("suspects", suspects)
        return suspects

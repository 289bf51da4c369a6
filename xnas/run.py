"""The driver loop: ask -> canonical keys -> reuse stored results -> evaluate the rest ->
commit each result -> tell -> commit the generation.

Failed evaluations are infeasible (constraint column 0 = 1) with placeholder
objective values, never dropped. User budgets (``latency <= 5``) are further
constraint columns. Resuming replays the stored history through the strategy's
ask/tell (deterministic given the seed), evaluates nothing already stored, and
continues with the first generation that was not committed.
"""

from __future__ import annotations

import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from xnas.config import Config, build, to_dict
from xnas.errors import ConfigError, StoreError, XnasError
from xnas.evaluate import EvalResult, EvalTask, evaluate, make_task
from xnas.evaluate.evaluator import weights_filename
from xnas.evaluate.inherit import nearest_index
from xnas.fidelity import Ladder, rung_epochs
from xnas.front import Archive
from xnas.objectives import OBJECTIVES, to_minimization
from xnas.parallel import Executor, call_task, failed_result, open_executor
from xnas.parallel.worker import INFLIGHT
from xnas.results import StopRule
from xnas.space import Genome, SearchSpace, get_space
from xnas.store import GenerationState, RunStore
from xnas.strategy import STRATEGIES, Strategy
from xnas.summary import (  # noqa: F401  (re-exported: reports import them from here)
    FAILED_F,
    Constraint,
    constraints_of,
    feasible_front,
    front_summary,
    objective_rows,
    reference_point,
    search_objectives,
    violation,
)
from xnas.termination import Progress, Termination, reached, terminations


@dataclass(frozen=True)
class GenerationSummary:
    generation: int
    evaluated: int
    reused: int
    failed: int
    front_size: int
    hypervolume: float


def check_device(name: str) -> None:
    """``train.device`` must exist here (the driver's node stands for its workers')."""
    import torch

    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(
                f"train.device {name!r}: CUDA is not available here; expected auto or cpu"
            )
        if ":" in name and int(name.split(":")[1]) >= torch.cuda.device_count():
            raise ConfigError(
                f"train.device {name!r}: only {torch.cuda.device_count()} CUDA devices here"
            )
    if name == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("train.device 'mps': MPS is not available here; expected auto or cpu")


def check_cost(cfg: Config, names: list[str]) -> None:
    """Refuse cost settings that cannot work, before anything is stored."""
    if cfg.cost.fidelity:
        if cfg.cost.extrapolate:
            raise ConfigError(
                "cost.fidelity with cost.extrapolate: both end trainings early and the stop "
                "rule's front would mix rung values; expected one of them"
            )
        if cfg.search.mode != "generational":
            raise ConfigError(
                "cost.fidelity: rungs are decided per generation; expected "
                "search.mode: generational"
            )
        if cfg.evaluator.name != "train":
            raise ConfigError(
                "cost.fidelity: a table has no epochs to halve; expected evaluator.name: train"
            )
    if not cfg.cost.extrapolate:
        return
    if "error" not in names:
        raise ConfigError(
            "cost.extrapolate: the stop rule bounds the error's learning curve; expected "
            "'error' among the searched objectives"
        )
    trained = [n for n in names if n != "error" and OBJECTIVES.get(n).stage == "trained"]
    if trained:
        raise ConfigError(
            f"cost.extrapolate: {trained[0]} is only known after training and has no bound "
            "a front could dominate, so the stop rule would never fire; set "
            "cost.extrapolate: false or search without it"
        )


def check_latency_table(cfg: Config) -> None:
    """``latency_predicted`` needs a readable LUT of this space: checked before anything
    is stored (the input shape is checked when the first genome is scored)."""
    if not any(o.name == "latency_predicted" for o in cfg.objectives):
        return
    if not cfg.measure.latency_table:
        raise ConfigError(
            "objective latency_predicted needs measure.latency_table: expected the path of "
            "a LUT written by `xnas latency-table`"
        )
    from xnas.objectives.latency_table import load_table

    load_table(cfg.measure.latency_table, cfg.space)


@dataclass
class _Search:
    """What both driver loops share (lives on the driver only)."""

    cfg: Config
    space: SearchSpace
    names: list[str]
    constraints: list[Constraint]
    store: RunStore
    executor: Executor
    evaluate_fn: Callable[[EvalTask], EvalResult]
    on_generation: Callable[[GenerationSummary], None] | None
    on_launch: Callable[[EvalTask], None] | None = None  # a task was sent to a worker
    on_done: Callable[[EvalResult], None] | None = None  # a result was committed

    lineage: dict[Genome, Genome] = field(default_factory=dict)  # the strategy's, if known
    energy_source: str | None = None  # fixed by the run's first energy value (store meta)

    def __post_init__(self) -> None:
        """The store is read once; from then on the driver keeps what it needs in memory
        (every row, the front archive, the weight files that exist), so its bookkeeping
        per evaluation does not grow with the run."""
        self.energy_source = self.store.meta("energy_source", None)
        # rows not yet in the archive and the weight bookkeeping, in stored order
        self.unconsumed: deque[tuple[int, float, EvalResult]] = deque(self.store.results())
        self.archive = Archive(len(self.names))
        self.with_weights: dict[str, EvalResult] = {}  # consumed results whose file exists
        self.weighted_keys: list[str] = []  # consumed results with a weight file, in order
        self.normalized: dict[str, Genome] = {}  # their normalised genomes (donor distances)
        self.suspects: dict[str, int] = self._collect_suspects()
        self.started = time.monotonic()
        # functional equivalence class -> its evaluated (trained, not failed) result
        self.classes: dict[str, EvalResult] = {}
        self.generation_of: dict[str, int] = {}  # stored key -> generation it was stored in
        for gen, _, result in self.unconsumed:
            self._learn_class(result)
            self.generation_of[result.key] = gen
        # multi-fidelity: stored rung results (below each candidate's final one)
        self.rung_rows: dict[tuple[str, int], tuple[float, EvalResult]] = {
            (r.key, r.rung): (viol, r) for _, viol, r in self.store.rungs()
        }

    def _learn_class(self, result: EvalResult) -> None:
        eq = self.class_of(result.genome)
        if eq is not None and result.has_values and result.reused_from is None:
            self.classes.setdefault(eq, result)

    def class_of(self, genome: Genome) -> str | None:
        """The genome's functional equivalence class, or None when reuse is off."""
        return self.space.equivalence(genome) if self.cfg.search.reuse_equivalent else None

    def _collect_suspects(self) -> dict[str, int]:
        """Keys that were being evaluated when an earlier job died (their ``inflight``
        markers survived), with how many deaths each was present at; kept in the meta."""
        suspects = dict(self.store.meta("suspects", {}))
        folder = self.store.run_dir / INFLIGHT
        markers = sorted(folder.glob("*")) if folder.is_dir() else []
        for marker in markers:
            key = marker.read_text().strip()
            if key and key not in self.store:
                suspects[key] = suspects.get(key, 0) + 1
            marker.unlink(missing_ok=True)
        if markers:
            self.store.set_meta("suspects", suspects)
        return suspects

    def worker_died(self, task: EvalTask) -> EvalResult:
        return failed_result(
            task,
            "worker died: the process evaluating this genome was killed twice, the second "
            "time while it ran alone (by the OS, e.g. out of memory, a crash in native code, "
            "or the job killed from outside); stored as failed so the run can go on",
        )

    def advance(self, generation: int | None) -> None:
        """Take every row of generations before ``generation`` (all rows when None) into
        the archive; rows arrive in generation order (the barrier, or steady-state's
        nominal generations), so what a generation's tasks see is fixed when it starts."""
        while self.unconsumed:
            gen, viol, result = self.unconsumed[0]
            if generation is not None and gen >= generation:
                break
            self.unconsumed.popleft()
            if result.has_values and viol == 0:
                self.archive.add(result.key, to_minimization(result.objectives, self.names))
            if result.weights_path:
                self.weighted_keys.append(result.key)
                path = self.store.weights_file(result)
                if result.has_values and path.is_file():
                    self.with_weights[result.key] = result
                    self.normalized[result.key] = self.space.normalize(result.genome)

    def task(
        self,
        genome: Genome,
        generation: int | None = None,
        reuse: EvalResult | None = None,
        rung: int | None = None,
    ) -> EvalTask:
        """The task for ``genome`` with its donor and stop rule, from the results of
        generations before ``generation`` (all results when None): a resumed
        generational run hands every task exactly what the uninterrupted run did. With
        ``reuse`` (an equivalent genome's evaluation) nothing is trained; with ``rung``
        (multi-fidelity) it trains that rung."""
        cost = self.cfg.cost
        task = make_task(
            self.cfg, self.space, genome, weights_dir=str(self.store.weights_dir.resolve())
        )
        if self.energy_source and task.measure.energy_source == "auto":
            task = replace(task, measure=replace(task.measure, energy_source=self.energy_source))
        if reuse is not None:
            return replace(task, reuse=reuse, weights_dir=None, epochs=0)
        if rung:  # a promotion continues the genome's own training: no donor
            return self.rung_task(task, rung)
        if not (cost.inherit or cost.extrapolate):
            return task if rung is None else self.rung_task(task, rung)
        self.advance(generation)
        if cost.inherit:
            donor = self._donor(genome)
            if donor is not None:
                task = replace(
                    task,
                    donor_key=donor.key,
                    donor_weights=str(self.store.weights_file(donor).resolve()),
                    epochs=cost.inherit_epochs or task.epochs,
                )
        if cost.extrapolate:
            front = self.archive.vectors()
            rule = StopRule(tuple(self.names), front, cost.min_epochs, cost.band_quantile)
            task = replace(task, stop=rule)
            if task.donor_key is not None and cost.donor_prior:  # donor's curve: the prior
                task = replace(task, prior_curve=tuple(donor.curve))
        return task if rung is None else self.rung_task(task, rung)

    def schedule(self, full_epochs: int) -> tuple[int, ...]:
        return rung_epochs(full_epochs, self.cfg.cost.eta, self.cfg.cost.rungs)

    def rung_file(self, key: str, rung: int) -> Path:
        """Where rung ``rung``'s training checkpoint of ``key`` lives until ``key`` is final."""
        return self.store.run_dir / "rungs" / f"{weights_filename(key)[:-3]}-r{rung}.pt"

    def rung_task(self, task: EvalTask, rung: int) -> EvalTask:
        """``task`` (its full budget in ``epochs``) as rung ``rung``: train up to that rung's
        epochs of the full budget's schedule, continuing the rung before's checkpoint."""
        if rung == 0:
            full = task.epochs
        else:
            _, first = self.rung_rows[(task.key, 0)]
            full = int(first.fidelity["full_epochs"])
            task = replace(task, donor_key=first.donor_key, donor_weights=None)
        schedule = self.schedule(full)
        before = self.rung_file(task.key, rung - 1) if rung else None
        return replace(
            task,
            rung=rung,
            epochs=schedule[rung],
            schedule_epochs=full,
            # a lost checkpoint: train this rung from scratch (same schedule), not fail
            resume_from=str(before.resolve()) if before and before.is_file() else None,
            checkpoint_to=(
                None if rung == len(schedule) - 1 else str(self.rung_file(task.key, rung))
            ),
        )

    def _donor(self, genome: Genome) -> EvalResult | None:
        usable = self.with_weights
        if self.cfg.cost.donor == "parent" and genome in self.lineage:
            parent = usable.get(self.space.canonical(self.lineage[genome]))
            if parent is not None:
                return parent
        if not usable:
            return None
        keys = list(usable)
        i = nearest_index(
            self.space,
            genome,
            np.array([self.normalized[k] for k in keys]),
            np.array([usable[k].objectives.get("error", 1.0) for k in keys]),
            keys,
        )
        return usable[keys[i]]

    def prune_weights(self) -> None:
        """Keep weight files of the front and the ``cost.keep_weights`` most recent results.
        Only files inside this run's ``weights/`` are ever deleted."""
        keep = self.cfg.cost.keep_weights
        if keep is None:
            return
        self.advance(None)
        front = set(self.archive.keys)
        recent = set(self.weighted_keys[-keep:])
        for key in [k for k in self.with_weights if k not in front and k not in recent]:
            self.store.weights_file(self.with_weights.pop(key)).unlink(missing_ok=True)
            del self.normalized[key]

    def submit(self, task: EvalTask) -> Future:
        if self.on_launch is not None:
            self.on_launch(task)
        return self.executor.submit(
            call_task, self.evaluate_fn, task, self.cfg.parallel.task_timeout
        )

    def record(self, future: Future, task: EvalTask, generation: int) -> EvalResult:
        """Commit one finished evaluation (one transaction) the moment it arrives."""
        exc = future.exception()
        if isinstance(exc, XnasError):
            raise exc  # bad input found on a worker: stop with its one line, keep the store
        if exc is None:
            result = future.result()
        else:  # lost in transport (pickling, a worker-side import...): stored as a failure
            text = "".join(traceback.format_exception(exc))
            result = failed_result(task, f"{type(exc).__name__}: {exc}\n{text}")
        return self.commit(result, generation, task)

    def commit(
        self, result: EvalResult, generation: int, task: EvalTask | None = None
    ) -> EvalResult:
        """Store ``result``: a rung below its candidate's last (``task.checkpoint_to``) with
        values goes to the rung rows; everything else is the key's final result."""
        result = self.pin_energy_source(result)
        _, G = objective_rows([result], self.names, self.constraints)
        viol = violation(G[0])
        if task is not None and task.checkpoint_to is not None and result.has_values:
            self.store.add_rung(result, generation, viol)
            self.rung_rows[(result.key, task.rung)] = (viol, result)
            return result
        stored = self.store.add_result(result, generation, viol)
        self.generation_of[result.key] = generation
        if result.fidelity is not None:  # final: its rung checkpoints are done with
            for rung in range(self.cfg.cost.rungs):
                self.rung_file(result.key, rung).unlink(missing_ok=True)
        self.unconsumed.append((generation, viol, stored))
        self._learn_class(stored)
        if self.suspects.pop(result.key, None) is not None:
            self.store.set_meta("suspects", self.suspects)
        if self.on_done is not None:
            self.on_done(stored)
        return result

    def pin_energy_source(self, result: EvalResult) -> EvalResult:
        """One energy source per run: the first result's (auto resolves per device), kept
        in the store's meta; a result measured another way is refused as a failure, so a
        front never mixes counters with the model."""
        how = result.measurements.get("energy") if result.has_values else None
        source = how.get("energy_source") if how else None
        if source is None:
            return result
        if self.energy_source is None:
            self.energy_source = self.store.set_meta_once("energy_source", source)
        if source == self.energy_source:
            return result
        return replace(
            result,
            status="failed",
            objectives={},
            error=(
                f"energy came from {source!r} but this run's energy values come from "
                f"{self.energy_source!r} (fixed by its first result): one front must not mix "
                "sources; give every rank the same counters or set measure.energy_source"
            ),
        )

    def fix_reference(self) -> None:
        """The run's hypervolume reference point, decided once by the driver: after the
        first committed generation with feasible results (``reference_point``)."""
        self.advance(None)
        if self.archive.count and self.store.meta("hv_reference", None) is None:
            self.store.set_meta_once(
                "hv_reference", reference_point(self.names, self.archive.worst[None, :])
            )

    def front(self) -> tuple[list[str], float]:
        """(front keys, hypervolume) from memory, as ``front_summary`` gives them."""
        from pymoo.indicators.hv import HV

        self.advance(None)
        keys, F = self.archive.front()
        if not keys:
            return [], 0.0
        ref = self.store.meta("hv_reference", None)
        if ref is None:  # not fixed yet: provisional, from every feasible result so far
            ref = reference_point(self.names, self.archive.worst[None, :])
        return keys, float(HV(ref_point=np.array(ref))(F))

    def report(self, generation: int, evaluated: int, reused: int, failed: int) -> None:
        if self.on_generation is not None:
            front, hv = self.front()
            self.on_generation(
                GenerationSummary(generation, evaluated, reused, failed, len(front), hv)
            )


def run_search(
    cfg: Config | None,
    run_dir: str | Path,
    *,
    resume: bool = False,
    evaluate_fn: Callable[[EvalTask], EvalResult] = evaluate,
    on_generation: Callable[[GenerationSummary], None] | None = None,
    allow_version_change: bool = False,
    on_launch: Callable[[EvalTask], None] | None = None,
    on_done: Callable[[EvalResult], None] | None = None,
) -> list[str] | None:
    """Run (or resume) a search; returns the final front's keys.

    Called by every process of an MPI job: rank 0 drives and returns the front, the
    evaluator ranks serve evaluations until the search ends and return None. Callbacks
    (driver only): ``on_generation`` after each committed generation, ``on_launch`` when a
    task is sent to a worker, ``on_done`` when its result is committed (as stored).
    """
    if resume:
        with RunStore.open(run_dir) as probe:
            stored = build(Config, probe.meta("config"))
            if not allow_version_change:
                check_versions(probe.meta("versions", {}), _versions(), run_dir)
        # the launcher of the resumed job decides serial or MPI, not the first one
        cfg = replace(stored, parallel=replace(stored.parallel, backend="auto"))
    assert cfg is not None
    # validate everything before a new store is created: bad input leaves nothing behind
    space = get_space(cfg.space)
    names = search_objectives(cfg)
    constraints = constraints_of(cfg)
    check_cost(cfg, names)
    check_latency_table(cfg)
    STRATEGIES.get(cfg.search.strategy)
    if cfg.evaluator.name == "train":
        from xnas.evaluate.evaluator import cached_dataset

        check_device(cfg.train.device)
        cached_dataset(cfg.data)  # a dataset that cannot load stops here, before any store
    if cfg.evaluator.name == "tabular":
        from xnas.evaluate.tabular import TabularEvaluator, check_table

        ev = cfg.evaluator
        check_table(ev.table, ev.key_column, cfg.space, names, ev.columns)
        if evaluate_fn is evaluate:
            evaluate_fn = TabularEvaluator(ev.table, ev.key_column, ev.columns)
    with open_executor(cfg.parallel) as executor:
        if executor is None:
            return None  # an evaluator rank: its work is done
        store = (
            RunStore.open(run_dir, write=True)
            if resume
            else RunStore.create(run_dir, to_dict(cfg), _versions())
        )
        try:
            search = _Search(
                cfg,
                space,
                names,
                constraints,
                store,
                executor,
                evaluate_fn,
                on_generation,
                on_launch,
                on_done,
            )
            strategy = STRATEGIES.get(cfg.search.strategy)(
                space, len(names), 1 + len(constraints), cfg.search.population, cfg.search.seed
            )
            search.lineage = strategy.lineage
            if hasattr(strategy, "set_static"):
                strategy.set_static(static_oracle(cfg, space, names))
            policy = _SteadyState if cfg.search.mode == "steady_state" else _Generational
            _drive(search, policy(search, strategy))
            return front_summary(store, names, constraints)[0]
        finally:
            store.close()


def _drive(s: _Search, policy: _Policy) -> None:
    """The one driver loop: the barrier policy says what to ask and when to tell; the loop
    keeps ``policy.window`` tasks in flight and commits each result the moment it arrives.

    A key that was running when an earlier job died (a suspect) runs alone, so a second
    death names it; present at two deaths, it is stored as failed without running.
    """
    pending: dict[Future, tuple[EvalTask, int]] = {}
    queue: deque[Work] = deque()  # asked, not yet sent
    alone: str | None = None  # a suspect of an earlier job's death, running by itself
    while True:
        if not pending and not queue:
            policy.settle()  # everything sent has arrived (generational: the barrier)
            queue.extend(policy.refill(set()))
            if not queue:
                break  # a termination criterion was met
        elif not queue:
            queue.extend(policy.refill({t.key for t, _ in pending.values()}))
        while alone is None and queue and len(pending) < policy.window:
            genome, asked_in, reuse, rung = queue[0]
            task = s.task(genome, policy.donor_view(asked_in), reuse, rung)  # built when sent
            deaths = s.suspects.get(task.key, 0)
            if deaths >= 2:  # present at two deaths, the second time alone: the culprit
                queue.popleft()
                gen = policy.generation_of(asked_in)
                queue.extend(policy.arrived(s.commit(s.worker_died(task), gen)))
                continue
            if deaths == 1:  # run it alone, so that a second death names it
                if pending:
                    break
                alone = task.key
            queue.popleft()
            pending[s.submit(task)] = (task, asked_in)
        if not pending:
            continue
        future, (task, asked_in) = next(arrivals(pending))
        del pending[future]
        alone = None if task.key == alone else alone
        queue.extend(policy.arrived(s.record(future, task, policy.generation_of(asked_in))))
    policy.finish()


Work = tuple[Genome, int, EvalResult | None, int | None]
"""A genome to send: (genome, generation asked in, equivalent evaluation to reuse, rung
of multi-fidelity training or None)."""


class _Policy:
    """A barrier policy: how ``_drive`` asks, tells and counts generations."""

    mode = ""

    def __init__(self, s: _Search, strategy: Strategy) -> None:
        self.s, self.strategy = s, strategy
        self.pop = s.cfg.search.population
        self.criteria = terminations(s.cfg.search)
        self.stopped_by: Termination | None = None
        self.failed = 0

    def stop(self, progress: Progress) -> bool:
        self.stopped_by = reached(self.criteria, progress)
        return self.stopped_by is not None

    def commit_generation(self, gen: int, population: list[str], evaluated: int, reused: int):
        cfg, s = self.s.cfg, self.s
        s.store.commit_generation(
            GenerationState(
                gen,
                tuple(population),
                restore_state(cfg.search.strategy, self.mode, cfg.search.seed),
                None,
                {"evaluated": evaluated, "failed": self.failed},
            )
        )
        s.fix_reference()
        s.prune_weights()
        s.report(gen, evaluated, reused, self.failed)
        self.failed = 0

    def finish(self) -> None:
        """After the last arrival."""


class _Generational(_Policy):
    """Ask ``population``; evaluate the new keys (largest first on many workers); once
    every result is in, tell them in the order asked, whatever order they arrived in, so
    the run is the same on any number of ranks; commit the generation.

    A resumed run replays the committed generations through the same loop: each must ask
    exactly its stored population (``check_replay``) and finds its results stored.
    """

    mode = "generational"

    def __init__(self, s: _Search, strategy: Strategy) -> None:
        super().__init__(s, strategy)
        self.window = s.executor.workers + s.executor.prefetch
        self.history = {g.generation: g.population for g in s.store.generations()}
        self.committed = max(self.history, default=-1)
        self.gen = 0
        self.batch: tuple[list[Genome], list[str], int] | None = None
        self.waiting: dict[str, list[Genome]] = {}  # class -> members asked, not yet sent
        self.ladder: Ladder | None = None  # cost.fidelity: this generation's rungs
        self.genomes: dict[str, Genome] = {}  # the ladder's candidates

    def donor_view(self, asked_in: int) -> int:
        return asked_in  # what generation ``asked_in`` sees is fixed when it starts

    def generation_of(self, asked_in: int) -> int:
        return asked_in

    def refill(self, running: set[str]) -> list[Work]:
        s = self.s
        while self.batch is None:
            if self.gen > self.committed and self.stop(
                Progress(self.gen, s.store.count(), s.started)
            ):
                return []  # at a generation boundary: the state stays resumable
            genomes = self.strategy.ask(self.pop)
            keys = [s.space.canonical(g) for g in genomes]
            if self.gen in self.history:
                check_replay(self.gen, keys, self.history[self.gen])
            new: dict[str, Genome] = {}
            for genome, key in zip(genomes, keys, strict=True):
                if key not in s.store and key not in new:
                    new[key] = genome
            # on resume, what the interrupted attempt stored in this generation was evaluated
            # in it, not reused: the counters equal an uninterrupted run's
            earlier = set()
            if self.gen > self.committed:
                earlier = s.store.keys_of_generation(self.gen) & set(keys)
            self.batch = (genomes, keys, len(new) + len(earlier))
            work: list[Work] = []
            for genome in new.values():  # one per equivalence class; the rest wait for it
                eq = s.class_of(genome)
                done = s.classes.get(eq) if eq is not None else None
                if done is not None:
                    work.append((genome, self.gen, done, None))
                elif eq is not None and eq in self.waiting:
                    self.waiting[eq].append(genome)
                else:
                    if eq is not None:
                        self.waiting[eq] = []
                    work.append((genome, self.gen, None, None))
            if s.executor.workers > 1:
                fresh = longest_first(s.space, [w[0] for w in work if w[2] is None])
                work = [w for w in work if w[2] is not None] + [
                    (g, self.gen, None, None) for g in fresh
                ]
            if s.cfg.cost.fidelity and self.gen > self.committed:
                work = self.start_ladder(genomes, keys, work)
            if work:
                return work
            self.settle()  # every key stored already: tell at once, ask the next
        return []

    # ----------------------------------------------------------- multi-fidelity rungs
    def start_ladder(self, genomes: list[Genome], keys: list[str], work: list[Work]) -> list[Work]:
        """Successive halving over this generation's trained candidates: the fresh ones
        and, on resume, those stored in this (uncommitted) generation, whose stored rungs
        and final results are fed in again so every decision is remade the same way."""
        s = self.s
        fresh = {s.space.canonical(w[0]): w[0] for w in work if w[2] is None}
        members: dict[str, Genome] = {}
        finals: dict[str, EvalResult] = {}  # stored in this generation already (resume)
        for genome, key in zip(genomes, keys, strict=True):
            if key in members:
                continue
            if key in fresh:
                members[key] = genome
            elif s.generation_of.get(key) == self.gen:
                stored = s.store.get(key)
                if stored.reused_from is None and stored.fidelity is not None:
                    members[key], finals[key] = genome, stored
        order = list(members)  # as asked: the same ties on resume and on any ranks
        self.genomes = dict(members)
        self.ladder = Ladder(order, s.cfg.cost.eta, s.cfg.cost.rungs)
        for (key, _), (viol, result) in sorted(s.rung_rows.items()):
            if key in self.genomes:
                self._feed(result, viol)
        for stored in finals.values():  # final already: never committed twice
            _, G = objective_rows([stored], s.names, s.constraints)
            self._feed(stored, violation(G[0]), final=True)
        reuses = [w for w in work if w[2] is not None]
        starting = {k for k, _ in self.ladder.start()}
        # sent in the work's order (largest first on many workers)
        first = [(g, self.gen, None, 0) for k, g in fresh.items() if k in starting]
        return reuses + first + self._step()

    def _feed(self, result: EvalResult, viol: float, final: bool = False) -> None:
        s, ladder = self.s, self.ladder
        assert ladder is not None and result.fidelity is not None
        full = result.fidelity["full_epochs"] or result.epochs
        ladder.schedule[result.key] = s.schedule(int(full))
        if result.has_values:
            row = objective_rows([result], s.names, s.constraints)[0][0]
        else:
            row = np.full(len(s.names), np.nan)
        ladder.add(result.key, result.rung or 0, row, viol)
        if final:
            ladder.finals.add(result.key)

    def _step(self) -> list[Work]:
        """Promotions that became runnable; candidates that stopped at a lower rung are
        committed as ``partial`` (the rung's values, never the full budget's)."""
        s = self.s
        assert self.ladder is not None
        runnable, final = self.ladder.step()
        work: list[Work] = [(self.genomes[k], self.gen, None, r) for k, r in runnable]
        for key, rung in final:
            _, result = s.rung_rows[(key, rung)]
            stored = s.commit(replace(result, status="partial"), self.gen)
            work.extend(self._release(stored))
        return work

    def arrived(self, result: EvalResult) -> list[Work]:
        """Members of the result's class that waited for it: reuses now (or, if it failed,
        evaluations of their own). With rungs, the result also moves its ladder on."""
        self.failed += result.status == "failed"
        if self.ladder is None or result.key not in self.genomes or result.reused_from:
            return self._release(result)
        s = self.s
        if result.key not in s.generation_of:  # a rung row, not final yet
            self._feed(result, s.rung_rows[(result.key, result.rung)][0])
            return self._step()
        _, G = objective_rows([result], s.names, s.constraints)
        self._feed(result, violation(G[0]))
        return self._release(result) + self._step()

    def _release(self, result: EvalResult) -> list[Work]:
        """A final result releases the members of its class that waited for it."""
        eq = self.s.class_of(result.genome)
        if result.reused_from is not None or eq is None:
            return []
        members = self.waiting.pop(eq, [])
        reuse = result if result.has_values else None
        return [(g, self.gen, reuse, None) for g in members]

    def settle(self) -> None:
        if self.batch is None:
            return
        s = self.s
        genomes, keys, evaluated = self.batch
        F, G = objective_rows([s.store.get(k) for k in keys], s.names, s.constraints)
        self.strategy.tell(genomes, F, G)
        if self.gen > self.committed:
            self.commit_generation(self.gen, keys, evaluated, len(keys) - evaluated)
        self.batch, self.gen = None, self.gen + 1
        self.ladder = None


class _SteadyState(_Policy):
    """Keep every evaluator busy: each free worker gets ``ask(1)``, each arrival is told
    at once (the strategy's survival runs on it) and frees its worker.

    Every ``population`` arrivals count as one generation for the store and reports. A
    resumed run tells the stored arrivals in their stored order, then reseeds the
    strategy; evaluations running at a kill are not stored and are replaced by new
    asks. Which population an offspring is bred from depends on the order evaluations
    finish, so on more than one evaluator rank a run is not bit-for-bit reproducible.
    """

    mode = "steady_state"

    def __init__(self, s: _Search, strategy: Strategy) -> None:
        super().__init__(s, strategy)
        self.window = s.executor.workers
        self.done = 0
        self.running: dict[str, str] = {}  # key sent and not yet arrived -> its class
        for _, _, result in list(s.unconsumed):  # replay the stored arrivals in order
            F, G = objective_rows([result], s.names, s.constraints)
            strategy.tell([result.genome], F, G)
            self.done += 1
        if self.done:
            strategy.reseed(self.done)
        last = s.store.last_generation()
        self.committed = -1 if last is None else last.generation

    def donor_view(self, asked_in: int) -> None:
        return None  # every result stored so far

    def generation_of(self, asked_in: int) -> int:
        return self.done // self.pop

    def refill(self, running: set[str]) -> list[Work]:
        """One new key per free worker; a genome whose class is being evaluated is asked
        again (like a running key), one whose class was evaluated is a reuse."""
        s, out = self.s, []
        busy_classes = set(self.running.values())
        while len(running) < self.window:
            busy = len(running)
            if self.stop(Progress((self.done + busy) // self.pop, self.done + busy, s.started)):
                break
            for _ in range(1000):  # a new key; tiny spaces run out
                (genome,) = self.strategy.ask(1)
                key = s.space.canonical(genome)
                eq = s.class_of(genome) or key
                if key not in s.store and key not in running and eq not in busy_classes:
                    break
            else:
                break
            running.add(key)
            busy_classes.add(eq)
            self.running[key] = eq
            out.append((genome, 0, s.classes.get(eq), None))
        return out

    def arrived(self, result: EvalResult) -> list[Work]:
        s = self.s
        self.running.pop(result.key, None)
        gen = self.done // self.pop
        F, G = objective_rows([result], s.names, s.constraints)
        self.strategy.tell([result.genome], F, G)
        self.done += 1
        self.failed += result.status == "failed"
        if self.done % self.pop == 0:
            self._commit(gen)
        return []

    def settle(self) -> None:
        pass

    def finish(self) -> None:
        if self.done % self.pop:  # the last, partial generation
            self._commit(self.done // self.pop)

    def _commit(self, gen: int) -> None:
        if gen > self.committed:
            members = [self.s.space.canonical(g) for g in self.strategy.members()]
            self.commit_generation(gen, members, self.done - gen * self.pop, 0)
            self.committed = gen


def restore_state(strategy: str, mode: str, seed: int) -> dict:
    """What a generation row records about the strategy: how it is restored. No live
    state or RNG state is stored: resume rebuilds the strategy from the seed and replays
    the stored history through ask/tell, checking every replayed generation."""
    return {"strategy": strategy, "mode": mode, "seed": seed, "restore": "replay"}


def longest_first(space: SearchSpace, genomes: list[Genome]) -> list[Genome]:
    """Largest networks first (parameter count as the cost estimate; ties keep their order).

    Longest-processing-time-first scheduling: a generation's slowest evaluations start
    early instead of running alone at the barrier. Only dispatch order changes.
    """
    import torch

    def params(genome: Genome) -> int:
        with torch.device("meta"):  # shapes only: no memory, no initialisation cost
            net = space.build(genome, (3, 32, 32), 10)
        return sum(p.numel() for p in net.parameters())

    cost = [params(g) for g in genomes]
    return [genomes[i] for i in sorted(range(len(genomes)), key=lambda i: -cost[i])]


def arrivals(futures: dict[Future, EvalTask]) -> Iterator[tuple[Future, EvalTask]]:
    """Futures in the order they finish; those found finished together in the order
    they were submitted (so a serial run stores its results deterministically)."""
    remaining = dict(futures)
    while remaining:
        finished, _ = wait(remaining, return_when=FIRST_COMPLETED)
        for future in [f for f in remaining if f in finished]:
            yield future, remaining.pop(future)


def static_oracle(
    cfg: Config, space: SearchSpace, names: list[str]
) -> Callable[[list[Genome]], np.ndarray]:
    """Objectives a genome has without training, exactly, in minimisation form (NaN for
    the others): a tabular run's static columns, or a trained run's parameter count
    (built on the meta device: shapes only). For strategies that model the rest."""
    from xnas.objectives import OBJECTIVES

    static = [n for n in names if OBJECTIVES.get(n).stage == "static"]
    if cfg.evaluator.name == "tabular":
        from xnas.evaluate.tabular import column_of, convert, load_table

        rows = load_table(cfg.evaluator.table, cfg.evaluator.key_column, cfg.space)
        cols = {n: column_of(n, cfg.evaluator.columns) for n in static}

        def value(genome: Genome, name: str) -> float:
            return convert(rows[space.canonical(genome)], cols[name])
    else:
        static = [n for n in static if n == "params"]
        shape = None

        def value(genome: Genome, name: str) -> float:
            import torch

            nonlocal shape
            if shape is None:
                from xnas.evaluate.evaluator import cached_dataset

                bundle = cached_dataset(cfg.data)
                shape = (bundle.input_shape, bundle.num_classes)
            with torch.device("meta"):
                net = space.build(genome, *shape)
            return float(sum(p.numel() for p in net.parameters()))

    cache: dict[Genome, dict[str, float]] = {}

    def oracle(genomes: list[Genome]) -> np.ndarray:
        out = np.full((len(genomes), len(names)), np.nan)
        for i, genome in enumerate(genomes):
            if genome not in cache:
                cache[genome] = {n: value(genome, n) for n in static}
            raw = cache[genome]
            if raw:
                row = to_minimization(raw, list(raw))
                for n, v in zip(raw, row, strict=True):
                    out[i, names.index(n)] = v
        return out

    return oracle


def check_versions(stored: dict[str, str], installed: dict[str, str], run_dir) -> None:
    """Resume replays the history through the strategy; another library version may ask
    for other genomes, so a change is refused (``--allow-version-change`` overrides)."""
    for pkg in sorted(set(stored) | set(installed)):
        if pkg != "xnas" and stored.get(pkg) != installed.get(pkg):
            raise StoreError(
                f"{run_dir} was run with {pkg} {stored.get(pkg, 'absent')}, this is "
                f"{installed.get(pkg, 'absent')}; expected the same versions to replay it "
                "(xnas resume --allow-version-change continues if the replay still matches)"
            )


def check_replay(generation: int, asked: list[str], stored: tuple[str, ...]) -> None:
    """A replayed generation must ask for exactly the stored population."""
    if list(asked) == list(stored):
        return
    at = next(
        (i for i, (a, b) in enumerate(zip(asked, stored, strict=False)) if a != b),
        min(len(asked), len(stored)),
    )
    got = asked[at] if at < len(asked) else "nothing"
    want = stored[at] if at < len(stored) else "nothing"
    raise StoreError(
        f"resume: replaying generation {generation} asks for {got} at position {at}, the "
        f"store holds {want}; the stored history does not match this strategy "
        "(edited store, or another library version or platform)"
    )


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for pkg in ("xnas", "torch", "torchvision", "pymoo", "deap", "captum", "numpy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    return out

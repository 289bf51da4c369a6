"""Every task a run sends, built by the driver when the task is sent.

What the config implies for a task (objectives, the static budgets, the stop rule's
settings, where files go) is derived once per run; the genome's canonical key is the
caller's (computed once, when the genome is asked). A task sees the results of the
generations before its own (``RunState.advance``): a resumed generational run hands
every task exactly what the uninterrupted run did.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from xnas.config import Config
from xnas.objectives import OBJECTIVES
from xnas.results import EvalResult, EvalTask, StopRule
from xnas.space import Genome, SearchSpace
from xnas.store.rundir import RunDir, weights_name
from xnas.summary import Constraint, constraints_of


def derive_seed(run_seed: int, key: str) -> int:
    """Per-evaluation seed from (run seed, architecture key): stable across ranks and runs."""
    digest = hashlib.sha256(f"{run_seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def static_budgets(constraints: list[Constraint]) -> tuple[tuple[str, str, float], ...]:
    """The budgets (constraints) on static objectives: checkable before any training."""
    return tuple(
        (c.objective, c.op, c.bound)
        for c in constraints
        if OBJECTIVES.get(c.objective).stage == "static"
    )


class TaskFactory:
    """Every task of one run (rung tasks: ``driver.fidelity``), each made by one
    ``dataclasses.replace`` of a template that holds what the config implies."""

    def __init__(
        self,
        cfg: Config,
        space: SearchSpace,
        rundir: RunDir | None = None,
        constraints: list[Constraint] | None = None,
        objectives: tuple[str, ...] | None = None,
    ) -> None:
        self.cfg, self.space = cfg, space
        # resolved once: every path handed to a worker is absolute
        self.rundir = RunDir(rundir.root.resolve()) if rundir is not None else None
        constraints = constraints_of(cfg) if constraints is None else constraints
        self.template = EvalTask(
            key="",
            genome=(),
            space=space.cfg,
            data=cfg.data,
            train=cfg.train,
            measure=cfg.measure,
            objectives=objectives or tuple(o.name for o in cfg.objectives),
            seed=0,
            epochs=cfg.train.epochs,
            inflight=str(self.rundir.inflight) if self.rundir is not None else None,
            budgets=static_budgets(constraints),
        )
        self.save_weights = self.rundir is not None and cfg.train.save_weights
        cost = cfg.cost
        self.inherit_epochs = cost.inherit_epochs
        self.stop_settings = (cost.min_epochs, cost.band_quantile) if cost.extrapolate else None

    def pin_energy(self, source: str | None) -> None:
        """The run's energy source was fixed (by its first result): every later task
        measures energy that way (``measure.energy_source: auto`` only)."""
        measure = self.template.measure
        if source and measure.energy_source == "auto":
            self.template = replace(self.template, measure=replace(measure, energy_source=source))

    def build(
        self,
        genome: Genome,
        key: str,
        *,
        epochs: int | None = None,
        reuse: EvalResult | None = None,
        donor: EvalResult | None = None,
        front: tuple[tuple[float, ...], ...] | None = None,
        names: tuple[str, ...] = (),
        prior: tuple[float, ...] = (),
    ) -> EvalTask:
        """The task for ``genome`` (its ``key`` computed by the caller): a reuse of
        ``reuse`` (nothing trained: static objectives measured, trained ones copied from
        that evaluated member of its functional class), or a training of ``epochs``
        (default ``train.epochs``) starting from ``donor``'s matching weights
        (``cost.inherit``), with the stop rule against ``front`` (``cost.extrapolate``;
        ``prior`` is an inheriting child's donor curve)."""
        fields: dict = {
            "key": key,
            "genome": tuple(genome),
            "seed": derive_seed(self.cfg.search.seed, key),
        }
        if reuse is not None:
            fields.update(reuse=reuse, epochs=0)
            return replace(self.template, **fields)
        if epochs is not None:
            fields["epochs"] = epochs
        if self.save_weights:
            fields["weights_to"] = str(self.rundir.weights_file(key))
        if donor is not None:
            fields.update(
                donor_key=donor.key,
                donor_weights=str(self.rundir.stored_weights(donor.weights_path)),
                epochs=self.inherit_epochs or fields.get("epochs", self.template.epochs),
            )
        if front is not None:
            assert self.stop_settings is not None
            min_epochs, quantile = self.stop_settings
            fields.update(stop=StopRule(names, front, min_epochs, quantile), prior_curve=prior)
        return replace(self.template, **fields)


def make_task(
    cfg: Config,
    space: SearchSpace,
    genome: Genome,
    *,
    epochs: int | None = None,
    weights_dir: str | None = None,
    objectives: tuple[str, ...] | None = None,
) -> EvalTask:
    """One task outside a search (``xnas evaluate``, analysis scripts): ``genome`` under
    ``cfg``, its weights saved into ``weights_dir`` when given."""
    key = space.canonical(genome)
    factory = TaskFactory(cfg, space, objectives=objectives)
    task = factory.build(genome, key, epochs=epochs)
    if weights_dir is not None and cfg.train.save_weights:
        task = replace(task, weights_to=str(Path(weights_dir) / weights_name(key)))
    return task

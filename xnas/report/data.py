"""What a run directory holds, read once: its config, every result, its front.

Every report (tables, figures, CSV and DataFrames, ``xnas status``) works from a
``RunData`` (or the ``RunView`` that adds the report methods on top of it), so they all
see the same results, the same front and the same reference point, and a run is read
from SQLite once per report, not once per table. Torch-free: reading a run never
imports the evaluation stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from xnas.config import Config, build
from xnas.results import EvalResult
from xnas.store import RunStore
from xnas.store.sqlite import GenerationState, writer
from xnas.summary import (
    Constraint,
    constraints_of,
    front_of,
    full_budget,
    ideal_point,
    normalized_hypervolume,
    objective_rows,
    search_objectives,
)


@dataclass(frozen=True)
class RunData:
    """What a run directory holds, as plain frozen data."""

    run_dir: Path
    cfg: Config
    names: tuple[str, ...]  # the searched objectives, in config order
    recorded: tuple[str, ...]  # every configured objective (optimize: false ones too)
    constraints: tuple[Constraint, ...]
    rows: tuple[tuple[int, float, EvalResult], ...]  # (generation, violation, result), stored order
    rungs: tuple[tuple[int, float, EvalResult], ...]  # multi-fidelity rungs below a final one
    generations: tuple[GenerationState, ...]
    front_keys: tuple[str, ...]  # sorted
    hypervolume: float
    # the run's hypervolume reference point (fixed by the driver after the first generation
    # with feasible results; provisional, from the results so far, before that)
    reference: tuple[float, ...] | None
    versions: tuple[tuple[str, str], ...] = ()  # package versions the run recorded
    stopped_by: str | None = None  # why the search last stopped (None: running, or killed)
    writer: str | None = None  # the process searching it now ("pid N on host H"), or None
    last_activity: float | None = None  # when its latest result was stored (epoch seconds)
    # a proxy-assisted search's screenings (static values of untrained candidates)
    screened: tuple[EvalResult, ...] = ()
    # the normalised hypervolume's box: the ideal corner (stored with the reference; older
    # runs: derived by the same rule) and the front's share of the box, in [0, 1]
    ideal: tuple[float, ...] | None = None
    hypervolume_normalized: float = 0.0
    # the front's latencies measured again at the end of the search (driver.quiet): key ->
    # {"value": ms, ... how}; the search-time values stay in the results
    latency_quiet: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ results
    @property
    def results(self) -> list[EvalResult]:
        return [r for *_, r in self.rows]

    @property
    def with_values(self) -> list[EvalResult]:
        """Results with every objective's value (ok, stopped early, halted at a rung)."""
        return [r for *_, r in self.rows if r.has_values]

    @property
    def front(self) -> list[EvalResult]:
        """The feasible non-dominated results, in key order."""
        by_key = {r.key: r for *_, r in self.rows}
        return [by_key[k] for k in self.front_keys]

    def get(self, key: str) -> EvalResult | None:
        return next((r for *_, r in self.rows if r.key == key), None)

    def count(self, status: str | None = None) -> int:
        return sum(status is None or r.status == status for *_, r in self.rows)

    def F(self, results: list[EvalResult] | None = None) -> np.ndarray:
        """Minimisation-form objective rows of ``results`` (default: the front)."""
        return objective_rows(self.front if results is None else results, list(self.names), [])[0]


def read_run(run_dir: str | Path, cls: type[RunData] = RunData) -> RunData:
    """Read a run directory once (read-only; a run in progress is not disturbed)."""
    run_dir = Path(run_dir)
    with RunStore.open(run_dir) as store:
        cfg = build(Config, store.meta("config"))
        rows = tuple(store.results())
        rungs = tuple(store.rungs())
        generations = tuple(store.generations())
        stored_ref = store.meta("hv_reference", None)
        stored_ideal = store.meta("hv_ideal", None)
        versions = store.meta("versions", {}) or {}
        stopped_by = store.meta("stopped_by", None)
        last_activity = store.last_activity()
        screened = tuple(store.screened().values())
        latency_quiet = dict(store.meta("latency_quiet", {}) or {})
    names = search_objectives(cfg)
    constraints = constraints_of(cfg)
    keys, hv, ref = front_of(rows, names, constraints, stored_ref)
    ideal, hv_norm = _normalized(rows, keys, names, constraints, ref, stored_ideal)
    return cls(
        run_dir=run_dir,
        cfg=cfg,
        names=tuple(names),
        recorded=tuple(o.name for o in cfg.objectives),
        constraints=tuple(constraints),
        rows=rows,
        rungs=rungs,
        generations=generations,
        front_keys=tuple(keys),
        hypervolume=hv,
        reference=None if ref is None else tuple(float(v) for v in ref),
        versions=tuple(sorted((str(k), str(v)) for k, v in versions.items())),
        stopped_by=stopped_by,
        writer=writer(run_dir),
        last_activity=last_activity,
        screened=screened,
        ideal=ideal,
        hypervolume_normalized=hv_norm,
        latency_quiet=latency_quiet,
    )


def _normalized(rows, keys, names, constraints, ref, stored_ideal):
    """(ideal point, normalised hypervolume) of the front ``keys``."""
    if ref is None or not keys:
        return (None if stored_ideal is None else tuple(stored_ideal)), 0.0
    front = set(keys)
    results = [r for _, _, r in rows if r.key in front]
    F = objective_rows(results, names, constraints)[0]
    if stored_ideal is None:  # an older run: the rule, on its first feasible generation
        first = min(g for g, v, r in rows if full_budget(r) and v == 0)
        gen0 = [r for g, v, r in rows if g == first and full_budget(r) and v == 0]
        stored_ideal = ideal_point(names, objective_rows(gen0, names, constraints)[0])
    ideal = tuple(float(x) for x in stored_ideal)
    return ideal, normalized_hypervolume(F, ref, ideal)


def as_data(run: RunData | str | Path) -> RunData:
    """A run given as data or as its directory."""
    return run if isinstance(run, RunData) else read_run(run)

"""One read-only view of a run directory: its config, every result, its front, read once.

Every report (tables, figures, CSV and DataFrames, ``xnas status``) works from a
``RunView``, so they all see the same results, the same front and the same reference
point, and a run is read from SQLite once per report, not once per table. Torch-free:
opening a view never imports the evaluation stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from xnas.config import Config, build
from xnas.results import EvalResult
from xnas.store import RunStore
from xnas.store.sqlite import GenerationState
from xnas.summary import (
    Constraint,
    constraints_of,
    front_of,
    objective_rows,
    search_objectives,
)

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class RunView:
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
    reference: tuple[float, ...] | None  # the run's fixed hypervolume reference point
    versions: tuple[tuple[str, str], ...] = ()  # package versions the run recorded

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

    # ------------------------------------------------------------- the reports
    def frame(self) -> pd.DataFrame:
        """Every evaluation as a pandas DataFrame (one row per key; see ``report.frames``)."""
        from xnas.report.frames import results_frame

        return results_frame(self)

    def front_frame(self) -> pd.DataFrame:
        """The Pareto front as a pandas DataFrame, objective values and provenance."""
        from xnas.report.frames import front_frame

        return front_frame(self)

    def status(self) -> dict:
        from xnas.report.status import search_status

        return search_status(self)

    def table(self, which: str = "pareto", fmt: str = "md") -> str:
        """``pareto``, ``cost`` or ``front`` (the terminal's short table) as md/csv/latex."""
        from xnas.report import tables

        makers = {"pareto": tables.pareto_table, "cost": tables.cost_table}
        if which == "front":
            return tables.front_text(self)
        if which not in makers:
            from xnas.errors import ConfigError

            raise ConfigError(f"table {which!r}: expected pareto, cost or front")
        return tables.render(*makers[which](self), fmt)

    def plot(self, out_dir: str | Path | None = None, formats=("png", "pdf")) -> list[Path]:
        """Every figure of the run (see ``report.figures.plot_all``)."""
        from xnas.report.figures import plot_all

        return plot_all(self, out_dir, formats)

    def plot_front(self, path: str | Path | None = None) -> Path:
        from xnas.report.figures import plot_front

        return plot_front(self, path)


def open_run(run_dir: str | Path) -> RunView:
    """Read a run directory once (read-only; a run in progress is not disturbed)."""
    run_dir = Path(run_dir)
    with RunStore.open(run_dir) as store:
        cfg = build(Config, store.meta("config"))
        rows = tuple(store.results())
        rungs = tuple(store.rungs())
        generations = tuple(store.generations())
        stored_ref = store.meta("hv_reference", None)
        versions = store.meta("versions", {}) or {}
    names = search_objectives(cfg)
    constraints = constraints_of(cfg)
    keys, hv, ref = front_of(rows, names, constraints, stored_ref)
    return RunView(
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
    )

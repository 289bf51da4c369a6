"""``RunView``: a run's data (``report.data``) with every report one method away, the
object ``xnas.open_run`` and ``xnas.search`` return."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from xnas.report.data import RunData, read_run

if TYPE_CHECKING:
    import pandas as pd


class RunView(RunData):
    """A run directory read once, with its reports."""

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
    return read_run(run_dir, RunView)  # type: ignore[return-value]

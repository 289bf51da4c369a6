"""``evaluator: tabular``: objective values looked up in a CSV instead of trained.

Strategy studies on published benchmark tables (NAS-Bench-201 exports and the like) run
in seconds. The table has a key column holding each architecture's canonical string
(NB201's own arch string for ``nb201``; keys are normalised through ``space.parse``) and
one numeric column per objective. The values are stored exactly as read. A key the
table lacks is bad input, not a failed evaluation: the search stops with one line
naming it, keeping everything stored so far.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from pathlib import Path

from xnas.config import SpaceConfig
from xnas.errors import ConfigError, DataError, GenomeError
from xnas.evaluate.task import EvalResult, EvalTask
from xnas.space import get_space


@functools.lru_cache(maxsize=4)
def load_table(path: str, key_column: str, space: SpaceConfig) -> dict[str, dict[str, float]]:
    """{canonical key: {column: value}} for every row; numeric columns only."""
    file = Path(path)
    if not file.is_file():
        raise DataError(f"evaluator.table {path!r} not found; expected a CSV file")
    sp = get_space(space)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"evaluator.table {path!r} is not UTF-8 text (byte {exc.start}); expected a CSV file"
        ) from None
    with io.StringIO(text, newline="") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        if key_column not in columns:
            raise DataError(
                f"evaluator.table {path!r} has no column {key_column!r} "
                f"(columns: {', '.join(columns)}); expected the canonical arch strings there"
            )
        table: dict[str, dict[str, float]] = {}
        for line, row in enumerate(reader, start=2):
            try:
                key = sp.canonical(sp.parse(row[key_column]))
            except GenomeError as exc:
                raise DataError(f"evaluator.table {path!r} line {line}: {exc}") from None
            values = {}
            for col, text in row.items():
                if col == key_column or col is None:
                    continue
                try:
                    values[col] = float(text)
                except (TypeError, ValueError):
                    continue  # a non-numeric column (a note, a date): not an objective
            table[key] = values
    return table


def check_table(path: str | None, key_column: str, space: SpaceConfig, objectives) -> None:
    """Fail before the search starts when the table cannot serve these objectives."""
    if path is None:
        raise ConfigError("evaluator.name is 'tabular' but evaluator.table is not set")
    table = load_table(path, key_column, space)
    if not table:
        raise DataError(f"evaluator.table {path!r} has no rows")
    for name in objectives:
        missing = sum(name not in values for values in table.values())
        if missing:
            raise DataError(
                f"evaluator.table {path!r}: objective {name!r} is missing or not a number in "
                f"{missing} of {len(table)} rows; expected a numeric column {name!r}"
            )


@dataclass(frozen=True)
class TabularEvaluator:
    table: str
    key_column: str = "arch"

    def __call__(self, task: EvalTask) -> EvalResult:
        rows = load_table(self.table, self.key_column, task.space)
        if task.key not in rows:
            raise DataError(
                f"evaluator.table {self.table!r} has no row for {task.key} ({len(rows)} rows); "
                "expected a row for every architecture the search can propose"
            )
        row = rows[task.key]
        how = {"method": "tabular", "table": self.table}
        return EvalResult(
            key=task.key,
            genome=task.genome,
            status="ok",
            objectives={n: row[n] for n in task.objectives},
            measurements={n: dict(how) for n in task.objectives},
        )

"""``evaluator: tabular``: objective values looked up in a CSV instead of trained.

Strategy studies on published benchmark tables (NAS-Bench-201 exports and the like) run
in seconds. The table has a key column holding each architecture's canonical string
(NB201's own arch string for ``nb201``; keys are normalised through ``space.parse``) and
one numeric column per objective, named like it or mapped with a conversion
(``evaluator.columns``: ``offset + scale * cell``, e.g. percent to a fraction), so the
stored values keep each objective's unit and its natural hypervolume reference stays
right. A table whose values pass an objective's natural bound (an error above 1: percent
given where a fraction is expected) is refused before the search starts. A key the
table lacks is bad input, not a failed evaluation: the search stops with one line
naming it, keeping everything stored so far.

A reuse task (an equivalent genome was evaluated) takes its static objectives from its
own row and its trained ones from the evaluated genome's result.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from xnas.config import Config, SpaceConfig, TableColumn
from xnas.errors import ConfigError, DataError, GenomeError
from xnas.evaluate.base import StaticOracle, static_oracle
from xnas.objectives import OBJECTIVES, copied_on_reuse
from xnas.results import EvalResult, EvalTask
from xnas.space import Genome, SearchSpace, get_space


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


def column_of(name: str, columns: tuple[TableColumn, ...]) -> TableColumn:
    """The mapping for objective ``name`` (its own column, unconverted, if not mapped)."""
    return next((c for c in columns if c.objective == name), TableColumn(name, name))


def convert(row: dict[str, float], col: TableColumn) -> float:
    return col.offset + col.scale * row[col.column]


def check_table(
    path: str | None,
    key_column: str,
    space: SpaceConfig,
    objectives,
    columns: tuple[TableColumn, ...] = (),
) -> None:
    """Fail before the search starts when the table cannot serve these objectives."""
    if path is None:
        raise ConfigError("evaluator.name is 'tabular' but evaluator.table is not set")
    unknown = [c.objective for c in columns if c.objective not in objectives]
    if unknown:
        raise ConfigError(
            f"evaluator.columns maps {unknown[0]!r}, which is not a searched objective "
            f"({', '.join(objectives)})"
        )
    table = load_table(path, key_column, space)
    if not table:
        raise DataError(f"evaluator.table {path!r} has no rows")
    for name in objectives:
        col = column_of(name, columns)
        missing = sum(col.column not in values for values in table.values())
        if missing:
            raise DataError(
                f"evaluator.table {path!r}: column {col.column!r} (objective {name!r}) is "
                f"missing or not a number in {missing} of {len(table)} rows; expected a "
                f"numeric column {col.column!r}"
            )
        _check_unit(path, name, col, table)


def _check_unit(path: str, name: str, col: TableColumn, table) -> None:
    """The natural reference bound is the worst value an objective can take (an error of 1,
    an introspectability of 0): a converted value beyond it means the wrong unit."""
    obj = OBJECTIVES.get(name)
    if obj.reference is None:
        return
    sign = 1.0 if obj.sense == "min" else -1.0
    worst_key = max(table, key=lambda k: sign * convert(table[k], col))
    worst = convert(table[worst_key], col)
    if sign * worst > sign * obj.reference:
        side = "above" if sign > 0 else "below"
        raise DataError(
            f"evaluator.table {path!r}: objective {name!r} from column {col.column!r} reaches "
            f"{worst:g} ({worst_key}), {side} its natural bound {obj.reference:g}; expected "
            f"values in {name}'s own unit: map it with evaluator.columns, e.g. "
            f"{{objective: {name}, column: {col.column}, scale: 0.01}} for percent"
        )


@dataclass(frozen=True)
class TabularEvaluator:
    """Objective values read from ``table`` (no training: no epochs, no weights)."""

    table: str
    key_column: str = "arch"
    columns: tuple[TableColumn, ...] = ()
    name: ClassVar[str] = "tabular"
    trains: ClassVar[bool] = False

    @classmethod
    def from_config(cls, cfg: Config) -> TabularEvaluator:
        ev = cfg.evaluator
        if ev.table is None:
            raise ConfigError("evaluator.name is 'tabular' but evaluator.table is not set")
        return cls(ev.table, ev.key_column, ev.columns)

    def check(self, cfg: Config, names: list[str]) -> None:
        check_table(self.table, self.key_column, cfg.space, names, self.columns)

    def static(self, cfg: Config, space: SearchSpace, names: list[str]) -> StaticOracle:
        """The table's columns of the static objectives."""
        static = [n for n in names if OBJECTIVES.get(n).stage == "static"]
        rows = load_table(self.table, self.key_column, cfg.space)
        cols = {n: column_of(n, self.columns) for n in static}

        def value(genome: Genome, name: str) -> float:
            return convert(rows[space.canonical(genome)], cols[name])

        return static_oracle(names, static, value)

    def order(self, space: SearchSpace, genomes: list[Genome]) -> list[Genome]:
        return list(genomes)  # every lookup costs the same

    def __call__(self, task: EvalTask) -> EvalResult:
        rows = load_table(self.table, self.key_column, task.space)
        if task.key not in rows:
            raise DataError(
                f"evaluator.table {self.table!r} has no row for {task.key} ({len(rows)} rows); "
                "expected a row for every architecture the search can propose"
            )
        row = rows[task.key]
        values, how = {}, {}
        for name in task.objectives:
            col = column_of(name, self.columns)
            values[name] = convert(row, col)
            how[name] = {"method": "tabular", "table": self.table, "column": col.column}
            if OBJECTIVES.get(name).provenance == "proxy":  # a precomputed proxy score
                how[name]["provenance"] = "proxy"
            if (col.scale, col.offset) != (1.0, 0.0):
                how[name]["converted"] = f"{col.offset:g} + {col.scale:g} * {col.column}"
        if task.screen:
            return EvalResult.screened(task, values, how)
        if task.reuse is not None:
            copied = copied_on_reuse(task.objectives)
            static = {n: v for n, v in values.items() if n not in copied}
            return EvalResult.reused(task, static, {n: how[n] for n in static}, copied)
        return EvalResult(
            key=task.key,
            genome=task.genome,
            status="ok",
            objectives=values,
            measurements=how,
        )

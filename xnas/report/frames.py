"""A run as tables of data: pandas DataFrames for notebooks, CSV for ``xnas export``.

One row per stored evaluation, one column per objective value, plus ``<objective>_provenance``
(measured | counted | modelled | predicted | extrapolated | tabular) so a modelled or
extrapolated value is never mistaken for a measured one after it leaves xnas.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO, TYPE_CHECKING

from xnas.report.data import RunData, as_data
from xnas.results import failure_kind

if TYPE_CHECKING:
    import pandas as pd

# identity first, then what a reader filters on, then the objectives in the configured order
HEAD = ["key", "genome", "generation", "status", "on_front", "violation"]
TAIL = [
    "epochs",
    "final_val_acc",
    "rank",
    "host",
    "device",
    "train_s",
    "total_s",
    "weights_path",
    "donor_key",
    "inherited_fraction",
    "reused_from",
    "rung",
    "failure_kind",
    "failure",
]


def objective_names(view: RunData) -> list[str]:
    """The configured objectives in config order, then any other stored value, sorted."""
    stored = {n for r in view.results for n in r.objectives}
    first = [n for n in view.recorded if n in stored]
    return first + sorted(stored - set(first))


def columns(view: RunData) -> list[str]:
    names = objective_names(view)
    return HEAD + names + [f"{n}_provenance" for n in names] + TAIL


def records(view: RunData) -> list[list]:
    """The rows of ``columns(view)``, in stored order; ``genome`` is the space's integer
    vector joined by spaces (the key is its string form)."""
    names = objective_names(view)
    front = set(view.front_keys)
    out = []
    for gen, violation, r in view.rows:
        out.append(
            [
                r.key,
                " ".join(map(str, r.genome)),
                gen,
                r.status,
                r.key in front,
                violation,
                *[r.objectives.get(n, "") for n in names],
                *[r.provenance(n) if n in r.objectives else "" for n in names],
                r.epochs,
                r.curve[-1] if r.curve else "",
                r.rank,
                r.host,
                r.device,
                r.timings.get("train", ""),
                r.timings.get("total", ""),
                r.weights_path or "",
                r.donor_key or "",
                r.inherited_fraction,
                r.reused_from or "",
                "" if r.rung is None else r.rung,
                failure_kind(r) or "",
                r.error.splitlines()[0] if r.error else "",
            ]
        )
    return out


def write_csv(run: RunData | str | Path, out: IO[str]) -> int:
    """Every evaluation as CSV (pandas.read_csv-friendly); returns the number of rows."""
    view = as_data(run)
    rows = records(view)
    w = csv.writer(out)
    w.writerow(columns(view))
    w.writerows(rows)
    return len(rows)


def results_frame(run: RunData | str | Path) -> pd.DataFrame:
    """Every evaluation as a DataFrame indexed by key (empty cells as NaN)."""
    import pandas as pd

    view = as_data(run)
    frame = pd.DataFrame(records(view), columns=columns(view)).set_index("key")
    return frame.replace("", float("nan")).infer_objects()


def front_frame(run: RunData | str | Path) -> pd.DataFrame:
    """The front: each configured objective's value and provenance, best first by the
    first searched objective."""
    import pandas as pd

    view = as_data(run)
    names = list(view.recorded)
    rows = [
        {
            "key": r.key,
            **{n: r.objectives.get(n) for n in names},
            **{f"{n}_provenance": r.provenance(n) for n in names if n in r.objectives},
            "status": r.status,
            "epochs": r.epochs,
        }
        for r in view.front
    ]
    frame = pd.DataFrame(
        rows, columns=["key", *names, *(f"{n}_provenance" for n in names), "status", "epochs"]
    )
    return frame.sort_values([names[0], "key"]).set_index("key") if rows else frame

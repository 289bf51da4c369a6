"""Naming an architecture of a run without its whole key: ``knee`` (the front member
closest to the ideal point once each objective is scaled to [0, 1] over the front),
``best:OBJECTIVE`` (the front member best in that objective), or a key (or a unique prefix
of one). ``xnas export --arch`` and ``xnas evaluate --run RUN --arch`` take these; the
figures draw the cells of the same members."""

from __future__ import annotations

import numpy as np

from xnas.errors import ConfigError
from xnas.report.data import RunData
from xnas.results import EvalResult
from xnas.summary import objective_rows


def scaled(F: np.ndarray) -> np.ndarray:
    """Each column to [0, 1] within ``F`` (0 = best in minimisation form)."""
    lo, hi = F.min(axis=0), F.max(axis=0)
    return (F - lo) / np.where(hi > lo, hi - lo, 1.0)


def chosen_members(front: list[EvalResult], names) -> dict[str, EvalResult]:
    """The knee and the best member for each objective (``best_<name>``)."""
    if not front:
        return {}
    F = objective_rows(front, names, [])[0]
    chosen = {"knee": front[int(np.argmin(np.linalg.norm(scaled(F), axis=1)))]}
    for i, n in enumerate(names):
        chosen[f"best_{n}"] = front[int(np.argmin(F[:, i]))]
    return chosen


def select(view: RunData, spec: str) -> EvalResult:
    """The result ``spec`` names in ``view`` (see the module docstring); one line if none."""
    names = list(view.names)
    if spec == "knee" or spec.startswith("best:"):
        if not view.front:
            raise ConfigError(f"--arch {spec}: {view.run_dir} has no front yet (nothing feasible)")
        chosen = chosen_members(view.front, names)
        if spec == "knee":
            return chosen["knee"]
        objective = spec.partition(":")[2]
        if objective not in names:
            raise ConfigError(
                f"--arch {spec}: {objective!r} is not a searched objective of this run; "
                f"expected best:{' or best:'.join(names)}"
            )
        return chosen[f"best_{objective}"]
    exact = view.get(spec)
    if exact is not None:
        return exact
    matches = [r for r in view.results if r.key.startswith(spec)]
    if len(matches) == 1:
        return matches[0]
    what = "several keys" if matches else "no key"
    raise ConfigError(
        f"--arch {spec!r}: {what} of {view.run_dir} start with it; expected knee, "
        "best:OBJECTIVE, or a key from `xnas table`"
    )

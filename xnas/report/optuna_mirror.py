"""A run mirrored into an Optuna storage, so that optuna-dashboard (a maintained tool
with Pareto-front, hypervolume-history, parallel-coordinate and trial-table views) shows
it, live: ``xnas dashboard RUN`` keeps the mirror up to date while it serves.

One Optuna study per run (named after the run directory): a trial per stored result, in
stored order, its number the result's place. Params are the genome's genes (integers in
the space's bounds); values the searched objectives, raw, with each one's direction;
constraints the run's budgets (pymoo's convention, <= 0 feasible: Optuna's). User
attributes carry what Optuna has no field for: key, status, generation, rank, host,
device, rung and each value's provenance. States: ``ok`` and ``stopped`` results are
COMPLETE; ``partial`` (halted at a lower rung) and ``rejected`` (a budget broken before
training) are PRUNED; ``failed`` are FAIL with their reason.

The mirror is written by a reader: the search's own process never pays for it.
"""

from __future__ import annotations

import math
from pathlib import Path

from xnas.errors import ConfigError
from xnas.report.data import RunData, read_run
from xnas.results import EvalResult

STATES = {"ok": "COMPLETE", "stopped": "COMPLETE", "partial": "PRUNED", "rejected": "PRUNED"}


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ConfigError(
            "the dashboard needs optuna and optuna-dashboard: pip install 'xnas[dashboard]'"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def storage_url(run_dir: str | Path, storage: str | None = None) -> str:
    """The Optuna storage a run is mirrored into (default: ``RUN/optuna.sqlite3``)."""
    from xnas.store.rundir import RunDir

    return storage or f"sqlite:///{RunDir(run_dir).optuna.resolve()}"


def sync(run: RunData | str | Path, storage: str | None = None) -> tuple[str, int]:
    """Add every result of the run that the mirror lacks; returns (study name, trials
    added). Results keep their stored order, so trial numbers are stable."""
    optuna = _optuna()
    view = run if isinstance(run, RunData) else read_run(run)
    from xnas.objectives import OBJECTIVES
    from xnas.space import get_space

    names = list(view.names)
    directions = ["maximize" if OBJECTIVES.get(n).sense == "max" else "minimize" for n in names]
    study = optuna.create_study(
        storage=storage_url(view.run_dir, storage),
        study_name=view.run_dir.name,
        directions=directions,
        load_if_exists=True,
    )
    if not study.user_attrs.get("xnas_objectives"):
        import warnings

        with warnings.catch_warnings():  # experimental in optuna since 3.2, stable in use
            warnings.simplefilter("ignore")
            study.set_metric_names([_label(n) for n in names])
        study.set_user_attr("xnas_objectives", names)
        study.set_user_attr("xnas_run", str(view.run_dir))
    space = get_space(view.cfg.space)
    distributions = {
        f"g{i:02d} {space.describe_position(i)}": optuna.distributions.IntDistribution(
            int(lo), int(hi)
        )
        for i, (lo, hi) in enumerate(zip(space.lower, space.upper, strict=True))
    }
    have = len(study.get_trials(deepcopy=False))
    trials = [
        _trial(optuna, r, gen, viol, view, distributions) for gen, viol, r in list(view.rows)[have:]
    ]
    if trials:
        study.add_trials(trials)
    return study.study_name, len(trials)


def _label(name: str) -> str:
    from xnas.objectives import OBJECTIVES

    obj = OBJECTIVES.get(name)
    return f"{obj.label} ({obj.unit})" if obj.unit else obj.label


def _trial(optuna, r: EvalResult, gen: int, violation: float, view: RunData, distributions):
    from optuna.trial import TrialState

    names = list(view.names)
    state = TrialState[STATES.get(r.status, "FAIL")]
    values = None
    if state == TrialState.COMPLETE:
        values = [float(r.objectives[n]) for n in names]
        if not all(math.isfinite(v) for v in values):
            state, values = TrialState.FAIL, None
    constraints = {}
    if state == TrialState.COMPLETE and view.constraints:
        constraints = {"constraints": [c.g(r.objectives[c.objective]) for c in view.constraints]}
    attrs = {
        "key": r.key,
        "status": r.status,
        "generation": gen,
        "violation": violation,
        "rank": r.rank,
        "host": r.host,
        "device": r.device,
        "epochs": r.epochs,
    }
    if r.rung is not None:
        attrs["rung"] = r.rung
    if r.reused_from:
        attrs["reused_from"] = r.reused_from
    if r.error:
        attrs["failure"] = r.error.splitlines()[0][:200]
    for n in r.objectives:
        attrs[f"{n}_provenance"] = r.provenance(n)
        if state != TrialState.COMPLETE and isinstance(r.objectives[n], int | float):
            attrs[n] = r.objectives[n]  # a partial's rung values, a rejected one's statics
    return optuna.trial.create_trial(
        state=state,
        values=values,
        params={name: int(v) for name, v in zip(distributions, r.genome, strict=True)},
        distributions=distributions,
        user_attrs=attrs,
        system_attrs=constraints,
    )

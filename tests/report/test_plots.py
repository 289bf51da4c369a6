"""`xnas plot`: every figure from a real (tiny) run with early stopping."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import cfg
from xnas.cli import main
from xnas.report.figures import hypervolume_trace
from xnas.report.select import chosen_members
from xnas.store import RunStore


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from xnas.driver import run_search

    run_dir = tmp_path_factory.mktemp("plots") / "r"
    c = cfg("objectives=[error, params, energy]", "train.epochs=5", "cost.extrapolate=true")
    run_search(c, run_dir)
    return run_dir


@pytest.mark.slow
def test_plot_writes_every_figure_as_png_and_pdf(run, capsys):
    assert main(["plot", str(run)]) == 0
    out = run / "plots"
    for name in ("pareto", "parallel", "hypervolume", "curves"):
        for fmt in ("png", "pdf"):
            assert (out / f"{name}.{fmt}").stat().st_size > 5_000, name
    cells = {p.name for p in out.glob("cells_*.png")}
    assert cells == {
        "cells_knee.png",
        "cells_best_error.png",
        "cells_best_params.png",
        "cells_best_energy.png",
    }
    assert "plots" in capsys.readouterr().out


@pytest.mark.slow
def test_hypervolume_trace_never_drops_and_ends_at_the_runs_value(run):
    from xnas.config import Config, build
    from xnas.summary import constraints_of, front_summary

    with RunStore.open(run) as store:
        c = build(Config, store.meta("config"))
        names = [o.name for o in c.objectives]
        rows = list(store.results())
        _, hv = front_summary(store, names, constraints_of(c))
        ref = np.array(store.meta("hv_reference"))
    counts, values = hypervolume_trace(rows, names, [], ref)
    assert counts[-1] == len(rows) and values == sorted(values)
    assert values[-1] == pytest.approx(hv)


@pytest.mark.slow
def test_chosen_members_are_the_best_per_objective_and_a_front_member_knee(run):
    with RunStore.open(run) as store:
        results = [r for *_, r in store.results() if r.status != "failed"]
    some = results[:6]
    chosen = chosen_members(some, ["error", "params"])
    for name in ("error", "params"):
        assert chosen[f"best_{name}"].objectives[name] == min(r.objectives[name] for r in some)
    assert chosen["knee"] in some

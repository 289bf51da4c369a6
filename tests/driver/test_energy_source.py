"""One energy source per run: fixed by the first result, stored in the run's meta, and a
result measured another way (a rank with a counter the others lack) is refused."""

from __future__ import annotations

import dataclasses

import pytest

from tests.conftest import cfg
from xnas.driver import run_search
from xnas.errors import ConfigError
from xnas.evaluate import evaluate
from xnas.store import RunStore


class OneRankWithACounter:
    """Injected fault: the third evaluation reports a RAPL reading, the rest the model."""

    def __init__(self) -> None:
        self.tasks = []

    def __call__(self, task):
        self.tasks.append(task)
        result = evaluate(task)
        if len(self.tasks) == 3 and result.status == "ok":
            how = dict(result.measurements)
            how["energy"] = {**how["energy"], "energy_source": "rapl"}
            result = dataclasses.replace(result, measurements=how)
        return result


@pytest.mark.slow
def test_the_first_source_is_fixed_and_a_mixture_refused(tmp_path):
    fn = OneRankWithACounter()
    c = cfg("objectives=[error, energy]", "measure.energy_repeats=2", "search.generations=1")
    run_search(c, tmp_path / "run", evaluate_fn=fn)
    assert fn.tasks[0].measure.energy_source == "auto"
    # every task sent after the first result is pinned (the serial window holds at most 2)
    pinned = [t.measure.energy_source == "model" for t in fn.tasks]
    assert pinned[2:] == [True] * (len(pinned) - 2) and len(pinned) >= 4
    with RunStore.open(tmp_path / "run") as store:
        assert store.meta("energy_source") == "model"
        results = [r for *_, r in store.results()]
    bad = [r for r in results if r.status == "failed"]
    assert len(bad) == 1 and "'rapl'" in bad[0].error and "'model'" in bad[0].error
    sources = {r.measurements["energy"]["energy_source"] for r in results if r.status == "ok"}
    assert sources == {"model"}


@pytest.mark.parametrize(
    "objectives", ["[error, introspection]", "[error, params, mcd]", "[params, introspection]"]
)
def test_extrapolate_is_refused_when_the_rule_could_never_fire(objectives, tmp_path):
    c = cfg(f"objectives={objectives}", "cost.extrapolate=true")
    with pytest.raises(ConfigError, match="cost.extrapolate"):
        run_search(c, tmp_path / "run")
    assert not (tmp_path / "run").exists()  # refused before anything was stored


@pytest.mark.slow
def test_extrapolate_with_a_recorded_trained_objective_is_fine(tmp_path):
    c = cfg(
        "objectives=[error, params, {name: introspection, optimize: false}]",
        "cost.extrapolate=true",
        "search.generations=1",
    )
    assert run_search(c, tmp_path / "run").front

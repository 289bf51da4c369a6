"""Proxy-assisted search (driver.screen): a warm start chosen by NSGA-II survival on the
screened (proxy, cost) values, proposal filtering, screenings stored and never redone,
a resumed run asking exactly what the uninterrupted one asked; bad settings refused.

Tabular runs on the shared NB201 table with a proxy column added (a fixed pseudo-random
score per functional class, so the mechanics are tested, not a proxy's quality)."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SHARED_DATA, cfg
from xnas.config import load_config
from xnas.errors import ConfigError

TABLE = SHARED_DATA / "nb201" / "nb201_200ep.csv"


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    from xnas.config import SpaceConfig
    from xnas.space import get_space

    space = get_space(SpaceConfig(name="nb201"))
    out = tmp_path_factory.mktemp("proxy") / "nb201_with_proxy.csv"
    with TABLE.open() as src, out.open("w", newline="") as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, [*reader.fieldnames, "proxy_ensemble"])
        writer.writeheader()
        for row in reader:
            cls = space.equivalence(space.parse(row["arch"]))
            digest = hashlib.sha256(cls.encode()).digest()
            row["proxy_ensemble"] = int.from_bytes(digest[:4], "little") / 2**32
            writer.writerow(row)
    return out


def settings(table: Path, *extra: str) -> list[str]:
    return [
        "space.name=nb201",
        "search.population=8",
        "search.generations=4",
        "search.seed=3",
        "objectives=[error, params]",
        "evaluator.name=tabular",
        f"evaluator.table={table}",
        "evaluator.columns=[{objective: error, column: error_cifar100, scale: 0.01}]",
        "search.proxy=proxy_ensemble",
        *extra,
    ]


class Spy:
    """The tabular evaluator, counting screenings and trainings."""

    def __init__(self, evaluator) -> None:
        self.evaluator, self.screened, self.trained = evaluator, [], []

    def __call__(self, task):
        (self.screened if task.screen else self.trained).append(task.key)
        return self.evaluator(task)


def _run(table, run_dir, *extra, resume=False, budget=()):
    from xnas.driver import run_search
    from xnas.evaluate.tabular import TabularEvaluator

    c = load_config(None, settings(table, *extra))
    spy = Spy(TabularEvaluator.from_config(c))
    run_search(None if resume else c, run_dir, resume=resume, evaluate_fn=spy, budget=budget)
    return spy


def classes(keys) -> set[str]:
    from xnas.config import SpaceConfig
    from xnas.space import get_space

    space = get_space(SpaceConfig(name="nb201"))
    return {space.equivalence(space.parse(k)) for k in keys}


def _stored(run_dir):
    from xnas.store import RunStore

    with RunStore.open(run_dir) as store:
        gens = {g.generation: list(g.population) for g in store.generations()}
        return gens, store.screened(), list(store.results())


def test_the_warm_start_is_nsga2_survival_on_the_screened_sample(table, tmp_path):
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    spy = _run(table, tmp_path / "r", "search.proxy_warm_start=6", "search.generations=1")
    gens, screened, _ = _stored(tmp_path / "r")
    assert len(spy.screened) == len(screened) > 8  # 48 drawn, one screening per class
    gen0 = set(gens[0])
    assert classes(gen0) <= classes(screened)  # a class is screened once, by one member
    # an independent check: the first non-dominated front of (-proxy, params) over the
    # screened sample is kept whole when it fits (pymoo's own sorting, no xnas code)
    keys = list(screened)
    F = np.array(
        [
            [-screened[k].objectives["proxy_ensemble"], screened[k].objectives["params"]]
            for k in keys
        ]
    )
    first = [keys[i] for i in NonDominatedSorting().do(F, only_non_dominated_front=True)]
    assert len(first) <= 8 and classes(first) <= classes(gen0)
    # and it is not what a random start would have been
    plain = tmp_path / "plain"
    _run(table, plain, "search.generations=1")
    assert set(_stored(plain)[0][0]) != gen0


def test_filtering_trains_the_chosen_offspring_and_resume_asks_the_same(table, tmp_path):
    extra = ("search.proxy_warm_start=4", "search.proxy_filter=4")
    whole = _run(table, tmp_path / "whole", *extra)
    gens, screened, results = _stored(tmp_path / "whole")
    assert len(gens) == 4
    for g in (1, 2, 3):  # every later generation's trainings were screened candidates
        assert classes(gens[g]) <= classes(screened)
    assert len(whole.screened) > 4 * 8 + 8  # the warm start, then k x population a generation

    part = tmp_path / "part"
    first = _run(table, part, *extra, "search.generations=2")
    again = _run(table, part, *extra, resume=True, budget=["search.generations=4"])
    assert _stored(part)[0] == gens  # the same generations, genome for genome
    # a resume re-scores nothing already screened
    assert not set(again.screened) & set(first.screened)
    assert len(first.screened) + len(again.screened) == len(whole.screened)


def test_proxy_settings_are_refused_in_one_line():
    with pytest.raises(ConfigError, match="not a zero-cost proxy"):
        from xnas.driver.checks import check_config

        check_config(cfg("search.proxy=error"))
    with pytest.raises(ConfigError, match="need search.proxy"):
        cfg("search.proxy_warm_start=5")
    with pytest.raises(ConfigError, match="generational"):
        cfg("search.proxy=naswot", "search.proxy_filter=3", "search.mode=steady_state")


@pytest.mark.slow
def test_a_trained_proxy_assisted_search_counts_its_proxy_time(tmp_path, monkeypatch):
    import xnas

    monkeypatch.setenv("XNAS_CACHE", str(tmp_path / "cache"))
    c = cfg(
        "search.proxy=proxy_ensemble",
        "search.proxy_warm_start=3",
        "search.proxy_filter=3",
        "measure.proxy_batch=16",
        "measure.proxy_reference=8",
    )
    view = xnas.search(c, tmp_path / "r", progress=False)
    headers, (row,) = __import__("xnas.report.tables", fromlist=["cost_table"]).cost_table(view)
    cost = dict(zip(headers, row, strict=True))
    assert cost["screened"] == len(view.screened) >= 12
    assert cost["proxy CPU hours"] > 0
    assert all(
        r.status == "screened" and r.provenance("proxy_ensemble") == "proxy" for r in view.screened
    )

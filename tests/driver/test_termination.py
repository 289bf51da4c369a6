"""Stop criteria (pure) and how both barrier policies apply them."""

from __future__ import annotations

import time

import pytest

from tests.conftest import cfg
from xnas.config import SearchConfig
from xnas.driver.termination import (
    MaxEvaluations,
    MaxGenerations,
    MaxWallTime,
    Progress,
    reached,
    terminations,
)
from xnas.store import RunStore


def test_criteria_come_from_the_config_and_the_first_met_is_named():
    now = time.monotonic()
    criteria = terminations(SearchConfig(generations=3, max_evaluations=20, max_wall_time=5))
    assert criteria == [MaxGenerations(3), MaxEvaluations(20), MaxWallTime(5)]
    assert reached(criteria, Progress(2, 19, now)) is None
    assert reached(criteria, Progress(3, 19, now)) == MaxGenerations(3)
    assert reached(criteria, Progress(2, 20, now)) == MaxEvaluations(20)
    assert reached(criteria, Progress(0, 0, now - 5)) == MaxWallTime(5)
    assert "max_evaluations (20)" in MaxEvaluations(20).reason()
    assert terminations(SearchConfig(generations=2)) == [MaxGenerations(2)]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["search.generations=3"], 12),  # 3 generations of 4
        (["search.generations=3", "search.max_evaluations=6"], 6),  # the smaller one wins
        (["search.generations=1", "search.max_evaluations=100"], 4),
    ],
)
@pytest.mark.slow
def test_steady_state_applies_every_criterion(tmp_path, overrides, expected):
    from xnas.driver import run_search

    run_search(cfg("search.mode=steady_state", *overrides), tmp_path / "r")
    with RunStore.open(tmp_path / "r") as store:
        assert store.count() == expected
        last = store.last_generation()
        assert last.generation == (expected - 1) // 4  # the last, maybe partial, generation

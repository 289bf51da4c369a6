"""A real steady-state search with every registered strategy (the barrier policy is the
driver's, so every strategy has a steady-state form)."""

from __future__ import annotations

import pytest

from tests.conftest import cfg
from xnas.driver import run_search
from xnas.store import RunStore
from xnas.strategy import STRATEGIES


@pytest.mark.slow
@pytest.mark.parametrize("name", STRATEGIES.names())
def test_a_real_steady_state_search(name, tmp_path):
    c = cfg(f"search.strategy={name}", "search.mode=steady_state", "search.generations=2")
    front = run_search(c, tmp_path / "r")
    assert front
    with RunStore.open(tmp_path / "r") as store:
        keys = [r.key for *_, r in store.results()]
        last = store.last_generation()
        assert last.strategy_state == {
            "strategy": name,
            "mode": "steady_state",
            "seed": 0,
            "restore": "replay",
        }
        assert 1 <= len(last.population) <= 4 and set(last.population) <= set(keys)
    assert len(keys) == len(set(keys)) == 8  # the budget, each key once

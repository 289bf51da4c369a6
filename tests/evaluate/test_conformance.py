"""Every registered evaluator passes the evaluator kit (``xnas.testing.evaluator``): a
new evaluator must add its small config here, and is then tested for free."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pytest

from tests.conftest import cfg
from xnas.config import load_config
from xnas.evaluate import EVALUATORS
from xnas.evaluate.tabular import TabularEvaluator
from xnas.space import get_space
from xnas.testing.evaluator import check_evaluator


def _table(tmp_path) -> str:
    """Every NB201 cell with made-up values (the kit checks behaviour, not the numbers)."""
    space = get_space(load_config(None, ["space.name=nb201"]).space)
    path = tmp_path / "nb201.csv"
    lines = ["arch,error,params"]
    for i, genome in enumerate(itertools.product(range(5), repeat=6)):
        lines.append(f"{space.canonical(genome)},{(i % 97) / 100:.2f},{1 + i % 13}")
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def config(name: str, tmp_path):
    if name == "train":
        return cfg("objectives=[error, params, flops]")
    if name == "tabular":
        return load_config(
            None,
            [
                "objectives=[error, params]",
                "evaluator.name=tabular",
                f"evaluator.table={_table(tmp_path)}",
            ],
        )
    raise AssertionError(f"evaluator {name!r} has no conformance config here: add one")


@pytest.mark.slow
@pytest.mark.parametrize("name", EVALUATORS.names())
def test_every_evaluator_meets_the_contract(name, tmp_path):
    results = check_evaluator(name, config(name, tmp_path))
    assert len(results) == 3


@dataclass(frozen=True)
class Lying(TabularEvaluator):
    """A table evaluator whose oracle claims to know the trained objective too."""

    def static(self, cfg, space, names):
        return lambda genomes: np.zeros((len(genomes), len(names)))


def test_the_evaluator_kit_catches_an_oracle_that_lies(tmp_path):
    EVALUATORS.register("kit-probe")(Lying)
    try:
        with pytest.raises(AssertionError, match="claims trained objective"):
            check_evaluator("kit-probe", config("tabular", tmp_path))
    finally:
        EVALUATORS.unregister("kit-probe")

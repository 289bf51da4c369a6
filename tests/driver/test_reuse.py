"""The driver evaluates one genome per functional equivalence class and stores the other
members as reuses of it: fewer trainings for the same proposals, never a silent merge."""

from __future__ import annotations

import pytest

from tests.conftest import cfg
from xnas.data import cached_dataset
from xnas.driver import run_search
from xnas.evaluate import evaluate
from xnas.space import get_space
from xnas.store import RunStore

PROPOSALS = [
    "search.strategy=random",
    "search.population=16",
    "search.generations=4",
    "search.seed=2",
]


class Trainings:
    """The real evaluate, counting the tasks that train (no ``reuse``)."""

    def __init__(self):
        self.trained, self.reused = [], []

    def __call__(self, task):
        (self.reused if task.reuse is not None else self.trained).append(task.key)
        return evaluate(task)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["generational", "steady_state"])
def test_a_real_search_on_lines_trains_fewer_genomes_for_the_same_proposals(tmp_path, mode):
    runs = {}
    for reuse in (True, False):
        counter = Trainings()
        c = cfg(*PROPOSALS, f"search.mode={mode}", f"search.reuse_equivalent={reuse}")
        run_search(c, tmp_path / str(reuse), evaluate_fn=counter)
        with RunStore.open(tmp_path / str(reuse)) as store:
            runs[reuse] = (counter, {r.key: r for *_, r in store.results()})
    (on, rows_on), (off, rows_off) = runs[True], runs[False]
    assert len(rows_on) == len(rows_off) == 64  # the same budget of proposals, all stored
    assert not off.reused and len(off.trained) == 64
    assert on.reused and len(on.trained) == 64 - len(on.reused)
    space = get_space(cfg().space)
    bundle = cached_dataset(cfg().data)
    for key in on.reused:
        r = rows_on[key]
        source = rows_on[r.reused_from]  # a pointer to a stored, trained evaluation
        assert source.reused_from is None and source.status != "failed"
        assert space.equivalence(r.genome) == space.equivalence(source.genome)
        assert r.objectives["error"] == source.objectives["error"]
        assert r.measurements["error"]["reused_from"] == source.key
        assert r.epochs == 0 and r.weights_path is None
        # static objectives are the genome's own (a dead conv edge still has parameters)
        net = space.build(r.genome, bundle.input_shape, bundle.num_classes)
        assert r.objectives["params"] == sum(p.numel() for p in net.parameters())
    if mode == "generational":  # random proposals do not depend on values: same keys
        assert set(rows_on) == set(rows_off)


@pytest.mark.slow
def test_resume_reuses_the_stored_class_evaluations(tmp_path):
    c = cfg(*PROPOSALS)
    with pytest.raises(KeyboardInterrupt):
        run_search(c, tmp_path / "r", evaluate_fn=Killed(30))
    counter = Trainings()
    run_search(None, tmp_path / "r", resume=True, evaluate_fn=counter)
    with RunStore.open(tmp_path / "r") as store:
        rows = {r.key: r for *_, r in store.results()}
    assert len(rows) == 64
    space = get_space(c.space)
    trained = [r for r in rows.values() if r.reused_from is None]
    assert len({space.equivalence(r.genome) for r in trained}) == len(trained)  # one per class


class Killed(Trainings):
    def __init__(self, after):
        super().__init__()
        self.after = after

    def __call__(self, task):
        if len(self.trained) + len(self.reused) == self.after:
            raise KeyboardInterrupt("simulated kill")
        return super().__call__(task)

"""Multi-fidelity rungs (cost.fidelity): promotion order, the ladder's decisions, exact
continuation of a promoted training, and a real search that stores, marks and resumes
its rungs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from tests.conftest import BASE
from xnas.config import load_config
from xnas.driver.fidelity import Ladder, promotion_order, rung_epochs
from xnas.evaluate import evaluate
from xnas.store import RunStore

# the shared tiny search, with rungs: population 6 x 2 generations, 4 epochs in 2 rungs
FIDELITY = [
    *BASE,
    "search.population=6",
    "search.generations=2",
    "train.epochs=4",
    "cost.fidelity=true",
    "cost.rungs=2",
]


def test_rung_epochs_end_at_the_full_budget_and_shrink_by_eta():
    assert rung_epochs(9, 3, 3) == (1, 3, 9)
    assert rung_epochs(27, 3, 3) == (3, 9, 27)
    assert rung_epochs(8, 2, 4) == (1, 2, 4, 8)
    assert rung_epochs(3, 3, 3) == (1, 3)  # a small budget has fewer rungs
    assert rung_epochs(1, 3, 3) == (1,)


def test_promotion_order_follows_pymoos_fronts_then_crowding():
    """The order is pymoo's non-dominated rank, and within a front pymoo's crowding
    distance, largest first; the top k equal pymoo's own RankAndCrowding survival."""
    from pymoo.core.population import Population
    from pymoo.core.problem import Problem
    from pymoo.operators.survival.rank_and_crowding import RankAndCrowding
    from pymoo.operators.survival.rank_and_crowding.metrics import calc_crowding_distance
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    rng = np.random.default_rng(0)
    for trial in range(20):
        F = rng.random((30, 2 + trial % 2))
        order = promotion_order(F)
        assert sorted(order) == list(range(30))
        rank = NonDominatedSorting().do(F, return_rank=True)[1]
        assert list(rank[order]) == sorted(rank[order])
        for r in set(rank):
            members = np.flatnonzero(rank == r)
            crowd = dict(zip(members, calc_crowding_distance(F[members]), strict=True))
            in_order = [crowd[i] for i in order if rank[i] == r]
            assert in_order == sorted(in_order, reverse=True)
        crowding = np.zeros(len(F))
        for r in set(rank):
            members = np.flatnonzero(rank == r)
            crowding[members] = calc_crowding_distance(F[members])
        problem = Problem(n_var=1, n_obj=F.shape[1])
        for k in (3, 10, 17):
            survivors = RankAndCrowding().do(
                problem, Population.new("F", F), n_survive=k, random_state=np.random.default_rng(0)
            )
            theirs = [int(np.flatnonzero((F == s.F).all(axis=1))[0]) for s in survivors]
            # the same survivors up to pymoo's random choice among equal crowding
            assert sorted((rank[i], crowding[i]) for i in order[:k]) == sorted(
                (rank[i], crowding[i]) for i in theirs
            )


def test_infeasible_and_failed_rows_come_last():
    F = np.array([[0.1, 5.0], [0.5, 1.0], [0.0, 0.0], [np.nan, np.nan], [0.9, 9.0]])
    viol = np.array([0.0, 0.0, 2.0, 0.0, 0.0])
    order = promotion_order(F, viol)
    assert order[-2:] == [2, 3]  # the infeasible, then the one without values
    assert set(order[:2]) == {0, 1}


def _ladder_run(rows: dict[str, list[float]], arrival: list[str], eta=3):
    """Feed rung-0 rows in ``arrival`` order; returns (promoted at rung 0, the set of
    promotions made before the rung was complete)."""
    keys = list(rows)
    ladder = Ladder(keys, eta, 2)
    assert ladder.start() == [(k, 0) for k in keys]
    promoted, early = [], set()
    for i, key in enumerate(arrival):
        ladder.schedule[key] = (1, 3)
        ladder.add(key, 0, np.array(rows[key]))
        runnable, final = ladder.step()
        promoted += [k for k, r in runnable]
        if i < len(arrival) - 1:
            early |= {k for k, _ in runnable}
            assert not final  # nothing is decided against before the rung is complete
    return promoted, early


def test_the_ladder_promotes_the_same_candidates_in_any_arrival_order():
    rng = np.random.default_rng(1)
    rows = {f"k{i}": list(rng.random(2)) for i in range(9)}
    keys = list(rows)
    F = np.array([rows[k] for k in keys])
    expected = {keys[i] for i in promotion_order(F)[:3]}
    for perm in itertools.islice(itertools.permutations(keys), 0, 400, 37):
        promoted, _ = _ladder_run(rows, list(perm))
        assert set(promoted) == expected and len(promoted) == 3


def test_a_certain_winner_is_promoted_before_its_rung_completes():
    """Seven of nine are in, and k0 dominates every one of them: at most the two
    unfinished can precede it, fewer than the three slots, so it goes on at once."""
    rows = {f"k{i}": [0.5 + i / 100, 10.0 + i] for i in range(9)}
    rows["k0"] = [0.1, 1.0]
    promoted, early = _ladder_run(rows, [f"k{i}" for i in range(9)])
    assert "k0" in early
    assert len(promoted) == 3


@pytest.mark.slow
def test_a_promoted_training_continues_exactly_where_its_rung_ended():
    """Rung 1 then rung 2 from the checkpoint = one uninterrupted training (same batches,
    momentum and LR schedule): the oracle is the same recipe run in one go."""
    from xnas.config import DataConfig, TrainConfig
    from xnas.data import load_dataset
    from xnas.evaluate.trainer import train

    bundle = load_dataset(DataConfig(name="lines", train_size=120, val_size=60))
    cfg = TrainConfig(epochs=3, batch_size=32, lr=0.05)

    def net():
        torch.manual_seed(0)
        return torch.nn.Sequential(
            torch.nn.Flatten(),
            torch.nn.Linear(int(np.prod(bundle.input_shape)), bundle.num_classes),
        )

    one = net()
    full = train(one, bundle.train, bundle.val, cfg, epochs=3, seed=7, device=torch.device("cpu"))
    two = net()
    first = train(
        two,
        bundle.train,
        bundle.val,
        cfg,
        epochs=1,
        seed=7,
        device=torch.device("cpu"),
        schedule_epochs=3,
        keep_state=True,
    )
    assert first.state is not None and len(first.curve) == 1
    rest = train(
        two,
        bundle.train,
        bundle.val,
        cfg,
        epochs=3,
        seed=7,
        device=torch.device("cpu"),
        schedule_epochs=3,
        resume=first.state,
    )
    assert rest.curve == full.curve and rest.train_loss == full.train_loss
    for a, b in zip(one.state_dict().values(), two.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def cfg(*extra):
    return load_config(None, [*FIDELITY, *extra])


class Counting:
    """The real evaluate, recording (key, rung); ``kill_after`` calls it stops the run."""

    def __init__(self, kill_after=None):
        self.calls, self.kill_after = [], kill_after

    def __call__(self, task):
        if self.kill_after is not None and len(self.calls) == self.kill_after:
            raise KeyboardInterrupt("simulated kill")
        resumed = task.fidelity is not None and task.fidelity.resume_from is not None
        self.calls.append((task.key, task.rung, resumed))
        return evaluate(task)


def _store(run_dir):
    with RunStore.open(run_dir) as store:
        return list(store.results()), list(store.rungs())


@pytest.mark.slow
def test_a_search_halves_each_generation_and_marks_what_stopped_low(tmp_path):
    from xnas.driver import run_search
    from xnas.summary import objective_rows

    calls = Counting()
    run_search(cfg(), tmp_path / "run", evaluate_fn=calls)
    results, rungs = _store(tmp_path / "run")
    assert not list((tmp_path / "run" / "rungs").glob("*"))  # checkpoints cleaned up
    for gen in (0, 1):
        final = [r for g, _, r in results if g == gen and r.reused_from is None]
        low = [r for g, _, r in rungs if g == gen]
        assert {r.key for r in low} == {r.key for r in final}  # every candidate: rung 0
        promoted = [r for r in final if r.status == "ok"]
        assert len(promoted) == max(1, len(final) // 3)
        # the promoted ones are the best of rung 0 by non-dominated rank and crowding
        F, _ = objective_rows(low, ["error", "params"], [])
        best = {low[i].key for i in promotion_order(F)[: len(promoted)]}
        assert {r.key for r in promoted} == best
        for r in promoted:  # continued from its own rung: the curve goes on, not restarts
            first = next(x for x in low if x.key == r.key)
            assert r.epochs == 4 and r.curve[:1] == first.curve and r.rung == 1
        for r in final:
            if r.status == "partial":
                assert r.epochs == 1 and r.rung == 0
                assert r.measurements["error"]["fidelity"] == {
                    "rung": 0,
                    "epochs": 1,
                    "full_epochs": 4,
                }
    trained = sum(1 for _, r, _ in calls.calls if r == 0) + 3 * sum(
        1 for _, r, _ in calls.calls if r == 1
    )
    assert trained == sum(r.epochs for _, _, r in results if r.reused_from is None)
    assert all(resumed for _, r, resumed in calls.calls if r == 1)
    # reports mark what stopped low and count the rungs' time
    from xnas.report.tables import cost_table, objective_header

    headers, (row,) = cost_table(tmp_path / "run")
    cost = dict(zip(headers, row, strict=True))
    assert cost["halted at a rung"] == sum(r.status == "partial" for _, _, r in results) > 0
    assert cost["epoch-equivalents"] == sum(r.epochs for _, _, r in results)
    partial = [r for _, _, r in results if r.status == "partial"]
    assert "some at a lower rung" in objective_header("error", partial)


@pytest.mark.slow
def test_a_kill_between_rungs_loses_no_rung_and_repeats_none(tmp_path):
    from xnas.driver import run_search

    full = Counting()
    expected = run_search(cfg(), tmp_path / "full", evaluate_fn=full).front
    killed = Counting(kill_after=7)  # gen 0: six rung-0 trainings and one promotion
    with pytest.raises(KeyboardInterrupt):
        run_search(cfg(), tmp_path / "cut", evaluate_fn=killed)
    _, rungs = _store(tmp_path / "cut")
    assert len(rungs) == 6
    resumed = Counting()
    assert run_search(None, tmp_path / "cut", resume=True, evaluate_fn=resumed).front == expected
    done = {(k, r) for k, r, _ in killed.calls}
    assert not done & {(k, r) for k, r, _ in resumed.calls}
    assert len(killed.calls) + len(resumed.calls) == len(full.calls)
    a, _ = _store(tmp_path / "full")
    b, _ = _store(tmp_path / "cut")
    assert sorted((g, r.key, r.status, r.epochs, r.curve) for g, _, r in a) == sorted(
        (g, r.key, r.status, r.epochs, r.curve) for g, _, r in b
    )


@pytest.mark.slow
def test_promoted_inheriting_children_keep_their_donor_and_their_own_weights(tmp_path):
    from xnas.driver import run_search

    run_search(
        cfg("cost.inherit=true", "cost.inherit_epochs=4", "search.generations=3"),
        tmp_path / "run",
    )
    results, _ = _store(tmp_path / "run")
    children = [r for g, _, r in results if g > 0 and r.reused_from is None]
    assert any(r.donor_key for r in children)
    for r in children:
        if r.donor_key and r.status == "ok":
            assert r.inherited_fraction > 0 and r.epochs == 4
    assert all(r.weights_path is None for _, _, r in results if r.status == "partial")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["cost.extrapolate=true"], "cost.fidelity with cost.extrapolate"),
        (["search.mode=steady_state"], "expected search.mode: generational"),
        (["cost.eta=1"], "cost.eta: expected >= 2"),
    ],
)
def test_settings_fidelity_cannot_use_are_one_line_and_exit_2(tmp_path, extra, message):
    from tests.conftest import xnas_cli

    sets = [x for e in [*FIDELITY, *extra] for x in ("--set", e)]
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("search: {generations: 1}\n")
    proc = xnas_cli("search", str(cfg_file), *sets, "--run-dir", str(tmp_path / "run"))
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_budget_broken_at_the_first_rung_is_stored_as_rejected_not_a_crash(tmp_path):
    """A static budget checked before rung 0 trains: the candidate is final (rejected),
    the ladder goes on without it; status counts every kind of result."""
    from xnas.driver import run_search
    from xnas.report import open_run

    outcome = run_search(cfg("objectives.1.constraint=<= 9000"), tmp_path / "run")
    view = open_run(tmp_path / "run")
    rejected = [r for r in view.results if r.status == "rejected"]
    assert rejected and all(r.fidelity is not None and r.fidelity["rung"] == 0 for r in rejected)
    assert outcome.front
    st = view.status()
    assert st["rejected_before_training"] == len(rejected)
    assert st["halted_at_a_rung"] == view.count("partial") > 0
    assert (
        st["ok"] + st["stopped_early"] + st["halted_at_a_rung"] + len(rejected) + st["failed"]
        == st["evaluations"]
    )

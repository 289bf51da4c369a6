"""The driver: reproducible, evaluates each key once, survives failures, resumes exactly."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import BASE, Counting, cfg, stored
from xnas.evaluate import evaluate
from xnas.store import RunStore
from xnas.strategy import STRATEGIES


@pytest.mark.slow
def test_same_seed_same_genomes_and_front(tmp_path):
    from xnas.driver import run_search

    fronts = [run_search(cfg(), tmp_path / f"r{i}").front for i in range(2)]
    assert fronts[0] == fronts[1] and fronts[0]
    assert stored(tmp_path / "r0") == stored(tmp_path / "r1")
    other = run_search(cfg("search.seed=1"), tmp_path / "r2").front
    assert stored(tmp_path / "r2") != stored(tmp_path / "r0") or other != fronts[0]


@pytest.mark.slow
def test_every_key_is_evaluated_once_across_the_run(tmp_path):
    from xnas.driver import run_search

    counting = Counting()
    run_search(cfg("search.generations=4"), tmp_path / "r", evaluate_fn=counting)
    rows = stored(tmp_path / "r")
    assert len(counting.calls) == len(set(counting.calls)) == len(rows)
    with RunStore.open(tmp_path / "r") as store:
        asked = [k for g in range(4) for k in _population(store, g)]
    assert len(asked) == 16 and len(set(asked)) <= len(rows)


def _population(store, gen):
    row = store.conn.execute("SELECT population FROM generations WHERE generation = ?", (gen,))
    import json

    return json.loads(row.fetchone()[0])


@pytest.mark.slow
def test_an_injected_failure_is_stored_and_the_search_completes(tmp_path):
    from xnas.driver import run_search

    front = run_search(cfg(), tmp_path / "r", evaluate_fn=Counting(fail_index=1)).front
    with RunStore.open(tmp_path / "r") as store:
        failed = [(r, v) for _, v, r in store.results() if r.status == "failed"]
        assert store.last_generation().generation == 2
    assert len(failed) == 1
    result, violation = failed[0]
    assert "injected-failure" in result.error and violation > 0 and result.key not in front


@pytest.mark.slow
def test_resume_after_a_kill_repeats_nothing_and_ends_with_the_same_front(tmp_path):
    from xnas.driver import run_search

    full = Counting()
    expected = run_search(cfg(), tmp_path / "full", evaluate_fn=full).front
    killed = Counting(kill_after=6)  # dies inside generation 1
    with pytest.raises(KeyboardInterrupt):
        run_search(cfg(), tmp_path / "cut", evaluate_fn=killed)
    assert len(stored(tmp_path / "cut")) == 6
    resumed = Counting()
    front = run_search(None, tmp_path / "cut", resume=True, evaluate_fn=resumed).front
    assert front == expected
    assert not set(resumed.calls) & set(killed.calls)  # nothing finished is repeated
    assert len(killed.calls) + len(resumed.calls) == len(full.calls)
    assert stored(tmp_path / "cut") == stored(tmp_path / "full")
    # the killed generation's counters: what it stored before the kill counts as evaluated
    # in it, not as reused, so the cost table of the resumed run equals the full run's
    with RunStore.open(tmp_path / "cut") as a, RunStore.open(tmp_path / "full") as b:
        assert [g.counters for g in a.generations()] == [g.counters for g in b.generations()]
    from xnas.report.tables import cost_table

    assert cost_table(tmp_path / "cut")[1][0][:7] == cost_table(tmp_path / "full")[1][0][:7]


@pytest.mark.slow
@pytest.mark.parametrize("strategy", STRATEGIES.names())
def test_every_strategy_runs_a_reproducible_small_search(tmp_path, strategy):
    from xnas.driver import run_search

    c = cfg(f"search.strategy={strategy}", "search.generations=3")
    fronts = [run_search(c, tmp_path / f"r{i}").front for i in range(2)]
    assert fronts[0] == fronts[1] and fronts[0]
    assert stored(tmp_path / "r0") == stored(tmp_path / "r1") and len(stored(tmp_path / "r0")) >= 4


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("search.strategy=hill-climb", "unknown strategy 'hill-climb'"),
        ("objectives=[error, speed]", "unknown objective 'speed'"),
        ("objectives.1.constraint=< 5", "expected '<= NUMBER' or '>= NUMBER'"),
        ("search.populaton=3", "unknown config key 'search.populaton'"),
        ("parallel.backend=mpi", "not part of an MPI job with at least 2 ranks"),
        ("parallel.threads_per_rank=0", "parallel.threads_per_rank: expected >= 1"),
    ],
)
def test_bad_config_is_one_line_and_exit_2(tmp_path, override, message):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("search: {generations: 1}\n")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "xnas",
            "search",
            str(cfg_file),
            "--run-dir",
            str(tmp_path / "r"),
            *[a for o in [*BASE, override] for a in ("--set", o)],
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2, out.stderr
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()  # nothing half-made is left behind


@pytest.mark.slow
def test_status_export_and_a_hypervolume_that_never_drops(tmp_path, capsys):
    import pandas as pd

    from xnas.cli import main
    from xnas.driver import FunctionCallback, run_search
    from xnas.report.status import search_status

    summaries = []
    callback = FunctionCallback(on_generation=summaries.append)
    front = list(run_search(cfg(), tmp_path / "r", callbacks=[callback]).front)
    hvs = [s.hypervolume for s in summaries]
    assert len(hvs) == 3 and hvs == sorted(hvs) and hvs[-1] > 0  # archive front, fixed reference
    st = search_status(tmp_path / "r")
    assert st["front"] == front and st["generations_done"] == 3 and st["hypervolume"] == hvs[-1]
    assert main(["status", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "generations  3/3" in out
    with RunStore.open(tmp_path / "r") as store:  # 1 epoch each, none for a reuse
        trained = sum(r.reused_from is None for *_, r in store.results())
    n = len(stored(tmp_path / "r"))
    assert f"evaluations  {n} ({n} ok, 0 stopped early, 0 halted at a rung, 0 rejected " in out
    assert f"0 failed; {trained} epochs trained)" in out
    assert main(["export", str(tmp_path / "r"), "-o", str(tmp_path / "all.csv")]) == 0
    table = pd.read_csv(tmp_path / "all.csv")
    assert len(table) == len(stored(tmp_path / "r")) and {"error", "params", "status"} <= set(table)
    assert {"donor_key", "inherited_fraction", "error_provenance", "failure"} <= set(table)
    assert set(table["error_provenance"]) == {"measured"}  # no stop rule in this run
    assert set(table["params_provenance"]) == {"counted"}
    assert table["on_front"].sum() == len(front)
    assert table["error"].between(0, 1).all()  # the objective, not a failure message
    assert main(["status", str(tmp_path / "missing")]) == 2


@pytest.mark.slow
def test_pareto_plot_is_written_from_a_run(tmp_path):
    from xnas.driver import run_search
    from xnas.report.figures import plot_front

    run_search(cfg("search.generations=1"), tmp_path / "r")
    path = plot_front(tmp_path / "r")
    assert path == tmp_path / "r" / "pareto.png" and path.stat().st_size > 10_000


@pytest.mark.slow
def test_max_evaluations_stops_at_a_generation_boundary(tmp_path):
    from xnas.driver import run_search

    run_search(cfg("search.generations=5", "search.max_evaluations=6"), tmp_path / "r")
    with RunStore.open(tmp_path / "r") as store:
        assert 6 <= store.count() <= 8 and store.last_generation().generation == 1


@pytest.mark.slow
def test_steady_state_spends_the_budget_once_per_key_and_is_reproducible_serially(tmp_path):
    from xnas.driver import run_search

    c = cfg("search.mode=steady_state", "search.generations=3")
    counting = Counting()
    fronts = [
        run_search(c, tmp_path / "r0", evaluate_fn=counting).front,
        run_search(c, tmp_path / "r1").front,
    ]
    rows = stored(tmp_path / "r0")
    assert fronts[0] == fronts[1] and rows == stored(tmp_path / "r1")
    assert len(rows) == 12 == len(counting.calls) == len(set(counting.calls))
    assert [g for g, _, _ in rows] == [0] * 4 + [1] * 4 + [2] * 4  # 4 arrivals per generation
    with RunStore.open(tmp_path / "r0") as store:
        assert store.last_generation().generation == 2
        assert len(store.last_generation().population) == 4


@pytest.mark.slow
def test_steady_state_breeds_from_the_front(tmp_path):
    """After the random start, offspring come from the survivors: they share units with them."""
    from xnas.driver import run_search
    from xnas.space import get_space

    c = cfg("search.mode=steady_state", "search.generations=4")
    run_search(c, tmp_path / "r")
    space = get_space(c.space)
    with RunStore.open(tmp_path / "r") as store:
        genomes = [r.genome for _, _, r in store.results()]
    start, later = genomes[:4], genomes[4:]
    nearest = [min(space.distance(g, p) for p in genomes[: 4 + i]) for i, g in enumerate(later)]
    random_nearest = [min(space.distance(start[i], p) for p in start[:i]) for i in (1, 2, 3)]
    assert sum(nearest) / len(nearest) < sum(random_nearest) / len(random_nearest)


@pytest.mark.slow
def test_steady_state_resume_repeats_nothing_and_finishes_the_budget(tmp_path):
    from xnas.driver import run_search

    c = cfg("search.mode=steady_state", "search.generations=3")
    killed = Counting(kill_after=6)
    with pytest.raises(KeyboardInterrupt):
        run_search(c, tmp_path / "r", evaluate_fn=killed)
    resumed = Counting()
    run_search(None, tmp_path / "r", resume=True, evaluate_fn=resumed)
    rows = stored(tmp_path / "r")
    assert len(rows) == 12 and not set(resumed.calls) & set(killed.calls)
    assert len(resumed.calls) == 6


COST = ["cost.inherit=true", "cost.inherit_epochs=2", "cost.extrapolate=true", "train.epochs=5"]


@pytest.mark.slow
def test_inheritance_and_early_stopping_resume_exactly(tmp_path):
    """Donors and front snapshots come from earlier generations only, so a killed and
    resumed run hands every task what the uninterrupted run did."""
    from xnas.driver import run_search

    c = cfg(*COST, "search.generations=4")
    expected = run_search(c, tmp_path / "full").front
    with pytest.raises(KeyboardInterrupt):
        run_search(c, tmp_path / "cut", evaluate_fn=Counting(kill_after=9))
    assert run_search(None, tmp_path / "cut", resume=True).front == expected
    with RunStore.open(tmp_path / "full") as a, RunStore.open(tmp_path / "cut") as b:
        full = {r.key: r for _, _, r in a.results()}
        cut = {r.key: r for _, _, r in b.results()}
    assert full.keys() == cut.keys()
    for key, r in full.items():
        assert (r.donor_key, r.status, r.epochs, r.objectives) == (
            cut[key].donor_key,
            cut[key].status,
            cut[key].epochs,
            cut[key].objectives,
        )
    donors = [r for r in full.values() if r.donor_key]
    assert donors and all(r.epochs <= 2 and r.inherited_fraction > 0 for r in donors)
    assert all(r.donor_key in full for r in donors)
    first_gen = [r for g, _, r in _rows(tmp_path / "full") if g == 0]
    assert all(r.donor_key is None and r.epochs >= 3 for r in first_gen)


def _rows(run_dir):
    with RunStore.open(run_dir) as store:
        return list(store.results())


@pytest.mark.slow
def test_keep_weights_caps_the_files_and_keeps_the_front(tmp_path):
    from xnas.driver import run_search

    front = run_search(cfg("cost.keep_weights=2", "search.generations=3"), tmp_path / "r").front
    stored_rows = _rows(tmp_path / "r")
    rows = [r for _, _, r in stored_rows]
    assert all(r.weights_path.startswith("weights/") for r in rows if r.weights_path)
    on_disk = {
        r.key for r in rows if r.weights_path and (tmp_path / "r" / r.weights_path).is_file()
    }
    assert set(front) <= on_disk
    # the most recent: the last generation's, by key (never the order results arrived in,
    # which differs between MPI runs and after a resume)
    recent = sorted((g, r.key) for g, _, r in stored_rows if r.weights_path)[-2:]
    assert on_disk <= set(front) | {k for _, k in recent}
    assert len(rows) > len(on_disk)


@pytest.mark.slow
def test_parent_donors_follow_the_strategys_lineage(tmp_path):
    from xnas.driver import run_search
    from xnas.space import get_space

    c = cfg("search.strategy=regevo", "cost.inherit=true", "cost.donor=parent")
    run_search(c, tmp_path / "r")
    space = get_space(c.space)
    rows = {r.key: r for _, _, r in _rows(tmp_path / "r")}
    # replay the strategy on the stored values to learn who is whose parent
    from xnas.summary import objective_rows

    strategy = STRATEGIES.get("regevo")(space, 2, 1, 4, 0)
    parent = {}  # the parent when the key was first asked (a child may be bred again later)
    for _ in range(c.search.generations):
        genomes = strategy.ask(4)
        for g in genomes:
            if g in strategy.lineage:
                parent.setdefault(space.canonical(g), strategy.lineage[g])
        F, G = objective_rows([rows[space.canonical(g)] for g in genomes], ["error", "params"], [])
        strategy.tell(genomes, F, G)
    children = [r for r in rows.values() if r.donor_key]
    first = {k for g, k, _ in stored(tmp_path / "r") if g == 0}
    trained = [r for r in rows.values() if r.reused_from is None and r.key not in first]
    assert children and len(children) == len(trained)  # every training after the random start
    for r in children:  # a parent stored as a reuse has no weights: the nearest donor then
        if rows[space.canonical(parent[r.key])].reused_from is None:
            assert r.donor_key == space.canonical(parent[r.key])


@pytest.mark.slow
def test_recorded_objectives_are_measured_but_not_searched_on(tmp_path):
    """XNAS's single-objective baseline: error only, introspection recorded."""
    from xnas.driver import run_search

    c = cfg("objectives=[error, {name: introspection, optimize: false}]")
    front = run_search(c, tmp_path / "r").front
    rows = [r for _, _, r in _rows(tmp_path / "r")]
    assert all(r.objectives["introspection"] >= 0 for r in rows)
    assert any(r.objectives["introspection"] > 0 for r in rows)
    best = min(r.objectives["error"] for r in rows)
    assert {r.objectives["error"] for r in rows if r.key in front} == {best}
    from xnas.errors import ConfigError

    with pytest.raises(ConfigError, match="expected at least one"):
        run_search(cfg("objectives=[{name: error, optimize: false}]"), tmp_path / "r2")


class Hangs:
    """Injected fault: the second evaluation never returns."""

    def __init__(self):
        self.calls = 0

    def __call__(self, task):
        self.calls += 1
        if self.calls == 2:
            import time

            while True:
                time.sleep(3600)
        return evaluate(task)


@pytest.mark.slow
def test_a_hung_evaluation_times_out_serially_and_the_search_completes(tmp_path):
    from xnas.driver import run_search

    outcome = run_search(
        cfg("parallel.task_timeout=3", "search.generations=2"), tmp_path / "r", evaluate_fn=Hangs()
    )
    assert outcome.front
    rows = stored(tmp_path / "r")
    failed = [k for _, k, s in rows if s == "failed"]
    assert len(failed) == 1
    with RunStore.open(tmp_path / "r") as store:
        assert "timed out after 3 s" in store.get(failed[0]).error
        assert store.last_generation().generation == 1


class Slow:
    """Each evaluation takes at least 0.6 s (the real one, then a pause)."""

    def __call__(self, task):
        import time

        result = evaluate(task)
        time.sleep(0.6)
        return result


@pytest.mark.slow
def test_max_wall_time_stops_at_a_generation_boundary_and_resume_goes_on(tmp_path):
    from xnas.driver import run_search

    c = cfg("search.max_wall_time=1", "search.generations=3")
    run_search(c, tmp_path / "r", evaluate_fn=Slow())  # generation 0 alone outlasts 1 s
    with RunStore.open(tmp_path / "r") as store:
        assert store.last_generation().generation == 0
        first = store.count()
    run_search(None, tmp_path / "r", resume=True, evaluate_fn=Slow())  # a new second
    with RunStore.open(tmp_path / "r") as store:
        assert store.last_generation().generation == 1 and store.count() > first


@pytest.mark.slow
def test_max_wall_time_stops_launching_in_steady_state(tmp_path):
    from xnas.driver import run_search

    c = cfg("search.max_wall_time=1", "search.mode=steady_state", "search.generations=3")
    run_search(c, tmp_path / "r", evaluate_fn=Slow())
    with RunStore.open(tmp_path / "r") as store:
        assert 2 <= store.count() < 4 * 3  # stopped launching long before the budget


@pytest.mark.slow
def test_evaluation_callbacks_see_every_launch_and_every_stored_result(tmp_path):
    from xnas.driver import FunctionCallback, run_search

    launched, done, generations = [], [], []
    callback = FunctionCallback(
        on_launch=lambda task: launched.append(task.key),
        on_done=lambda result: done.append((result.key, result.status)),
        on_generation=lambda summary: generations.append(summary.generation),
    )
    run_search(cfg(), tmp_path / "r", callbacks=[callback])
    assert launched == [k for k, _ in done]  # serial: done in launch order
    assert done == [(k, s) for _, k, s in stored(tmp_path / "r")]  # exactly what was stored
    assert generations == [0, 1, 2]


def test_parent_donors_are_refused_for_a_strategy_without_lineage(tmp_path):
    """Only a strategy that records each child's parent can give parent donors: for the
    others ``cost.donor: parent`` is refused before anything is stored (it used to fall
    back to the nearest donor silently)."""
    from xnas.driver import run_search
    from xnas.errors import ConfigError

    with pytest.raises(ConfigError, match="cost.donor: parent needs a strategy"):
        run_search(cfg("cost.inherit=true", "cost.donor=parent"), tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_a_tabular_search_never_imports_torch(tmp_path, shared_data):
    """Torch only where a network is built: the driver, the strategies, the spaces and a
    tabular search (its evaluator reads a table) run without it, and so do the reports."""
    script = f"""
import sys
from xnas.driver import run_search
from xnas.config import load_config
import xnas.strategy
assert "torch" not in sys.modules, "imported by the driver or the strategies"
cfg = load_config(None, [
    "space.name=nb201", "search.population=8", "search.generations=3",
    "objectives=[error, params]", "evaluator.name=tabular",
    "evaluator.table={shared_data / "nb201" / "nb201_200ep.csv"}",
    "evaluator.columns=[{{objective: error, column: error_cifar100, scale: 0.01}}]",
])
outcome = run_search(cfg, {str(tmp_path / "r")!r})
from xnas.report import open_run
open_run({str(tmp_path / "r")!r}).status()
print(len(outcome.front), sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    front_size, torch_modules = done.stdout.split(" ", 1)
    assert int(front_size) > 0 and torch_modules.strip() == "[]"

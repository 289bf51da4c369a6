"""Nothing lost, nothing silently wrong: timeouts measure the evaluation only and leave a
healthy process, failures say their kind and can be retried on purpose, and every
decision of a resumed run (donor, promotion, class representative) is a function of what
was committed, so a killed run resumed equals the uninterrupted one, key for key."""

from __future__ import annotations

import dataclasses
import sys
import time

import pytest

from tests.conftest import LADDER, cfg, rows, stored
from xnas.driver import run_search
from xnas.evaluate import evaluate
from xnas.parallel import call_task
from xnas.results import EvalResult, failure_kind
from xnas.store import RunStore


@dataclasses.dataclass(frozen=True)
class SlowStart:
    """Injected fault: a start-up (``prepare``) longer than the timeout, a short evaluation."""

    start: float
    work: float

    def prepare(self, task):
        time.sleep(self.start)

    def __call__(self, task):
        time.sleep(self.work)
        return EvalResult(task.key, task.genome, "ok", {"error": 0.5}, {})


def _task():
    from xnas.driver import make_task
    from xnas.space import get_space

    c = cfg()
    space = get_space(c.space)
    return make_task(
        c, space, space.parse("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    )


def test_the_timeout_covers_the_evaluation_not_the_start_up():
    ok = call_task(SlowStart(start=1.5, work=0.1), _task(), timeout=1.0)
    assert ok.status == "ok", ok.error  # 1.5 s of start-up did not count
    late = call_task(SlowStart(start=0.0, work=1.5), _task(), timeout=1.0)
    assert late.status == "failed" and late.failure == "timeout" == failure_kind(late)


def test_a_timeout_inside_an_import_leaves_no_half_initialised_module(tmp_path, monkeypatch):
    """The alarm fires while a module's body runs: the next task imports it afresh."""
    (tmp_path / "slow_probe_module.py").write_text(
        "import time\nSTEP = 1\ntime.sleep(2)\nREADY = True\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    def imports(task):
        import slow_probe_module

        assert slow_probe_module.READY
        return EvalResult(task.key, task.genome, "ok", {"error": 0.5}, {})

    first = call_task(imports, _task(), timeout=0.5)
    assert first.status == "failed" and first.failure == "timeout"
    assert "slow_probe_module" not in sys.modules  # not left behind half-made
    second = call_task(imports, _task(), timeout=10)
    assert second.status == "ok", second.error
    sys.modules.pop("slow_probe_module", None)


@pytest.mark.slow
def test_the_train_evaluator_prepares_data_and_imports_before_the_timer(tmp_path):
    """In a fresh process: after ``prepare`` the dataset is cached and torch's optimizer
    machinery (torch._dynamo, imported by the first optimizer step) is loaded, so the
    first evaluation on a rank costs what any other does."""
    import subprocess

    code = """
import sys, time
from tests.conftest import cfg
from xnas.driver import make_task
from xnas.evaluate.train import TrainEvaluator
from xnas.space import get_space
c = cfg("data.name=digits")
space = get_space(c.space)
task = make_task(c, space, space.sample(__import__('numpy').random.default_rng(0)))
ev = TrainEvaluator()
ev.prepare(task)
assert "torch._dynamo" in sys.modules
from xnas.data import cached_dataset
assert cached_dataset.cache_info().currsize == 1
t = time.perf_counter(); ev(task); first = time.perf_counter() - t
t = time.perf_counter(); ev(task); second = time.perf_counter() - t
print(first, second)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=".")
    assert done.returncode == 0, done.stderr


class Hangs:
    """Injected fault: the evaluations of ``keys`` never return (until not injected)."""

    def __init__(self, keys=(), raises=()):
        self.keys, self.raises, self.calls = set(keys), set(raises), []

    def __call__(self, task):
        self.calls.append(task.key)
        if task.key in self.keys:
            while True:
                time.sleep(3600)
        if task.key in self.raises:
            raise RuntimeError("injected, the genome's own fault")
        return evaluate(task)


@pytest.mark.slow
def test_resume_retries_chosen_failure_kinds_and_keeps_the_originals(tmp_path):
    c = cfg("parallel.task_timeout=3", "search.generations=2")
    first = [k for _, k, _ in stored_of_clean_run(tmp_path, c)][:3]
    hang, boom = first[0], first[1]
    run_search(c, tmp_path / "r", evaluate_fn=Hangs(keys=[hang], raises=[boom]))
    before = {r.key: r for *_, r in rows(tmp_path / "r")}
    assert failure_kind(before[hang]) == "timeout" and failure_kind(before[boom]) == "exception"
    # the run is finished; the timeout is retried on purpose (the machine was slow, the
    # genome was fine) although no budget is left, the exception is not (not asked)
    from xnas import api

    view = api.resume(tmp_path / "r", retry_failed=["timeout"])
    after = {r.key: r for *_, r in rows(tmp_path / "r")}
    assert after[hang].status == "ok" and after[boom].status == "failed"
    assert set(after) == set(before)  # nothing lost, nothing more asked
    assert view.front_keys and hang in {r.key for r in view.results}
    with RunStore.open(tmp_path / "r") as store:
        retired = {r.key: (at, r) for _, _, at, r in store.retired()}
        assert store.last_generation().generation == 1
    assert retired[hang][1].status == "failed" and retired[hang][0] == 2  # kept, as told
    # the history is not rewritten: a longer resume replays the failure as it was told
    # (the replay check would refuse a generation asked differently) and goes on
    view = api.resume(tmp_path / "r")  # nothing to retry, nothing left: no change
    from xnas.driver import run_search as search

    search(None, tmp_path / "r", resume=True)  # replays both generations without refusal


def stored_of_clean_run(tmp_path, c):
    run_search(c, tmp_path / "clean")
    return stored(tmp_path / "clean")


# ------------------------------------------------------------------ kill matrix (serial)


def snapshot(run_dir):
    """Everything a run decided, as stored: results, rung rows, generations."""
    with RunStore.open(run_dir) as store:
        finals = {
            r.key: (g, r.status, r.objectives, r.donor_key, r.epochs, r.reused_from)
            for g, _, r in store.results()
        }
        rungs = {(r.key, r.rung): (g, r.objectives, r.donor_key) for g, _, r in store.rungs()}
        gens = [(g.generation, g.population, g.counters) for g in store.generations()]
    return finals, rungs, gens


class KillAfterCommits:
    """Injected fault: the driver dies right after its ``n``-th commit (in ``on_done``),
    before the policy or the ladder react to it."""

    def __init__(self, n):
        self.n, self.seen = n, 0

    def on_done(self, result):
        self.seen += 1
        if self.seen == self.n:
            raise KeyboardInterrupt("killed after a commit")

    def on_launch(self, task):
        pass

    def on_generation(self, summary):
        pass

    stop_requested = None


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 5])
def test_a_killed_run_resumed_equals_the_uninterrupted_one_at_every_step(tmp_path, seed):
    """Kills before a task (the evaluator), right after a commit (before the ladder
    promotes), and between a generation's row and its weight pruning; each resumed run
    stores exactly what the uninterrupted one did, key for key, value for value."""
    from tests.conftest import Counting
    from xnas.driver.state import RunState

    c = cfg(*LADDER, f"search.seed={seed}")
    tasks = Counting()
    run_search(c, tmp_path / "full", evaluate_fn=tasks)
    full = snapshot(tmp_path / "full")
    total, commits = len(tasks.calls), len(full[0])  # tasks sent; final results stored
    kills = []
    for k in sorted({2, total // 3, total // 2, (2 * total) // 3, total - 2}):
        kills.append(("before task", k, {"evaluate_fn": Counting(kill_after=k)}))
    for k in sorted({3, commits // 2, commits - 3}):
        kills.append(("after commit", k, {"callbacks": [KillAfterCommits(k)]}))
    for n, (what, k, kwargs) in enumerate(kills):
        run_dir = tmp_path / f"cut{n}"
        with pytest.raises(KeyboardInterrupt):
            run_search(c, run_dir, **kwargs)
        run_search(None, run_dir, resume=True)
        assert snapshot(run_dir) == full, (what, k)
    # killed between generation 1's row and its pruning of weight files
    real = RunState.prune_weights
    calls = []

    def dies(self, keep, generation=None):
        calls.append(generation)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed before pruning")
        return real(self, keep, generation)

    RunState.prune_weights = dies
    try:
        with pytest.raises(KeyboardInterrupt):
            run_search(c, tmp_path / "prune")
    finally:
        RunState.prune_weights = real
    run_search(None, tmp_path / "prune", resume=True)
    assert snapshot(tmp_path / "prune") == full

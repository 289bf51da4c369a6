"""Callbacks as objects: notified on the driver, and able to stop a run (which says why,
stays resumable, and is continued by ``xnas resume``)."""

from __future__ import annotations

import pytest

from tests.conftest import cfg, stored, xnas_cli
from xnas.driver import Callback, run_search
from xnas.report import open_run


class StopAfter(Callback):
    """Stops the run once ``n`` generations are committed."""

    def __init__(self, n: int) -> None:
        self.n, self.seen = n, []

    def on_generation(self, summary) -> None:
        self.seen.append(summary.generation)
        if len(self.seen) == self.n:
            self.stop(f"enough after {self.n} generations")


@pytest.mark.slow
def test_a_callback_stops_the_run_at_a_generation_boundary_and_says_why(tmp_path):
    callback = StopAfter(1)
    outcome = run_search(cfg("search.generations=3"), tmp_path / "r", callbacks=[callback])
    assert callback.seen == [0]  # stopped before asking generation 1
    assert outcome.stopped_by == "enough after 1 generations"
    assert {g for g, _, _ in stored(tmp_path / "r")} == {0}
    view = open_run(tmp_path / "r")
    assert (
        view.stopped_by == outcome.stopped_by and view.status()["stopped_by"] == outcome.stopped_by
    )
    done = xnas_cli("status", str(tmp_path / "r"))
    assert "stopped      enough after 1 generations" in done.stdout
    # the run stays resumable: resume finishes the budget and says why it stopped then
    resumed = xnas_cli("resume", str(tmp_path / "r"))
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip().splitlines()[-1] == "stopped      search.generations (3) done"
    assert {g for g, _, _ in stored(tmp_path / "r")} == {0, 1, 2}


@pytest.mark.slow
def test_criteria_say_which_one_stopped_the_run(tmp_path):
    outcome = run_search(cfg("search.generations=5", "search.max_evaluations=6"), tmp_path / "r")
    assert outcome.stopped_by == "search.max_evaluations (6) spent"
    assert outcome.evaluations == len(stored(tmp_path / "r")) and outcome.failed == 0


def test_callbacks_default_to_doing_nothing():
    c = Callback()
    c.on_launch(None)
    c.on_done(None)
    c.on_generation(None)
    assert c.stop_requested is None
    c.stop()
    assert c.stop_requested == "stopped by a callback"


@pytest.mark.slow
def test_a_search_whose_every_evaluation_failed_never_exits_0(tmp_path):
    """A diverging learning rate is a legitimate config: the run ends by saying that all
    its evaluations failed, and the first reason, with a non-zero exit."""
    from tests.conftest import BASE

    (tmp_path / "c.yaml").write_text("{}\n")
    sets = [*BASE, "search.generations=1", "train.lr=1e30", "train.grad_clip=null"]
    sets += ["train.weight_decay=0", "train.momentum=0", "train.epochs=2"]
    done = xnas_cli(
        "search",
        str(tmp_path / "c.yaml"),
        "--run-dir",
        str(tmp_path / "r"),
        *[a for s in sets for a in ("--set", s)],
    )
    assert done.returncode == 1, done.stderr
    err = done.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("xnas: error: all 4 evaluations failed")
    assert "Diverged" in err[0]


@pytest.mark.slow
def test_a_search_stopped_by_its_wall_time_says_so_on_its_last_line(tmp_path):
    from tests.conftest import BASE

    (tmp_path / "c.yaml").write_text("{}\n")
    sets = [*BASE, "search.generations=50", "search.max_wall_time=1"]
    done = xnas_cli(
        "search",
        str(tmp_path / "c.yaml"),
        "--run-dir",
        str(tmp_path / "r"),
        *[a for s in sets for a in ("--set", s)],
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last == "stopped      search.max_wall_time (1 s) spent"

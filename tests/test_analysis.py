"""Smoke tests: each analysis script builds its table or figure from real tiny runs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO, cfg

ANALYSIS = REPO / "analysis"


def script(name: str, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, str(ANALYSIS / name), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    from xnas.driver import run_search

    base = tmp_path_factory.mktemp("study")
    so = cfg("objectives=[error, {name: introspection, optimize: false}]", "search.generations=2")
    mo = cfg("objectives=[error, introspection]", "search.generations=2")
    run_search(so, base / "so")
    run_search(mo, base / "mo")
    return str(base / "so"), str(base / "mo")


@pytest.mark.slow
def test_t1_single_vs_multi_objective(pair):
    text = script("t1_single_vs_multi.py", "--pair", "lines", *pair, "--format", "csv")
    lines = text.strip().splitlines()
    assert lines[0].startswith("task,search,seeds,evaluations") and len(lines) == 3
    rows = [line.split(",") for line in lines[1:]]
    assert [r[1] for r in rows] == ["single-objective", "multi-objective"]
    assert all(r[2] == "1" and 0 <= float(r[4]) <= 1 and float(r[8]) >= 0 for r in rows)
    # the best error against the store read directly
    from xnas.store import RunStore

    for run_dir, row in zip(pair, rows, strict=True):
        with RunStore.open(run_dir) as store:
            errors = [r.objectives["error"] for *_, r in store.results() if r.status == "ok"]
        assert float(row[4]) == pytest.approx(min(errors), abs=1e-4)


@pytest.mark.slow
def test_t1_aggregates_seeds_as_mean_and_sd(pair):
    sys.path.insert(0, str(ANALYSIS))
    from t1_single_vs_multi import VALUES, t1

    headers, rows = t1([("lines", *pair), ("lines", pair[1], pair[0])])
    assert [r[:3] for r in rows] == [
        ["lines", "single-objective", 2],
        ["lines", "multi-objective", 2],
    ]
    _, per_seed = t1([("lines", *pair), ("lines", pair[1], pair[0])], per_seed=True)
    hv = [r[-1] for r in per_seed[:2]]  # the two single-objective "seeds": so then mo
    mean, sd = (float(x) for x in rows[0][-1].split(" ± "))
    assert mean == pytest.approx(sum(hv) / 2, abs=1e-4)
    assert sd == pytest.approx(abs(hv[0] - hv[1]) / 2**0.5, abs=1e-4)  # sample sd of two
    assert headers[-len(VALUES) :] == VALUES


@pytest.mark.slow
def test_t2_pareto_set(pair):
    text = script("t2_pareto_set.py", pair[1])
    assert "| key | error | introspection" in text and "epoch-equivalents" in text


@pytest.mark.slow
def test_t3_references_under_one_budget():
    text = script(
        "t3_references.py",
        "--config",
        "experiments/demo/config.yaml",
        "--set=train.epochs=1",
        "--set=data.train_size=120",
        "--set=data.val_size=60",
        "--set=space.channels=4",
        "--set=measure.latency_repeats=3",
        "--set=measure.energy_repeats=3",
        "--format",
        "csv",
    )
    lines = text.strip().splitlines()
    assert lines[0].startswith("lines, 1 epochs")
    assert "energy (mJ, modelled)" in lines[1]
    names = [line.split(",")[0] for line in lines[2:]]
    assert names == [
        "nsganet",
        "nb201-best-cifar10",
        "nb201-resnet",
        "nb201-all-conv3x3",
        "nb201-all-skip",
    ]


@pytest.mark.slow
def test_f1_fronts_figure(pair, tmp_path):
    out = tmp_path / "fronts.pdf"
    script("f1_fronts.py", "--pair", "lines", *pair, "-o", str(out))
    assert out.stat().st_size > 5_000


def test_t1_paired_cuts_each_arm_to_the_common_trained_budget():
    """Equal trained budgets: reuses are free (kept, not counted), partials never count,
    and an arm stops at its N-th training."""
    sys.path.insert(0, str(ANALYSIS))
    from t1_paired import cut, trained

    from xnas.results import EvalResult

    def r(key, status="ok", reused_from=None):
        return EvalResult(
            key=key,
            genome=(0,),
            status=status,
            objectives={},
            measurements={},
            reused_from=reused_from,
        )

    rows = [r("a"), r("b", reused_from="a"), r("c", status="partial"), r("d"), r("e"), r("f")]
    assert [x.key for x in rows if trained(x)] == ["a", "d", "e", "f"]
    assert [x.key for x in cut(rows, 2)] == ["a", "b", "c", "d"]
    assert [x.key for x in cut(rows, 9)] == [x.key for x in rows]  # fewer: all of them


@pytest.mark.slow
def test_t1_paired_reports_three_arms_with_paired_tests(tmp_path):
    from xnas.driver import run_search

    study = tmp_path / "paired-lines"
    for seed in (0, 1):
        for arm, strategy, objectives in (
            ("so", "nsga2", "[error, {name: introspection, optimize: false}]"),
            ("mo", "nsga2", "[error, introspection]"),
            ("random", "random", "[error, introspection]"),
        ):
            run_search(
                cfg(
                    f"objectives={objectives}", f"search.strategy={strategy}", f"search.seed={seed}"
                ),
                study / f"{arm}-seed{seed}",
            )
    out = script("t1_paired.py", str(study))
    assert "| lines | random search | 2 |" in out
    assert "| lines | best introspection | mo − so | 2 |" in out
    assert "rank p, Holm" in out and "unpaired" in out
    assert "## Budgets per seed" in out
    assert "Not retrained yet" in out
    # the held-out split: every run's cut front retrained, the same tables on test values
    held = script("t1_paired.py", "--retrain", str(study))
    section = held[held.index("## On the held-out test split") : held.index("## Budgets")]
    assert "| lines | random search | 2 |" in section
    assert "| lines | best introspection | mo − so | 2 |" in section
    from xnas.store import RunStore

    for run in study.iterdir():
        with RunStore.open(run) as store:
            finals = store.finals()
        assert finals and all(r.measurements["error"]["method"] == "test" for r in finals.values())


def test_proxy_fidelity_never_chooses_the_reference_repeat(tmp_path):
    """Item 7: the reference trained again with other seeds measures the reference's own
    repeatability; it is reported (tau vs the reference) but is no candidate recipe, even
    where it ranks best."""
    import json

    sys.path.insert(0, str(ANALYSIS))
    from proxy_fidelity import REFERENCE, REFERENCE_REPEAT, split_half, summarize

    rng = np.random.default_rng(0)
    ref = rng.random(20)
    rows = []
    for recipe, errors in (
        (REFERENCE[0], ref),
        (REFERENCE_REPEAT[0], ref + 0.01 * rng.random(20)),  # near-perfect agreement
        ("cheap", ref + rng.random(20)),
    ):
        rows += [
            {"recipe": recipe, "key": f"k{i}", "error": float(e), "seconds": 1.0, "overrides": []}
            for i, e in enumerate(errors)
        ]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert split_half(path, splits=50)["chosen"] == {"cheap": 50}
    taus = {s["recipe"]: s["tau"] for s in summarize(rows, boot=50)}
    assert taus[REFERENCE_REPEAT[0]] > 0.9 > taus["cheap"]

"""Every table of results/ from the run stores committed there (and the figure F1).

    python analysis/results_tables.py [--results results] [--check]

Finds the studies ``results/run_studies.sh`` ran:
``results/xnas-<task>/{so,mo}-seed<N>/xnas.sqlite`` (the XNAS pair) and
``results/four-<task>/four-seed<N>/xnas.sqlite`` (the four-objective setting), plus the
proxy-fidelity lines ``results/proxy-fidelity/<data>.jsonl``, and writes

- ``T1.md``: single- vs multi-objective per task, mean +- sd over seeds, then every run;
- ``T1-protocol.md``: the protocol's re-run (``results/paired-<task>/{so,mo,random}-seed<N>``):
  three arms at equal trained budgets over paired seeds, paired tests (``t1_paired``);
- ``T2.md``: the four-objective runs: front size, hypervolume, best value per objective per
  seed, Spearman's rho between the objectives over each run's fully trained networks, and
  the Pareto set of seed 0;
- ``costs.md``: what every study cost (evaluations, epochs, CPU hours, wall time) and where
  it ran (host, device, threads, package versions, all read from the stores);
- ``proxy-fidelity.md``: Kendall's tau of each cheap recipe against the long one;
- ``<study>/<run>/config.yaml``: the config exactly as stored in the run;
- ``F1.png``: the fronts (not compared by ``--check``: image bytes vary across matplotlib).

``--check`` writes nothing: it regenerates every text file and exits 1 naming each one
that differs from what is committed (``tests/test_results.py`` runs it). A store that
cannot be read (damaged, foreign) is one line on stderr and exit 2, in both modes: "the
tables differ" and "the input is bad" never share a code.
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from f1_fronts import draw  # noqa: E402
from proxy_fidelity import report_rows, split_half  # noqa: E402
from t1_paired import text as t1_protocol_text  # noqa: E402
from t1_single_vs_multi import paired, t1  # noqa: E402

from xnas.config import to_dict  # noqa: E402
from xnas.errors import XnasError  # noqa: E402
from xnas.objectives import OBJECTIVES  # noqa: E402
from xnas.objectives.complexity import count_complexity  # noqa: E402
from xnas.report import open_run as _open_run  # noqa: E402
from xnas.report.tables import cost_table, pareto_table, render  # noqa: E402

# each store is read once per regeneration, however many tables use it
open_run = functools.lru_cache(maxsize=None)(_open_run)

RUN = re.compile(r"(so|mo|random|four)-seed(\d+)$")


def runs(results: Path) -> dict[str, dict[str, list[Path]]]:
    """study -> variant -> run directories in seed order."""
    found: dict[str, dict[str, list[tuple[int, Path]]]] = defaultdict(lambda: defaultdict(list))
    for store in sorted(results.glob("*/*/xnas.sqlite")):
        m = RUN.match(store.parent.name)
        if m:
            found[store.parent.parent.name][m.group(1)].append((int(m.group(2)), store.parent))
    return {
        study: {v: [p for _, p in sorted(items)] for v, items in variants.items()}
        for study, variants in sorted(found.items(), key=lambda kv: _order(kv[0]))
    }


TASKS = ("lines", "digits", "mnist", "cifar10")  # the study's order: easiest first


def _order(study: str) -> tuple:
    kind, _, task = study.partition("-")
    return (kind != "xnas", TASKS.index(task) if task in TASKS else len(TASKS), study)


def finished(run_dir: Path) -> bool:
    """Every configured generation committed (a run still going, or cut off at the end of a
    session and committed so the next one resumes it, is listed in costs.md only)."""
    status = open_run(run_dir).status()
    return status["generations_done"] >= status["generations"]


def _pairs(studies, results: Path) -> list[tuple[str, str, str]]:
    """(task, so run, mo run) per seed whose two runs are both finished."""
    pairs = []
    for study, variants in studies.items():
        if study.startswith("xnas-"):
            for so, mo in zip(variants.get("so", []), variants.get("mo", []), strict=False):
                if finished(so) and finished(mo):
                    rel = (str(d.relative_to(results)) for d in (so, mo))
                    pairs.append((task_label(study.removeprefix("xnas-"), so), *rel))
    return pairs


def task_label(task: str, run_dir: Path) -> str:
    """The task as tables and F1 name it: "cifar10 (JPEG)" when the run's error was measured
    on the lossy JPEG re-encoding (its stored dataset description says so), so no number is
    mistaken for an official CIFAR-10 one."""
    for result in open_run(run_dir).results:
        dataset = result.measurements.get("error", {}).get("dataset", "")
        if dataset:
            return f"{task} (JPEG)" if "JPEG" in dataset else task
    return task


def t1_text(studies, results: Path) -> str:
    pairs = _pairs(studies, results)
    if not pairs:
        return ""
    # the runs are named relative to results/ in the table; opened from there
    pairs_at = [(t, str(results / so), str(results / mo)) for t, so, mo in pairs]
    head = (
        "# T1: XNAS single- vs multi-objective search\n\n"
        "Per task and search: the best-error and the best-introspection architecture of each\n"
        "run (error and introspectability, both measured on the validation split), the best\n"
        "introspectability within one point of error of the run's best error, and the\n"
        "hypervolume of the run's (error, introspection) points at reference (1, 0);\n"
        "mean ± sample sd over seeds.\n\n"
    )
    headers, rows = t1(pairs_at, per_seed=True)
    per_seed = render(headers, [[*r[:2], _relative(r[2], results), *r[3:]] for r in rows])
    tests = (
        "\n## Paired differences\n\n"
        "The two searches of a seed share their random generation 0, so each seed is a pair:\n"
        "the difference per seed, a paired t-test, and the count of seeds each way. With three\n"
        "pairs no sign test can reach p < 0.25; these runs cannot establish a difference.\n\n"
        + render(*paired(pairs_at))
    )
    return head + render(*t1(pairs_at)) + tests + "\n## Every run\n\n" + per_seed


def _relative(path: str, results: Path) -> str:
    return str(Path(path).relative_to(results))


def _config_cell(view) -> str:
    c = view.cfg
    return (
        f"{c.space.name} C{c.space.channels}, pop {c.search.population} x "
        f"{c.search.generations} gen, {c.train.epochs} ep"
    )


def costs_text(studies) -> str:
    headers, rows = None, []
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    software = set()
    for study, variants in studies.items():
        for dirs in variants.values():
            for d in dirs:
                view = open_run(d)
                cost_headers, (cost,) = cost_table(view)
                cost_of = dict(zip(cost_headers, cost, strict=True))
                threads = view.cfg.parallel.threads_per_rank
                status = view.status()
                headers = ["study", "run", "setting", "generations", *cost_headers]
                headers += ["hosts", "devices", "threads per rank"]
                rows.append(
                    [
                        study,
                        d.name,
                        _config_cell(view),
                        f"{status['generations_done']}/{status['generations']}"
                        + ("" if finished(d) else " (unfinished: not in T1/T2)"),
                        *cost,
                        ", ".join(sorted({r.host for r in view.results if r.host})),
                        ", ".join(sorted({r.device for r in view.results if r.device})),
                        threads if threads is not None else "1",
                    ]
                )
                totals[study][0] += cost_of["wall hours"] or 0.0
                totals[study][1] += cost_of["CPU hours"]
                totals[study][2] += 1
                software.add(view.versions)
    lines = [
        "# Search costs\n",
        "Measured from the stores: CPU hours sum every evaluation's own time; wall hours run",
        "from the first evaluation's start to the last one's end. The runs of a study ran one",
        "after another, so a study's wall time is the sum of its runs'.\n",
        render(headers, rows),
        "\n## Per study\n",
        render(
            ["study", "runs", "wall hours (sum)", "CPU hours (sum)"],
            [[s, int(n), round(w, 3), round(c, 3)] for s, (w, c, n) in totals.items()],
        ),
        "\n## Software (package versions recorded in the stores)\n",
    ]
    for versions in sorted(software):
        lines.append("- " + ", ".join(f"{k} {v}" for k, v in versions))
    return "\n".join(lines) + "\n"


def common_hypervolumes(views) -> list[float]:
    """Each run's hypervolume in one box shared by a study's runs, so seeds compare: every
    objective scaled to [0, 1] between the best value any run reached (ideal) and the worst
    of the runs' own fixed reference points (pymoo's HV normalisation)."""
    from pymoo.indicators.hv import HV

    from xnas.summary import feasible_front

    fronts, rows = [], []
    for v in views:
        _, F, idx = feasible_front(v.rows, list(v.names), list(v.constraints))
        fronts.append(F[idx])
        rows.append(F)
    ideal = np.vstack(rows).min(axis=0)
    ref = np.max([v.reference for v in views], axis=0)
    hv = HV(ref_point=ref, ideal=ideal, nadir=ref, zero_to_one=True)
    return [float(hv(F)) for F in fronts]


def rho_table(dirs, samples: list[list[dict]], names) -> str:
    """Spearman's rho (scipy) between each pair of objectives, one row per run over that
    run's sample of objective dicts."""
    from itertools import combinations

    from scipy.stats import spearmanr

    pairs = list(combinations(names, 2))
    rows = []
    for d, sample in zip(dirs, samples, strict=True):
        cells = []
        for a, b in pairs:
            x = [o[a] for o in sample if a in o and b in o]
            y = [o[b] for o in sample if a in o and b in o]
            rho = spearmanr(x, y).statistic if len(x) > 2 else float("nan")
            cells.append(round(float(rho), 2))
        rows.append([d.name, len(sample), *cells])
    return render(["run", "networks", *(f"{a} vs {b}" for a, b in pairs)], rows)


def correlation_text(dirs, views, names) -> str:
    """The same rho over a run's fully trained networks: descriptive only (the search
    selected them). Networks halted at a lower rung are left out."""
    samples = [[r.objectives for r in v.results if r.status == "ok"] for v in views]
    return (
        "\nThe same over each run's fully trained networks (status ok). These were selected\n"
        "by the search (promoted, inherited), and selection induces correlation between\n"
        "objectives: descriptive only, not evidence of a trade-off.\n\n"
        + rho_table(dirs, samples, names)
    )


def random_sample_values(v) -> list[dict[str, float]]:
    """Each run's random first generation (generation 0), every network at its first rung
    (or at the full budget when the run has no rungs): a sample the search did not select,
    all measured at one fidelity."""
    first: dict[str, dict[str, float]] = {}
    for gen, _, r in (*v.rungs, *v.rows):
        if gen != 0 or r.key in first or not r.objectives or r.reused_from:
            continue  # a class member's copy is not a network of its own
        if r.rung in (None, 0) and r.status in ("ok", "partial", "stopped"):
            first[r.key] = r.objectives
    return list(first.values())


def random_correlation_text(dirs, views, names) -> str:
    """Spearman's rho over the random first generation: the claim a correlation may make.
    Over the networks a search kept (fronts, promoted networks) selection itself induces
    correlations between objectives, so those are not shown as evidence."""
    samples = [random_sample_values(v) for v in views]
    return (
        "\nSpearman's rho between objectives over each run's random first generation "
        "(generation 0, every network at rung 0: a sample the search did not select):\n\n"
        + rho_table(dirs, samples, names)
    )


def t2_text(studies) -> str:
    four = {s: v["four"] for s, v in studies.items() if "four" in v}
    if not four:
        return ""
    parts = [
        "# T2: the four-objective setting (micro space, both cost savers)\n",
        "Per run: its front's size, the best value of each objective on it, and its\n"
        "hypervolume in a box shared by the study's runs (each objective scaled to 0..1 between\n"
        "the best value any run reached and the worst of the runs' reference points), so the\n"
        "seeds compare; mean ± sample sd over seeds.\n",
    ]
    for study, dirs in four.items():
        dirs = [d for d in dirs if finished(d)]
        if not dirs:
            continue
        views = [open_run(d) for d in dirs]
        names = list(views[0].names)
        hv = common_hypervolumes(views)
        headers = ["run", "front size", "hypervolume (shared box, 0..1)"]
        headers += [f"best {n}" for n in names]
        rows = []
        for d, v, h in zip(dirs, views, hv, strict=True):
            best = [
                (max if OBJECTIVES.get(n).sense == "max" else min)(r.objectives[n] for r in v.front)
                for n in names
            ]
            rows.append([d.name, len(v.front_keys), round(h, 4), *best])
        parts.append(f"## {study}\n\n" + render(headers, rows))
        parts.append(
            f"\nHypervolume over {len(hv)} seed(s): {np.mean(hv):.3f}"
            + (f" ± {np.std(hv, ddof=1):.3f}" if len(hv) > 1 else "")
            + "\n"
        )
        parts.append(random_correlation_text(dirs, views, names))
        parts.append(correlation_text(dirs, views, names))
        headers, rows = pareto_table(views[0], count_complexity)
        keep = [i for i, h in enumerate(headers) if h != "donor"]  # the keys are long enough
        parts.append(
            f"\n### Pareto set of {dirs[0].name}\n\n"
            + render([headers[i] for i in keep], [[r[i] for i in keep] for r in rows])
        )
    return "\n".join(parts)


def _repeatability(jsonl: Path) -> str:
    """The reference's own seed-to-seed tau, where its repeat is stored."""
    import json

    from proxy_fidelity import REFERENCE_REPEAT, summarize

    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    got = [s for s in summarize(rows) if s["recipe"] == REFERENCE_REPEAT[0]]
    if not got:
        return (
            "The reference's own seed-to-seed tau is not measured yet (a second reference "
            "training of every cell), so what any recipe could reach is unknown."
        )
    s = got[0]
    return (
        f"The reference trained again with other seeds (`{REFERENCE_REPEAT[0]}`) ranks the "
        f"{s['cells']} cells at tau {s['tau']:.3f} (90% {s['tau_lo']:.2f}..{s['tau_hi']:.2f}) "
        "against itself: that repeatability bounds what any recipe can reach against it"
        + (
            ", and the protocol's tau >= 0.5 asks more of a cheap recipe than the reference "
            "itself reaches."
            if s["tau"] < 0.5
            else "."
        )
    )


def proxy_text(results: Path) -> str:
    files = sorted((results / "proxy-fidelity").glob("*.jsonl"))
    if not files:
        return ""
    parts = [
        "# Proxy fidelity: does the search's cheap training rank like a longer one?\n",
        "Kendall's tau-b (scipy) between each recipe's validation errors and the long\n"
        "reference recipe's, over the same random NB201 cells; 90% bootstrap interval over\n"
        "cells; seconds per evaluation measured with one thread while another process\n"
        "shared the 2-core machine.\n",
    ]
    for f in files:
        try:
            parts.append(f"## {f.stem}\n\n" + render(*report_rows(f)))
            h = split_half(f)
            chosen = ", ".join(f"{k} {v / h['splits']:.0%}" for k, v in h["chosen"].items())
            parts.append(
                f"Chosen on one half of the {h['cells']} cells and reported on the other "
                f"({h['splits']} seeded random halvings): the chosen recipe's tau vs the "
                f"reference on the held-out half is {h['held_out_tau_mean']:.3f} "
                f"(90% of halvings: {h['held_out_tau_lo']:.2f}..{h['held_out_tau_hi']:.2f}); "
                f"chosen: {chosen}. {_repeatability(f)} Against NAS-Bench-201's 200-epoch "
                "errors (cross-dataset) see `benchmarks/results_bench_proxies.jsonl` "
                "(`proxies-vs-recipes`).\n"
            )
        except LookupError as exc:  # still running: no reference training stored yet
            parts.append(f"## {f.stem}\n\n({exc})\n")
    return "\n".join(parts)


def build(results: Path) -> dict[Path, str]:
    """Every text file this script owns, path -> content."""
    studies = runs(results)
    out = {}
    for name, text in (
        ("T1.md", t1_text(studies, results)),
        (
            "T1-protocol.md",
            t1_protocol_text(
                [
                    (results / s, s.removeprefix("paired-"))
                    for s in studies
                    if s.startswith("paired-")
                ]
            ),
        ),
        ("T2.md", t2_text(studies)),
        ("costs.md", costs_text(studies) if studies else ""),
        ("proxy-fidelity.md", proxy_text(results)),
    ):
        if text:
            out[results / name] = text
    for variants in studies.values():
        for dirs in variants.values():
            for d in dirs:
                cfg = to_dict(open_run(d).cfg)
                out[d / "config.yaml"] = yaml.safe_dump(cfg, sort_keys=False)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", default="results")
    p.add_argument("--check", action="store_true", help="compare, write nothing")
    args = p.parse_args(argv)
    results = Path(args.results)
    try:
        files = build(results)
    except XnasError as exc:  # a damaged store: its one line, not a traceback
        print(f"results_tables: error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        stale = [
            str(path)
            for path, text in files.items()
            if not path.is_file() or path.read_text() != text
        ]
        for path in stale:
            print(f"differs from a regeneration: {path}")
        return 1 if stale else 0
    for path, text in files.items():
        path.write_text(text)
        print(f"wrote {path}")
    pairs = [
        (t, str(results / so), str(results / mo)) for t, so, mo in _pairs(runs(results), results)
    ]
    if pairs:
        print(f"wrote {draw(pairs, str(results / 'F1.png'))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

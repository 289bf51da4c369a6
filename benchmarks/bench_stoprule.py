"""Replay recorded learning curves through the stop rule (``python benchmarks/bench_stoprule.py``).

Curves: ``tests/fixtures/learning_curves.json`` (``benchmarks/collect_curves.py``: the
xnas trainer on digits, lines and MNIST subsets, NB201 and micro cells, three learning
rates, 12- and 20-epoch budgets). Every number is *out of sample*: the band is
calibrated on every dataset but the one being replayed (leave one dataset out), so a
dataset's curves never calibrate their own band.

Per held-out setting and overall, one JSON line with
- ``band_coverage``: share of (curve, epoch k >= min_epochs) whose final accuracy lies
  inside the band predicted at k (goal >= 0.95);
- ``false_stop_rate``: share of stopped candidates that were non-dominated, by their
  true final error and params, against the same front the rule saw (goal <= 0.02);
  a "search" is one setting, budget and learning rate, and each candidate's front is the
  non-dominated set of the other architectures' true (error, params);
- ``epochs_saved``: share of the training epochs the stops saved.
``--write-calibration`` writes the shipped calibration (all curves) into the package.
``--stores DIR ...`` adds the curves the given studies' runs recorded (every from-scratch
training at the run's full budget: the 3-4-epoch budgets the studies use), each run one
"search", its dataset the group held out; params are counted from the rebuilt network.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from xnas.evaluate.calibration import DEFAULT_FILE, HeadroomBand  # noqa: E402
from xnas.evaluate.stoprule import StopRule, check  # noqa: E402

CURVES = REPO / "tests" / "fixtures" / "learning_curves.json"


def load(path: Path = CURVES) -> list[dict]:
    return json.loads(path.read_text())["curves"]


def curves_from_stores(dirs: list[str]) -> list[dict]:
    """The learning curves stored in the runs under ``dirs`` (``*/xnas.sqlite``): ok,
    trained from scratch (no donor, no reuse), to the run's full budget. A study's arms of
    one seed share their first generation and a training's seed follows from (seed, key),
    so the same training appears in several runs: it is counted once per study."""
    from xnas.data import cached_dataset
    from xnas.report import open_run
    from xnas.space import get_space

    out = []
    for d in dirs:
        seen: set[tuple] = set()
        for store in sorted(Path(d).glob("*/xnas.sqlite")):
            view = open_run(store.parent)
            cfg = view.cfg
            T = cfg.train.epochs
            bundle = cached_dataset(cfg.data)
            space = get_space(cfg.space)
            params: dict[str, int] = {}
            for r in view.results:
                if r.status != "ok" or r.reused_from or r.donor_key or len(r.curve) != T:
                    continue
                if (r.key, r.curve) in seen:  # the same training in another arm
                    continue
                seen.add((r.key, r.curve))
                if r.key not in params:
                    net = space.build(r.genome, bundle.input_shape, bundle.num_classes)
                    params[r.key] = sum(p.numel() for p in net.parameters())
                out.append(
                    {
                        "setting": f"{Path(d).name}/{store.parent.name}",
                        "dataset": cfg.data.name,
                        "classes": bundle.num_classes,
                        "space": cfg.space.name,
                        "arch": r.key,
                        "lr": cfg.train.lr,
                        "batch_size": cfg.train.batch_size,
                        "warmup_epochs": cfg.train.warmup_epochs,
                        "epochs": T,
                        "params": params[r.key],
                        "curve": list(r.curve),
                        "val_samples": len(bundle.val),
                    }
                )
    return out


def group_of(c: dict) -> str:
    """Held out together: every setting of one dataset (its subsets, budgets and rates)."""
    return c["dataset"]


def search_of(c: dict) -> tuple:
    """One simulated search: one setting, budget and learning rate, all architectures."""
    return (c["setting"], c["epochs"], c["lr"])


def front_of(points: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    F = np.asarray(points, dtype=float)
    return tuple(tuple(F[i]) for i in NonDominatedSorting().do(F, only_non_dominated_front=True))


def non_dominated(point: tuple[float, float], front) -> bool:
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    F = np.asarray([*front, point], dtype=float)
    return len(F) - 1 in NonDominatedSorting().do(F, only_non_dominated_front=True)


BINS = ((0.0, 0.4), (0.4, 0.7), (0.7, 1.0))  # training progress k / T of a check


def replay(curves: list[dict], band: HeadroomBand, min_epochs: int, quantile: float) -> dict:
    inside = total = 0
    bins = {b: [0, 0] for b in BINS}  # progress bin -> [inside, checks]
    for c in curves:
        y, T = c["curve"], c["epochs"]
        for k in range(min_epochs, T):
            p = band.predict(y[:k], T, quantile)
            hit = p.lower - 1e-12 <= y[-1] <= p.upper + 1e-12
            inside += hit
            total += 1
            b = next(b for b in BINS if b[0] <= k / T < b[1])
            bins[b][0] += hit
            bins[b][1] += 1
    searches: dict[tuple, list[dict]] = defaultdict(list)
    for c in curves:
        searches[search_of(c)].append(c)
    stopped = false = saved = budget = 0
    for members in searches.values():
        for i, c in enumerate(members):
            others = [(1 - o["curve"][-1], o["params"]) for j, o in enumerate(members) if j != i]
            front = front_of(others)
            rule = StopRule(("error", "params"), front, min_epochs, quantile)
            y, T = c["curve"], c["epochs"]
            budget += T
            for k in range(1, T):
                stop, _ = check(
                    rule,
                    tuple(y[:k]),
                    T,
                    {"params": c["params"]},
                    chance=1 / c["classes"],
                    band=band,
                    val_samples=c["val_samples"],
                )
                if stop:
                    stopped += 1
                    saved += T - k
                    false += non_dominated((1 - y[-1], c["params"]), front)
                    break
    return {
        "curves": len(curves),
        "band_coverage": round(inside / max(1, total), 4),
        "checks": total,
        "stopped": stopped,
        "false_stops": false,
        "false_stop_rate": round(false / max(1, stopped), 4),
        "epochs_saved": round(saved / max(1, budget), 4),
        "saved_epochs": saved,
        "budget_epochs": budget,
        "coverage_by_progress": {
            f"{lo:.1f}-{hi:.1f}": [int(i), int(n)] for (lo, hi), (i, n) in bins.items()
        },
    }


def clopper_pearson_upper(k: int, n: int, level: float = 0.95) -> float:
    """The exact (Clopper-Pearson) upper bound of a binomial proportion (scipy)."""
    from scipy.stats import binomtest

    return 1.0 if n == 0 else float(binomtest(k, n).proportion_ci(level, "exact").high)


GRID = [(m, q) for m in (2, 3, 4) for q in (0.9, 0.95, 0.99, 0.995)]


def choose(curves: list[dict], groups: list[str]) -> tuple[int, float, dict]:
    """(min_epochs, quantile) chosen by leave-one-dataset-out over ``groups`` only: the most
    epochs saved among the settings whose false stops' 95% upper bound is <= 5% and whose
    coverage is >= nominal - 0.02; none qualifying, the most conservative setting."""
    scores = {}
    for m, q in GRID:
        stopped = false = saved = budget = inside = checks = 0
        for h in groups:
            held = [c for c in curves if group_of(c) == h]
            fit = [c["curve"] for c in curves if group_of(c) in groups and group_of(c) != h]
            out = replay(held, HeadroomBand.fit(fit, source="inner"), m, q)
            stopped += out["stopped"]
            false += out["false_stops"]
            saved += out["saved_epochs"]
            budget += out["budget_epochs"]
            inside += round(out["band_coverage"] * out["checks"])
            checks += out["checks"]
        # a setting that never checks (min_epochs >= every budget) has no evidence
        ok = checks > 0 and clopper_pearson_upper(false, stopped) <= 0.05
        ok = ok and inside / checks >= q - 0.02
        scores[m, q] = (ok, saved / budget)
    qualifying = [k for k, (ok, _) in scores.items() if ok]
    if not qualifying:
        return 4, 0.995, {"qualifying": 0}
    best = max(qualifying, key=lambda k: (scores[k][1], k[1], k[0]))
    return best[0], best[1], {"qualifying": len(qualifying), "inner_epochs_saved": scores[best][1]}


SHORT = 4  # the studies' budgets: 3 (lines) and 4 (digits) epochs


def _add(tot: dict, bins_tot: dict, out: dict) -> None:
    for k in ("stopped", "false_stops", "saved_epochs", "budget_epochs", "checks"):
        tot[k] += out[k]
    tot["inside"] += round(out["band_coverage"] * out["checks"])
    for b, (i, n) in out["coverage_by_progress"].items():
        bins_tot[b][0] += i
        bins_tot[b][1] += n


def _total(name: str, tot: dict, bins_tot: dict, curves: list[dict]) -> dict:
    return {
        "nested_held_out": name,
        "stopped": tot["stopped"],
        "false_stops": tot["false_stops"],
        "false_stop_upper_95": round(clopper_pearson_upper(tot["false_stops"], tot["stopped"]), 4),
        "epochs_saved": round(tot["saved_epochs"] / max(1, tot["budget_epochs"]), 4),
        "coverage_at_chosen_nominal": round(tot["inside"] / max(1, tot["checks"]), 4),
        "checks": tot["checks"],
        "coverage_by_progress": {
            b: (round(i / n, 4) if n else None) for b, (i, n) in bins_tot.items()
        },
        "goals": {
            "coverage": ">= nominal - 0.02 in every bin",
            "false_stop_upper_95": "<= 0.05",
        },
        "curves": len(curves),
        "budgets": sorted({c["epochs"] for c in curves}),
        "note": "false_stop_upper_95: upper end of the exact two-sided 95% "
        "(Clopper-Pearson) interval",
    }


def nested(curves: list[dict]) -> None:
    """Nested leave-one-dataset-out: the outer held-out dataset never helps choose the
    setting it is scored with, nor calibrates the band it is scored against. Also totalled
    over the curves of the studies' short budgets (<= ``SHORT`` epochs) alone."""
    groups = sorted({group_of(c) for c in curves})
    if len(groups) < 3:
        sys.exit(
            f"bench_stoprule --nested: {len(groups)} dataset(s) ({', '.join(groups)}); "
            "expected at least 3 (one held out, two for the inner leave-one-out)"
        )
    tot: dict = defaultdict(int)
    bins_tot: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    short_tot: dict = defaultdict(int)
    short_bins: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for g in groups:
        inner = [h for h in groups if h != g]
        m, q, why = choose(curves, inner)
        held = [c for c in curves if group_of(c) == g]
        band = HeadroomBand.fit(
            [c["curve"] for c in curves if group_of(c) != g], source=f"all but {g}"
        )
        out = replay(held, band, m, q)
        print(json.dumps({"nested_held_out": g, "min_epochs": m, "quantile": q, **why, **out}))
        _add(tot, bins_tot, out)
        short = [c for c in held if c["epochs"] <= SHORT]
        if short:
            _add(short_tot, short_bins, replay(short, band, m, q))
    print(json.dumps(_total("every dataset (nested leave one out)", tot, bins_tot, curves)))
    short = [c for c in curves if c["epochs"] <= SHORT]
    if short:
        name = f"the studies' budgets only (<= {SHORT} epochs, nested leave one out)"
        print(json.dumps(_total(name, short_tot, short_bins, short)))
        short_budgets(curves)


def short_budgets(curves: list[dict]) -> None:
    """The band at the studies' budgets, where the nested choice (min_epochs >= 2) leaves
    it one or two checks, or none: its coverage at every epoch k >= 1 of the short curves at three
    nominal levels, and what the rule would stop if allowed from epoch 1, each dataset's
    band calibrated on the others' curves (short and long)."""
    for g in sorted({group_of(c) for c in curves if c["epochs"] <= SHORT}):
        held = [c for c in curves if group_of(c) == g and c["epochs"] <= SHORT]
        band = HeadroomBand.fit(
            [c["curve"] for c in curves if group_of(c) != g], source=f"all but {g}"
        )
        for q in (0.9, 0.95, 0.99):
            out = replay(held, band, 1, q)
            bins = {
                b: (round(i / n, 4) if n else None)
                for b, (i, n) in out["coverage_by_progress"].items()
            }
            print(
                json.dumps(
                    {
                        "short_budget_held_out": g,
                        "budgets": sorted({c["epochs"] for c in held}),
                        "min_epochs": 1,
                        "nominal": q,
                        "band_coverage": out["band_coverage"],
                        "checks": out["checks"],
                        "coverage_by_progress": bins,
                        "stopped": out["stopped"],
                        "false_stops": out["false_stops"],
                        "false_stop_upper_95": round(
                            clopper_pearson_upper(out["false_stops"], out["stopped"]), 4
                        ),
                        "epochs_saved": out["epochs_saved"],
                    }
                )
            )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--min-epochs", type=int, default=3)
    ap.add_argument("--quantile", type=float, default=0.99)
    ap.add_argument("--write-calibration", action="store_true")
    ap.add_argument(
        "--nested", action="store_true", help="choose min_epochs and quantile in a nested LODO"
    )
    ap.add_argument(
        "--stores", nargs="+", default=[], help="also the curves of these studies' runs"
    )
    ap.add_argument(
        "--only-stores", action="store_true", help="the stores' curves alone (their budgets)"
    )
    args = ap.parse_args(argv)
    extra = curves_from_stores(args.stores)
    curves = extra if args.only_stores else load() + extra
    if args.nested:
        nested(curves)
        return
    groups = sorted({group_of(c) for c in curves})
    totals = defaultdict(int)
    for g in groups:
        held = [c for c in curves if group_of(c) == g]
        band = HeadroomBand.fit(
            [c["curve"] for c in curves if group_of(c) != g], source=f"all but {g}"
        )
        out = replay(held, band, args.min_epochs, args.quantile)
        print(json.dumps({"held_out": g, **out}))
        inside = round(out["band_coverage"] * out["checks"])
        for k, v in (
            ("inside", inside),
            ("checks", out["checks"]),
            ("stopped", out["stopped"]),
            ("false", out["false_stops"]),
            ("curves", out["curves"]),
        ):
            totals[k] += v
        totals["saved"] += out["epochs_saved"] * sum(c["epochs"] for c in held)
        totals["budget"] += sum(c["epochs"] for c in held)
    summary = {
        "held_out": "every dataset (leave one out)",
        "curves": totals["curves"],
        "min_epochs": args.min_epochs,
        "quantile": args.quantile,
        "band_coverage": round(totals["inside"] / totals["checks"], 4),
        "false_stop_rate": round(totals["false"] / max(1, totals["stopped"]), 4),
        "stopped": totals["stopped"],
        "epochs_saved": round(totals["saved"] / totals["budget"], 4),
        "goals": {"band_coverage": ">= 0.95", "false_stop_rate": "<= 0.02"},
    }
    print(json.dumps(summary))
    if args.write_calibration:
        band = HeadroomBand.fit(
            [c["curve"] for c in curves],
            source=f"{len(curves)} recorded curves, {', '.join(groups)}",
        )
        DEFAULT_FILE.write_text(band.to_json() + "\n")
        print(f"wrote {DEFAULT_FILE}", file=sys.stderr)


if __name__ == "__main__":
    main()

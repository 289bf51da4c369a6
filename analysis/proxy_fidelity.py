"""Proxy fidelity: how well does a search's cheap training rank architectures?

    python analysis/proxy_fidelity.py run --config experiments/xnas-cifar10-mo/config.yaml \
        --cells 30 --out results/proxy-fidelity/cifar10.jsonl [--workers 2]
    python analysis/proxy_fidelity.py report results/proxy-fidelity/cifar10.jsonl [--format md]

``run`` trains a seeded random sample of distinct architectures of the config's space under
each recipe of ``RECIPES`` (overrides of the config's data/train/space settings) and under a
several-times-longer ``reference`` recipe (and once more with other seeds, for the
reference's own repeatability), one JSON line per (cell, recipe), resuming from the lines
already there. ``report`` gives, per recipe, Kendall's tau-b (scipy) between its
validation errors and the reference's over the same cells, a bootstrap 90% interval over
cells, and the measured seconds per evaluation, so a budget can be chosen per unit of cost.
Every recipe is scored on the same validation images (``data.val_size`` is held fixed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

# recipe name -> overrides on the config (the validation set is common to all of them)
RECIPES: dict[str, list[str]] = {
    "e1-n2000": ["train.epochs=1", "data.train_size=2000", "train.warmup_epochs=0"],
    # the same recipe with other training seeds: the short training's own repeatability
    "e1-n2000-seed1": [
        "train.epochs=1",
        "data.train_size=2000",
        "train.warmup_epochs=0",
        "search.seed=1",
    ],
    "e1-n2000-lr0.1": [
        "train.epochs=1",
        "data.train_size=2000",
        "train.warmup_epochs=0",
        "train.lr=0.1",
    ],
    "e3-n2000": ["train.epochs=3", "data.train_size=2000", "train.warmup_epochs=1"],
    # half the cost of e3-n2000 two ways: fewer images, or fewer epochs
    "e3-n1000": ["train.epochs=3", "data.train_size=1000", "train.warmup_epochs=1"],
    "e2-n2000": ["train.epochs=2", "data.train_size=2000", "train.warmup_epochs=1"],
}
# 12x the images of e1-n2000 (6 epochs over 4,000): several times the search's budget
REFERENCE = ("reference", ["train.epochs=6", "data.train_size=4000", "train.warmup_epochs=1"])
# the reference trained again with other seeds: its own seed-to-seed tau bounds the tau any
# recipe can reach against it (not a candidate recipe: never chosen in ``split_half``)
REFERENCE_REPEAT = ("reference-seed1", [*REFERENCE[1], "search.seed=1"])
COMMON = ["data.val_size=1000", "train.save_weights=false"]


def _cells(config: str, n: int, seed: int) -> list[tuple[int, ...]]:
    from xnas.config import load_config
    from xnas.space import get_space

    space = get_space(load_config(config).space)
    rng = np.random.default_rng(seed)
    seen, out = set(), []
    while len(out) < n:
        g = space.sample(rng)
        if space.key(g) not in seen:
            seen.add(space.key(g))
            out.append(tuple(int(v) for v in g))
    return out


def _init() -> None:
    import torch

    torch.set_num_threads(1)


def _train(config: str, recipe: str, overrides: list[str], genome: tuple[int, ...]) -> dict:
    from xnas.config import load_config
    from xnas.driver import make_task
    from xnas.evaluate import evaluate
    from xnas.parallel import call_task
    from xnas.space import get_space

    cfg = load_config(config, [*COMMON, *overrides])
    space = get_space(cfg.space)
    result = call_task(evaluate, make_task(cfg, space, genome, objectives=("error",)))
    if result.status != "ok":
        raise RuntimeError(f"{recipe} {space.key(genome)}: {result.error}")
    return {
        "recipe": recipe,
        "overrides": overrides,
        "key": space.key(genome),
        "genome": list(genome),
        "error": result.objectives["error"],
        "epochs": result.epochs,
        "train_images": cfg.data.train_size,
        "seconds": result.timings["total"],
        "train_seconds": result.timings.get("train", 0.0),
        "device": result.device,
        "host": result.host,
        "dataset": result.measurements["error"].get("dataset"),
        "val_samples": result.measurements["error"].get("samples"),
    }


def run(args: argparse.Namespace) -> None:
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if out.exists():
        for line in out.read_text().splitlines():
            row = json.loads(line)
            done.add((row["recipe"], row["key"]))
    from xnas.config import load_config
    from xnas.space import get_space

    space = get_space(load_config(args.config).space)
    cells = _cells(args.config, args.cells, args.seed)
    # cheap recipes first, so a cut-short run still has them; the reference last
    cheap = [(n, RECIPES[n]) for n in args.recipes] if args.recipes else list(RECIPES.items())
    recipes = [*cheap, REFERENCE, REFERENCE_REPEAT]
    jobs = [(name, ov, g) for name, ov in recipes for g in cells]
    jobs = [j for j in jobs if (j[0], space.key(j[2])) not in done]
    print(f"{len(jobs)} trainings to go ({len(done)} stored)", file=sys.stderr)
    with ProcessPoolExecutor(args.workers, initializer=_init) as pool, out.open("a") as f:
        futures = [pool.submit(_train, args.config, *job) for job in jobs]
        for i, fut in enumerate(as_completed(futures), 1):
            row = fut.result()
            row["config"] = args.config
            f.write(json.dumps(row, sort_keys=True) + "\n")
            f.flush()
            if i % 10 == 0:
                print(f"{i}/{len(jobs)}", file=sys.stderr)


def summarize(rows: list[dict], boot: int = 2000, seed: int = 0) -> list[dict]:
    """Per recipe: tau-b against the reference over common cells, its bootstrap 90%
    interval, and the median seconds per evaluation."""
    from scipy.stats import kendalltau

    by = {}
    for r in rows:
        by.setdefault(r["recipe"], {})[r["key"]] = r
    ref = by.get(REFERENCE[0])
    if not ref:
        raise LookupError("no reference trainings stored yet")
    out = []
    for recipe, cells in sorted(by.items()):
        rng = np.random.default_rng(seed)  # per recipe: its interval ignores the other recipes
        keys = sorted(set(cells) & set(ref))
        if len(keys) < 3:  # no ranking to compare yet
            continue
        a = np.array([cells[k]["error"] for k in keys])
        b = np.array([ref[k]["error"] for k in keys])
        tau = float(kendalltau(a, b).statistic)
        draws = []
        for _ in range(boot):
            i = rng.integers(0, len(keys), len(keys))
            t = kendalltau(a[i], b[i]).statistic
            if np.isfinite(t):
                draws.append(t)
        out.append(
            {
                "recipe": recipe,
                "overrides": " ".join(cells[keys[0]]["overrides"]),
                "cells": len(keys),
                "tau": tau,
                "tau_lo": float(np.quantile(draws, 0.05)),
                "tau_hi": float(np.quantile(draws, 0.95)),
                "median_error": float(np.median(a)),
                "seconds": float(np.median([cells[k]["seconds"] for k in keys])),
            }
        )
    return out


def report_rows(jsonl: str | Path) -> tuple[list[str], list[list]]:
    """(headers, rows) of the proxy-fidelity table of one JSON-lines file."""
    rows = [json.loads(line) for line in Path(jsonl).read_text().splitlines()]
    summary = summarize(rows)
    ref = next(s for s in summary if s["recipe"] == REFERENCE[0])
    headers = [
        "recipe",
        "overrides",
        "cells",
        "Kendall tau vs reference",
        "bootstrap 90%",
        "median error",
        "s per evaluation (1 thread)",
        "cost vs reference",
    ]
    body = [
        [
            s["recipe"],
            s["overrides"],
            s["cells"],
            round(s["tau"], 3),
            f"{s['tau_lo']:.2f}..{s['tau_hi']:.2f}",
            round(s["median_error"], 3),
            round(s["seconds"], 2),
            f"{s['seconds'] / ref['seconds']:.3f}x",
        ]
        for s in sorted(summary, key=lambda s: s["seconds"])
    ]
    return headers, body


def split_half(jsonl: str | Path, splits: int = 1000, seed: int = 0) -> dict:
    """Choose the recipe on one half of the cells, report it on the other: over ``splits``
    seeded random halvings, the chosen recipe's tau vs the reference on the held-out half
    (mean and 90% interval) and how often each recipe was chosen. Choosing and reporting on
    the same cells (the table above) overstates the winner."""
    from scipy.stats import kendalltau

    rows = [json.loads(line) for line in Path(jsonl).read_text().splitlines()]
    by: dict[str, dict] = {}
    for r in rows:
        by.setdefault(r["recipe"], {})[r["key"]] = r["error"]
    ref = by.pop(REFERENCE[0])
    by.pop(REFERENCE_REPEAT[0], None)  # the reference's repeat is no candidate
    keys = sorted(set(ref).intersection(*map(set, by.values())))
    rng = np.random.default_rng(seed)
    held_out, chosen = [], {}
    for _ in range(splits):
        order = rng.permutation(len(keys))
        a, b = (
            [keys[i] for i in order[: len(keys) // 2]],
            [keys[i] for i in order[len(keys) // 2 :]],
        )

        def tau(recipe, cells):
            return float(
                kendalltau([by[recipe][k] for k in cells], [ref[k] for k in cells]).statistic
            )

        # an undefined tau (all errors tied) is never chosen, and is not averaged in
        best = max(sorted(by), key=lambda r: np.nan_to_num(tau(r, a), nan=-2.0))
        chosen[best] = chosen.get(best, 0) + 1
        held_out.append(tau(best, b))
    return {
        "cells": len(keys),
        "splits": splits,
        "held_out_tau_mean": float(np.nanmean(held_out)),
        "held_out_tau_lo": float(np.nanquantile(held_out, 0.05)),
        "held_out_tau_hi": float(np.nanquantile(held_out, 0.95)),
        "undefined": int(np.isnan(held_out).sum()),
        "chosen": dict(sorted(chosen.items(), key=lambda kv: -kv[1])),
    }


def report(args: argparse.Namespace) -> None:
    from xnas.report.tables import render

    print(render(*report_rows(args.jsonl), args.format), end="")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--config", required=True)
    r.add_argument("--cells", type=int, default=30)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    r.add_argument("--out", required=True)
    r.add_argument("--recipes", nargs="+", choices=sorted(RECIPES), help="only these cheap recipes")
    s = sub.add_parser("report")
    s.add_argument("jsonl")
    s.add_argument("--format", choices=("md", "csv", "latex"), default="md")
    args = p.parse_args(argv)
    run(args) if args.cmd == "run" else report(args)


if __name__ == "__main__":
    main()

"""How well do zero-cost proxies rank NAS-Bench-201 cells, and what do they cost?

    python benchmarks/bench_proxies.py sample [--cells 500] [--seed 0]
    python benchmarks/bench_proxies.py table [--workers 2]
    python benchmarks/bench_proxies.py report [--format md]

``sample`` scores a seeded random sample of distinct cells of the shared NB201 table with
every proxy (``xnas.objectives.proxies``), on the published network (C=16, N=5), once per
table column with the head sized to its classes: CIFAR-100 (100 classes, 32x32 inputs)
and ImageNet16-120 (120 classes, 16x16 inputs). The inputs are **CIFAR-10 (JPEG
re-encoded, lossy)** training images (the only natural images here; for ImageNet16-120
resized to 16x16): proxies see inputs only, and labels only through grad_norm/snip's loss
(CIFAR-10's 10 labels under a 100/120-way head). One JSON line per (cell, column) goes to
``benchmarks/results_proxies_cells.jsonl`` (resumed if present), with each proxy's value
and seconds on one thread, the FLOPs (our counter, 2 per MAC) and the table's errors.

``table`` scores the ensemble's members for one cell of *every functional class* of the
space (6,466 classes: NATS-Bench's unique strings), with both heads, and writes
``benchmarks/data/nb201_proxies.csv.gz``: one row per arch (15,625), the class's scores.
Tabular strategy studies read proxies from it (``bench_search.py``, provenance ``proxy``).

``report`` prints one JSON line per (column, proxy): Kendall's tau-b (scipy) of the proxy
(higher = better) against the 200-epoch error over all sampled cells, and within groups
of equal FLOPs (each group's tau weighted by its size; groups of one are left out), the
seconds per cell, beside the parameter-count baseline; then, on the 30 cells of the
proxy-fidelity study (``results/proxy-fidelity/cifar10.jsonl``), the same taus of every
cheap-training recipe and of every proxy on those same cells.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("XNAS_SHARED_DATA", REPO.parent / "shared" / "data"))
TABLE = SHARED / "nb201" / "nb201_200ep.csv"
CELLS = REPO / "benchmarks" / "results_proxies_cells.jsonl"
PROXY_TABLE = REPO / "benchmarks" / "data" / "nb201_proxies.csv.gz"
FIDELITY = REPO / "results" / "proxy-fidelity" / "cifar10.jsonl"
# column -> (classes, input side, table column)
COLUMNS = {"cifar100": (100, 32, "error_cifar100"), "imagenet16": (120, 16, "error_imagenet16")}
PROXIES = ("naswot", "synflow", "jacob_cov", "grad_norm", "snip", "proxy_ensemble")
DATA_LABEL = "CIFAR-10 (JPEG re-encoded, lossy) training images"
BATCH, PROXY_SEED, REFERENCE = 64, 0, 64


def table_rows() -> dict[str, dict[str, float]]:
    with TABLE.open() as fh:
        return {
            r["arch"]: {k: float(v) for k, v in r.items() if k != "arch"}
            for r in csv.DictReader(fh)
        }


class Scorer:
    """One process's data, space and references (torch imported here only)."""

    def __init__(self) -> None:
        import torch

        from xnas.config import DataConfig, MeasureConfig, SpaceConfig
        from xnas.data import load_dataset
        from xnas.objectives.base import EvalContext
        from xnas.objectives.proxies import proxy_batch
        from xnas.space import get_space

        torch.set_num_threads(1)
        self.torch = torch
        self.space_cfg = SpaceConfig(name="nb201", channels=16, layers=5)
        self.space = get_space(self.space_cfg)
        self.batches = {}
        for column, (_, side, _) in COLUMNS.items():
            data = DataConfig(
                name="cifar10",
                root=str(SHARED),
                train_size=2000,
                val_size=100,
                image_size=None if side == 32 else side,
            )
            bundle = load_dataset(data)
            ctx = EvalContext(
                model=None,
                bundle=bundle,
                device=torch.device("cpu"),
                measure=MeasureConfig(proxy_batch=BATCH, proxy_seed=PROXY_SEED),
            )
            self.batches[column] = proxy_batch(ctx)
        self.refs: dict[str, object] = {}

    def reference(self, column: str):
        from xnas.objectives.proxies.ensemble import reference_for

        if column not in self.refs:
            x, _ = self.batches[column]
            t0 = time.perf_counter()
            self.refs[column] = reference_for(
                self.space_cfg,
                x,
                COLUMNS[column][0],
                REFERENCE,
                PROXY_SEED,
                self.torch.device("cpu"),
            )
            self.ref_seconds = time.perf_counter() - t0
        return self.refs[column]

    def build(self, key: str, column: str):
        from xnas.driver.tasks import derive_seed

        classes, side, _ = COLUMNS[column]
        self.torch.manual_seed(derive_seed(0, key))  # the init a search with seed 0 would use
        return self.space.build(self.space.parse(key), (3, side, side), classes)

    def score(self, key: str, column: str, everything: bool = True) -> dict:
        from xnas.objectives.complexity import count_flops
        from xnas.objectives.proxies import scores
        from xnas.objectives.proxies.ensemble import member_scores

        x, y = self.batches[column]
        ref = self.reference(column)
        model = self.build(key, column)
        out: dict = {"key": key, "column": column}
        t0 = time.perf_counter()
        members = member_scores(model, x, tuple(x.shape[1:]), x.device)
        out["members_s"] = time.perf_counter() - t0
        out.update(members)
        out["proxy_ensemble"] = ref.ensemble(members)
        if everything:
            t0 = time.perf_counter()
            net = scores.loss_gradients(model, x, y)
            out["grad_norm"] = scores.grad_norm(model, x, y, net)
            out["snip"] = scores.snip(model, x, y, net)
            out["gradients_s"] = time.perf_counter() - t0
            out["flops"] = count_flops(model, tuple(x.shape[1:]))
        return out


def sample_keys(n: int, seed: int) -> list[str]:
    keys = sorted(table_rows())
    rng = np.random.default_rng(seed)
    return [keys[i] for i in rng.choice(len(keys), size=n, replace=False)]


def cmd_sample(args) -> None:
    rows = table_rows()
    done = set()
    if CELLS.exists():
        done = {(r["key"], r["column"]) for r in map(json.loads, CELLS.read_text().splitlines())}
    fidelity = sorted({json.loads(line)["key"] for line in FIDELITY.read_text().splitlines()})
    todo = [(k, c) for k in sample_keys(args.cells, args.seed) + fidelity for c in COLUMNS]
    todo = [t for t in todo if t not in done]
    scorer = Scorer()
    with CELLS.open("a") as out:
        for i, (key, column) in enumerate(todo):
            rec = scorer.score(key, column)
            rec.update(
                error=rows[key][COLUMNS[column][2]] / 100,
                params=rows[key]["params"],
                inputs=DATA_LABEL,
                threads=1,
            )
            out.write(json.dumps(rec) + "\n")
            out.flush()
            if i % 50 == 0:
                print(f"{i}/{len(todo)}", file=sys.stderr, flush=True)


_SCORER: list = []  # one Scorer per worker process (its data and references load once)


def _class_chunk(chunk: list[str]) -> list[dict]:
    if not _SCORER:
        _SCORER.append(Scorer())
    scorer = _SCORER[0]
    return [scorer.score(key, c, everything=False) for key in chunk for c in COLUMNS]


def cmd_table(args) -> None:
    from xnas.config import SpaceConfig
    from xnas.space import get_space

    space = get_space(SpaceConfig(name="nb201"))
    classes: dict[str, list[str]] = {}
    for key in sorted(table_rows()):
        classes.setdefault(space.equivalence(space.parse(key)), []).append(key)
    # a class's score is its smallest key's (deterministic; the class computes one function)
    reps = sorted(members[0] for members in classes.values())
    partial = PROXY_TABLE.with_suffix(".partial.jsonl")
    done: dict[tuple[str, str], dict] = {}
    if partial.exists():
        for r in map(json.loads, partial.read_text().splitlines()):
            done[(r["key"], r["column"])] = r
    todo = [k for k in reps if any((k, c) not in done for c in COLUMNS)]
    print(f"{len(classes)} classes, {len(todo)} to score", file=sys.stderr, flush=True)
    PROXY_TABLE.parent.mkdir(parents=True, exist_ok=True)
    chunks = [todo[i : i + 50] for i in range(0, len(todo), 50)]
    with partial.open("a") as out, ProcessPoolExecutor(args.workers) as pool:
        for n, recs in enumerate(pool.map(_class_chunk, chunks)):
            for r in recs:
                done[(r["key"], r["column"])] = r
                out.write(json.dumps(r) + "\n")
            out.flush()
            print(f"{(n + 1) * 50}/{len(todo)}", file=sys.stderr, flush=True)
    fields = ["naswot", "synflow", "jacob_cov", "proxy_ensemble", "members_s"]
    header = ["arch", "class_representative"] + [f"{f}_{c}" for c in COLUMNS for f in fields]
    # mtime=0: the same scores give the same bytes
    with gzip.GzipFile(PROXY_TABLE, "wb", mtime=0) as raw, io.TextIOWrapper(raw, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for members in classes.values():
            rep = members[0]
            vals = [done[(rep, c)][f] for c in COLUMNS for f in fields]
            for key in members:
                w.writerow([key, rep, *vals])
    print(f"wrote {PROXY_TABLE}", file=sys.stderr)


def tau(x, y) -> float:
    from scipy.stats import kendalltau

    t = kendalltau(x, y).statistic
    return float(t)


def within_groups(score, error, groups) -> tuple[float, int]:
    """Size-weighted mean tau within groups of equal FLOPs; groups of one are skipped,
    and so is a group whose tau is undefined (all errors or all scores tied)."""
    num = den = 0.0
    n = 0
    for g in np.unique(groups):
        idx = groups == g
        if idx.sum() < 2:
            continue
        t = tau(score[idx], error[idx])
        if np.isnan(t):
            continue
        num += t * idx.sum()
        den += idx.sum()
        n += 1
    return (num / den if den else float("nan")), n


def cmd_report(args) -> None:
    import pandas as pd
    from scipy.stats import spearmanr

    cells = pd.read_json(CELLS, lines=True)
    fidelity_keys = {json.loads(line)["key"] for line in FIDELITY.read_text().splitlines()}
    sample = set(sample_keys(args.cells, args.seed))
    lines = []
    for column in COLUMNS:
        d = cells[(cells.column == column) & cells.key.isin(sample)].drop_duplicates("key")
        err = d.error.to_numpy()
        groups = d.flops.to_numpy()
        for name in (*PROXIES, "params"):
            s = d[name].to_numpy()  # higher = predicted better (params: the usual baseline)
            w, n_groups = within_groups(s, err, groups)
            secs = {
                "naswot": d.members_s,
                "synflow": d.members_s,
                "jacob_cov": d.members_s,
                "proxy_ensemble": d.members_s,
                "grad_norm": d.gradients_s,
                "snip": d.gradients_s,
            }.get(name)
            lines.append(
                {
                    "bench": "proxies",
                    "column": column,
                    "proxy": name,
                    "cells": len(d),
                    "tau_all": round(-tau(s, err), 4),
                    "spearman_all": round(-float(spearmanr(s, err).statistic), 4),
                    # params is constant within an equal-FLOPs group of NB201 (both are
                    # functions of the cell's conv counts): it cannot order cells there
                    "tau_within_equal_flops": 0.0 if np.isnan(w) else round(-w, 4),
                    "within_note": "constant within every group: orders nothing"
                    if np.isnan(w)
                    else None,
                    "flops_groups": n_groups,
                    "seconds_per_cell_median": None
                    if secs is None
                    else round(float(secs.median()), 3),
                    "seconds_per_cell_mean": None if secs is None else round(float(secs.mean()), 3),
                    "seconds_note": "naswot+synflow+jacob_cov together (one pass shared); "
                    "grad_norm+snip together"
                    if secs is not None
                    else "counted",
                    "inputs": DATA_LABEL,
                    "threads": 1,
                }
            )
    # the cheap-training recipes of the proxy-fidelity study, on its 30 cells
    recipes = pd.read_json(FIDELITY, lines=True)
    rows = table_rows()
    for column, (_, _, col) in COLUMNS.items():
        truth = {k: rows[k][col] for k in fidelity_keys}
        for recipe, r in recipes.groupby("recipe"):
            r = r.drop_duplicates("key")
            lines.append(
                {
                    "bench": "proxies-vs-recipes",
                    "column": column,
                    "ranker": f"training {recipe}",
                    "cells": len(r),
                    "tau": round(tau(r.error.to_numpy(), [truth[k] for k in r.key]), 4),
                    "seconds_per_cell_median": round(float(r.seconds.median()), 2),
                    "note": "NB201 C=8, one cell per stage, trained on CIFAR-10 (JPEG); "
                    "cross-dataset against the table's 200-epoch errors",
                }
            )
        d = cells[(cells.column == column) & cells.key.isin(fidelity_keys)].drop_duplicates("key")
        for name in PROXIES:
            lines.append(
                {
                    "bench": "proxies-vs-recipes",
                    "column": column,
                    "ranker": name,
                    "cells": len(d),
                    "tau": round(-tau(d[name].to_numpy(), d.error.to_numpy()), 4),
                }
            )
    for line in lines:
        print(json.dumps(line))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("sample", "report"):
        p = sub.add_parser(name)
        p.add_argument("--cells", type=int, default=500)
        p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("table")
    p.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    {"sample": cmd_sample, "table": cmd_table, "report": cmd_report}[args.cmd](args)


if __name__ == "__main__":
    main()

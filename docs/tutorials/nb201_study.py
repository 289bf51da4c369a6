# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A strategy study on NAS-Bench-201
#
# With the tabular evaluator a "training" is a lookup in a published table, so a comparison
# of strategies over many seeds runs in seconds. The table in `../shared/data` holds all
# 15,625 NB201 cells with their 200-epoch CIFAR-100 and ImageNet16-120 test errors and
# parameter counts. We search (error, params) on CIFAR-100 with four strategies, several
# paired seeds each, the same budget (100 stored evaluations; screenings are not evaluations),
# and compare their fronts as **median
# attainment surfaces** (the front that half the seeds reach or beat; moocore) and as
# normalised hypervolumes.
#
# One strategy is *proxy-assisted*: it screens untrained genomes with the zero-cost proxy
# ensemble and trains only the most promising. On a table, the proxy comes from a
# precomputed class table (`benchmarks/data/nb201_proxies.csv.gz`, computed by
# `benchmarks/bench_proxies.py table` on CIFAR-10 (JPEG) inputs).

# %%
import csv
import gzip
import os
from pathlib import Path

import matplotlib.pyplot as plt
import moocore
import numpy as np

import xnas

REPO = Path(xnas.__file__).resolve().parents[1]
SHARED = Path(os.environ.get("XNAS_SHARED_DATA", REPO.parent / "shared" / "data"))
TABLE = SHARED / "nb201" / "nb201_200ep.csv"
out = Path(os.environ.get("XNAS_TUTORIAL_OUT", "runs/tutorials")).resolve() / "nb201"
out.mkdir(parents=True, exist_ok=True)
SEEDS = range(int(os.environ.get("XNAS_TUTORIAL_SEEDS", "5")))

# the table with the proxy column joined in (CIFAR-100 head)
with gzip.open(REPO / "benchmarks" / "data" / "nb201_proxies.csv.gz", "rt") as fh:
    proxy = {r["arch"]: r["proxy_ensemble_cifar100"] for r in csv.DictReader(fh)}
table = out / "nb201_with_proxy.csv"
with TABLE.open() as src, table.open("w", newline="") as dst:
    reader = csv.DictReader(src)
    writer = csv.DictWriter(dst, [*reader.fieldnames, "proxy_ensemble"])
    writer.writeheader()
    for row in reader:
        writer.writerow({**row, "proxy_ensemble": proxy[row["arch"]]})

# %%
COMMON = {
    "space.name": "nb201",
    "objectives": ["error", "params"],
    "evaluator.name": "tabular",
    "evaluator.table": str(table),
    "evaluator.columns": [{"objective": "error", "column": "error_cifar100", "scale": 0.01}],
    "search.population": 20,
    "search.generations": 100,
    # the budget: stored evaluations (benchmarks/bench_search.py charges distinct trained
    # classes instead, the fairer unit for a comparison you publish)
    "search.max_evaluations": 100,
}
STRATEGIES = {
    "random": {"search.strategy": "random"},
    "regevo": {"search.strategy": "regevo"},
    "nsga2": {"search.strategy": "nsga2"},
    "nsga2 + proxy": {
        "search.strategy": "nsga2",
        "search.proxy": "proxy_ensemble",
        "search.proxy_warm_start": 10,
        "search.proxy_filter": 4,
    },
}
fronts = {}
for name, settings in STRATEGIES.items():
    for seed in SEEDS:
        cfg = xnas.load_config(None, {**COMMON, **settings, "search.seed": seed})
        run = xnas.search(cfg, out / f"{name.replace(' ', '')}-{seed}", progress=False)
        front = run.front_frame()
        fronts[name, seed] = front[["error", "params"]].to_numpy()

# %% [markdown]
# Hypervolume in the box from the ideal point (0 error, 0 params) to (1.0, 1.6M params),
# normalised to [0, 1], per strategy over the paired seeds:

# %%
ref = np.array([1.0, 1.6e6])
for name in STRATEGIES:
    hvs = [moocore.hypervolume(fronts[name, s], ref=ref) / ref.prod() for s in SEEDS]
    print(f"{name:14s} median {np.median(hvs):.4f}  min {min(hvs):.4f}  max {max(hvs):.4f}")

# %% [markdown]
# The median attainment surface of each strategy (moocore's empirical attainment function at
# 50%):

# %%
fig, ax = plt.subplots(figsize=(6, 4))
for name in STRATEGIES:
    points = np.vstack([fronts[name, s] for s in SEEDS])
    sets = np.concatenate([[i] * len(fronts[name, s]) for i, s in enumerate(SEEDS)])
    surface = moocore.eaf(points, sets, percentiles=[50])[:, :2]
    surface = surface[np.argsort(surface[:, 1])]
    ax.step(surface[:, 1] / 1e6, surface[:, 0], where="post", label=name)
ax.set_xlabel("parameters (M, counted)")
ax.set_ylabel("CIFAR-100 test error (tabular, NB201 200 epochs)")
ax.set_title(f"median attainment surfaces, {len(SEEDS)} seeds, 100 evaluations")
ax.legend()
fig.tight_layout()
fig.savefig(out / "attainment.png", dpi=120)

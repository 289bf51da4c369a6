"""Ablation of the cost savers: the same search with neither, inheritance only,
extrapolation only, and both (``python benchmarks/bench_cost.py``); ``both`` reads an
inheriting child's curve as the continuation of its donor's (``cost.donor_prior``), and
``both_no_prior`` is the same without it.

One real search on digits (NB201 cell, C=8; error + params; NSGA-II, population 8,
8 generations, 8 epochs; seed 0), serial, all variants in one run. Prints one JSON
line per variant: epoch-equivalents trained (sum of epochs over evaluations),
wall time, final hypervolume against one reference point common to all variants
(1.0 for error, 1.1 x the largest params seen), its loss relative to `neither`, and
the extrapolation's mean absolute error: predicted (at ``min_epochs``) vs true final
accuracy of candidates trained to the end. A last line gives the goal check
(both: >= 4x fewer epoch-equivalents, <= 3% hypervolume loss), for inheriting children
trained 3 epochs and 1 epoch. Multi-fidelity rows (``cost.fidelity``: rungs at 1, 3 and
8 epochs, eta 3; with inheritance the children's 3 epochs give rungs 1 and 3) count the
front of everything measured (a candidate halted at a low rung is a real network with
its rung's error) and, beside it, of the fully trained only; their goal: >= 3x fewer
epoch-equivalents at <= 3% hypervolume loss, and with inheritance better than
inheritance alone. ``--only NAME...`` runs some variants (``neither`` always runs: it
is the baseline).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

SEARCH = [
    "search.population=8",
    "search.generations=8",
    "search.seed=0",
    "space.name=nb201",
    "space.channels=8",
    "data.name=digits",
    "train.epochs=8",
    "train.batch_size=64",
    "objectives=[error, params]",
]
VARIANTS = {
    "neither": [],
    "inherit": ["cost.inherit=true", "cost.inherit_epochs=3"],
    "extrapolate": ["cost.extrapolate=true", "cost.min_epochs=2"],
    "both": [
        "cost.inherit=true",
        "cost.inherit_epochs=3",
        "cost.extrapolate=true",
        "cost.min_epochs=2",
    ],
    # the same without the donor's curve as prior: children (3 epochs) get one check at
    # epoch 2; with it, checks from their first epoch
    "both_no_prior": [
        "cost.inherit=true",
        "cost.inherit_epochs=3",
        "cost.extrapolate=true",
        "cost.min_epochs=2",
        "cost.donor_prior=false",
    ],
    "both_child_budget_1": [
        "cost.inherit=true",
        "cost.inherit_epochs=1",
        "cost.extrapolate=true",
        "cost.min_epochs=2",
    ],
    "fidelity": ["cost.fidelity=true", "cost.eta=3", "cost.rungs=3"],
    "fidelity_inherit": [
        "cost.fidelity=true",
        "cost.eta=3",
        "cost.rungs=3",
        "cost.inherit=true",
        "cost.inherit_epochs=3",
    ],
}


def main() -> None:
    import argparse

    import torch
    from pymoo.indicators.hv import HV
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    from xnas.config import load_config
    from xnas.driver import run_search
    from xnas.store import RunStore
    from xnas.summary import objective_rows

    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--generations", type=int, default=8)
    args = parser.parse_args()
    chosen = ["neither", *[v for v in args.only if v != "neither"]]
    out: dict[str, dict] = {}
    fronts: dict[str, np.ndarray] = {}
    full_fronts: dict[str, np.ndarray] = {}
    for name in chosen:
        extra = VARIANTS[name]
        run_dir = Path(tempfile.mkdtemp(prefix=f"bench-cost-{name}-")) / "run"
        cfg = load_config(None, [*SEARCH, *extra, f"search.generations={args.generations}"])
        start = time.perf_counter()
        run_search(cfg, run_dir)
        wall = time.perf_counter() - start
        with RunStore.open(run_dir) as store:
            results = [r for *_, r in store.results()]
        ok = [r for r in results if r.has_values]
        F = objective_rows(ok, ["error", "params"], [])[0]
        fronts[name] = F[NonDominatedSorting().do(F, only_non_dominated_front=True)]
        full = [r for r in ok if r.status != "partial"]
        F = objective_rows(full, ["error", "params"], [])[0]
        full_fronts[name] = F[NonDominatedSorting().do(F, only_non_dominated_front=True)]
        errors = [
            abs(first["predicted_final_accuracy"] - r.curve[-1])
            for r in ok
            if r.curve and (first := r.measurements.get("error", {}).get("first_prediction"))
        ]
        child_errors = [  # inheriting children: predicted with the donor's curve as prior
            abs(first["predicted_final_accuracy"] - r.curve[-1])
            for r in ok
            if r.donor_key
            and r.curve  # a reuse copies its source's record but trained nothing itself
            and (first := r.measurements.get("error", {}).get("first_prediction"))
        ]
        out[name] = {
            "evaluations": len(results),
            "epoch_equivalents": sum(r.epochs for r in results),
            "stopped_early": sum(r.status == "stopped" for r in results),
            "halted_at_a_rung": sum(r.status == "partial" for r in results),
            "inherited": sum(bool(r.donor_key) for r in results),
            "wall_s": round(wall, 1),
            "prediction_mae": round(statistics.mean(errors), 4) if errors else None,
            "predictions_checked": len(errors),
            "stopped_children": sum(r.status == "stopped" and bool(r.donor_key) for r in results),
            "child_prediction_mae": (
                round(statistics.mean(child_errors), 4) if child_errors else None
            ),
            "child_predictions_checked": len(child_errors),
        }
    worst = np.vstack(list(fronts.values())).max(axis=0)
    ref = np.array([1.0, 1.1 * worst[1]])
    hv = {name: float(HV(ref_point=ref)(F)) for name, F in fronts.items()}
    hv_full = {name: float(HV(ref_point=ref)(F)) for name, F in full_fronts.items()}
    base = out["neither"]
    for name, row in out.items():
        row["hypervolume"] = round(hv[name], 6)
        row["hv_loss"] = round(1 - hv[name] / hv["neither"], 4)
        row["hv_loss_fully_trained_only"] = round(1 - hv_full[name] / hv["neither"], 4)
        row["epoch_reduction"] = round(base["epoch_equivalents"] / row["epoch_equivalents"], 2)
        row["wall_speedup"] = round(base["wall_s"] / row["wall_s"], 2)
        row["generations"] = args.generations
        print(json.dumps({"bench": "cost", "variant": name, **row}), flush=True)
    for name in [n for n in ("fidelity", "fidelity_inherit") if n in out]:
        row = out[name]
        goal = {
            "fidelity": ">= 3x fewer epoch-equivalents, <= 3% hypervolume loss",
            "fidelity_inherit": "fewer epoch-equivalents than inherit at no more HV loss",
        }[name]
        met = row["epoch_reduction"] >= 3 and row["hv_loss"] <= 0.03
        if name == "fidelity_inherit" and "inherit" in out:
            met = (
                row["epoch_equivalents"] < out["inherit"]["epoch_equivalents"]
                and row["hv_loss"] <= out["inherit"]["hv_loss"]
            )
        print(json.dumps({"bench": "cost", "variant": name, "goal": goal, "met": met}))
    for name in [n for n in ("both", "both_child_budget_1") if n in out]:
        both = out[name]
        print(
            json.dumps(
                {
                    "bench": "cost",
                    "variant": name,
                    "goal": ">= 4x fewer epoch-equivalents, <= 3% hypervolume loss",
                    "met": both["epoch_reduction"] >= 4 and both["hv_loss"] <= 0.03,
                    "threads": torch.get_num_threads(),
                    "reference_point": ref.tolist(),
                }
            )
        )


if __name__ == "__main__":
    main()

"""Ablation of the cost savers: the same search with neither, inheritance only,
extrapolation only, and both (``python benchmarks/bench_cost.py``).

One real search on digits (NB201 cell, C=8; error + params; NSGA-II, population 8,
8 generations, 8 epochs; seed 0), serial, all variants in one run. Prints one JSON
line per variant: epoch-equivalents trained (sum of epochs over evaluations),
wall time, final hypervolume against one reference point common to all variants
(1.0 for error, 1.1 x the largest params seen), its loss relative to `neither`, and
the extrapolation's mean absolute error: predicted (at ``min_epochs``) vs true final
accuracy of candidates trained to the end. A last line gives the goal check
(both: >= 4x fewer epoch-equivalents, <= 3% hypervolume loss), for inheriting children
trained 3 epochs and 1 epoch.
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
    "both_child_budget_1": [
        "cost.inherit=true",
        "cost.inherit_epochs=1",
        "cost.extrapolate=true",
        "cost.min_epochs=2",
    ],
}


def main() -> None:
    import torch
    from pymoo.indicators.hv import HV
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    from xnas.config import load_config
    from xnas.run import objective_rows, run_search
    from xnas.store import RunStore

    out: dict[str, dict] = {}
    fronts: dict[str, np.ndarray] = {}
    for name, extra in VARIANTS.items():
        run_dir = Path(tempfile.mkdtemp(prefix=f"bench-cost-{name}-")) / "run"
        cfg = load_config(None, [*SEARCH, *extra])
        start = time.perf_counter()
        run_search(cfg, run_dir)
        wall = time.perf_counter() - start
        with RunStore.open(run_dir) as store:
            results = [r for *_, r in store.results()]
        ok = [r for r in results if r.status != "failed"]
        F = objective_rows(ok, ["error", "params"], [])[0]
        fronts[name] = F[NonDominatedSorting().do(F, only_non_dominated_front=True)]
        errors = [
            abs(first["predicted_final_accuracy"] - r.curve[-1])
            for r in ok
            if (first := r.measurements.get("error", {}).get("first_prediction"))
        ]
        out[name] = {
            "evaluations": len(results),
            "epoch_equivalents": sum(r.epochs for r in results),
            "stopped_early": sum(r.status == "stopped" for r in results),
            "inherited": sum(bool(r.donor_key) for r in results),
            "wall_s": round(wall, 1),
            "prediction_mae": round(statistics.mean(errors), 4) if errors else None,
            "predictions_checked": len(errors),
        }
    worst = np.vstack(list(fronts.values())).max(axis=0)
    ref = np.array([1.0, 1.1 * worst[1]])
    hv = {name: float(HV(ref_point=ref)(F)) for name, F in fronts.items()}
    base = out["neither"]
    for name, row in out.items():
        row["hypervolume"] = round(hv[name], 6)
        row["hv_loss"] = round(1 - hv[name] / hv["neither"], 4)
        row["epoch_reduction"] = round(base["epoch_equivalents"] / row["epoch_equivalents"], 2)
        row["wall_speedup"] = round(base["wall_s"] / row["wall_s"], 2)
        print(json.dumps({"bench": "cost", "variant": name, **row}), flush=True)
    for name in ("both", "both_child_budget_1"):
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

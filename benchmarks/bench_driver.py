"""Driver throughput at scale (``python benchmarks/bench_driver.py [--sizes 1000,4000,16000]``).

A zero-cost evaluator (objectives computed from the genome in microseconds, a tiny weight
file written so that donors exist) runs through the real driver loop: store commit of
every result, tell, front and hypervolume reference update, weight inheritance (nearest
donor, ``keep_weights`` 200) and the stop rule's front snapshot. NSGA-II, micro space,
population 200, serial executor, one thread. One JSON line per size: evaluations per
second over the generation that crosses that many stored results (``goal``: >= 200/s at
16k, flat in the run's size: at 60 s per evaluation, 1,000 ranks send ~17/s).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from xnas.config import load_config  # noqa: E402
from xnas.results import EvalResult, EvalTask  # noqa: E402

POP = 200


def zero_cost(task: EvalTask) -> EvalResult:
    g = np.asarray(task.genome, dtype=float)
    error = float(0.05 + 0.9 * abs(np.sin(g.sum() * 0.37)) * (1 - g.mean() / 12))
    params = float(1000 + 50 * g.sum())
    weights = Path(task.weights_dir) / f"{abs(hash(task.key)) % 10**12:012d}.pt"
    weights.write_bytes(b"w")
    return EvalResult(
        key=task.key,
        genome=task.genome,
        status="ok",
        objectives={"error": error, "params": params},
        measurements={"error": {"method": "zero-cost benchmark"}},
        curve=(1 - error,),
        epochs=1,
        weights_path=str(weights),
    )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,4000,16000")
    args = ap.parse_args(argv)
    import torch

    from xnas.run import run_search

    torch.set_num_threads(1)
    sizes = [int(s) for s in args.sizes.split(",")]
    cfg = load_config(
        None,
        [
            "search.strategy=nsga2",
            f"search.population={POP}",
            f"search.generations={max(sizes) // POP + 1}",
            "space.name=micro",
            "objectives=[error, params]",
            "cost.inherit=true",
            "cost.inherit_epochs=1",
            "cost.keep_weights=200",
            "cost.extrapolate=true",
            "train.epochs=2",
        ],
    )
    marks: list[tuple[int, float]] = []
    start = time.perf_counter()

    def on_generation(summary) -> None:
        marks.append((summary.generation, time.perf_counter()))

    with tempfile.TemporaryDirectory() as tmp:
        run_search(cfg, Path(tmp) / "run", evaluate_fn=zero_cost, on_generation=on_generation)
    times = [start] + [t for _, t in marks]
    for size in sizes:
        gen = min(len(marks) - 1, size // POP)  # the generation that crosses `size` results
        rate = POP / (times[gen + 1] - times[gen])
        print(
            json.dumps(
                {
                    "bench": "driver",
                    "stored_results": (gen + 1) * POP,
                    "evaluations_per_s": round(rate, 1),
                    "population": POP,
                    "features": "commit, tell, front, donors (keep 200), stop-rule snapshot",
                    "goal": ">= 200/s at 16k, flat",
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()

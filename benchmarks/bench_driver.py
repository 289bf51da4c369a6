"""Driver throughput at scale (``python benchmarks/bench_driver.py [--sizes 1200,4200,16200]``).

A zero-cost evaluator (objectives computed from the genome in microseconds, a tiny weight
file written so that donors exist) runs through the real driver loop: store commit of
every result, tell, front and hypervolume reference update, weight inheritance (nearest
donor, ``keep_weights`` 200) and the stop rule's front snapshot. NSGA-II, micro space,
population 200, serial executor, one thread. One JSON line per size: evaluations per
second over the ``--window`` evaluations (whole generations) that end at that many stored
results (``goal``: >= 400/s at 16k and flat: the 16k rate at least 0.8 x the 1.2k rate).

``--against DIR`` runs this benchmark on another checkout of xnas too (an older commit in
a ``git worktree``), alternating the two ``--rounds`` times in fresh processes, and prints
each round's rates and the ratio this/other per size: before and after in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
POP = 200


def zero_cost(task):
    from xnas.results import EvalResult

    g = np.asarray(task.genome, dtype=float)
    error = float(0.05 + 0.9 * abs(np.sin(g.sum() * 0.37)) * (1 - g.mean() / 12))
    params = float(1000 + 50 * g.sum())
    # (weights_dir: an xnas from before the driver package, for --against)
    weights = Path(getattr(task, "weights_to", None) or Path(task.weights_dir) / task.key[:8])
    weights.parent.mkdir(exist_ok=True)
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


def measure(sizes: list[int], window: int) -> list[dict]:
    """Rates of this process's xnas (whichever PYTHONPATH gives)."""
    import torch

    from xnas.config import load_config

    try:
        from xnas.driver import FunctionCallback, run_search

        def notify(fn):
            return {"callbacks": [FunctionCallback(on_generation=fn)]}
    except ImportError:  # an xnas from before the driver package
        from xnas.run import run_search

        def notify(fn):
            return {"on_generation": fn}

    torch.set_num_threads(1)
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
    marks: list[float] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        run_search(
            cfg,
            Path(tmp) / "run",
            evaluate_fn=zero_cost,
            **notify(lambda summary: marks.append(time.perf_counter())),
        )
    times = [start, *marks]  # times[g]: generation g starts; times[g + 1]: it is committed
    gens = max(1, window // POP)
    out = []
    for size in sizes:
        last = min(len(marks) - 1, size // POP)  # the generation that crosses `size` results
        first = max(0, last - gens + 1)
        rate = (last - first + 1) * POP / (times[last + 1] - times[first])
        out.append({"stored_results": (last + 1) * POP, "evaluations_per_s": round(rate, 1)})
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1200,4200,16200")
    ap.add_argument("--window", type=int, default=1000, help="evaluations averaged per size")
    ap.add_argument("--against", help="another xnas checkout, run alternately with this one")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.child:
        print(json.dumps(measure(sizes, args.window)))
        return
    if not args.against:
        sys.path.insert(0, str(REPO))
        for row in measure(sizes, args.window):
            print(
                json.dumps(
                    {
                        "bench": "driver",
                        **row,
                        "population": POP,
                        "window": args.window,
                        "goal": ">= 400/s at 16k; 16k >= 0.8 x 1.2k",
                    }
                ),
                flush=True,
            )
        return
    ratios: dict[int, list[float]] = {s: [] for s in sizes}
    for rnd in range(args.rounds):
        rates = {}
        for name, path in (("other", args.against), ("this", str(REPO))):
            env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    "--sizes",
                    args.sizes,
                    "--window",
                    str(args.window),
                ],
                capture_output=True,
                text=True,
                env=env,
                cwd=path,
                check=True,
            )
            rates[name] = json.loads(done.stdout.strip().splitlines()[-1])
        for size, a, b in zip(sizes, rates["this"], rates["other"], strict=True):
            ratio = a["evaluations_per_s"] / b["evaluations_per_s"]
            ratios[size].append(ratio)
            print(
                json.dumps(
                    {
                        "bench": "driver_vs",
                        "round": rnd,
                        "stored_results": a["stored_results"],
                        "this": a["evaluations_per_s"],
                        "other": b["evaluations_per_s"],
                        "ratio": round(ratio, 2),
                    }
                ),
                flush=True,
            )
    for size in sizes:
        print(
            json.dumps(
                {
                    "bench": "driver_vs",
                    "size": size,
                    "median_ratio": round(statistics.median(ratios[size]), 2),
                    "rounds": args.rounds,
                    "other": args.against,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()

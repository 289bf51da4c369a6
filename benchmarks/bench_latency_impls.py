"""Which latency implementations are worth timing? For random genomes of each space, time
every candidate the ``latency`` objective knows (eager, channels_last, torchscript,
compiled = ``torch.compile``) the way it does (warm-up, median of repeats, batch 1), and
record what each costs to prepare (trace, freeze, compile).

    python benchmarks/bench_latency_impls.py [--genomes 8] [--repeats 30] [--device cpu]

One JSON line per space: per implementation, how often it was the fastest, its median
ratio to eager, and its median preparation time. ``measure.latency_impls``'s default is
chosen from these lines (README, "latency").
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

SPACES = {
    "nb201": {"name": "nb201", "channels": 16, "layers": 5},
    "micro": {"name": "micro", "channels": 16, "layers": 2},
}
SHAPE, CLASSES = (3, 32, 32), 10
IMPLS = ("eager", "channels_last", "torchscript", "compiled")


def main() -> None:
    from xnas.config import SpaceConfig
    from xnas.objectives.latency import cpu_model, prepare, time_forward
    from xnas.space import get_space

    parser = argparse.ArgumentParser()
    parser.add_argument("--genomes", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", nargs="+", default=list(SPACES))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    for name in args.only:
        space = get_space(SpaceConfig(**SPACES[name]))
        rng = np.random.default_rng(7)
        wins = dict.fromkeys(IMPLS, 0)
        ratio: dict[str, list[float]] = {i: [] for i in IMPLS}
        prep: dict[str, list[float]] = {i: [] for i in IMPLS}
        failed: dict[str, str] = {}
        for _ in range(args.genomes):
            model = space.build(space.sample(rng), SHAPE, CLASSES).to(device).eval()
            x = torch.randn(1, *SHAPE, device=device)
            medians = {}
            for impl in IMPLS:
                try:
                    t0 = time.perf_counter()
                    fn, xi = prepare(impl, model, x)
                    time_forward(fn, xi, 1, 1)  # compile happens on the first call
                    prep[impl].append(time.perf_counter() - t0)
                    medians[impl] = statistics.median(time_forward(fn, xi, 5, args.repeats))
                except Exception as exc:  # recorded, not fatal: e.g. no C++ compiler
                    failed[impl] = f"{type(exc).__name__}: {exc}"[:200]
            if medians:
                wins[min(medians, key=medians.__getitem__)] += 1
            for impl, value in medians.items():
                ratio[impl].append(value / medians["eager"])
        print(
            json.dumps(
                {
                    "bench": "latency_impls",
                    "space": SPACES[name],
                    "genomes": args.genomes,
                    "fastest_count": wins,
                    "median_ratio_to_eager": {
                        i: round(statistics.median(v), 3) for i, v in ratio.items() if v
                    },
                    "median_prepare_s": {
                        i: round(statistics.median(v), 3) for i, v in prep.items() if v
                    },
                    "failed": failed,
                    "device": cpu_model() if device.type == "cpu" else str(device),
                    "threads": args.threads,
                    "repeats": args.repeats,
                    "torch": torch.__version__,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()

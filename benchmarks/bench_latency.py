"""Does the latency LUT (``xnas latency-table``, objective ``latency_predicted``) rank and
size networks as measured? For each space: build the LUT on this machine, then measure
random genomes' whole-network eager latency the way the ``latency`` objective does
(warm-up, median of repeats, one thread, batch 1) and compare.

    python benchmarks/bench_latency.py [--genomes 100] [--repeats 30] [--passes 3]

First, ``latency_repeatability``: one small network (NB201 ResNet cell, C=8, 1x12x12)
measured three times as the ``latency`` objective does (median of 60 after 10 warm-up
passes); max/min of the three is how far two measurements of the same network disagree
on this machine now (it was a test's assert until load on a shared machine broke it).

Then one JSON line per space: Kendall's tau and the mean absolute percentage error of the
prediction, and of the plain sum (no correction), with the LUT's size and build time.
Each genome is measured in ``--passes`` separate passes over all genomes (the least
median is the reference, as timing noise only adds); the tau and MAPE between the
first two passes is the measurement's own repeatability, the ceiling any predictor
is held to on this machine.
Spaces at their published sizes: NB201 (C=16, 5 cells per stage) and the micro space
(C=16, 2 normal cells per stage), 3x32x32 input, 10 classes. Quote the device line.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from scipy.stats import kendalltau

SPACES = {
    "nb201": {"name": "nb201", "channels": 16, "layers": 5},
    "micro": {"name": "micro", "channels": 16, "layers": 2},
}
SHAPE, CLASSES = (3, 32, 32), 10


def main() -> None:
    from xnas.config import SpaceConfig
    from xnas.objectives.latency import measure_latency
    from xnas.objectives.latency_table import build_table, predict
    from xnas.space import get_space

    parser = argparse.ArgumentParser()
    parser.add_argument("--genomes", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--only", nargs="+", default=list(SPACES))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    repeatability(device)
    for name in args.only:
        cfg = SpaceConfig(**SPACES[name])
        t0 = time.perf_counter()
        table = build_table(cfg, SHAPE, CLASSES, device, repeats=args.repeats, seed=0)
        built = time.perf_counter() - t0
        space = get_space(cfg)
        rng = np.random.default_rng(12345)  # genomes the table's calibration never saw
        predicted, plain, models = [], [], []
        for _ in range(args.genomes):
            model = space.build(space.sample(rng), SHAPE, CLASSES).to(device)
            value, total, _ = predict(table, model, SHAPE)
            predicted.append(value)
            plain.append(total)
            models.append(model)
        passes = [
            [
                measure_latency(m, SHAPE, device, repeats=args.repeats, impls=("eager",)).value
                for m in models
            ]
            for _ in range(max(2, args.passes))
        ]
        measured = np.min(passes, axis=0)
        A, B = np.asarray(passes[0]), np.asarray(passes[1])
        P, S, M = map(np.asarray, (predicted, plain, measured))
        print(
            json.dumps(
                {
                    "bench": "latency",
                    "space": SPACES[name],
                    "genomes": args.genomes,
                    "kendall_tau": round(float(kendalltau(P, M).statistic), 3),
                    "mape": round(float(np.mean(np.abs(P - M) / M)), 4),
                    "plain_sum_kendall_tau": round(float(kendalltau(S, M).statistic), 3),
                    "plain_sum_mape": round(float(np.mean(np.abs(S - M) / M)), 4),
                    "remeasure_kendall_tau": round(float(kendalltau(A, B).statistic), 3),
                    "remeasure_mape": round(float(np.mean(np.abs(A - B) / B)), 4),
                    "passes": max(2, args.passes),
                    "measured_ms_min": round(float(M.min()), 3),
                    "measured_ms_max": round(float(M.max()), 3),
                    "lut_units": len(table["entries"]),
                    "lut_genomes_scanned": table["coverage"]["genomes_scanned"],
                    "lut_build_s": round(built, 1),
                    "correction": {
                        k: round(table["model"][k], 4) for k in ("scale", "overhead_ms")
                    },
                    "device": table["measured"]["device_name"],
                    "threads": table["measured"]["threads"],
                    "repeats": args.repeats,
                    "implementation": "eager",
                }
            ),
            flush=True,
        )


def repeatability(device: torch.device, times: int = 3) -> None:
    from xnas.config import SpaceConfig
    from xnas.objectives.latency import measure_latency
    from xnas.space import resolve_arch

    space, genome = resolve_arch("nb201-resnet", SpaceConfig(channels=8, layers=1))
    model = space.build(genome, (1, 12, 12), 4).to(device)
    runs = [
        measure_latency(model, (1, 12, 12), device, repeats=60, warmup=10, impls=("eager",)).value
        for _ in range(times)
    ]
    print(
        json.dumps(
            {
                "bench": "latency_repeatability",
                "network": "nb201-resnet C=8, 1x12x12, batch 1",
                "runs_ms": [round(r, 4) for r in runs],
                "ratio_max_min": round(max(runs) / min(runs), 3),
                "threads": torch.get_num_threads(),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()

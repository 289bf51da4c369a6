"""Per-layer implementation selection (``nn.bestof``) against the best single
whole-network choice: ``python benchmarks/bench_bestof.py [--genomes 4]``.

For random genomes of both spaces (NB201 C=16 N=5; micro C=16, 2 layers), at 32x32, one
torch thread:

- *inference*: ``measure_latency`` (batch 1, median of ``--repeats``) with each of eager,
  channels_last and bestof alone, in rotating order; the whole-network baseline is the
  faster of eager and channels_last *for that genome* (what ``measure.latency_impls``'s
  default picks);
- *training*: images/s of the trainer on CIFAR-10 (JPEG) images, batch 32 (512 images: 16
  steps, as many as BestOf's tuning takes), for the model as built (eager), the whole
  model in channels_last, and ``train.bestof``: a first epoch (warm-up; BestOf's tuning, its
  online cost) and ``--epochs`` more, measured apart.

One JSON line per genome and a summary line per space: the median ratio of bestof to the
best whole-network choice (latency: baseline ms / bestof ms; training, tuned and in the
first epoch: bestof images/s / the better whole-network images/s), > 1 meaning bestof pays.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
SPACES = {
    "nb201": {"name": "nb201", "channels": 16, "layers": 5},
    "micro": {"name": "micro", "channels": 16, "layers": 2},
}


def latencies(model, repeats: int, round_: int) -> dict[str, float]:
    from xnas.objectives.latency import measure_latency

    impls = ["eager", "channels_last", "bestof"]
    impls = impls[round_ % 3 :] + impls[: round_ % 3]
    out = {}
    for impl in impls:
        m = measure_latency(
            model, (3, 32, 32), torch.device("cpu"), impls=(impl,), repeats=repeats, retries=0
        )
        out[impl] = m.value
        if impl == "bestof":
            out["bestof_report"] = {k: v for k, v in m.how["bestof"].items() if k != "layers"}
    return out


def training(space, genome, bundle, cfg, epochs: int) -> dict[str, float]:
    """Images/s per mode: a first epoch (oneDNN's warm-up; for bestof also its tuning, the
    online cost) and then ``epochs`` more, measured apart (bestof runs them decided, from
    the process cache its first epoch filled)."""
    from xnas.evaluate.trainer import train
    from xnas.nn import bestof

    out = {}
    for mode in ("eager", "channels_last", "bestof"):
        bestof.CACHE.chosen.clear()  # every genome tunes afresh
        bestof.CACHE.timings.clear()
        torch.manual_seed(0)
        model = space.build(genome, bundle.input_shape, bundle.num_classes)
        if mode == "channels_last":
            model = model.to(memory_format=torch.channels_last)
        c = dataclasses.replace(cfg, bestof=mode == "bestof")
        kw = dict(seed=0, device=torch.device("cpu"), augment=bundle.augment)
        first = train(model, bundle.train, bundle.val, c, epochs=1, **kw)
        then = train(model, bundle.train, bundle.val, c, epochs=epochs, **kw)
        out[mode] = then.images_per_s
        out[f"{mode} (first epoch)"] = first.images_per_s
    return out


def main() -> None:
    from xnas.config import SpaceConfig, load_config
    from xnas.data import cached_dataset
    from xnas.space import get_space

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--genomes", type=int, default=3)
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--train-size", type=int, default=512)
    args = p.parse_args()
    os.environ.setdefault("XNAS_DATA", str(REPO.parent / "shared" / "data"))
    torch.set_num_threads(1)
    cfg = load_config(
        None,
        [
            "data.name=cifar10",
            f"data.train_size={args.train_size}",
            "data.val_size=256",
            "train.batch_size=32",
        ],
    )
    bundle = cached_dataset(cfg.data)
    for name, spec in SPACES.items():
        space = get_space(SpaceConfig(**spec))
        rng = np.random.default_rng(0)
        lat_ratio, train_ratio, first_ratio = [], [], []
        for i in range(args.genomes):
            genome = space.sample(rng)
            model = space.build(genome, (3, 32, 32), 10).eval()
            lat = latencies(model, args.repeats, i)
            tr = training(space, genome, bundle, cfg.train, args.epochs)
            whole = min(lat["eager"], lat["channels_last"])
            lat_ratio.append(whole / lat["bestof"])
            train_ratio.append(tr["bestof"] / max(tr["eager"], tr["channels_last"]))
            first_ratio.append(
                tr["bestof (first epoch)"]
                / max(tr["eager (first epoch)"], tr["channels_last (first epoch)"])
            )
            print(
                json.dumps(
                    {
                        "bench": "bestof",
                        "space": name,
                        "genome": space.key(genome),
                        "latency_ms": {
                            k: round(v, 3) for k, v in lat.items() if k != "bestof_report"
                        },
                        "bestof_layers": lat["bestof_report"],
                        "latency_ratio": round(lat_ratio[-1], 3),
                        "train_images_per_s": {k: round(v, 1) for k, v in tr.items()},
                        "train_ratio": round(train_ratio[-1], 3),
                        "load_1min": round(os.getloadavg()[0], 2),
                    }
                ),
                flush=True,
            )
        print(
            json.dumps(
                {
                    "bench": "bestof",
                    "space": name,
                    "summary": True,
                    "genomes": args.genomes,
                    "median_latency_ratio": round(statistics.median(lat_ratio), 3),
                    "median_train_ratio": round(statistics.median(train_ratio), 3),
                    "median_first_epoch_train_ratio": round(statistics.median(first_ratio), 3),
                    "threads": 1,
                    "device": "cpu",
                    "data": "CIFAR-10 (JPEG), 32x32",
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()

"""One candidate's training on 1 vs k ranks (``parallel.ranks_per_eval``):
``python benchmarks/bench_ddp.py [--ranks 2] [--rounds 3]``.

Each measurement is a fresh ``mpiexec -n R`` job (R = 1, then k, alternating ``--rounds``
times, so load drifts hit both alike) in which every rank has one torch thread and trains
the same network data-parallel (``evaluate.ddp``: strided shards, synced BatchNorm, DDP over
gloo) for ``--epochs`` epochs; the figure is training images/s of the epoch loop
(validation excluded), as the trainer reports it. One JSON line per network and round
plus a summary line per network with the median speed-up k-rank / 1-rank (goal: >= 1.6x
for 2 ranks on the large network), with BatchNorm synced over the group (``sync``, the
default: one process's training) and per rank (``local``, plain DDP).

Networks: ``nb201-c16-n5`` is NAS-Bench-201's own network (C=16, 5 cells per stage) on
CIFAR-10 (JPEG) 32x32, batch 128: 1.29 M parameters, large enough that the all-reduce of
its gradients is small beside the compute (the synced BatchNorm's 2 x 81 small all-reduces
a step are not). ``nb201-c8-n1`` is
the studies' network on ``lines`` 12x12, batch 64: so small that communication and the
per-step overhead dominate, shown for contrast.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GENOME = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|" + (
    "nor_conv_3x3~2|"
)
NETWORKS = {
    "nb201-c16-n5": [
        "space.name=nb201",
        "space.channels=16",
        "space.layers=5",
        "data.name=cifar10",
        "data.train_size=1024",
        "data.val_size=256",
        "train.batch_size=128",
    ],
    "nb201-c8-n1": [
        "space.name=nb201",
        "space.channels=8",
        "space.layers=1",
        "data.name=lines",
        "data.train_size=1024",
        "data.val_size=256",
        "train.batch_size=64",
    ],
}


def worker(network: str, epochs: int, batchnorm: str) -> None:
    """Run under mpiexec: every rank trains its shard; rank 0 prints the images/s."""
    import torch
    from mpi4py import MPI

    from xnas.config import load_config
    from xnas.data import cached_dataset
    from xnas.evaluate.ddp import mpi_store, process_group
    from xnas.evaluate.trainer import train
    from xnas.space import get_space

    torch.set_num_threads(1)
    comm = MPI.COMM_WORLD
    cfg = load_config(None, NETWORKS[network])
    bundle = cached_dataset(cfg.data)
    space = get_space(cfg.space)
    torch.manual_seed(0)
    model = space.build(space.parse(GENOME), bundle.input_shape, bundle.num_classes)
    cpu = torch.device("cpu")
    kwargs = dict(epochs=epochs, seed=0, device=cpu, augment=bundle.augment)
    if comm.Get_size() == 1:
        outcome = train(model, bundle.train, bundle.val, cfg.train, **kwargs)
    else:
        sync = batchnorm == "sync"
        rank, size = comm.Get_rank(), comm.Get_size()
        with process_group(rank, size, mpi_store(comm), cpu, 600, sync) as s:
            outcome = train(model, bundle.train, bundle.val, cfg.train, shard=s, **kwargs)
    if comm.Get_rank() == 0:
        params = sum(p.numel() for p in model.parameters())
        print(json.dumps({"images_per_s": outcome.images_per_s, "params": params}))


def measure(network: str, ranks: int, epochs: int, batchnorm: str = "sync") -> dict:
    mpiexec = Path(sys.executable).parent / "mpiexec"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [
            str(mpiexec),
            "-n",
            str(ranks),
            sys.executable,
            __file__,
            "--worker",
            network,
            "--epochs",
            str(epochs),
            "--batchnorm",
            batchnorm,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        stdin=subprocess.DEVNULL,  # mpiexec forwards stdin to rank 0: give it none
        timeout=1800,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--networks", default=",".join(NETWORKS))
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--batchnorm", default="sync", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args.worker, args.epochs, args.batchnorm)
        return
    os.environ.setdefault("XNAS_DATA", str(REPO.parent / "shared" / "data"))
    for network in args.networks.split(","):
        ratios: dict[str, list[float]] = {"sync": [], "local": []}
        for round_ in range(args.rounds):
            one = measure(network, 1, args.epochs)
            many = {bn: measure(network, args.ranks, args.epochs, bn) for bn in ratios}
            for bn, m in many.items():
                ratios[bn].append(m["images_per_s"] / one["images_per_s"])
            line = {
                "bench": "ddp",
                "network": network,
                "round": round_,
                "params": one["params"],
                "images_per_s_1": round(one["images_per_s"], 1),
                **{
                    f"images_per_s_{args.ranks}_{bn}_bn": round(m["images_per_s"], 1)
                    for bn, m in many.items()
                },
                **{f"speedup_{bn}_bn": round(r[-1], 3) for bn, r in ratios.items()},
                "load_1min": round(os.getloadavg()[0], 2),
                "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            }
            print(json.dumps(line), flush=True)
        summary = {"bench": "ddp", "network": network, "summary": True, "ranks": args.ranks}
        for bn, r in ratios.items():
            summary[f"median_speedup_{bn}_bn"] = round(statistics.median(r), 3)
            summary[f"range_{bn}_bn"] = [round(min(r), 3), round(max(r), 3)]
        summary.update(threads_per_rank=1, cores=os.cpu_count())
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()

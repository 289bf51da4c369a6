"""The GPU acceptance run: every CUDA path once, small, one JSON line per check.

    bash benchmarks/gpu_check.sh            # (this script, one torch thread per process)

Checks: the device; the trainer's images/s with AMP on and off against a plain PyTorch
loop on the same network and data; peak memory with and without gradient checkpointing;
NVML energy of one evaluation and the device it read; latency measured on CUDA; a 2-rank
`mpiexec` search's device mapping (each rank's device, from the store); proxy scoring
seconds per cell; DDP over NCCL (two GPUs); BestOf's per-layer choice on CUDA. A check that
needs what this machine lacks prints ``"status": "skipped"`` with the reason; the run ends
with a summary line and exits 0 unless a check that could run failed. Sized to finish in
well under 8 minutes on one H100.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("XNAS_SHARED_DATA", REPO.parent / "shared" / "data"))


class Skip(Exception):
    """The check cannot run here (the reason is its message)."""


def cuda():
    import torch

    if not torch.cuda.is_available():
        raise Skip("no CUDA device (torch.cuda.is_available() is False)")
    return torch.device("cuda")


def tiny_setup(device):
    import torch

    from xnas.config import DataConfig, SpaceConfig
    from xnas.data import load_dataset
    from xnas.space import get_space

    bundle = load_dataset(DataConfig(name="cifar10", root=str(SHARED), train_size=2048))
    space = get_space(SpaceConfig(name="nb201", channels=16, layers=5))
    genome = space.parse(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    )
    torch.manual_seed(0)
    model = space.build(genome, bundle.input_shape, bundle.num_classes).to(device)
    return bundle, space, genome, model


def check_device() -> dict:
    import torch

    d = cuda()
    p = torch.cuda.get_device_properties(d)
    return {
        "device": p.name,
        "memory_gib": round(p.total_memory / 2**30, 1),
        "torch": torch.__version__,
    }


def check_amp() -> dict:
    import copy

    import torch
    from torch import nn

    from xnas.config import TrainConfig
    from xnas.evaluate.trainer import train

    d = cuda()
    bundle, _, _, model = tiny_setup(d)
    out = {}
    for amp in (False, True):
        m = copy.deepcopy(model)
        cfg = TrainConfig(batch_size=256, amp=amp, warmup_epochs=0)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        train(m, bundle.train, bundle.val, cfg, epochs=2, seed=0, device=d)
        torch.cuda.synchronize()
        out[f"xnas_images_s_amp_{'on' if amp else 'off'}"] = round(
            2 * len(bundle.train) / (time.perf_counter() - t0), 1
        )
    # a plain PyTorch loop on the same network and data (fp32), the reference
    m = copy.deepcopy(model).train()
    opt = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)
    x, y = bundle.train.x.to(d), bundle.train.y.to(d)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(2):
        for i in range(0, len(x), 256):
            opt.zero_grad()
            nn.functional.cross_entropy(m(x[i : i + 256]), y[i : i + 256]).backward()
            opt.step()
    torch.cuda.synchronize()
    out["plain_loop_images_s"] = round(2 * len(x) / (time.perf_counter() - t0), 1)
    return out


def check_checkpointing() -> dict:
    import copy

    import torch

    from xnas.config import TrainConfig
    from xnas.evaluate.trainer import train

    d = cuda()
    bundle, _, _, model = tiny_setup(d)
    out = {}
    for ckpt in (False, True):
        if not hasattr(model, "grad_checkpoint") and ckpt:
            raise Skip("this network has no grad_checkpoint switch")
        m = copy.deepcopy(model)
        torch.cuda.reset_peak_memory_stats(d)
        cfg = TrainConfig(batch_size=256, grad_checkpoint=ckpt, amp=False, warmup_epochs=0)
        train(m, bundle.train, bundle.val, cfg, epochs=1, seed=0, device=d)
        out[f"peak_mib_checkpointing_{'on' if ckpt else 'off'}"] = round(
            torch.cuda.max_memory_allocated(d) / 2**20, 1
        )
    return out


def check_nvml() -> dict:
    d = cuda()
    try:
        import pynvml  # noqa: F401
    except ImportError as exc:
        raise Skip("nvidia-ml-py is not installed (pip install '.[gpu]')") from exc
    from xnas.config import MeasureConfig
    from xnas.objectives.base import EvalContext
    from xnas.objectives.energy import nvml_energy

    bundle, _, _, model = tiny_setup(d)
    ctx = EvalContext(model=model, bundle=bundle, device=d, measure=MeasureConfig())
    m = nvml_energy(ctx)
    if m is None:
        raise RuntimeError("NVML found no counter for this device")
    return {"energy_mj": round(m.value, 4), "how": m.how}


def check_latency() -> dict:
    from xnas.objectives.latency import measure_latency

    d = cuda()
    bundle, _, _, model = tiny_setup(d)
    m = measure_latency(model, bundle.input_shape, d, repeats=30)
    return {"latency_ms": round(m.value, 4), "implementation": m.how["implementation"]}


def check_proxies() -> dict:
    import torch

    from xnas.objectives.proxies.ensemble import member_scores

    d = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    bundle, space, _, _ = tiny_setup(d)
    x = bundle.train.x[:64].to(d)
    import numpy as np

    rng = np.random.default_rng(0)
    seconds = []
    for _ in range(5):
        g = space.sample(rng)
        torch.manual_seed(0)
        model = space.build(g, bundle.input_shape, bundle.num_classes).to(d)
        t0 = time.perf_counter()
        member_scores(model, x, tuple(x.shape[1:]), d)
        if d.type == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - t0)
    return {"device": d.type, "seconds_per_cell_median": round(sorted(seconds)[2], 4), "cells": 5}


def mpi_search(config: str) -> list:
    """The results of a search with ``config`` (YAML text) on 3 ranks (``mpiexec -n 3``)."""
    mpiexec = Path(sys.executable).parent / "mpiexec"
    if not mpiexec.exists():
        raise Skip("no mpiexec beside this python (pip install '.[mpi]')")
    with tempfile.TemporaryDirectory() as tmp:
        path, run = Path(tmp) / "c.yaml", Path(tmp) / "run"
        path.write_text(config)
        cmd = [str(mpiexec), "-n", "3", sys.executable, "-m", "xnas", "search", str(path)]
        done = subprocess.run([*cmd, "--run-dir", str(run)], capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(done.stderr[-500:])
        from xnas.report import open_run

        return open_run(run).results


def check_mpi_devices() -> dict:
    results = mpi_search(
        "data: {name: lines, train_size: 200, val_size: 100}\n"
        "space: {name: nb201, channels: 4}\ntrain: {epochs: 1}\n"
        "search: {population: 4, generations: 1}\nobjectives: [error, params]\n"
    )
    mapping = sorted({(r.rank, r.device) for r in results})
    return {"ranks_devices": [list(m) for m in mapping]}


def check_ddp() -> dict:
    """A 2-rank group (parallel.ranks_per_eval 2) training each candidate over NCCL."""
    import torch

    cuda()
    if torch.cuda.device_count() < 2:
        raise Skip("DDP over NCCL needs 2 GPUs (NCCL puts one rank on each); this has 1")
    results = mpi_search(
        "data: {name: lines, train_size: 512, val_size: 128}\n"
        "space: {name: nb201, channels: 16}\ntrain: {epochs: 1}\n"
        "search: {population: 4, generations: 1}\nobjectives: [error, params]\n"
        "parallel: {ranks_per_eval: 2}\n"
    )
    ranks = sorted({r.timings.get("train_ranks", 1) for r in results if r.epochs})
    if ranks != [2]:
        raise RuntimeError(f"trainings did not span 2 ranks: {ranks}")
    return {"evaluations": len(results), "devices": sorted({r.device for r in results})}


def check_bestof() -> dict:
    """Per-layer implementation selection on CUDA (cuDNN benchmark among the choices)."""
    import torch

    from xnas.objectives.latency import measure_latency

    d = cuda()
    _, _, _, model = tiny_setup(d)
    m = measure_latency(model, (3, 32, 32), d, impls=("eager", "channels_last", "bestof"))
    report = m.how["bestof"]
    return {
        "latency_ms": {k: round(v, 4) for k, v in m.how["timings_ms"].items()},
        "chosen": report["chosen"],
        "median_gain": report["median_gain"],
        "cudnn": torch.backends.cudnn.version(),
    }


CHECKS = {
    "device": check_device,
    "amp": check_amp,
    "grad_checkpointing": check_checkpointing,
    "nvml_energy": check_nvml,
    "latency_cuda": check_latency,
    "proxies": check_proxies,
    "mpi_device_mapping": check_mpi_devices,
    "ddp_nccl": check_ddp,
    "bestof_cuda": check_bestof,
}


def main() -> int:
    import torch

    torch.set_num_threads(1)
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for name, fn in CHECKS.items():
        t0 = time.perf_counter()
        line: dict = {"check": name}
        try:
            line.update(fn())
            line["status"] = "passed"
        except Skip as s:
            line.update(status="skipped", reason=str(s))
        except Exception as exc:  # a check that could run and did not: reported, not hidden
            line.update(status="failed", error=f"{type(exc).__name__}: {exc}"[:500])
            line["traceback"] = traceback.format_exc(limit=3)[-800:]
        line["seconds"] = round(time.perf_counter() - t0, 2)
        counts[line["status"]] += 1
        print(json.dumps(line, default=str), flush=True)
    print(json.dumps({"check": "summary", **counts}), flush=True)
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())

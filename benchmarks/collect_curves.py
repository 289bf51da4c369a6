"""Record real learning curves for calibrating the learning-curve stop rule.

Trains architectures of both spaces with the xnas trainer (the search's own recipe:
SGD + Nesterov, warm-up, cosine to zero over the budget) on several datasets and
learning rates, and writes one JSON record per run: validation accuracy after every
epoch, parameter count, and the setting. ``tests/fixtures/learning_curves.json`` is the
committed output; ``benchmarks/bench_stoprule.py`` and the stop rule's calibration
replay it. Run: ``.venv/bin/python benchmarks/collect_curves.py [-o FILE] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from xnas.config import DataConfig, LinesOptions, SpaceConfig, TrainConfig  # noqa: E402
from xnas.data import load_dataset  # noqa: E402
from xnas.evaluate.trainer import train  # noqa: E402
from xnas.nn.device import resolve_device  # noqa: E402
from xnas.space import get_space  # noqa: E402
from xnas.space.references import REFERENCES  # noqa: E402

SHARED = REPO.parent / "shared" / "data"

# (label, data config, budgets in epochs, batch size)
SETTINGS = (
    ("digits-300", DataConfig(name="digits", train_size=300, seed=0), (20,), 32),
    ("digits-full", DataConfig(name="digits", seed=0), (12,), 64),
    (
        "lines-800",
        DataConfig(
            name="lines", train_size=800, val_size=400, seed=0, lines=LinesOptions(noise=0.3)
        ),
        (12, 20),
        32,
    ),
    (
        "mnist-1000",
        DataConfig(name="mnist", root=str(SHARED), train_size=1000, val_size=1000, seed=0),
        (12,),
        64,
    ),
)
CIFAR = (
    "cifar10-jpg-1000",
    DataConfig(
        name="cifar10", root=str(SHARED), train_size=1000, val_size=1000, val_source="test", seed=0
    ),
    (12,),
    64,
)
LRS = (0.01, 0.05, 0.1)


def genomes(space_name: str, n_random: int, seed: int) -> list[tuple[str, tuple[int, ...]]]:
    cfg = SpaceConfig(name=space_name, channels=8, layers=1)
    space = get_space(cfg)
    out = []
    for name, ref in REFERENCES.items():
        if ref.space == space_name:
            out.append((name, space.parse(ref.key)))
    rng = np.random.default_rng(seed)
    while len(out) < n_random + sum(r.space == space_name for r in REFERENCES.values()):
        g = space.sample(rng)
        if all(space.canonical(g) != space.canonical(h) for _, h in out):
            out.append((space.canonical(g), g))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", default=str(REPO / "tests/fixtures/learning_curves.json"))
    ap.add_argument("--quick", action="store_true", help="one setting, two archs (a smoke run)")
    ap.add_argument("--only", help="record only the setting with this label (appends to -o)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    device = resolve_device("cpu")
    out_path = Path(args.output)
    records = []
    settings = SETTINGS[:1] if args.quick else (*SETTINGS, CIFAR)
    if args.only:
        settings = tuple(s for s in settings if s[0] == args.only)
        if out_path.is_file():  # keep the other settings' curves
            records = [
                r for r in json.loads(out_path.read_text())["curves"] if r["setting"] != args.only
            ]
    started = time.perf_counter()
    for label, data_cfg, budgets, batch in settings:
        if data_cfg.root and not Path(data_cfg.root).is_dir():
            print(f"skip {label}: {data_cfg.root} missing", file=sys.stderr)
            continue
        bundle = load_dataset(data_cfg)
        archs = [("nb201", g) for g in genomes("nb201", 8, 1)]
        if label.startswith("digits"):
            archs += [("micro", g) for g in genomes("micro", 2, 2)]
        if args.quick:
            archs = archs[:2]
        for space_name, (arch_name, genome) in archs:
            space = get_space(SpaceConfig(name=space_name, channels=8, layers=1))
            for lr in LRS:
                for epochs in budgets:
                    tcfg = replace(
                        TrainConfig(), epochs=epochs, batch_size=batch, lr=lr, warmup_epochs=1
                    )
                    torch.manual_seed(0)
                    model = space.build(genome, bundle.input_shape, bundle.num_classes)
                    params = sum(p.numel() for p in model.parameters())
                    t = time.perf_counter()
                    out = train(
                        model,
                        bundle.train,
                        bundle.val,
                        tcfg,
                        epochs=epochs,
                        seed=0,
                        device=device,
                        augment=bundle.augment,
                    )
                    records.append(
                        {
                            "setting": label,
                            "dataset": data_cfg.name,
                            "classes": bundle.num_classes,
                            "space": space_name,
                            "arch": space.canonical(genome),
                            "name": arch_name,
                            "lr": lr,
                            "batch_size": batch,
                            "warmup_epochs": 1,
                            "epochs": epochs,
                            "params": params,
                            "val_samples": len(bundle.val),
                            "curve": [round(a, 6) for a in out.curve],
                        }
                    )
                    print(
                        f"{label} {space_name} {arch_name[:30]:30s} lr={lr} T={epochs} "
                        f"final={out.curve[-1]:.3f} ({time.perf_counter() - t:.1f}s)",
                        flush=True,
                    )
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "what": "validation-accuracy learning curves from xnas.evaluate.trainer.train",
        "torch": torch.__version__,
        "threads": 1,
        "device": "cpu",
        "seconds": round(time.perf_counter() - started, 1),
    }
    Path(args.output).write_text(json.dumps({"meta": meta, "curves": records}, indent=0) + "\n")
    print(f"{len(records)} curves -> {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Trainer throughput vs a plain PyTorch loop on the same network and data, in one run.

Prints one JSON line: images/s of each and their ratio (goal >= 0.95). Both sides
run the same optimiser, the same number of epochs and no augmentation; the plain
loop uses a DataLoader over a TensorDataset, the textbook way. Runs alternate
(plain, trainer, plain, trainer, ...) and the medians are compared, so drift on a
shared machine hits both sides alike.
"""

from __future__ import annotations

import json
import statistics
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from xnas.config import DataConfig, SpaceConfig, TrainConfig
from xnas.data import load_dataset
from xnas.evaluate.trainer import train
from xnas.space import resolve_arch

EPOCHS, ROUNDS = 2, 3


def plain_loop(model: nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig) -> float:
    loader = DataLoader(TensorDataset(x, y), batch_size=cfg.batch_size, shuffle=True)
    opt = torch.optim.SGD(
        model.parameters(),
        lr=cfg.lr,
        momentum=cfg.momentum,
        nesterov=True,
        weight_decay=cfg.weight_decay,
    )
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    start = time.perf_counter()
    for _ in range(EPOCHS):
        for xb, yb in loader:
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
    return EPOCHS * len(y) / (time.perf_counter() - start)


def main() -> None:
    torch.set_num_threads(1)
    bundle = load_dataset(DataConfig(name="digits"))
    space, genome = resolve_arch("nb201-best-cifar10", SpaceConfig(channels=8, layers=1))
    cfg = TrainConfig(batch_size=64, grad_clip=None)
    plain, ours = [], []
    for r in range(ROUNDS):
        torch.manual_seed(r)
        plain.append(
            plain_loop(
                space.build(genome, bundle.input_shape, 10), bundle.train.x, bundle.train.y, cfg
            )
        )
        torch.manual_seed(r)
        model = space.build(genome, bundle.input_shape, 10)
        ours.append(
            train(
                model,
                bundle.train,
                bundle.val,
                cfg,
                epochs=EPOCHS,
                seed=r,
                device=torch.device("cpu"),
            ).images_per_s
        )
    p, o = statistics.median(plain), statistics.median(ours)
    print(
        json.dumps(
            {
                "bench": "trainer_vs_plain_loop",
                "dataset": "digits",
                "arch": "nb201-best-cifar10 C=8 N=1",
                "threads": 1,
                "epochs": EPOCHS,
                "rounds": ROUNDS,
                "plain_img_s": round(p, 1),
                "trainer_img_s": round(o, 1),
                "ratio": round(o / p, 3),
                "goal": 0.95,
            }
        )
    )


if __name__ == "__main__":
    main()

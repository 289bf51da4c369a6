"""Genotype -> torch.nn.Module for both spaces (stem, cells, pooling, classifier)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from xnas.nn.cells import MicroCell, NB201Cell, ResidualReduction

if TYPE_CHECKING:  # genotypes are plain data; importing xnas.space here would cycle
    from xnas.space.genotypes import MicroGenotype, NB201Genotype


class MicroNetwork(nn.Module):
    """NSGA-Net / DARTS CIFAR network: 3 stages of ``layers`` normal cells, 2 reductions."""

    def __init__(
        self,
        genotype: MicroGenotype,
        input_shape: tuple[int, int, int],
        num_classes: int,
        channels: int = 16,
        layers: int = 2,
        stem_multiplier: int = 3,
    ) -> None:
        super().__init__()
        c_stem = stem_multiplier * channels
        self.stem = nn.Sequential(
            nn.Conv2d(input_shape[0], c_stem, 3, padding=1, bias=False), nn.BatchNorm2d(c_stem)
        )
        c_pp, c_p, c = c_stem, c_stem, channels
        self.cells = nn.ModuleList()
        reduction_prev = False
        kinds = [False] * layers + [True] + [False] * layers + [True] + [False] * layers
        for reduction in kinds:
            if reduction:
                c *= 2
            cell_genotype = genotype.reduce if reduction else genotype.normal
            cell = MicroCell(cell_genotype, c_pp, c_p, c, reduction, reduction_prev)
            self.cells.append(cell)
            c_pp, c_p = c_p, cell.multiplier * c
            reduction_prev = reduction
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    grad_checkpoint = False  # set by the trainer (CUDA only): recompute cells in backward

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            if self.grad_checkpoint and self.training:
                s0, s1 = s1, checkpoint(cell, s0, s1, use_reentrant=False)
            else:
                s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.pool(s1).flatten(1))


class NB201Network(nn.Module):
    """NAS-Bench-201 macro skeleton: 3 stages of N cells joined by residual reductions."""

    def __init__(
        self,
        genotype: NB201Genotype,
        input_shape: tuple[int, int, int],
        num_classes: int,
        channels: int = 16,
        cells_per_stage: int = 5,
    ) -> None:
        super().__init__()
        c = channels
        self.stem = nn.Sequential(
            nn.Conv2d(input_shape[0], c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        )
        layers: list[nn.Module] = []
        for stage in range(3):
            if stage:
                layers.append(ResidualReduction(c, 2 * c))
                c *= 2
            layers.extend(NB201Cell(genotype, c) for _ in range(cells_per_stage))
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=False))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    grad_checkpoint = False  # set by the trainer (CUDA only): recompute cells in backward

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for cell in self.cells:
            if self.grad_checkpoint and self.training:
                x = checkpoint(cell, x, use_reentrant=False)
            else:
                x = cell(x)
        x = self.lastact(x)
        return self.classifier(self.pool(x).flatten(1))

"""Cells: the micro (NASNet/NSGA-Net) cell and the NAS-Bench-201 cell.

Parameter names depend only on position and op: ``blocks.{b}.{pair}.{op}`` and
``edges.{to}<-{from}.{op}``, so weights move between genomes that share an op at
a place (weight inheritance matches names and shapes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from xnas.nn.ops import FactorizedReduce, ReLUConvBN, make_op

if TYPE_CHECKING:  # genotypes are plain data; importing xnas.space here would cycle
    from xnas.space.genotypes import CellGenotype, NB201Genotype


def _sum(terms: list[torch.Tensor]) -> torch.Tensor:
    """Sum without a leading ``0 +`` (which would materialise a copy of the first term)."""
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


class MicroCell(nn.Module):
    """B blocks; each sums two (op, input) pairs; unused block outputs are concatenated."""

    def __init__(
        self,
        cell: CellGenotype,
        c_prev_prev: int,
        c_prev: int,
        c: int,
        reduction: bool,
        reduction_prev: bool,
    ) -> None:
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = (
            FactorizedReduce(c_prev_prev, c)
            if reduction_prev
            else ReLUConvBN(c_prev_prev, c, 1, 1, 0)
        )
        self.preprocess1 = ReLUConvBN(c_prev, c, 1, 1, 0)
        self.inputs = tuple(tuple(inp for _, inp in block) for block in cell.blocks)
        self.blocks = nn.ModuleList()
        for block in cell.blocks:
            pairs = nn.ModuleList()
            for op, inp in block:
                stride = 2 if reduction and inp < 2 else 1
                pairs.append(nn.ModuleDict({op: make_op(op, c, stride)}))
            self.blocks.append(pairs)
        self.concat = cell.concat
        self.multiplier = len(cell.concat)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for pairs, inputs in zip(self.blocks, self.inputs, strict=True):
            terms = [
                op(states[inp])
                for pair, inp in zip(pairs, inputs, strict=True)
                for op in pair.values()
            ]
            states.append(_sum(terms))
        return torch.cat([states[i] for i in self.concat], dim=1)


DEAD = "_xnas_dead"  # set on every module of an edge that cannot affect the cell's output


def is_dead(module: nn.Module) -> bool:
    """Whether ``module`` lies on a dead edge (``dead_edges``): hooked objectives
    (introspection, NASWOT) skip it, so they are functions of the functional class."""
    return bool(getattr(module, DEAD, False))


def dead_edges(genotype: NB201Genotype) -> set[str]:
    """Edges ``"to<-from"`` whose op cannot change the cell's output: a ``none`` op, an op
    on a node that is always zero (every term into it is zero), or an edge into a node no
    non-``none`` path leads from to the output. Like NATS-Bench's ``consider_zero``, an op
    on a zero input counts as zero; after training a BatchNorm turns that into a per-channel
    constant, which both neglect (the README's deviations name it). Where this and
    ``space.equivalence`` disagree on an edge, introspection of class members can differ."""
    edges = [(to, frm, op) for to, node in enumerate(genotype.nodes, start=1) for op, frm in node]
    last = len(genotype.nodes)
    zero = {0: False}
    for to in range(1, last + 1):
        zero[to] = all(op == "none" or zero[frm] for t, frm, op in edges if t == to)
    reaches = {last: True}
    for node in range(last - 1, -1, -1):
        reaches[node] = any(
            op != "none" and reaches[t] for t, frm, op in edges if frm == node and t in reaches
        )
    return {f"{to}<-{frm}" for to, frm, op in edges if op == "none" or zero[frm] or not reaches[to]}


class NB201Cell(nn.Module):
    """Four nodes; node j sums op(node i) over i < j; the cell's output is the last node."""

    def __init__(self, genotype: NB201Genotype, c: int) -> None:
        super().__init__()
        self.edges = nn.ModuleDict()
        self.wiring: list[list[tuple[str, int]]] = []
        dead = dead_edges(genotype)
        for to, node in enumerate(genotype.nodes, start=1):
            incoming = []
            for op, frm in node:
                key = f"{to}<-{frm}"
                self.edges[key] = nn.ModuleDict({op: make_op(op, c, 1)})
                incoming.append((key, frm))
                if key in dead:
                    for m in self.edges[key].modules():
                        setattr(m, DEAD, True)
            self.wiring.append(incoming)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for incoming in self.wiring:
            terms = [op(nodes[frm]) for key, frm in incoming for op in self.edges[key].values()]
            nodes.append(_sum(terms))
        return nodes[-1]


class ResidualReduction(nn.Module):
    """NB201's residual block between stages: two 3x3 convs (stride 2) + pooled shortcut."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(2, stride=2, ceil_mode=True, count_include_pad=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_b(self.conv_a(x)) + self.shortcut(x)

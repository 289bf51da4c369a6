"""Genotypes: the decoded, human-readable form of a genome (plain frozen data)."""

from __future__ import annotations

from dataclasses import dataclass

Pair = tuple[str, int]  # (operation name, input index)


@dataclass(frozen=True)
class CellGenotype:
    """Micro cell: inputs 0 and 1 are the cell inputs, 2 + b is block b's output."""

    blocks: tuple[tuple[Pair, Pair], ...]
    concat: tuple[int, ...]  # the unused block outputs, concatenated as the cell output


@dataclass(frozen=True)
class MicroGenotype:
    normal: CellGenotype
    reduce: CellGenotype


@dataclass(frozen=True)
class NB201Genotype:
    """Node j (1..3) receives one (op, from-node) edge from each earlier node."""

    nodes: tuple[tuple[Pair, ...], ...]

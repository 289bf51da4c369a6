"""`micro`: NSGA-Net's micro (NASNet-style) space of a normal and a reduction cell.

Each cell has B blocks; a block is two (op, input) pairs whose outputs are summed.
Input 0/1 are the cell's inputs (outputs of the two previous cells), 2 + b the
output of block b; unused block outputs form the cell output. Genome layout, per
cell then per block: (op_a, in_a, op_b, in_b) -> 2 x B x 4 integers (40 for B=5).

The two pairs of a block commute (their outputs are summed), so ``normalize``
orders them by (input, op name); that is the only equivalence merged, and so
``equivalence`` is the canonical key. Every block reaches the cell output (unused
blocks are concatenated), so no block is dead; two cells that differ by the order of
independent blocks compute the same function only up to a permutation of the output
channels (and of the weights), which xnas does not merge.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from xnas.errors import GenomeError
from xnas.space.base import SPACES, Genome, SearchSpace
from xnas.space.genotypes import CellGenotype, MicroGenotype

if TYPE_CHECKING:
    from torch import nn

NSGANET_OPS = (
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
    "sep_conv_7x7",
    "conv_7x1_1x7",
)
CELLS = ("normal", "reduce")
_CELL = re.compile(r"^N\[(.*)\]R\[(.*)\]$")


@SPACES.register("micro")
class MicroSpace(SearchSpace):
    name = "micro"
    unit = 2  # an (op, input) pair
    reorder_span = 4  # a block's two pairs are sorted by normalize

    def __init__(self, cfg=None) -> None:
        super().__init__(cfg)
        self.ops = tuple(self.cfg.ops) if self.cfg.ops else NSGANET_OPS
        if self.cfg.ops:  # a user's op list: each must be a registered op
            from xnas.nn.ops import OPS  # (torch: only for a custom op list)

            for op in self.ops:
                OPS.get(op)  # RegistryError names the valid ops
        if "none" in self.ops:
            raise GenomeError(
                "op 'none' is not allowed in the micro space (a block needs an input)"
            )
        if self.cfg.blocks < 1:
            raise GenomeError(f"space.blocks must be >= 1, got {self.cfg.blocks}")
        self.blocks = self.cfg.blocks
        lo, hi = [], []
        for _cell in CELLS:
            for b in range(self.blocks):
                lo += [0, 0, 0, 0]
                hi += [len(self.ops) - 1, b + 1, len(self.ops) - 1, b + 1]
        self._lower, self._upper = np.array(lo), np.array(hi)

    @property
    def lower(self) -> np.ndarray:
        return self._lower

    @property
    def upper(self) -> np.ndarray:
        return self._upper

    def op_groups(self) -> list[np.ndarray]:
        per_cell = 4 * self.blocks
        return [c * per_cell + np.arange(0, per_cell, 2) for c in range(len(CELLS))]

    def describe_position(self, i: int) -> str:
        cell, rest = divmod(i, 4 * self.blocks)
        block, j = divmod(rest, 4)
        what = ("op", "input")[j % 2]
        return f"position {i} ({CELLS[cell]} cell, block {block}, pair {j // 2}, {what})"

    def _pairs(self, x: Genome):
        for start in range(0, self.n_var, 4):
            yield (x[start], x[start + 1]), (x[start + 2], x[start + 3])

    def normalize(self, x: Genome) -> Genome:
        out: list[int] = []
        for a, b in self._pairs(x):
            first, second = sorted((a, b), key=lambda p: (p[1], self.ops[p[0]]))
            out += [*first, *second]
        return tuple(out)

    def key(self, x: Genome) -> str:
        cells = []
        for c in range(2):
            blocks = []
            for a, b in list(self._pairs(x))[c * self.blocks : (c + 1) * self.blocks]:
                blocks.append("+".join(f"{self.ops[op]}~{inp}" for op, inp in (a, b)))
            cells.append("|".join(blocks))
        return f"N[{cells[0]}]R[{cells[1]}]"

    def parse_key(self, text: str) -> Genome:
        m = _CELL.match(text)
        if not m:
            raise GenomeError(
                f"{text[:40]!r} is not a micro key; expected N[op~in+op~in|...]R[...] "
                f"with {self.blocks} blocks per cell, or {self.n_var} integers"
            )
        genome: list[int] = []
        for c, body in enumerate(m.groups()):
            blocks = body.split("|")
            if len(blocks) != self.blocks:
                raise GenomeError(
                    f"{CELLS[c]} cell has {len(blocks)} blocks; expected {self.blocks}"
                )
            for b, block in enumerate(blocks):
                pairs = block.split("+")
                if len(pairs) != 2:
                    raise GenomeError(f"{CELLS[c]} cell, block {b}: expected two op~input pairs")
                for pair in pairs:
                    pos = len(genome)
                    op, sep, inp = pair.partition("~")
                    if op not in self.ops:
                        raise GenomeError(
                            f"{self.describe_position(pos)}: unknown op {op!r}; "
                            f"expected one of {', '.join(self.ops)}"
                        )
                    if not sep or not inp.isdigit() or int(inp) > b + 1:
                        raise GenomeError(
                            f"{self.describe_position(pos + 1)}: input {inp!r} out of range; "
                            f"expected an integer in 0..{b + 1}"
                        )
                    genome += [self.ops.index(op), int(inp)]
        return tuple(genome)

    def decode(self, x: Genome) -> MicroGenotype:
        cells = []
        pairs = list(self._pairs(x))
        for c in range(2):
            blocks = tuple(
                ((self.ops[a[0]], a[1]), (self.ops[b[0]], b[1]))
                for a, b in pairs[c * self.blocks : (c + 1) * self.blocks]
            )
            used = {inp for block in blocks for _, inp in block}
            concat = tuple(i for i in range(2, 2 + self.blocks) if i not in used)
            cells.append(CellGenotype(blocks=blocks, concat=concat))
        return MicroGenotype(normal=cells[0], reduce=cells[1])

    def encode(self, genotype: MicroGenotype) -> Genome:
        """Genotype -> genome (used for the published reference cells)."""
        genome: list[int] = []
        for cell in (genotype.normal, genotype.reduce):
            for block in cell.blocks:
                for op, inp in block:
                    genome += [self.ops.index(op), inp]
        return self.normalize(self.check(genome))

    def build(self, x: Genome, input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
        from xnas.nn.network import MicroNetwork  # torch only where a network is built

        return MicroNetwork(
            self.decode(x),
            input_shape,
            num_classes,
            channels=self.cfg.channels,
            layers=self.cfg.layers,
        )

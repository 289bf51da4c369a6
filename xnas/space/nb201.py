"""`nb201`: the NAS-Bench-201 cell (4 nodes, 6 edges, 5 ops) that XNAS searched.

The genome is one op index per edge in NB201's edge order (1<-0, 2<-0, 2<-1,
3<-0, 3<-1, 3<-2) and the canonical key is NB201's own arch string, so results
join published NB201 tables. The map is one-to-one: no two genomes share a key;
``equivalence`` is the key of the function (6,466 classes, NATS-Bench's unique strings).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from xnas.errors import GenomeError
from xnas.space.base import SPACES, Genome, SearchSpace
from xnas.space.genotypes import NB201Genotype

if TYPE_CHECKING:
    from torch import nn

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))  # (to, from) in genome order
_TOKEN = re.compile(r"^([A-Za-z0-9_]+)~(\d+)$")


@SPACES.register("nb201")
class NB201Space(SearchSpace):
    name = "nb201"

    @property
    def lower(self) -> np.ndarray:
        return np.zeros(len(EDGES), dtype=int)

    @property
    def upper(self) -> np.ndarray:
        return np.full(len(EDGES), len(NB201_OPS) - 1, dtype=int)

    def op_groups(self) -> list[np.ndarray]:
        return [np.arange(len(EDGES))]

    def describe_position(self, i: int) -> str:
        to, frm = EDGES[i]
        return f"position {i} (edge {frm}->{to})"

    def key(self, x: Genome) -> str:
        nodes = []
        for to in (1, 2, 3):
            tokens = [f"{NB201_OPS[x[i]]}~{frm}" for i, (t, frm) in enumerate(EDGES) if t == to]
            nodes.append("|" + "|".join(tokens) + "|")
        return "+".join(nodes)

    def parse_key(self, text: str) -> Genome:
        expected = "an NB201 arch string like |op~0|+|op~0|op~1|+|op~0|op~1|op~2|"
        nodes = text.split("+")
        if len(nodes) != 3:
            raise GenomeError(f"{text!r} has {len(nodes)} node groups; expected 3 ({expected})")
        genome: list[int] = []
        for to, group in enumerate(nodes, start=1):
            if not (group.startswith("|") and group.endswith("|")):
                raise GenomeError(f"node {to} group {group!r} must start and end with '|'")
            tokens = group[1:-1].split("|")
            if len(tokens) != to:
                raise GenomeError(f"node {to} has {len(tokens)} edges; expected {to}")
            for frm, token in enumerate(tokens):
                pos = len(genome)
                m = _TOKEN.match(token)
                if not m or int(m.group(2)) != frm:
                    raise GenomeError(
                        f"{self.describe_position(pos)}: {token!r} is malformed; expected op~{frm}"
                    )
                if m.group(1) not in NB201_OPS:
                    raise GenomeError(
                        f"{self.describe_position(pos)}: unknown op {m.group(1)!r}; "
                        f"expected one of {', '.join(NB201_OPS)}"
                    )
                genome.append(NB201_OPS.index(m.group(1)))
        return tuple(genome)

    def equivalence(self, x: Genome) -> str:
        """NATS-Bench's unique string (``Structure.to_unique_str(consider_zero=True)``,
        D-X-Y/AutoDL-Projects): built from the output node back, so an edge that cannot
        reach the output leaves no trace; a ``none`` edge or an edge from a zero node is
        zero (``#``), ``skip_connect`` passes its input's string on, any other op is
        ``(input)@op``; a node is its sorted terms joined by ``+``. As in NATS-Bench, only a
        node that is exactly ``#`` counts as zero downstream (a node summing two zeros,
        ``#+#``, does not), which merges a little less than possible: 6,466 classes of
        15,625 cells. An op on a zero input counts as zero, exact at initialisation (every
        op maps 0 to 0 while BatchNorm's bias is 0); a trained BatchNorm bias would add a
        constant there, which NATS-Bench, and so xnas, neglects (README, deviations)."""
        x = self.check(x)
        nodes = {0: "0"}
        for to in (1, 2, 3):
            terms = []
            for i, (t, frm) in enumerate(EDGES):
                if t != to:
                    continue
                op, source = NB201_OPS[x[i]], nodes[frm]
                if op == "none" or source == "#":
                    terms.append("#")
                elif op == "skip_connect":
                    terms.append(source)
                else:
                    terms.append(f"({source})@{op}")
            nodes[to] = "+".join(sorted(terms))
        return nodes[3]

    def decode(self, x: Genome) -> NB201Genotype:
        return NB201Genotype(
            nodes=tuple(
                tuple((NB201_OPS[x[i]], frm) for i, (t, frm) in enumerate(EDGES) if t == to)
                for to in (1, 2, 3)
            )
        )

    def build(self, x: Genome, input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
        from xnas.nn.network import NB201Network  # torch only where a network is built

        return NB201Network(
            self.decode(x),
            input_shape,
            num_classes,
            channels=self.cfg.channels,
            cells_per_stage=self.cfg.layers,
        )

"""Published reference architectures by name (for `xnas arch NAME` and table T3).

NSGA-Net's micro cell is the genotype published with the paper (Lu et al.,
GECCO 2019, "NSGA-Net: Neural Architecture Search using Multi-Objective Genetic
Algorithm"; repository ianwhale/nsga-net, models/micro_genotypes.py, `NSGANet`).
NB201 cells are arch strings from Dong & Yang, ICLR 2020 (NAS-Bench-201).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from xnas.config import SpaceConfig
from xnas.errors import GenomeError
from xnas.space.base import Genome, SearchSpace, get_space
from xnas.space.genotypes import CellGenotype, MicroGenotype


@dataclass(frozen=True)
class Reference:
    space: str
    key: str
    source: str


def _micro_key(normal: list[tuple[str, int]], reduce: list[tuple[str, int]]) -> str:
    def cell(pairs: list[tuple[str, int]]) -> str:
        blocks = [pairs[i : i + 2] for i in range(0, len(pairs), 2)]
        return "|".join("+".join(f"{op}~{inp}" for op, inp in block) for block in blocks)

    return f"N[{cell(normal)}]R[{cell(reduce)}]"


REFERENCES: dict[str, Reference] = {
    "nsganet": Reference(
        "micro",
        _micro_key(
            [
                ("skip_connect", 0),
                ("max_pool_3x3", 0),
                ("dil_conv_5x5", 0),
                ("max_pool_3x3", 0),
                ("dil_conv_5x5", 1),
                ("sep_conv_3x3", 3),
                ("max_pool_3x3", 1),
                ("sep_conv_5x5", 3),
                ("sep_conv_3x3", 1),
                ("sep_conv_3x3", 0),
            ],
            [
                ("avg_pool_3x3", 0),
                ("sep_conv_3x3", 1),
                ("dil_conv_3x3", 1),
                ("max_pool_3x3", 0),
                ("skip_connect", 2),
                ("dil_conv_5x5", 1),
                ("skip_connect", 2),
                ("avg_pool_3x3", 1),
                ("dil_conv_5x5", 1),
                ("dil_conv_3x3", 1),
            ],
        ),
        "NSGA-Net micro cell (Lu et al., GECCO 2019)",
    ),
    "nb201-best-cifar10": Reference(
        "nb201",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        "best CIFAR-10 cell in NAS-Bench-201 (94.37% test accuracy, 200 epochs)",
    ),
    "nb201-resnet": Reference(
        "nb201",
        "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|",
        "ResNet basic block as an NB201 cell (NAS-Bench-201 paper; 559,386 parameters "
        "at C=16, N=5, 10 classes)",
    ),
    "nb201-all-conv3x3": Reference(
        "nb201",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        "densest NB201 cell: a 3x3 convolution on every edge",
    ),
    "nb201-all-skip": Reference(
        "nb201",
        "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
        "parameter-free NB201 cell: skip connections only",
    ),
}


def resolve_arch(text: str, space_cfg: SpaceConfig) -> tuple[SearchSpace, Genome]:
    """A reference name, an NB201 arch string, a micro key or a list of ints -> (space, genome).

    Names and keys pick their own space; a plain list of ints uses ``space_cfg``.
    """
    text = text.strip()
    if re.fullmatch(r"[A-Za-z][\w.-]*", text) and text not in REFERENCES:
        raise GenomeError(
            f"unknown reference {text!r}; expected one of {', '.join(REFERENCES)}, an NB201 "
            "arch string, a micro key N[...]R[...] or a list of ints"
        )
    if text in REFERENCES:
        ref = REFERENCES[text]
        name, key = ref.space, ref.key
    elif text.startswith("|"):
        name, key = "nb201", text
    elif text.startswith("N["):
        name, key = "micro", text
    else:
        name, key = space_cfg.name, text
    cfg = (
        space_cfg
        if space_cfg.name == name
        else SpaceConfig(name=name, channels=space_cfg.channels, layers=space_cfg.layers)
    )
    space = get_space(cfg)
    try:
        return space, space.parse(key)
    except GenomeError as exc:
        if text in REFERENCES:
            raise GenomeError(f"reference {text!r} does not fit this space: {exc}") from None
        raise


__all__ = ["REFERENCES", "CellGenotype", "MicroGenotype", "Reference", "resolve_arch"]

"""Weight inheritance: copy every tensor a donor network has under the same
position-based name with the same shape; leave everything else as initialised.

Names encode where a tensor sits (``cells.3.edges.2<-1.nor_conv_3x3.op.1.weight``,
``cells.0.blocks.2.1.sep_conv_3x3...``), so an op kept at the same place between a
donor and a child keeps its trained weights, and a changed op starts fresh.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from xnas.space import Genome, SearchSpace


def load_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """A saved state dict, read safely (tensors only: ``weights_only=True``)."""
    return torch.load(path, map_location="cpu", weights_only=True)


def inherit(model: nn.Module, donor: dict[str, torch.Tensor]) -> tuple[list[str], float]:
    """Copy matching tensors into ``model`` in place.

    Returns the copied names and the fraction of the model's *parameters* (elements)
    that came from the donor; buffers (BatchNorm statistics) are copied too but not
    counted.
    """
    own = model.state_dict()
    copied = [n for n, t in own.items() if n in donor and donor[n].shape == t.shape]
    with torch.no_grad():
        for name in copied:
            own[name].copy_(donor[name].to(own[name].device, own[name].dtype))
    params = dict(model.named_parameters())
    total = sum(p.numel() for p in params.values())
    inherited = sum(params[n].numel() for n in copied if n in params)
    return copied, inherited / total if total else 0.0


def nearest_donor(
    space: SearchSpace, genome: Genome, candidates: list[tuple[str, Genome, float]]
) -> str | None:
    """Key of the stored architecture closest to ``genome`` (space distance); ties go to
    the lower error, then the key, so the choice is deterministic."""
    if not candidates:
        return None
    keys = [c[0] for c in candidates]
    normalized = np.array([space.normalize(tuple(c[1])) for c in candidates])
    i = nearest_index(space, genome, normalized, np.array([c[2] for c in candidates]), keys)
    return keys[i]


def nearest_index(
    space: SearchSpace, genome: Genome, normalized: np.ndarray, errors: np.ndarray, keys: list
) -> int:
    """``nearest_donor`` on pre-normalised candidate genomes (rows of ``normalized``):
    the unit-wise Hamming distance of ``SearchSpace.distance``, vectorised."""
    g = np.asarray(space.normalize(tuple(genome)))
    units = space.n_var // space.unit
    differ = (normalized != g).reshape(len(normalized), units, space.unit).any(axis=2)
    distance = differ.sum(axis=1)
    return min(range(len(keys)), key=lambda i: (distance[i], errors[i], keys[i]))

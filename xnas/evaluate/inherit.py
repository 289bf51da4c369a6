"""Weight inheritance: copy every tensor a donor network has under the same
position-based name with the same shape; leave everything else as initialised.

Names encode where a tensor sits (``cells.3.edges.2<-1.nor_conv_3x3.op.1.weight``,
``cells.0.blocks.2.1.sep_conv_3x3...``), so an op kept at the same place between a
donor and a child keeps its trained weights, and a changed op starts fresh.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn


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

"""Model cost: trainable parameters and FLOPs (torch.utils.flop_counter).

FLOPs follow PyTorch's flop counter: 2 per multiply-accumulate of convolutions
and matrix products, for one forward pass of a single input; pooling,
normalisation and activations are not counted (the usual NAS convention).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_flops(model: nn.Module, input_shape: tuple[int, int, int]) -> int:
    """FLOPs of one forward pass on one sample, in eval mode, without touching gradients."""
    was_training = model.training
    model.eval()
    device = next(model.parameters(), torch.empty(0)).device
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros((1, *input_shape), device=device))
        return int(counter.get_total_flops())
    finally:
        model.train(was_training)

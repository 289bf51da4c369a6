"""DARTS-style candidate operations, by name.

Every factory is ``(C, stride, affine) -> nn.Module`` with C channels in and out.
All activations are non-inplace and every use builds fresh modules, so forward
hooks (captum's LayerActivation) see each activation exactly once. With stride 2
every op maps a side of n to ceil(n / 2), so any input side >= 8 works.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from xnas.registry import Registry

OpFactory = Callable[[int, int, bool], nn.Module]
OPS: Registry[OpFactory] = Registry("operation")


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, k: int, stride: int, pad: int, affine: bool = True):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, k, stride=stride, padding=pad, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class DilConv(nn.Sequential):
    def __init__(self, c: int, k: int, stride: int, pad: int, dilation: int, affine: bool = True):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, k, stride, pad, dilation=dilation, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c, affine=affine),
        )


class SepConv(nn.Sequential):
    """Two stacked dilation-1 DilConvs (the first carries the stride), as in DARTS."""

    def __init__(self, c: int, k: int, stride: int, pad: int, affine: bool = True):
        super().__init__(DilConv(c, k, stride, pad, 1, affine), DilConv(c, k, 1, pad, 1, affine))


class Conv7x1x1x7(nn.Sequential):
    def __init__(self, c: int, stride: int, affine: bool = True):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, (1, 7), stride=(1, stride), padding=(0, 3), bias=False),
            nn.Conv2d(c, c, (7, 1), stride=(stride, 1), padding=(3, 0), bias=False),
            nn.BatchNorm2d(c, affine=affine),
        )


class Zero(nn.Module):
    """NB201's `none`: the edge carries nothing (a zero tensor of the output size)."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def extra_repr(self) -> str:
        return f"stride={self.stride}"  # the latency table tells strides apart by repr

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    """Halve the side with two offset stride-2 1x1 convs; zero-pads odd sides (ceil(n/2))."""

    def __init__(self, c_in: int, c_out: int, affine: bool = True) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


def _pool(kind: str) -> OpFactory:
    def make(c: int, stride: int, affine: bool) -> nn.Module:
        if kind == "max":
            return nn.MaxPool2d(3, stride=stride, padding=1)
        return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)

    return make


def _skip(c: int, stride: int, affine: bool) -> nn.Module:
    return nn.Identity() if stride == 1 else FactorizedReduce(c, c, affine)


OPS.register("none")(lambda c, stride, affine: Zero(stride))
OPS.register("max_pool_3x3")(_pool("max"))
OPS.register("avg_pool_3x3")(_pool("avg"))
OPS.register("skip_connect")(_skip)
OPS.register("sep_conv_3x3")(lambda c, s, a: SepConv(c, 3, s, 1, a))
OPS.register("sep_conv_5x5")(lambda c, s, a: SepConv(c, 5, s, 2, a))
OPS.register("sep_conv_7x7")(lambda c, s, a: SepConv(c, 7, s, 3, a))
OPS.register("dil_conv_3x3")(lambda c, s, a: DilConv(c, 3, s, 2, 2, a))
OPS.register("dil_conv_5x5")(lambda c, s, a: DilConv(c, 5, s, 4, 2, a))
OPS.register("conv_7x1_1x7")(lambda c, s, a: Conv7x1x1x7(c, s, a))
OPS.register("nor_conv_1x1")(lambda c, s, a: ReLUConvBN(c, c, 1, s, 0, a))
OPS.register("nor_conv_3x3")(lambda c, s, a: ReLUConvBN(c, c, 3, s, 1, a))


def make_op(name: str, c: int, stride: int = 1, affine: bool = True) -> nn.Module:
    """A fresh candidate op, tagged ``xnas_op`` (the latency table's unit of measure)."""
    module = OPS.get(name)(c, stride, affine)
    module.xnas_op = name
    return module

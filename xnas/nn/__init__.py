"""Genotype -> torch.nn.Module: the op registry, cells and networks."""

from xnas.nn.network import MicroNetwork, NB201Network
from xnas.nn.ops import OPS, make_op

__all__ = ["OPS", "MicroNetwork", "NB201Network", "make_op"]

"""Networks: every op, and random genomes of every space, run forward and backward."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from xnas.config import SpaceConfig
from xnas.nn import OPS, make_op
from xnas.space import SPACES, get_space

SHAPES = [(1, 28, 28), (3, 32, 32)]


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("op", OPS.names())
def test_every_op_forward_backward(op, stride):
    module = make_op(op, 4, stride)
    x = torch.randn(2, 4, 9, 9, requires_grad=True)  # odd side: ceil(9/2) = 5 with stride 2
    y = module(x)
    assert y.shape == (2, 4, 5, 5) if stride == 2 else (2, 4, 9, 9)
    y.square().sum().backward()
    if op != "none":
        assert x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("name", SPACES.names())
@pytest.mark.parametrize("shape", SHAPES, ids=["1x28x28", "3x32x32"])
def test_100_random_genomes_build_and_train_one_step(name, shape):
    sp = get_space(SpaceConfig(name=name, channels=4, layers=1))
    rng = np.random.default_rng(123)
    torch.manual_seed(0)
    x = torch.randn(2, *shape)
    for _ in range(100):
        genome = sp.sample(rng)
        net = sp.build(genome, shape, 10)
        out = net(x)
        assert out.shape == (2, 10)
        out.sum().backward()
        grads = [p.grad for p in net.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("name", SPACES.names())
@pytest.mark.parametrize("side", [8, 10, 12])
def test_small_and_odd_inputs(name, side):
    sp = get_space(SpaceConfig(name=name, channels=4, layers=1))
    genome = sp.sample(np.random.default_rng(0))
    assert sp.build(genome, (1, side, side), 4)(torch.randn(2, 1, side, side)).shape == (2, 4)


@pytest.mark.parametrize("name", SPACES.names())
def test_activations_are_non_inplace_and_never_shared(name):
    sp = get_space(SpaceConfig(name=name, channels=4, layers=1))
    net = sp.build(sp.sample(np.random.default_rng(1)), (3, 32, 32), 10)
    modules = list(net.modules())
    relus = [m for m in modules if isinstance(m, nn.ReLU)]
    assert relus and not any(m.inplace for m in relus)
    # named_modules() lists each instance once; modules() with duplicates would be longer
    ids = [id(m) for _, m in net.named_modules(remove_duplicate=False)]
    assert len(ids) == len(set(ids))


def test_parameter_names_depend_only_on_position_and_op():
    sp = get_space(SpaceConfig(name="nb201", channels=4, layers=1))
    a = sp.build(
        sp.parse("|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|none~2|"),
        (1, 28, 28),
        10,
    )
    b = sp.build(
        sp.parse("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|none~0|none~1|none~2|"),
        (1, 28, 28),
        10,
    )
    shared = set(a.state_dict()) & set(b.state_dict())
    assert "cells.0.edges.1<-0.nor_conv_3x3.1.weight" in shared
    assert not any("2<-1" in k for k in shared)  # different ops at that edge share nothing
    assert not any("nor_conv_1x1" in k for k in shared)


@pytest.mark.parametrize("name", SPACES.names())
def test_gradient_checkpointing_gives_the_same_gradients(name):
    sp = get_space(SpaceConfig(name=name, channels=4, layers=1))
    genome = sp.sample(np.random.default_rng(5))
    torch.manual_seed(0)
    net = sp.build(genome, (1, 12, 12), 4).double()
    x = torch.randn(3, 1, 12, 12, dtype=torch.float64)
    grads = []
    for flag in (False, True):
        net.zero_grad()
        net.grad_checkpoint = flag
        net(x).square().sum().backward()
        grads.append([p.grad.clone() for p in net.parameters() if p.grad is not None])
    assert all(torch.allclose(a, b) for a, b in zip(*grads, strict=True))

from __future__ import annotations

import torch
from torch import nn

from xnas.config import SpaceConfig
from xnas.objectives import count_flops, count_params
from xnas.space import get_space


def test_flops_of_a_small_network_equal_a_hand_count():
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False),  # 8*3*3*3 MACs per pixel, 32*32 pixels
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 10),  # 8*10 MACs
    )
    hand = 2 * (8 * 3 * 3 * 3 * 32 * 32) + 2 * (8 * 10)
    assert count_flops(net, (3, 32, 32)) == hand == 442_528
    assert count_params(net) == 8 * 3 * 3 * 3 + 8 * 10 + 10


def test_flops_of_an_nb201_network_equal_a_hand_count():
    # all-skip cell: only stem, the two residual reductions and the classifier compute
    sp = get_space(SpaceConfig(name="nb201", channels=4, layers=1))
    net = sp.build(sp.parse("1,1,1,1,1,1"), (1, 8, 8), 3)
    stem = 4 * 1 * 9 * 8 * 8
    red1 = 8 * 4 * 9 * 4 * 4 + 8 * 8 * 9 * 4 * 4 + 8 * 4 * 4 * 4  # conv_a, conv_b, 1x1 shortcut
    red2 = 16 * 8 * 9 * 2 * 2 + 16 * 16 * 9 * 2 * 2 + 16 * 8 * 2 * 2
    fc = 16 * 3
    assert count_flops(net, (1, 8, 8)) == 2 * (stem + red1 + red2 + fc)


def test_flop_count_leaves_training_mode_and_grads_alone():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    net.train()
    before = net[1].running_mean.clone()
    count_flops(net, (1, 8, 8))
    assert net.training and torch.equal(net[1].running_mean, before)

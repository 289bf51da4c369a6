"""Functional equivalence classes (``space.equivalence``): the published NB201 count, and
no two inequivalent genomes merged (network outputs compared with shared weights)."""

from __future__ import annotations

import hashlib
import itertools
import re
from collections import defaultdict

import numpy as np
import pytest
import torch

from xnas.config import SpaceConfig
from xnas.space import get_space

NB201 = get_space(SpaceConfig(name="nb201", channels=4, layers=1))
ALL = list(itertools.product(range(5), repeat=6))


def classes() -> dict[str, list[tuple[int, ...]]]:
    out = defaultdict(list)
    for g in ALL:
        out[NB201.equivalence(g)].append(g)
    return out


def test_nb201_has_the_published_6466_classes():
    """NATS-Bench (Dong et al., TPAMI 2021): 15,625 cells, 6,466 unique topologies."""
    assert len(classes()) == 6466
    # the equivalence key is not the table key: every cell keeps its own canonical key
    assert len({NB201.canonical(g) for g in ALL}) == 15625


def shared_weights(net: torch.nn.Module) -> torch.nn.Module:
    """Every weight a deterministic function of its name with the edge stripped, so each
    op type in a cell position has one weight tensor in every network (BatchNorm left at
    its initial state, where every op maps zero to zero)."""
    for name, p in net.named_parameters():
        if name.endswith(".weight") and p.dim() > 1 or name.startswith("classifier"):
            tag = re.sub(r"edges\.\d<-\d\.", "edges.", name)
            seed = int(hashlib.sha256(tag.encode()).hexdigest()[:8], 16)
            gen = torch.Generator().manual_seed(seed)
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    return net.eval()


def output(genome, x):
    net = shared_weights(NB201.build(genome, (3, 8, 8), 5))
    with torch.no_grad():
        return net(x).double()


def test_members_of_a_class_compute_the_same_function_and_others_do_not():
    rng = np.random.default_rng(0)
    x = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    multi = [members for members in classes().values() if len(members) > 1]
    picked = [multi[i] for i in rng.choice(len(multi), size=40, replace=False)]
    reps = []
    for members in picked:
        chosen = [members[i] for i in rng.choice(len(members), size=min(3, len(members)))]
        ref = output(chosen[0], x)
        for g in chosen[1:]:
            assert torch.allclose(output(g, x), ref, rtol=1e-5, atol=1e-6), (chosen[0], g)
        reps.append(ref)
    # the check can fail: different classes give different outputs with the same weights
    differing = sum(
        not torch.allclose(a, b, rtol=1e-5, atol=1e-6) for a, b in itertools.combinations(reps, 2)
    )
    assert differing >= 0.95 * len(reps) * (len(reps) - 1) / 2


@pytest.mark.parametrize("name", ["micro"])
def test_micro_equivalence_is_the_canonical_key(name):
    space = get_space(SpaceConfig(name=name, channels=4, layers=1))
    rng = np.random.default_rng(0)
    for _ in range(50):
        g = space.sample(rng)
        assert space.equivalence(g) == space.canonical(g)

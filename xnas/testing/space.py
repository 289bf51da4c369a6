"""The genome contract (``space.base``), checked on any space: keys round-trip, repair
always yields a valid genome, variation stays in bounds and takes units from the parents,
keys are distinct exactly for distinct normalised genomes, predictor features are
well-formed, and every sampled genome builds a network that runs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from xnas.config import SpaceConfig
from xnas.space import SearchSpace, get_space


def space_of(space: SearchSpace | str) -> SearchSpace:
    if isinstance(space, SearchSpace):
        return space
    return get_space(SpaceConfig(name=space, channels=4, layers=1))


def raw_genome(space: SearchSpace, seed: int) -> tuple[int, ...]:
    """A random in-bounds vector, deliberately NOT normalised."""
    rng = np.random.default_rng(seed)
    return tuple(
        int(rng.integers(lo, hi + 1)) for lo, hi in zip(space.lower, space.upper, strict=True)
    )


def in_bounds(space: SearchSpace, x) -> bool:
    return len(x) == space.n_var and all(
        lo <= v <= hi for v, lo, hi in zip(x, space.lower, space.upper, strict=True)
    )


def check_round_trip(space: SearchSpace, seed: int) -> None:
    x = raw_genome(space, seed)
    key = space.canonical(x)
    assert space.parse(key) == space.normalize(x), key
    assert space.canonical(space.parse(key)) == key, key
    assert space.parse(",".join(map(str, x))) == space.normalize(x)


def check_repair(space: SearchSpace, values: Sequence[float]) -> None:
    """Any real vector (NaN, huge values included) becomes a valid normalised genome."""
    x = space.repair(list(values)[: space.n_var])
    assert in_bounds(space, x) and space.check(x) == x and space.normalize(x) == x


def check_variation(space: SearchSpace, seed: int) -> None:
    """A mutant differs from its parent; every unit of a crossover child comes from a
    parent at the same place (within ``reorder_span``, which normalising may reorder)."""
    rng = np.random.default_rng(seed)
    a, b = space.sample(rng), space.sample(rng)
    m = space.mutate(a, rng)
    assert in_bounds(space, m) and space.canonical(m) != space.canonical(a)
    c1, c2 = space.crossover(a, b, rng)
    assert in_bounds(space, c1) and in_bounds(space, c2)
    unit, group = space.unit, max(space.reorder_span, space.unit)
    for child in (c1, c2):
        for g in range(0, space.n_var, group):
            parents = {a[i : i + unit] for i in range(g, g + group, unit)}
            parents |= {b[i : i + unit] for i in range(g, g + group, unit)}
            for i in range(g, g + group, unit):
                assert child[i : i + unit] in parents, (a, b, child)


def check_distinct_keys(space: SearchSpace, s1: int, s2: int) -> None:
    a, b = space.normalize(raw_genome(space, s1)), space.normalize(raw_genome(space, s2))
    assert (space.canonical(a) == space.canonical(b)) == (a == b)
    assert (space.distance(a, b) == 0) == (a == b)
    assert space.distance(a, b) == space.distance(b, a)


def check_features(space: SearchSpace, seed: int) -> None:
    """One-hot genes, then per op group a count of each op that sums to the group's size."""
    genomes = [space.sample(np.random.default_rng(seed + i)) for i in range(3)]
    feats = space.features(genomes)
    n_onehot = int((space.upper - space.lower + 1).sum())
    assert feats.shape[0] == len(genomes) and np.isfinite(feats).all()
    for row in feats:
        onehot, counts = row[:n_onehot], row[n_onehot:]
        assert set(np.unique(onehot)) <= {0.0, 1.0} and onehot.sum() == space.n_var
        groups = space.op_groups()
        if groups:
            per_group = np.split(counts, len(groups))
            for g, c in zip(groups, per_group, strict=True):
                assert c.sum() == len(g)


def check_build(space: SearchSpace, seed: int, shapes=((3, 32, 32), (1, 28, 28))) -> None:
    """A sampled genome builds a network whose output is (batch, classes) and finite."""
    import torch

    genome = space.sample(np.random.default_rng(seed))
    for shape in shapes:
        net = space.build(genome, shape, 7).eval()
        with torch.no_grad():
            out = net(torch.randn(2, *shape, generator=torch.Generator().manual_seed(seed)))
        assert out.shape == (2, 7) and torch.isfinite(out).all(), (genome, shape)


def check_space(space: SearchSpace | str, seeds: Sequence[int] = range(10)) -> None:
    """Every check above over ``seeds`` (networks built for the first two)."""
    space = space_of(space)
    rng = np.random.default_rng(0)
    for seed in seeds:
        check_round_trip(space, seed)
        check_repair(space, rng.uniform(-1e6, 1e6, space.n_var))
        check_variation(space, seed)
        check_distinct_keys(space, seed, seed + 1)
        check_features(space, seed)
    for seed in list(seeds)[:2]:
        check_build(space, seed)

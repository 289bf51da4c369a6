"""Property tests of the Genome contract, run over every registered space."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from xnas.config import SpaceConfig
from xnas.errors import GenomeError
from xnas.space import REFERENCES, SPACES, get_space, resolve_arch
from xnas.space.micro import NSGANET_OPS
from xnas.space.nb201 import NB201_OPS
from xnas.testing import space as kit

SPACE_NAMES = SPACES.names()
SEEDS = st.integers(0, 2**32 - 1)


def space(name: str):
    return kit.space_of(name)


@pytest.mark.parametrize("name", SPACE_NAMES)
@given(seed=SEEDS)
@settings(max_examples=60, deadline=None)
def test_parse_of_canonical_round_trips(name, seed):
    kit.check_round_trip(space(name), seed)


@pytest.mark.parametrize("name", SPACE_NAMES)
@given(values=st.lists(st.floats(-1e6, 1e6) | st.just(float("nan")), min_size=40, max_size=40))
@settings(max_examples=60, deadline=None)
def test_repair_always_yields_a_valid_genome(name, values):
    kit.check_repair(space(name), values)


@pytest.mark.parametrize("name", SPACE_NAMES)
@given(seed=SEEDS)
@settings(max_examples=60, deadline=None)
def test_mutation_and_crossover_stay_in_bounds(name, seed):
    kit.check_variation(space(name), seed)


@pytest.mark.parametrize("name", SPACE_NAMES)
@given(s1=SEEDS, s2=SEEDS)
@settings(max_examples=60, deadline=None)
def test_distinct_keys_for_non_equivalent_genomes(name, s1, s2):
    kit.check_distinct_keys(space(name), s1, s2)


@pytest.mark.parametrize("name", SPACE_NAMES)
def test_the_whole_kit_passes_and_sampled_genomes_build(name):
    kit.check_space(name, seeds=range(3))


def test_the_kit_catches_a_space_whose_keys_do_not_round_trip():
    class Lossy(type(space("nb201"))):
        def parse_key(self, text):
            return tuple(0 for _ in range(self.n_var))  # every key reads back as genome 0

    with pytest.raises(AssertionError):
        kit.check_round_trip(Lossy(space("nb201").cfg), seed=3)


@given(seed=SEEDS, data=st.data())
@settings(max_examples=80, deadline=None)
def test_micro_key_is_invariant_under_swapping_the_pairs_of_any_blocks(seed, data):
    sp = space("micro")
    x = list(kit.raw_genome(space("micro"), seed))
    blocks = data.draw(st.sets(st.integers(0, sp.n_var // 4 - 1)))
    y = list(x)
    for blk in blocks:
        s = 4 * blk
        y[s : s + 4] = x[s + 2 : s + 4] + x[s : s + 2]
    assert sp.canonical(x) == sp.canonical(y)


def test_micro_does_not_merge_blocks_in_another_order():
    # block order matters (later blocks may read earlier ones): keys must differ
    sp = space("micro")
    x = list(sp.parse("nsganet" and REFERENCES["nsganet"].key))
    y = list(x)
    y[0:4], y[4:8] = x[4:8], x[0:4]
    assert sp.canonical(x) != sp.canonical(y)


def test_micro_defaults_and_size():
    sp = space("micro")
    assert sp.n_var == 40 and sp.ops == NSGANET_OPS and len(NSGANET_OPS) == 9
    # per block: (9 ops * (b+2) inputs)^2, over 5 blocks and 2 cells
    assert sp.size == np.prod([(9 * (b + 2)) ** 2 for b in range(5)], dtype=object) ** 2
    small = get_space(SpaceConfig(name="micro", blocks=2, ops=("skip_connect", "sep_conv_3x3")))
    assert small.n_var == 16 and small.upper.tolist()[:4] == [1, 1, 1, 1]


def test_nb201_key_is_nb201s_arch_string():
    sp = space("nb201")
    assert sp.size == 5**6
    assert sp.canonical((0, 1, 2, 3, 4, 0)) == (
        "|none~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|none~2|"
    )
    best = REFERENCES["nb201-best-cifar10"].key
    assert sp.canonical(sp.parse(best)) == best


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "nb201",
            "1,2,7,0,0,0",
            "position 2 (edge 1->2): value 7 out of range; expected an integer in 0..4",
        ),
        ("nb201", "1,2,3", "has 3 values; expected 6"),
        (
            "nb201",
            "|nor_conv_3x3~0|+|bogus~0|none~1|+|none~0|none~1|none~2|",
            "position 1 (edge 0->2): unknown op 'bogus'",
        ),
        (
            "nb201",
            "|nor_conv_3x3~1|+|none~0|none~1|+|none~0|none~1|none~2|",
            "position 0 (edge 0->1): 'nor_conv_3x3~1' is malformed",
        ),
        ("nb201", "|none~0|+|none~0|", "has 2 node groups; expected 3"),
        (
            "micro",
            "0," * 39 + "9",
            "position 39 (reduce cell, block 4, pair 1, input): value 9 out of range; "
            "expected an integer in 0..5",
        ),
        ("micro", "N[x]R[y]", "normal cell has 1 blocks; expected 5"),
        ("micro", "hello", "is not a micro key"),
    ],
)
def test_bad_genomes_name_the_position_and_the_allowed_range(name, text, message):
    with pytest.raises(GenomeError) as info:
        space(name).parse(text)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("ref", sorted(REFERENCES))
def test_reference_genotypes_resolve_in_their_space(ref):
    sp, genome = resolve_arch(ref, SpaceConfig(channels=4, layers=1))
    assert sp.name == REFERENCES[ref].space
    # the stored key is the published order; the resolved one is its canonical form
    assert sp.canonical(genome) == sp.canonical(sp.parse_key(REFERENCES[ref].key))
    assert sp.build(genome, (3, 32, 32), 10)(torch.randn(1, 3, 32, 32)).shape == (1, 10)


def test_nsganet_reference_matches_the_published_concat():
    sp, genome = resolve_arch("nsganet", SpaceConfig())
    genotype = sp.decode(genome)
    assert genotype.normal.concat == (2, 4, 5, 6) and genotype.reduce.concat == (3, 4, 5, 6)
    published_normal = [
        {("skip_connect", 0), ("max_pool_3x3", 0)},
        {("dil_conv_5x5", 0), ("max_pool_3x3", 0)},
        {("dil_conv_5x5", 1), ("sep_conv_3x3", 3)},
        {("max_pool_3x3", 1), ("sep_conv_5x5", 3)},
        {("sep_conv_3x3", 1), ("sep_conv_3x3", 0)},
    ]
    assert [set(block) for block in genotype.normal.blocks] == published_normal


def ops_in(sp, genome) -> list[list[str]]:
    """Each cell's op names read from the decoded genotype (independent of ``features``)."""
    g = sp.decode(genome)
    if hasattr(g, "nodes"):
        return [[op for node in g.nodes for op, _ in node]]
    return [[op for block in cell.blocks for op, _ in block] for cell in (g.normal, g.reduce)]


@settings(max_examples=25, deadline=None)
@given(seed=SEEDS)
@pytest.mark.parametrize("name", SPACE_NAMES)
def test_predictor_features_are_one_hot_genes_then_each_cells_op_counts(name, seed):
    sp = space(name)
    genomes = [sp.sample(np.random.default_rng(seed + i)) for i in range(3)]
    feats = sp.features(genomes)
    n_onehot = int((sp.upper - sp.lower + 1).sum())
    for genome, row in zip(genomes, feats, strict=True):
        onehot, counts = row[:n_onehot], row[n_onehot:]
        assert set(np.unique(onehot)) <= {0.0, 1.0} and onehot.sum() == sp.n_var
        cells = ops_in(sp, genome)
        names = sp.ops if name == "micro" else NB201_OPS
        assert len(counts) == len(cells) * len(names)
        for cell_ops, cell_counts in zip(cells, np.split(counts, len(cells)), strict=True):
            assert cell_counts.tolist() == [cell_ops.count(op) for op in names]

"""Weight inheritance: exactly the matching tensors are copied, and it pays off on digits."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from tests.conftest import cfg
from xnas.config import DataConfig, SpaceConfig, TrainConfig
from xnas.data import load_dataset
from xnas.driver import make_task
from xnas.driver.donors import nearest_donor
from xnas.evaluate import evaluate
from xnas.evaluate.inherit import inherit, load_weights
from xnas.evaluate.trainer import train
from xnas.space import get_space, resolve_arch


@pytest.mark.parametrize("space_name", ["nb201", "micro"])
def test_exactly_the_tensors_with_matching_name_and_shape_are_copied(space_name):
    space = get_space(SpaceConfig(name=space_name, channels=8, layers=1, blocks=3))
    rng = np.random.default_rng(0)
    donor_genome = space.sample(rng)
    child_genome = space.mutate(space.mutate(donor_genome, rng), rng)
    torch.manual_seed(1)
    donor = space.build(donor_genome, (3, 16, 16), 10).state_dict()
    torch.manual_seed(2)
    child = space.build(child_genome, (3, 16, 16), 10)
    before = {n: t.clone() for n, t in child.state_dict().items()}

    copied, fraction = inherit(child, donor)

    after = child.state_dict()
    expected = {n for n, t in before.items() if n in donor and donor[n].shape == t.shape}
    assert set(copied) == expected and 0 < len(expected) < len(before)
    for name, tensor in after.items():
        if name in expected:
            assert torch.equal(tensor, donor[name]), name
        else:
            assert torch.equal(tensor, before[name]), name  # untouched
    params = dict(child.named_parameters())
    counted = sum(params[n].numel() for n in expected if n in params)
    assert fraction == pytest.approx(counted / sum(p.numel() for p in params.values()))


@pytest.mark.slow
def test_a_child_with_a_donor_learns_faster_on_digits(capsys):
    """Donor: NB201's best CIFAR-10 cell trained 4 epochs; child: one edge changed."""
    bundle = load_dataset(DataConfig(name="digits"))
    # children see 300 images per epoch: after one epoch from scratch they are far from done
    small = load_dataset(DataConfig(name="digits", train_size=300))
    # the same held-out images the donor never saw (normalised with the subset's statistics)
    assert torch.equal(small.val.y, bundle.val.y)
    space, donor_genome = resolve_arch("nb201-best-cifar10", SpaceConfig(channels=8, layers=1))
    child_genome = (*donor_genome[:5], 2)  # last edge: nor_conv_3x3 -> nor_conv_1x1
    train_cfg = TrainConfig(batch_size=64, lr=0.05)
    cpu = torch.device("cpu")
    torch.manual_seed(0)
    donor = space.build(donor_genome, bundle.input_shape, 10)
    train(donor, bundle.train, bundle.val, train_cfg, epochs=4, seed=0, device=cpu)
    first, reach = {"scratch": [], "inherited": []}, {"scratch": [], "inherited": []}
    for seed in (1, 2, 3):
        for how in ("scratch", "inherited"):
            torch.manual_seed(seed)
            child = space.build(child_genome, bundle.input_shape, 10)
            if how == "inherited":
                inherit(child, donor.state_dict())
            curve = train(
                child, small.train, small.val, train_cfg, epochs=4, seed=seed, device=cpu
            ).curve
            first[how].append(curve[0])
            reach[how].append(next((i + 1 for i, a in enumerate(curve) if a >= 0.9), 5))
    with capsys.disabled():
        print(f"\n[inheritance on digits] accuracy after 1 epoch {first}; epochs to 90% {reach}")
    assert np.mean(first["inherited"]) > np.mean(first["scratch"]) + 0.01
    assert np.mean(reach["inherited"]) < np.mean(reach["scratch"])


def test_nearest_donor_is_the_closest_then_the_better(tmp_path):
    space = get_space(SpaceConfig(name="nb201"))
    g = (0, 1, 2, 3, 4, 0)
    candidates = [
        ("far", (4, 4, 4, 4, 4, 4), 0.0),
        ("one-worse", (1, 1, 2, 3, 4, 0), 0.5),
        ("one-better", (0, 1, 2, 3, 4, 1), 0.2),
    ]
    assert nearest_donor(space, g, candidates) == "one-better"
    assert nearest_donor(space, g, []) is None


@pytest.mark.slow
def test_weights_are_loaded_safely_and_an_unusable_donor_means_training_from_scratch(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("arbitrary code ran",))

    bad = tmp_path / "bad.pt"
    torch.save({"x": Payload()}, bad)
    with pytest.raises(Exception, match="[Ww]eights only"):
        load_weights(bad)
    c = cfg("data.name=digits", "train.epochs=1")
    space = get_space(c.space)
    task = make_task(c, space, space.sample(np.random.default_rng(0)))
    result = evaluate(dataclasses.replace(task, donor_key="gone", donor_weights=str(bad)))
    assert result.status == "ok" and result.inherited_fraction == 0.0
    assert "donor_unusable" in result.measurements["inheritance"]
    missing = evaluate(dataclasses.replace(task, donor_weights=str(tmp_path / "pruned.pt")))
    assert missing.status == "ok" and "donor_unusable" in missing.measurements["inheritance"]


@pytest.mark.parametrize("name", ["nb201", "micro"])
def test_vectorised_nearest_donor_equals_the_distance_definition(name):
    space = get_space(SpaceConfig(name=name))
    rng = np.random.default_rng(3)
    for _ in range(20):
        genome = space.sample(rng)
        candidates = [
            (f"k{i}", space.sample(rng), float(rng.integers(0, 3)) / 2) for i in range(30)
        ]
        expected = min(candidates, key=lambda c: (space.distance(genome, c[1]), c[2], c[0]))[0]
        assert nearest_donor(space, genome, candidates) == expected

"""``nn.bestof``: per-layer implementation selection.

Oracles: the model's own eager forward (every implementation computes the same function),
its state-dict keys (unchanged while tuners are installed), and the timings each decision
was made from (the chosen implementation has the smallest median)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xnas.config import SpaceConfig
from xnas.nn import bestof
from xnas.space import get_space

SPACES = [
    {"name": "nb201", "channels": 4, "layers": 1},
    {"name": "micro", "channels": 4, "layers": 1},
]


def model_of(spec, seed=0):
    space = get_space(SpaceConfig(**spec))
    torch.manual_seed(seed)
    return space.build(space.sample(np.random.default_rng(seed)), (3, 16, 16), 10).eval()


@pytest.mark.parametrize("spec", SPACES, ids=lambda s: s["name"])
@pytest.mark.parametrize("impl", bestof.CPU_IMPLS)
def test_every_implementation_computes_the_eager_function(spec, impl):
    model = model_of(spec)
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        want = model(x)
    decisions = bestof.Decisions()
    tuner = bestof.install(model, impls=(impl,), rounds=1, decisions=decisions)
    with torch.no_grad():
        for _ in range(3):  # tuning (one implementation: always it), then decided
            got = model(x)
    assert tuner.tuned and set(decisions.chosen.values()) == {impl}
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("spec", SPACES, ids=lambda s: s["name"])
def test_tuning_decides_every_op_by_its_fastest_median_and_keeps_the_weights(spec):
    model = model_of(spec)
    keys = list(model.state_dict())
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        want = model(x)
    decisions = bestof.Decisions()
    tuner = bestof.tune(model, x, decisions=decisions)
    assert tuner.tuned and len(tuner.ops) == len(bestof.ops(model)) > 0
    assert list(model.state_dict()) == keys  # forwards replaced on instances, no wrapper
    for key, impl in decisions.chosen.items():
        times = decisions.timings[key]
        assert set(times) == set(bestof.CPU_IMPLS)
        fastest = min(times, key=times.__getitem__)
        if times[fastest] > times["eager"] * (1 - bestof.MARGIN):
            assert impl == "eager"  # no implementation beat eager by the margin
        else:
            assert impl == fastest
    report = tuner.report()
    assert sum(report["chosen"].values()) == report["ops"] == len(report["layers"])
    with torch.no_grad():
        torch.testing.assert_close(model(x), want, rtol=1e-4, atol=1e-5)
    bestof.remove(tuner)
    assert all("forward" not in vars(m) for _, m in bestof.ops(model))


def test_decisions_carry_to_a_later_network_and_through_a_file(tmp_path):
    spec, x = SPACES[0], torch.randn(1, 3, 16, 16)
    decisions = bestof.Decisions()
    bestof.tune(model_of(spec), x, decisions=decisions)
    path = tmp_path / "bestof.json"
    decisions.save(path)
    loaded = bestof.Decisions.load(path)
    assert loaded == decisions
    later = model_of(spec)  # the same ops at the same shapes
    again = bestof.install(later, decisions=loaded)
    with torch.no_grad():
        later(x)
    assert again.tuned and any(op.used for op in again.ops)
    assert all(op.calls == {} for op in again.ops)  # it ran decided: no tuning call


def test_latency_with_bestof_records_each_layers_choice():
    from xnas.objectives.latency import measure_latency

    m = measure_latency(
        model_of(SPACES[0]),
        (3, 16, 16),
        torch.device("cpu"),
        impls=("eager", "bestof"),
        repeats=5,
        retries=0,
    )
    assert set(m.how["timings_ms"]) == {"eager", "bestof"}
    report = m.how["bestof"]
    assert report["method"] == "bestof" and report["ops"] == len(report["layers"]) > 0


@pytest.mark.slow
def test_training_with_bestof_records_its_choices_and_trains_the_same_network():
    import dataclasses

    from xnas.config import load_config
    from xnas.data import cached_dataset
    from xnas.evaluate.trainer import train

    cfg = load_config(
        None,
        ["data.name=lines", "data.train_size=256", "data.val_size=32", "train.batch_size=8"],
    )
    bundle = cached_dataset(cfg.data)
    outcomes = []
    for flag in (False, True):
        space = get_space(SpaceConfig(name="nb201", channels=4, layers=1))
        torch.manual_seed(0)
        model = space.build(
            space.sample(np.random.default_rng(1)), bundle.input_shape, bundle.num_classes
        )
        outcomes.append(
            train(
                model,
                bundle.train,
                bundle.val,
                dataclasses.replace(cfg.train, bestof=flag),
                epochs=1,
                seed=0,
                device=torch.device("cpu"),
            )
        )
        assert all("forward" not in vars(m) for _, m in bestof.ops(model))  # removed after
    plain, tuned = outcomes
    # 32 steps decide every op at the training shape after 16 (4 impls x 4 rounds); the
    # validation batch, another shape, was met once: those ops are still tuning
    assert plain.bestof is None and tuned.bestof["ops"] > 0
    assert tuned.train_loss == pytest.approx(plain.train_loss, rel=1e-4)


def test_bare_pooling_edges_are_ops_and_are_called():
    """A pooling edge sits bare in a cell's ModuleDict: the layer itself is the op."""
    space = get_space(SpaceConfig(name="nb201", channels=4, layers=1))
    genome = space.parse(
        "|avg_pool_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
    )
    model = space.build(genome, (3, 16, 16), 10).eval()
    tuner = bestof.install(model, decisions=bestof.Decisions())
    pools = [op for op in tuner.ops if isinstance(op.module, torch.nn.AvgPool2d)]
    assert len(pools) == 9  # three per cell, one cell per stage, three stages
    with torch.no_grad():
        model(torch.randn(1, 3, 16, 16))
    assert all(op.calls for op in pools)

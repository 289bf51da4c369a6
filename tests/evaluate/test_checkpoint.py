"""`train.checkpoint`: error and the trained objectives are measured on the same weights,
the last epoch's or the best validation epoch's (XNAS's ``val_acc__max``)."""

from __future__ import annotations

import pytest
import torch

from xnas.config import load_config
from xnas.data import load_dataset
from xnas.driver import make_task
from xnas.evaluate import evaluate
from xnas.evaluate.trainer import accuracy
from xnas.objectives.introspection import introspectability
from xnas.space import resolve_arch

# a learning rate that still rises at the end (warm-up longer than the budget), so the
# curve falls back after its best epoch and best != last
SETTING = [
    "data.name=digits",
    "data.train_size=200",
    "space.channels=8",
    "space.layers=1",
    "train.lr=1.0",
    "train.batch_size=32",
    "train.warmup_epochs=8",
]


def run(checkpoint: str, tmp_path):
    cfg = load_config(None, [*SETTING, f"train.checkpoint={checkpoint}"])
    space, genome = resolve_arch("nb201-best-cifar10", cfg.space)
    task = make_task(
        cfg,
        space,
        genome,
        epochs=6,
        objectives=("error", "introspection"),
        weights_dir=str(tmp_path / checkpoint),
    )
    result = evaluate(task)
    assert result.status == "ok", result.error
    return cfg, space, genome, result


pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ckpt")
    return {c: run(c, tmp) for c in ("best", "last")}


def test_best_checkpoint_measures_error_and_introspection_on_the_best_weights(runs):
    cfg, space, genome, result = runs["best"]
    curve = result.curve
    best = max(range(len(curve)), key=curve.__getitem__)
    assert best != len(curve) - 1, curve  # the setting makes the last epoch worse
    assert result.objectives["error"] == pytest.approx(1 - curve[best])
    assert result.measurements["error"]["weights"] == {"checkpoint": "best", "epoch": best + 1}
    # recompute both from the stored weights in a fresh network
    bundle = load_dataset(cfg.data)
    net = space.build(genome, bundle.input_shape, bundle.num_classes)
    net.load_state_dict(torch.load(result.weights_path, weights_only=True))
    cpu = torch.device("cpu")
    assert accuracy(net, bundle.val, cpu) == pytest.approx(curve[best])
    score, _ = introspectability(
        net, bundle.val, bundle.num_classes, cpu, cfg.measure.introspection_samples
    )
    assert result.objectives["introspection"] == pytest.approx(score, abs=1e-9)


def test_last_checkpoint_measures_the_last_epoch(runs):
    _, _, _, best = runs["best"]
    _, _, _, last = runs["last"]
    assert last.curve == best.curve  # same seed, same training
    assert last.objectives["error"] == pytest.approx(1 - last.curve[-1])
    assert last.objectives["introspection"] != pytest.approx(best.objectives["introspection"])
    assert last.measurements["introspection"]["weights"]["checkpoint"] == "last"

"""evaluate(task): real training on real data; failures raise, and come back as data
through the one failure boundary (``call_task``)."""

from __future__ import annotations

import pytest
import torch

from xnas.config import load_config
from xnas.driver import derive_seed, make_task
from xnas.evaluate import evaluate
from xnas.space import resolve_arch

OBJ = ("error", "introspection", "latency", "energy", "params", "flops")


def task_for(overrides, arch="nb201-best-cifar10", epochs=4, objectives=OBJ, weights_dir=None):
    cfg = load_config(
        None, ["space.channels=8", "space.layers=1", "measure.latency_repeats=5", *overrides]
    )
    space, genome = resolve_arch(arch, cfg.space)
    return make_task(
        cfg,
        space,
        genome,
        epochs=epochs,
        objectives=objectives,
        weights_dir=str(weights_dir) if weights_dir else None,
    )


@pytest.mark.slow
def test_lines_trains_above_90_percent_and_reports_everything(tmp_path):
    result = evaluate(task_for(["data.name=lines", "data.lines.noise=0.3"], weights_dir=tmp_path))
    assert result.status == "ok", result.error
    assert len(result.curve) == result.epochs == 4 and result.curve[-1] > 0.9
    assert set(result.objectives) == set(OBJ)
    assert result.objectives["error"] == 1 - result.curve[-1]
    assert result.measurements["energy"]["energy_source"] in ("model", "rapl", "nvml")
    assert result.measurements["latency"]["implementation"]
    state = torch.load(result.weights_path, weights_only=True)
    assert any(k.startswith("cells.") for k in state)


@pytest.mark.slow
def test_digits_trains_above_90_percent():
    result = evaluate(task_for(["data.name=digits"], epochs=8, objectives=("error",)))
    assert result.status == "ok", result.error
    assert result.curve[-1] > 0.9, result.curve


@pytest.mark.slow
def test_same_task_same_curve():
    task = task_for(["data.name=digits"], epochs=2, objectives=("error",))
    assert evaluate(task).curve == evaluate(task).curve


@pytest.mark.slow
def test_diverging_training_raises_and_call_task_stores_it_as_failed():
    """The evaluator only computes or raises; the one failure boundary (``call_task``)
    turns the exception into a failed result with its reason."""
    from xnas.evaluate.trainer import Diverged
    from xnas.parallel import call_task

    task = task_for(
        ["data.name=digits", "train.lr=1e12", "train.grad_clip=null", "train.weight_decay=0"],
        epochs=2,
        objectives=("error",),
    )
    with pytest.raises(Diverged, match="loss became nan"):
        evaluate(task)
    result = call_task(evaluate, task)
    assert result.status == "failed"
    assert "Diverged" in result.error and "loss became nan" in result.error
    assert result.rank == 0 and result.host and result.timings["total"] > 0


def test_an_exception_comes_back_with_its_traceback():
    # an objective that fails at run time (injected): a failed result, not bad input
    from xnas.objectives import OBJECTIVES, register_objective
    from xnas.parallel import call_task

    @register_objective("broken_probe", sense="min", stage="static", provenance="counted")
    def broken(ctx):
        raise RuntimeError("the probe objective broke")

    try:
        task = task_for(["data.name=digits"], epochs=1, objectives=("error", "broken_probe"))
        result = call_task(evaluate, task)
    finally:
        OBJECTIVES.unregister("broken_probe")
    assert result.status == "failed" and "Traceback" in result.error
    assert result.error.startswith("RuntimeError: the probe objective broke")
    assert "def broken" in result.error or "broken" in result.error


def test_seeds_derive_from_run_seed_and_key():
    assert derive_seed(0, "a") == derive_seed(0, "a") != derive_seed(1, "a") != derive_seed(0, "b")

"""``evaluator.name: train``: one architecture built, trained and scored on this rank.

``evaluate(task)`` runs the phases below in order and only computes or raises: a
failure becomes a stored ``failed`` result in one place, ``parallel.worker.call_task``,
which also stamps rank, host and timings.

  build -> static objectives -> budgets (rejected: nothing trained) -> start weights
  (a rung's own checkpoint, or a donor's matching tensors) -> train (stop rule) ->
  rung checkpoint -> trained objectives on those weights -> save weights
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from xnas.config import Config
from xnas.data import DataBundle, cached_dataset
from xnas.errors import ConfigError
from xnas.evaluate.base import static_oracle
from xnas.evaluate.calibration import Prediction
from xnas.evaluate.inherit import inherit, load_weights
from xnas.evaluate.stoprule import check
from xnas.evaluate.trainer import TrainOutcome, accuracy, train
from xnas.nn.device import resolve_device
from xnas.objectives import OBJECTIVES, EvalContext, Objective, copied_on_reuse
from xnas.parallel.group import current as current_group
from xnas.results import EvalResult, EvalTask, broken_budgets, fidelity_of
from xnas.space import Genome, SearchSpace, get_space

if TYPE_CHECKING:
    from torch import nn


def save_atomic(obj, path: Path) -> None:
    """``torch.save`` through a temporary file: never a half-written weight file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def check_device(name: str) -> None:
    """``train.device`` must exist here (the driver's node stands for its workers')."""
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(
                f"train.device {name!r}: CUDA is not available here; expected auto or cpu"
            )
        if ":" in name and int(name.split(":")[1]) >= torch.cuda.device_count():
            raise ConfigError(
                f"train.device {name!r}: only {torch.cuda.device_count()} CUDA devices here"
            )
    if name == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("train.device 'mps': MPS is not available here; expected auto or cpu")


@dataclass
class _Clock:
    """Seconds per phase of one evaluation."""

    start: float = field(default_factory=time.perf_counter)
    timings: dict[str, float] = field(default_factory=dict)

    def timed(self, phase: str, fn: Callable, *args, **kwargs):
        t = time.perf_counter()
        out = fn(*args, **kwargs)
        self.timings[phase] = time.perf_counter() - t
        return out

    def done(self) -> dict[str, float]:
        return {**self.timings, "total": time.perf_counter() - self.start}


def _score(
    objectives: list[Objective], stage: str, ctx: EvalContext
) -> tuple[dict[str, float], dict[str, dict]]:
    values: dict[str, float] = {}
    how: dict[str, dict] = {}
    for obj in objectives:
        if obj.stage == stage:
            m = obj.compute(ctx)
            values[obj.name], how[obj.name] = float(m.value), dict(m.how)
            if obj.provenance is not None:  # declared (a user's objective)
                how[obj.name].setdefault("provenance", obj.provenance)
    return values, how


@dataclass
class _Start:
    """Where training starts: a promoted rung's own checkpoint (its static values with
    it), or a donor's matching tensors (``inherited``: share of parameters copied)."""

    inherited: float = 0.0
    resume: dict[str, Any] | None = None
    static: tuple[dict[str, float], dict[str, dict]] | None = None
    note: dict[str, Any] | None = None  # a donor that could not be used, and why


def _start_weights(task: EvalTask, model: nn.Module, device: torch.device) -> _Start:
    spec = task.fidelity
    if spec is not None and spec.resume_from:  # a promoted rung: continue its own training
        saved = torch.load(spec.resume_from, map_location=device, weights_only=True)
        model.load_state_dict(saved["model"])
        return _Start(
            float(saved["inherited"]),
            saved["train"],
            (dict(saved["static"]), dict(saved["static_how"])),
        )
    if task.donor_weights:
        try:
            _, inherited = inherit(model, load_weights(task.donor_weights))
        except Exception as exc:  # a pruned or unreadable donor: train from scratch, say so
            return _Start(note={"donor_unusable": f"{type(exc).__name__}: {exc}"})
        return _Start(inherited)
    return _Start()


def _train(
    task: EvalTask,
    model: nn.Module,
    bundle: DataBundle,
    device: torch.device,
    static: dict[str, float],
    resume: dict | None,
) -> tuple[TrainOutcome | None, list[Prediction]]:
    """Train ``task.epochs`` (none for ``epochs: 0``), the stop rule after each epoch."""
    predictions: list[Prediction] = []
    if task.epochs <= 0:
        return None, predictions

    def after_epoch(epoch: int, curve: tuple[float, ...]) -> bool:
        stop, prediction = check(
            task.stop,
            curve,
            task.epochs,
            static,
            chance=1.0 / bundle.num_classes,
            val_samples=len(bundle.val),
            prior=task.prior_curve,
        )
        if prediction is not None:
            predictions.append(prediction)
        return stop

    spec = task.fidelity
    kwargs = dict(
        epochs=task.epochs,
        after_epoch=after_epoch if task.stop is not None else None,
        keep_best=task.train.checkpoint == "best",
        schedule_epochs=spec.schedule_epochs if spec is not None else None,
        resume=resume,
        keep_state=spec is not None and spec.checkpoint_to is not None,
    )
    group = current_group()
    if group is not None and group.size > 1:  # parallel.ranks_per_eval: the group trains it
        from xnas.evaluate import ddp

        outcome = ddp.lead(
            model,
            bundle,
            task.genome,
            task.space,
            task.data,
            task.train,
            task.seed,
            device,
            ddp.timeout_of(group.timeout),
            **kwargs,
        )
    else:
        outcome = train(
            model,
            bundle.train,
            bundle.val,
            task.train,
            seed=task.seed,
            device=device,
            augment=bundle.augment,
            **kwargs,
        )
    return outcome, predictions


def _save_rung_checkpoint(
    task: EvalTask, outcome: TrainOutcome, static: tuple[dict, dict], inherited: float
) -> None:
    """Below the last rung: everything a promotion needs to continue this training."""
    assert task.fidelity is not None and task.fidelity.checkpoint_to is not None
    state = dict(outcome.state or {})
    values, how = static
    save_atomic(
        {
            "model": state.pop("model"),
            "train": state,
            "static": values,
            "static_how": how,
            "inherited": inherited,
        },
        Path(task.fidelity.checkpoint_to),
    )


def _extrapolated(
    task: EvalTask, how: dict, curve: tuple[float, ...], predictions: list[Prediction]
) -> float:
    """A stopped training's stored error: the optimistic bound the stop rule found
    dominated, flagged as extrapolated (selection then ranks a slow starter by its best
    case, not its median)."""
    assert task.stop is not None
    last = predictions[-1]
    how["error"] = {
        **how["error"],
        "method": "extrapolated",
        "predicted": True,
        "value": "optimistic bound: upper band edge (never below the best seen)",
        "quantile": task.stop.quantile,
        **last.as_dict(),
    }
    if task.prior_curve:  # epochs counted from the donor's curve
        how["error"]["prior"] = {"donor": task.donor_key, "epochs": len(task.prior_curve)}
    return 1.0 - max(last.upper, max(curve))


def evaluate(task: EvalTask) -> EvalResult:
    """One task, end to end (see the module docstring): values, or an exception."""
    clock = _Clock()
    device = resolve_device(task.train.device)
    objectives = [OBJECTIVES.get(n) for n in task.objectives]
    bundle = clock.timed("data", cached_dataset, task.data)

    def build() -> tuple[nn.Module, EvalContext]:
        torch.manual_seed(task.seed)
        space = get_space(task.space)
        model = space.build(task.genome, bundle.input_shape, bundle.num_classes).to(device)
        ctx = EvalContext(
            model=model, bundle=bundle, device=device, measure=task.measure, space=task.space
        )
        return model, ctx

    model, ctx = clock.timed("build", build)
    if task.reuse is not None:  # an equivalent genome was trained: its own static values
        copied = copied_on_reuse(task.objectives)  # the rest is the representative's
        own = [o for o in objectives if o.name not in copied]
        values, how = clock.timed("static", _score, own, "static", ctx)
        result = EvalResult.reused(task, values, how, copied)
        return replace(result, timings=clock.done(), device=str(device))

    if task.screen:  # a proxy-assisted search's candidate: static values, no training
        values, how = clock.timed("static", _score, objectives, "static", ctx)
        result = EvalResult.screened(task, values, how)
        return replace(result, timings=clock.done(), device=str(device))

    resuming = task.fidelity is not None and task.fidelity.resume_from
    if not resuming:  # a promoted rung brings its static values in its checkpoint
        values, how = clock.timed("static", _score, objectives, "static", ctx)
        broken = broken_budgets(task.budgets, values)
        if broken:  # no training: the genome cannot be feasible
            result = EvalResult.rejected(task, values, how, broken)
            return replace(result, timings=clock.done(), device=str(device))
    start = clock.timed("start_weights", _start_weights, task, model, device)
    if start.static is not None:
        values, how = start.static
    static = (dict(values), {k: dict(v) for k, v in how.items()})
    if start.note is not None:
        how["inheritance"] = start.note

    outcome, predictions = clock.timed(
        "train", _train, task, model, bundle, device, values, start.resume
    )
    group = current_group()
    if outcome is not None and group is not None and group.size > 1:
        clock.timings["train_ranks"] = group.size  # trained data-parallel by this many ranks
    if outcome is not None and task.fidelity is not None and task.fidelity.checkpoint_to:
        _save_rung_checkpoint(task, outcome, static, start.inherited)
    if outcome is not None:
        curve, losses, stopped = outcome.curve, outcome.train_loss, outcome.stopped_early
        if outcome.bestof is not None:  # train.bestof: how each layer was run in training
            how["training_impl"] = outcome.bestof
        clock.timings["images_per_s"] = outcome.images_per_s
        measured_epoch = outcome.best_epoch if outcome.restored_best else len(curve)
    else:
        curve, losses, stopped, measured_epoch = (
            (accuracy(model, bundle.val, device),),
            (),
            False,
            0,
        )
    # error and every trained objective are measured on the same weights
    ctx.val_accuracy = curve[measured_epoch - 1] if measured_epoch else curve[-1]
    trained_values, trained_how = clock.timed("trained", _score, objectives, "trained", ctx)
    fidelity = fidelity_of(task)
    for record in trained_how.values():
        record["weights"] = {"checkpoint": task.train.checkpoint, "epoch": measured_epoch}
        if fidelity is not None:  # multi-fidelity: which rung of which budget
            record["fidelity"] = fidelity
    values.update(trained_values)
    how.update(trained_how)
    if predictions and "error" in values:
        if stopped:
            values["error"] = _extrapolated(task, how, curve, predictions)
        else:  # kept to measure how good the extrapolation was
            how["error"]["first_prediction"] = predictions[0].as_dict()

    weights_path = None
    # a rung below the last keeps its checkpoint only: partial weights are no donors
    below_last = task.fidelity is not None and task.fidelity.checkpoint_to is not None
    if task.weights_to and not below_last:
        save_atomic(model.state_dict(), Path(task.weights_to))
        weights_path = task.weights_to
    return EvalResult(
        key=task.key,
        genome=task.genome,
        status="stopped" if stopped else "ok",
        objectives=values,
        measurements=how,
        curve=tuple(curve),
        train_loss=tuple(losses),
        epochs=len(losses),
        timings=clock.done(),
        device=str(device),
        weights_path=weights_path,
        donor_key=task.donor_key,
        inherited_fraction=start.inherited,
        fidelity=fidelity,
    )


_warm = False


def _warm_up_optimizer() -> None:
    """One SGD step on one parameter (once per process): imports what training imports."""
    global _warm
    if not _warm:
        w = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.1, momentum=0.9, nesterov=True)
        (w * 2).sum().backward()
        opt.step()
        torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
        _warm = True


def network_params(space: SearchSpace, genome: Genome, shape, classes: int) -> int:
    """Parameters of ``genome``'s network, built on the meta device (shapes only: no
    memory, no initialisation cost)."""
    with torch.device("meta"):
        net = space.build(genome, shape, classes)
    return sum(p.numel() for p in net.parameters())


@dataclass(frozen=True)
class TrainEvaluator:
    """Trains every network on the evaluating rank's device (``evaluate``)."""

    name: ClassVar[str] = "train"
    trains: ClassVar[bool] = True  # epochs exist: inheritance, stop rule and rungs apply

    @classmethod
    def from_config(cls, cfg: Config) -> TrainEvaluator:
        return cls()

    def check(self, cfg: Config, names: list[str]) -> None:
        """The device exists here, the dataset loads, and a latency table serves this
        space at this dataset's shape (before anything is stored)."""
        check_device(cfg.train.device)
        bundle = cached_dataset(cfg.data)
        if any(o.name == "latency_predicted" for o in cfg.objectives):
            from xnas.objectives.latency_table import check_for_search

            check_for_search(cfg, bundle.input_shape, bundle.num_classes)

    def prepare(self, task: EvalTask) -> None:
        """What the first evaluation on a rank pays once, done before its timeout is armed
        (``call_task``): the dataset, the objectives' modules, and the optimizer's lazy
        imports (torch.optim's first step imports torch._dynamo, ~900 modules). A timeout
        must measure the evaluation, never the rank's start-up, and must not fire inside
        an import (that leaves a half-initialised module behind)."""
        cached_dataset(task.data)
        for name in task.objectives:
            OBJECTIVES.get(name).load()
        _warm_up_optimizer()
        group = current_group()
        if group is not None and group.size > 1:  # data parallel: DDP and its jobs' class
            import xnas.evaluate.ddp  # noqa: F401

    def __call__(self, task: EvalTask) -> EvalResult:
        return evaluate(task)

    def static(
        self, cfg: Config, space: SearchSpace, names: list[str]
    ) -> Callable[[list[Genome]], np.ndarray]:
        """The parameter count, exact without training (on the meta device)."""
        shape: list = []

        def value(genome: Genome, name: str) -> float:
            if not shape:
                bundle = cached_dataset(cfg.data)
                shape.extend((bundle.input_shape, bundle.num_classes))
            return float(network_params(space, genome, *shape))

        static = [n for n in names if n == "params"]
        return static_oracle(names, static, value)

    def order(self, space: SearchSpace, genomes: list[Genome]) -> list[Genome]:
        """Largest networks first (parameter count as the cost estimate; ties keep their
        order): longest-processing-time-first, so a generation's slowest trainings start
        early instead of running alone at the barrier. Only dispatch order changes."""
        cost = [network_params(space, g, (3, 32, 32), 10) for g in genomes]
        return [genomes[i] for i in sorted(range(len(genomes)), key=lambda i: -cost[i])]

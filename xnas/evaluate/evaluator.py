"""``evaluate(task) -> EvalResult``: one architecture, end to end, on a worker.

Build -> static objectives -> train -> trained objectives -> save weights. It never
raises for a bad architecture or a diverging run: any exception becomes
``status="failed"`` with the reason and traceback, so a search can go on.
"""

from __future__ import annotations

import functools
import hashlib
import os
import socket
import time
import traceback
from dataclasses import replace
from pathlib import Path

import torch

from xnas.config import Config, DataConfig
from xnas.data import DataBundle, load_dataset
from xnas.errors import XnasError
from xnas.evaluate.calibration import Prediction
from xnas.evaluate.inherit import inherit, load_weights
from xnas.evaluate.stoprule import check
from xnas.evaluate.task import EvalResult, EvalTask, failed_result, reused_result
from xnas.evaluate.trainer import accuracy, resolve_device, train
from xnas.objectives import OBJECTIVES, EvalContext
from xnas.results import broken_budgets, fidelity_of
from xnas.space import Genome, SearchSpace, get_space


def derive_seed(run_seed: int, key: str) -> int:
    """Per-evaluation seed from (run seed, architecture key): stable across ranks and runs."""
    digest = hashlib.sha256(f"{run_seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def weights_filename(key: str) -> str:
    """Keys hold characters like | ~ [ ]; files are named by a hash of the key."""
    return hashlib.sha256(key.encode()).hexdigest()[:20] + ".pt"


def make_task(
    cfg: Config,
    space: SearchSpace,
    genome: Genome,
    *,
    epochs: int | None = None,
    weights_dir: str | None = None,
    objectives: tuple[str, ...] | None = None,
) -> EvalTask:
    """The EvalTask for ``genome`` under ``cfg`` (seed derived from the run seed and key)."""
    key = space.canonical(genome)
    return EvalTask(
        key=key,
        genome=tuple(genome),
        space=space.cfg,
        data=cfg.data,
        train=cfg.train,
        measure=cfg.measure,
        objectives=objectives or tuple(o.name for o in cfg.objectives),
        seed=derive_seed(cfg.search.seed, key),
        epochs=cfg.train.epochs if epochs is None else epochs,
        weights_dir=weights_dir,
        budgets=static_budgets(cfg),
    )


def static_budgets(cfg: Config) -> tuple[tuple[str, str, float], ...]:
    """The budgets (constraints) on static objectives: checkable before any training."""
    from xnas.summary import constraints_of

    return tuple(
        (c.objective, c.op, c.bound)
        for c in constraints_of(cfg)
        if OBJECTIVES.get(c.objective).stage == "static"
    )


def save_atomic(obj, path: Path) -> None:
    """``torch.save`` through a temporary file: never a half-written weight file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


@functools.lru_cache(maxsize=2)
def cached_dataset(cfg: DataConfig) -> DataBundle:
    """A worker loads its data once and reuses it for every task with the same config."""
    return load_dataset(cfg)


def _rank() -> int:
    from xnas.parallel.launch import world_rank  # late: xnas.parallel imports this module

    return world_rank()


def evaluate(task: EvalTask) -> EvalResult:
    timings: dict[str, float] = {}
    start = time.perf_counter()
    device = None
    try:
        device = resolve_device(task.train.device)
        objectives = [OBJECTIVES.get(n) for n in task.objectives]
        bundle = cached_dataset(task.data)
        timings["data"] = time.perf_counter() - start
        t = time.perf_counter()
        torch.manual_seed(task.seed)
        space = get_space(task.space)
        model = space.build(task.genome, bundle.input_shape, bundle.num_classes).to(device)
        ctx = EvalContext(
            model=model, bundle=bundle, device=device, measure=task.measure, space=task.space
        )
        timings["build"] = time.perf_counter() - t

        values: dict[str, float] = {}
        how: dict[str, dict] = {}

        def score(stage: str) -> None:
            t0 = time.perf_counter()
            for obj in objectives:
                if obj.stage == stage:
                    m = obj.compute(ctx)
                    values[obj.name], how[obj.name] = float(m.value), dict(m.how)
            timings[stage] = time.perf_counter() - t0

        if task.reuse is not None:  # an equivalent genome was trained: static values only
            score("static")
            trained = {o.name for o in objectives if o.stage == "trained"}
            return replace(
                reused_result(task, values, how, trained),
                timings={**timings, "total": time.perf_counter() - start},
                rank=_rank(),
                host=socket.gethostname(),
                device=str(device),
            )
        inherited = 0.0
        resume = None
        if task.resume_from:  # a promoted rung: continue this genome's own training
            t = time.perf_counter()
            resume = torch.load(task.resume_from, map_location=device, weights_only=True)
            model.load_state_dict(resume["model"])
            values, how = dict(resume["static"]), dict(resume["static_how"])
            inherited = float(resume["inherited"])
            timings["resume"] = time.perf_counter() - t
        elif task.donor_weights:
            t = time.perf_counter()
            try:
                _, inherited = inherit(model, load_weights(task.donor_weights))
            except Exception as exc:  # pruned or unreadable donor: train from scratch, say so
                how["inheritance"] = {"donor_unusable": f"{type(exc).__name__}: {exc}"}
            timings["inherit"] = time.perf_counter() - t

        if resume is None:
            score("static")
        broken = broken_budgets(task.budgets, values)
        if broken:  # no training: the genome cannot be feasible
            return EvalResult(
                key=task.key,
                genome=task.genome,
                status="rejected",
                objectives=values,
                measurements=how,
                error="rejected before training: " + "; ".join(broken),
                timings={**timings, "total": time.perf_counter() - start},
                rank=_rank(),
                host=socket.gethostname(),
                device=str(device),
            )
        predictions: list[Prediction] = []

        def after_epoch(epoch: int, curve: tuple[float, ...]) -> bool:
            stop, prediction = check(
                task.stop,
                curve,
                task.epochs,
                values,
                chance=1.0 / bundle.num_classes,
                val_samples=len(bundle.val),
                prior=task.prior_curve,
            )
            if prediction is not None:
                predictions.append(prediction)
            return stop

        t = time.perf_counter()
        stopped = False
        if task.epochs > 0:
            outcome = train(
                model,
                bundle.train,
                bundle.val,
                task.train,
                epochs=task.epochs,
                seed=task.seed,
                device=device,
                augment=bundle.augment,
                after_epoch=after_epoch if task.stop is not None else None,
                keep_best=task.train.checkpoint == "best",
                schedule_epochs=task.schedule_epochs or None,
                resume=resume["train"] if resume is not None else None,
                keep_state=task.checkpoint_to is not None,
            )
            if task.checkpoint_to is not None:
                state = dict(outcome.state or {})
                static = [o for o in objectives if o.stage == "static"]
                save_atomic(
                    {
                        "model": state.pop("model"),
                        "train": state,
                        "static": {o.name: values[o.name] for o in static},
                        "static_how": {o.name: how[o.name] for o in static},
                        "inherited": inherited,
                    },
                    Path(task.checkpoint_to),
                )
            curve, losses = outcome.curve, outcome.train_loss
            stopped = outcome.stopped_early
            timings["images_per_s"] = outcome.images_per_s
            measured_epoch = outcome.best_epoch if outcome.restored_best else len(curve)
        else:
            curve, losses = (accuracy(model, bundle.val, device),), ()
            measured_epoch = 0
        timings["train"] = time.perf_counter() - t
        # error and every trained objective are measured on the same weights
        ctx.val_accuracy = curve[measured_epoch - 1] if measured_epoch else curve[-1]
        score("trained")  # on the weights it has, when stopped early
        for obj in objectives:
            if obj.stage == "trained":
                how[obj.name]["weights"] = {
                    "checkpoint": task.train.checkpoint,
                    "epoch": measured_epoch,
                }
                if task.rung is not None:  # multi-fidelity: which rung of which budget
                    how[obj.name]["fidelity"] = fidelity_of(task)
        if predictions and "error" in values:
            if stopped:
                # stored: the optimistic bound the rule found dominated, flagged as predicted
                # (selection then ranks a slow starter by its best case, not its median)
                last = predictions[-1]
                values["error"] = 1.0 - max(last.upper, max(curve))
                how["error"] = {
                    **how["error"],
                    "method": "extrapolated",
                    "predicted": True,
                    "value": "optimistic bound: upper band edge (never below the best seen)",
                    "quantile": task.stop.quantile,
                    **last.as_dict(),
                }
                if task.prior_curve:  # epochs counted from the donor's curve
                    how["error"]["prior"] = {
                        "donor": task.donor_key,
                        "epochs": len(task.prior_curve),
                    }
            else:  # kept to measure how good the extrapolation was
                how["error"]["first_prediction"] = predictions[0].as_dict()

        weights_path = None
        # a rung below the last keeps its checkpoint only: partial weights are no donors
        if task.weights_dir and task.train.save_weights and task.checkpoint_to is None:
            path = Path(task.weights_dir) / weights_filename(task.key)
            save_atomic(model.state_dict(), path)
            weights_path = str(path)
        timings["total"] = time.perf_counter() - start
        return EvalResult(
            key=task.key,
            genome=task.genome,
            status="stopped" if stopped else "ok",
            objectives=values,
            measurements=how,
            curve=tuple(curve),
            train_loss=tuple(losses),
            epochs=len(losses),
            timings=timings,
            rank=_rank(),
            host=socket.gethostname(),
            device=str(device),
            weights_path=weights_path,
            donor_key=task.donor_key,
            inherited_fraction=inherited,
            fidelity=fidelity_of(task),
        )
    except XnasError:
        raise  # bad input (a dataset that cannot load...) stops the run; it is no failure
    except Exception as exc:
        timings["total"] = time.perf_counter() - start
        return failed_result(
            task,
            f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}",
            timings=timings,
            rank=_rank(),
            host=socket.gethostname(),
            device=str(device) if device is not None else "",
        )

"""Zero-cost proxies as static objectives (provenance ``proxy``).

Each is computed on the untrained network (the same seeded initialisation the genome's
training would start from) from one seeded minibatch of the training split
(``measure.proxy_batch`` images, ``measure.proxy_seed``), on the evaluating device, before
any training; the network itself is left untouched (``scores`` works on copies). A proxy
is a property of the function the genome computes, so a functionally equivalent genome
(``search.reuse_equivalent``) copies its class representative's score instead of
recomputing it. See ``scores`` for the definitions and ``ensemble`` for the combination.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from xnas.objectives.base import EvalContext, Measurement
from xnas.objectives.proxies import scores

PAPERS = {
    "naswot": "Mellor et al., ICML 2021 (log|K_H| of ReLU codes)",
    "synflow": "Tanaka et al., NeurIPS 2020; zero-cost form of Abdelfattah et al., ICLR 2021",
    "jacob_cov": "Mellor et al. 2020 (v1); as in Abdelfattah et al., ICLR 2021",
    "grad_norm": "Abdelfattah et al., ICLR 2021",
    "snip": "Lee et al., ICLR 2019; zero-cost form of Abdelfattah et al., ICLR 2021",
}


def proxy_batch(ctx: EvalContext) -> tuple[torch.Tensor, torch.Tensor]:
    """The run's minibatch: the same images for every genome (a seeded draw from the
    training split), on the evaluating device; cached in the context."""
    if "proxy_batch" not in ctx.cache:
        train = ctx.bundle.train
        n = min(ctx.measure.proxy_batch, len(train))
        rng = np.random.default_rng(ctx.measure.proxy_seed)
        idx = torch.as_tensor(np.sort(rng.choice(len(train), size=n, replace=False)))
        ctx.cache["proxy_batch"] = (train.x[idx].to(ctx.device), train.y[idx].to(ctx.device))
    return ctx.cache["proxy_batch"]


def _how(ctx: EvalContext, name: str, seconds: float) -> dict:
    x, _ = proxy_batch(ctx)
    return {
        "method": f"zero-cost proxy {name} on the untrained network",
        "source": PAPERS[name],
        "batch": int(x.shape[0]) if name != "synflow" else 1,
        "input": "all-ones, float64, BatchNorm removed" if name == "synflow" else "train split",
        "proxy_seed": ctx.measure.proxy_seed,
        "device": str(ctx.device),
        "threads": torch.get_num_threads(),
        "seconds": round(seconds, 4),
    }


def _loss_grads(ctx: EvalContext) -> tuple[object, float]:
    """The copy holding the loss gradients, and the backward pass's seconds the first
    time (grad_norm and snip share one pass; its time is charged once)."""
    if "proxy_grads" in ctx.cache:
        return ctx.cache["proxy_grads"], 0.0
    x, y = proxy_batch(ctx)
    t0 = time.perf_counter()
    ctx.cache["proxy_grads"] = scores.loss_gradients(ctx.model, x, y)
    return ctx.cache["proxy_grads"], time.perf_counter() - t0


def _member(ctx: EvalContext, name: str) -> Measurement:
    """naswot, synflow or jacob_cov: the three are computed together (NASWOT and jacob_cov
    share one forward/backward pass) and their time is charged to the first asked."""
    values, seconds = _members(ctx)
    return Measurement(values[name], _how(ctx, name, seconds))


def naswot_objective(ctx: EvalContext) -> Measurement:
    return _member(ctx, "naswot")


def synflow_objective(ctx: EvalContext) -> Measurement:
    return _member(ctx, "synflow")


def jacob_cov_objective(ctx: EvalContext) -> Measurement:
    return _member(ctx, "jacob_cov")


def _gradient_proxy(ctx: EvalContext, name: str, fn) -> Measurement:
    x, y = proxy_batch(ctx)
    net, backward_s = _loss_grads(ctx)
    t0 = time.perf_counter()
    value = float(fn(ctx.model, x, y, net))
    return Measurement(value, _how(ctx, name, backward_s + time.perf_counter() - t0))


def grad_norm_objective(ctx: EvalContext) -> Measurement:
    return _gradient_proxy(ctx, "grad_norm", scores.grad_norm)


def snip_objective(ctx: EvalContext) -> Measurement:
    return _gradient_proxy(ctx, "snip", scores.snip)


def _members(ctx: EvalContext) -> tuple[dict[str, float], float]:
    """The ensemble's member scores, and their seconds the first time they are asked for."""
    from xnas.objectives.proxies.ensemble import member_scores

    if "proxy_members" in ctx.cache:
        return ctx.cache["proxy_members"], 0.0
    x, _ = proxy_batch(ctx)
    t0 = time.perf_counter()
    ctx.cache["proxy_members"] = member_scores(ctx.model, x, ctx.input_shape, ctx.device)
    return ctx.cache["proxy_members"], time.perf_counter() - t0


def proxy_ensemble_objective(ctx: EvalContext) -> Measurement:
    from xnas.objectives.proxies.ensemble import MEMBERS, reference_for

    if ctx.space is None:
        raise ValueError("proxy_ensemble needs the genome's space (its reference sample)")
    x, _ = proxy_batch(ctx)
    t0 = time.perf_counter()
    ref = reference_for(
        ctx.space,
        x,
        ctx.bundle.num_classes,
        ctx.measure.proxy_reference,
        ctx.measure.proxy_seed,
        ctx.device,
    )
    reference_s = time.perf_counter() - t0
    members, seconds = _members(ctx)
    value = ref.ensemble(members)
    how = _how(ctx, "naswot", seconds)
    how.update(
        method="zero-cost proxy ensemble: mean quantile of naswot, synflow and jacob_cov "
        "among a reference sample of the space",
        source="; ".join(PAPERS[m] for m in MEMBERS),
        members={m: members[m] for m in MEMBERS},
        reference_genomes=ctx.measure.proxy_reference,
        input="train split (synflow: all-ones)",
    )
    if reference_s > 0.01:  # scored in this process (once): its cost is the run's too
        how["reference_seconds"] = round(reference_s, 3)
    return Measurement(value, how)

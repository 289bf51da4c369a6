"""`introspection`: XNAS's introspectability score (higher = more disentangled).

For the validation samples (capped), the outputs of every convolution and
activation module are flattened and concatenated into one vector per sample;
vectors are averaged per *predicted* class, and the score is the mean pairwise
cosine distance between those class means (float64). Activations come from
captum's LayerActivation over all those layers plus the classifier (whose output
gives the prediction, so one forward pass serves both). Only per-class running
sums are kept: memory is classes x activation size, independent of sample count.
Pairs involving a zero class mean are dropped, as XNAS drops its NaN pairs; with no
defined pair the score is 0 (XNAS: -inf).
"""

from __future__ import annotations

import numpy as np
import torch
from captum.attr import LayerActivation
from torch import nn

from xnas.data import ArrayDataset
from xnas.objectives.base import EvalContext, Measurement

ACTIVATIONS = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ELU,
    nn.GELU,
    nn.SiLU,
    nn.Hardswish,
    nn.Sigmoid,
    nn.Tanh,
    nn.Mish,
    nn.Softplus,
)
CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def introspection_layers(model: nn.Module) -> list[nn.Module]:
    """Every conv and activation module on a live path: modules of an edge that cannot
    affect the output (``nn.cells.is_dead``) are left out, so functionally equivalent
    genomes holding the same trained weights score the same (a reuse's copy is exact)."""
    from xnas.nn.cells import is_dead

    return [m for m in model.modules() if isinstance(m, CONVS + ACTIVATIONS) and not is_dead(m)]


def output_layer(model: nn.Module) -> nn.Module:
    """The module whose output is the logits: ``model.classifier`` or the last Linear."""
    head = getattr(model, "classifier", None)
    if isinstance(head, nn.Module):
        return head
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("introspection needs a classifier module (attribute or last nn.Linear)")
    return linears[-1]


class ClassMeans:
    """Running per-class sums of feature vectors (float64) and counts."""

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes
        self.sums: torch.Tensor | None = None
        self.counts = torch.zeros(num_classes, dtype=torch.float64)

    def update(self, features: torch.Tensor, classes: torch.Tensor) -> None:
        features = features.detach().to("cpu", torch.float64)
        if self.sums is None:
            self.sums = torch.zeros(self.num_classes, features.shape[1], dtype=torch.float64)
        self.sums.index_add_(0, classes.cpu(), features)
        self.counts += torch.bincount(classes.cpu(), minlength=self.num_classes).double()

    def means(self) -> np.ndarray:
        present = self.counts > 0
        if self.sums is None:
            return np.zeros((0, 0))
        return (self.sums[present] / self.counts[present, None]).numpy()


def mean_pairwise_cosine_distance(means: np.ndarray) -> float:
    """Mean cosine distance over pairs of class means, dropping undefined pairs.

    A class mean with zero norm has no direction, so its pairs are NaN (as in
    scipy's ``pdist(metric="cosine")``); XNAS drops those pairs and averages the
    rest. With no defined pair (fewer than two classes, or every pair undefined)
    XNAS scores -inf; we score 0, the measure's lower bound, so the value stays
    finite for hypervolume (a deviation listed in the README).
    """
    if len(means) < 2:
        return 0.0
    norms = np.linalg.norm(means, axis=1)
    valid = norms > 0
    unit = means / np.where(valid, norms, 1.0)[:, None]
    cos = unit @ unit.T
    i, j = np.triu_indices(len(means), k=1)
    keep = valid[i] & valid[j]
    if not keep.any():
        return 0.0
    return float(np.mean(1.0 - cos[i[keep], j[keep]]))


@torch.no_grad()
def introspectability(
    model: nn.Module,
    data: ArrayDataset,
    num_classes: int,
    device: torch.device,
    max_samples: int = 25000,
    batch_size: int = 256,
) -> tuple[float, dict]:
    was = model.training
    model.eval()
    layers = introspection_layers(model)
    probe = LayerActivation(model, layers + [output_layer(model)])
    acc = ClassMeans(num_classes)
    n = min(len(data), max_samples)
    try:
        for start in range(0, n, batch_size):
            x = data.x[start : min(n, start + batch_size)].to(device)
            acts = probe.attribute(x)
            predicted = acts[-1].argmax(dim=1)
            features = torch.cat([a.flatten(1) for a in acts[:-1]], dim=1)  # float64 sums
            acc.update(features, predicted)
    finally:
        model.train(was)
    score = mean_pairwise_cosine_distance(acc.means())
    how = {
        "method": "captum LayerActivation, class means of predicted classes",
        "samples": n,
        "layers": len(layers),
        "features": int(acc.sums.shape[1]) if acc.sums is not None else 0,
        "predicted_classes": int((acc.counts > 0).sum()),
    }
    return score, how


def introspection_objective(ctx: EvalContext) -> Measurement:
    score, how = introspectability(
        ctx.model,
        ctx.bundle.val,
        ctx.bundle.num_classes,
        ctx.device,
        ctx.measure.introspection_samples,
        ctx.measure.introspection_batch,
    )
    return Measurement(score, how)

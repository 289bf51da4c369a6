"""The attribution methods behind `mcd` against a network whose correct attribution is known
by construction: it reads only one square region of the image, so every method must put
its attribution there, and masking the top pixels must hit exactly what the network uses."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from xnas.objectives.mcd import METHODS, attribute, mean_confidence_decrease, patch_mask

H = W = 16
REGION = (slice(4, 8), slice(8, 12))  # rows 4..7, cols 8..11: aligned to 4x4 patches


class OneRegion(nn.Module):
    """Class 0's logit is the region's sum, class 1's its negative: nothing else matters."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x[:, :, REGION[0], REGION[1]].sum(dim=(1, 2, 3))
        return torch.stack([s, -s], dim=1)


def inputs(n: int = 4) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.rand((n, 3, H, W), generator=g) * 0.5 + 0.25  # positive: class 0 predicted


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_attributes_only_the_region_the_network_reads(method):
    model = OneRegion()
    x = inputs()
    target = model(x).argmax(1)
    assert (target == 0).all()
    a = attribute(model, x, target, method, steps=8, samples=64, patch=4).detach()
    assert a.shape == x.shape
    saliency = a.abs().sum(1)  # (N, H, W)
    inside = saliency[:, REGION[0], REGION[1]].sum(dim=(1, 2))
    total = saliency.sum(dim=(1, 2))
    # (nearly) all attribution mass inside; Lime's regression leaves a trace outside
    assert (inside / total > 0.95).all(), (method, (inside / total).tolist())
    # the 16 most attributed pixels are exactly the region's 16
    k = 16
    top = saliency.flatten(1).topk(k, dim=1).indices
    region = torch.zeros(H, W, dtype=torch.bool)
    region[REGION] = True
    assert region.flatten()[top].all(), method


@pytest.mark.parametrize("method", sorted(METHODS))
def test_mcd_masks_what_the_network_uses(method):
    """With 1/16 of the pixels masked (the region's share), every faithful method removes the
    whole region: the logits become 0 and 0, so the predicted class's probability drops from
    its softmax to exactly 0.5 — a closed form."""
    model = OneRegion()
    x = inputs()
    s = x[:, :, REGION[0], REGION[1]].sum(dim=(1, 2, 3))
    expected = float((torch.sigmoid(2 * s) - 0.5).mean())
    got = mean_confidence_decrease(
        model, x, top_fraction=16 / (H * W), steps=8, method=method, samples=64, patch=4
    )
    assert got == pytest.approx(expected, abs=1e-6)


def test_patches_tile_the_image():
    m = patch_mask((1, 3, 10, 12), 4)
    assert m.shape == (1, 1, 10, 12)
    assert m.unique().numel() == 3 * 3  # ceil(10/4) x ceil(12/4)
    assert (m[0, 0, :4, :4] == 0).all() and (m[0, 0, 8:, 8:] == 8).all()


def test_a_bad_method_is_one_config_line():
    from xnas.config import MeasureConfig
    from xnas.errors import ConfigError

    with pytest.raises(ConfigError, match="measure.attribution: expected one of"):
        MeasureConfig(attribution="shapley")


@pytest.mark.parametrize("method", ["integrated_gradients", "kernel_shap"])
def test_the_record_names_the_method(method):
    from xnas.config import DataConfig, MeasureConfig
    from xnas.data import load_dataset
    from xnas.objectives.base import EvalContext
    from xnas.objectives.mcd import mcd_objective

    bundle = load_dataset(DataConfig(name="lines", train_size=64, val_size=32))
    measure = MeasureConfig(mcd_samples=2, mcd_steps=4, attribution=method, attribution_samples=8)
    model = nn.Sequential(nn.Flatten(), nn.LazyLinear(bundle.num_classes))
    model(bundle.val.x[:1])
    ctx = EvalContext(model=model, bundle=bundle, device=torch.device("cpu"), measure=measure)
    m = mcd_objective(ctx)
    assert m.how["attribution"] == method and METHODS[method] in m.how["method"]
    assert ("patch" in m.how) == (method == "kernel_shap")

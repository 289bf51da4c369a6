"""Introspectability: matches the XNAS definition computed directly in NumPy."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from numpy.lib.stride_tricks import sliding_window_view
from torch import nn

from xnas.data import ArrayDataset
from xnas.objectives import OBJECTIVES
from xnas.objectives.introspection import introspectability


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, bias=True)
        self.act = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(2, 3)

    def forward(self, x):
        return self.classifier(self.pool(self.act(self.conv(x))).flatten(1))


def numpy_introspection(net: Tiny, x: np.ndarray) -> float:
    w = net.conv.weight.detach().double().numpy()  # (2, 1, 3, 3)
    b = net.conv.bias.detach().double().numpy()
    windows = sliding_window_view(x[:, 0], (3, 3), axis=(1, 2))  # (N, 4, 4, 3, 3)
    conv = np.einsum("nhwij,cij->nchw", windows, w[:, 0]) + b[None, :, None, None]
    act = np.maximum(conv, 0)
    logits = act.mean(axis=(2, 3)) @ net.classifier.weight.detach().double().numpy().T
    logits += net.classifier.bias.detach().double().numpy()
    pred = logits.argmax(axis=1)
    feats = np.concatenate([conv.reshape(len(x), -1), act.reshape(len(x), -1)], axis=1)
    means = [feats[pred == c].mean(axis=0) for c in np.unique(pred)]
    dists = [
        1 - means[i] @ means[j] / (np.linalg.norm(means[i]) * np.linalg.norm(means[j]))
        for i in range(len(means))
        for j in range(i + 1, len(means))
    ]
    return float(np.mean(dists)) if dists else 0.0


def test_matches_a_direct_numpy_computation():
    torch.manual_seed(0)
    net = Tiny()
    with torch.no_grad():
        # channel 0 passes x, channel 1 passes -x (plus noise): samples split between classes
        net.conv.weight.mul_(0.2)
        net.conv.weight[0, 0, 1, 1] += 1.0
        net.conv.weight[1, 0, 1, 1] -= 1.0
        net.classifier.weight.copy_(torch.tensor([[3.0, -3.0], [-3.0, 3.0], [0.1, 0.1]]))
        net.classifier.bias.zero_()
    # float64 end to end, so the comparison tests the definition, not float32 rounding
    net = net.double()
    x = torch.randn(40, 1, 6, 6, dtype=torch.float64)
    data = ArrayDataset(x, torch.zeros(40, dtype=torch.long))
    ours, how = introspectability(net, data, 3, torch.device("cpu"), batch_size=7)
    expected = numpy_introspection(net, x.numpy())
    assert how["predicted_classes"] >= 2 and how["layers"] == 2
    assert ours == pytest.approx(expected, abs=1e-9) and ours > 0


def test_identical_class_means_score_zero():
    # a network that predicts one class only, and one whose activations are all equal
    net = Tiny()
    with torch.no_grad():
        net.classifier.bias.copy_(torch.tensor([100.0, 0.0, 0.0]))
    data = ArrayDataset(torch.randn(30, 1, 6, 6), torch.zeros(30, dtype=torch.long))
    assert introspectability(net, data, 3, torch.device("cpu"))[0] == 0.0
    from xnas.objectives.introspection import mean_pairwise_cosine_distance

    same = np.tile(np.array([[1.0, 2.0, 3.0]]), (4, 1))
    assert mean_pairwise_cosine_distance(same) == pytest.approx(0.0, abs=1e-12)
    assert mean_pairwise_cosine_distance(np.eye(3)) == pytest.approx(1.0)


def test_declared_as_a_trained_max_objective():
    obj = OBJECTIVES.get("introspection")
    assert (obj.sense, obj.stage) == ("max", "trained")


PROBE = textwrap.dedent(
    """
    import resource, sys, torch
    from torch import nn
    from xnas.data import ArrayDataset
    from xnas.objectives.introspection import introspectability
    torch.set_num_threads(1)
    net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(16, 10))
    x = torch.randn(4096, 1, 28, 28)
    data = ArrayDataset(x, torch.zeros(4096, dtype=torch.long))
    def peak():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    introspectability(net, data, 10, torch.device("cpu"), max_samples=256, batch_size=128)
    small = peak()
    introspectability(net, data, 10, torch.device("cpu"), max_samples=4096, batch_size=128)
    print(small, peak())
    """
)


def test_peak_memory_does_not_grow_with_the_number_of_samples():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    small, large = (int(v) for v in out.stdout.split())
    keeping_everything = 4096 * 2 * 16 * 28 * 28 * 4  # bytes to hold all activations: 411 MB
    assert large - small < keeping_everything / 4, (small, large)  # allocator slack under load


def test_zero_norm_class_means_are_dropped_as_xnas_does():
    """Oracle: XNAS's own rule, scipy's cosine pdist with its NaN pairs dropped."""
    from scipy.spatial.distance import pdist

    from xnas.objectives.introspection import mean_pairwise_cosine_distance

    rng = np.random.default_rng(0)
    means = np.abs(rng.normal(size=(5, 12)))
    means[2] = 0.0  # e.g. a class whose samples leave every ReLU at zero
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = pdist(means, metric="cosine")
    assert np.isnan(ref).sum() == 4
    assert mean_pairwise_cosine_distance(means) == pytest.approx(np.nanmean(ref), abs=1e-12)
    # before the fix a zero mean counted as distance 1 to every class
    assert mean_pairwise_cosine_distance(means) < np.mean(np.nan_to_num(ref, nan=1.0))
    # no defined pair: 0 (XNAS would give -inf; the README lists this deviation)
    assert mean_pairwise_cosine_distance(np.array([[0.0, 0.0], [1.0, 2.0]])) == 0.0


@pytest.mark.slow
def test_a_reuse_copies_only_what_the_class_shares(tmp_path, monkeypatch):
    """Train A; load its weights into every member of A's functional class that holds the
    same live modules; every value a reuse copies (introspection, error) must equal the
    value recomputed on that member. Dead edges (a conv on an always-zero node, a branch
    that never reaches the output) would otherwise add activations that A does not have."""
    import itertools

    from tests.conftest import cfg
    from xnas.data import load_dataset
    from xnas.driver import make_task
    from xnas.evaluate.train import evaluate
    from xnas.evaluate.trainer import accuracy
    from xnas.nn import cells
    from xnas.nn.cells import is_dead
    from xnas.space import get_space

    # trained enough to predict several classes (a network that predicts one class has
    # introspectability 0 whatever its layers, and would make this test vacuous)
    c = cfg("space.channels=8", "train.epochs=4", "data.train_size=1000")
    space = get_space(c.space)
    # node 2 computes (two convs) but never reaches the output (none~2): a dead branch
    a = space.parse(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_1x1~1|none~2|"
    )
    source = evaluate(
        make_task(c, space, a, objectives=("error", "introspection"), weights_dir=str(tmp_path))
    )
    assert source.objectives["introspection"] > 0.1
    weights = torch.load(source.weights_path, weights_only=True)
    bundle = load_dataset(c.data)

    def live(model) -> set[str]:
        return {
            n
            for n, m in model.named_modules()
            if n and not is_dead(m) and any(True for _ in m.parameters(False))
        }

    built_a = space.build(a, bundle.input_shape, bundle.num_classes)
    members = [
        g
        for g in itertools.product(range(5), repeat=6)
        if space.equivalence(g) == space.equivalence(a) and space.canonical(g) != source.key
    ]
    cpu = torch.device("cpu")
    checked = with_dead_convs = differs = 0
    for g in members:
        model = space.build(g, bundle.input_shape, bundle.num_classes)
        if live(model) != live(built_a):
            continue  # its live convs sit elsewhere: A's weights do not load by name
        mine = model.state_dict()  # live tensors: A's; a dead edge keeps its own
        model.load_state_dict(
            {k: v for k, v in weights.items() if k in mine and mine[k].shape == v.shape},
            strict=False,
        )
        model.eval()
        acc = accuracy(model, bundle.val, torch.device("cpu"))
        assert 1 - acc == pytest.approx(source.objectives["error"], abs=1e-9)
        value, _ = introspectability(model, bundle.val, bundle.num_classes, torch.device("cpu"))
        assert value == pytest.approx(source.objectives["introspection"], abs=1e-9), g
        checked += 1
        with_dead_convs += any(is_dead(m) and isinstance(m, nn.Conv2d) for m in model.modules())
        # the same network with its dead modules hooked too (the code before this fix)
        monkeypatch.setattr(cells, "is_dead", lambda m: False)
        hooked_all, _ = introspectability(model, bundle.val, bundle.num_classes, cpu)
        monkeypatch.undo()
        differs += abs(hooked_all - value) > 1e-3
    assert checked >= 5 and with_dead_convs >= 2
    assert differs >= 2  # dead modules do change the value: the live-only rule matters

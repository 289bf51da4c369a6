"""Zero-cost proxies against independent oracles: closed forms on tiny networks computed
here with numpy (no xnas code), the invariances the papers state, and the promise that a
proxy never changes the network it scores nor the training that follows."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from tests.conftest import cfg
from xnas.objectives.proxies import scores
from xnas.objectives.proxies.ensemble import MEMBERS, Reference, reference_for


def _relu_layer(d: int = 6, h: int = 40, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, h), nn.ReLU())


def test_naswot_is_the_log_determinant_of_the_hamming_kernel_of_relu_codes():
    net = _relu_layer()
    x = torch.randn(12, 6)
    W, b = net[0].weight.detach().numpy(), net[0].bias.detach().numpy()
    c = (x.numpy() @ W.T + b > 0).astype(float)
    K = c @ c.T + (1 - c) @ (1 - c).T
    sign, logdet = np.linalg.slogdet(K)
    assert sign > 0
    assert scores.naswot(net, x) == pytest.approx(logdet, rel=1e-9)
    # codes only: scaling the layer by a positive constant changes nothing (Mellor et al.)
    with torch.no_grad():
        net[0].weight.mul_(7.0)
        net[0].bias.mul_(7.0)
    assert scores.naswot(net, x) == pytest.approx(logdet, rel=1e-9)
    # two identical samples make K singular: the score's floor, 0 (log det >= 0 otherwise)
    assert scores.naswot(net, torch.cat([x[:5], x[:1]])) == 0.0


def test_synflow_is_conserved_layer_by_layer_and_ignores_batchnorm():
    # |W| everywhere and an all-ones input: R = 1^T |W2| relu(|W1| 1) = 1^T |W2| |W1| 1, and
    # by Euler's theorem each layer's sum of |theta dR/dtheta| equals R (Tanaka et al.)
    torch.manual_seed(0)
    plain = nn.Sequential(nn.Linear(5, 4, bias=False), nn.ReLU(), nn.Linear(4, 3, bias=False))
    W1, W2 = (np.abs(m.weight.detach().double().numpy()) for m in (plain[0], plain[2]))
    R = np.ones(3) @ W2 @ W1 @ np.ones(5)
    assert scores.synflow(plain, (5,)) == pytest.approx(2 * R, rel=1e-12)
    with_bn = nn.Sequential(plain[0], nn.BatchNorm1d(4), nn.ReLU(), plain[2])
    with_bn[1].weight.data.fill_(-3.0)  # removed, as the authors do (bn=False)
    assert scores.synflow(with_bn, (5,)) == pytest.approx(2 * R, rel=1e-12)
    assert (plain[0].weight < 0).any()  # the signs of the original survive


def test_grad_norm_and_snip_match_the_softmax_gradient_in_closed_form():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(7, 5, bias=False))
    x, y = torch.randn(9, 7), torch.randint(0, 5, (9,))
    W = net[0].weight.detach().double().numpy()
    logits = x.double().numpy() @ W.T
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    G = (p - np.eye(5)[y.numpy()]).T @ x.double().numpy() / len(y)  # dL/dW of mean CE
    assert scores.grad_norm(net, x, y) == pytest.approx(np.linalg.norm(G), rel=1e-5)
    assert scores.snip(net, x, y) == pytest.approx(np.abs(W * G).sum(), rel=1e-5)


def _jacob_oracle(J: np.ndarray) -> float:
    """zero-cost-nas's eval_score, as published: np.corrcoef, np.linalg.eig, k = 1e-5."""
    v, _ = np.linalg.eig(np.corrcoef(J))
    return float(np.real(-np.sum(np.log(v + 1e-5) + 1.0 / (v + 1e-5))))


def test_jacob_cov_matches_the_analytic_jacobian_and_the_published_scoring():
    torch.manual_seed(0)
    lin = nn.Linear(6, 10, bias=False)

    class SumRelu(nn.Module):
        def forward(self, x):
            return torch.relu(lin(x)).sum(dim=1, keepdim=True)

    x = torch.randn(8, 6)
    W = lin.weight.detach().double().numpy()
    active = (x.double().numpy() @ W.T > 0).astype(float)
    J = active @ W  # d/dx sum(relu(Wx)) = W^T 1[Wx > 0], one row per sample
    assert scores.jacob_cov(SumRelu(), x) == pytest.approx(_jacob_oracle(J), rel=1e-6)
    # an output that ignores its input: every Jacobian row alike, the worst possible score
    const = scores.jacob_score(np.zeros((8, 6)))
    assert const == pytest.approx(scores.jacob_score(np.tile(J[:1], (8, 1))), rel=1e-9)
    assert const < scores.jacob_score(J)


def test_proxies_leave_the_network_as_they_found_it():
    from xnas.space import get_space

    c = cfg("space.channels=4", "space.layers=1")
    space = get_space(c.space)
    genome = space.parse(
        "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    )
    torch.manual_seed(0)
    model = space.build(genome, (1, 12, 12), 4).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = torch.randn(16, 1, 12, 12), torch.randint(0, 4, (16,))
    values = scores.all_scores(model, x, y)
    assert set(values) == set(scores.SCORES) and all(np.isfinite(list(values.values())))
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN running stats too
    assert all(p.grad is None for p in model.parameters()) and not model.training


def test_the_ensemble_is_a_mean_reference_quantile(tmp_path, monkeypatch):
    ref = Reference({m: (1.0, 2.0, 3.0, 4.0) for m in MEMBERS})
    assert ref.quantile("naswot", 0.5) == 0.0 and ref.quantile("naswot", 9) == 1.0
    assert ref.quantile("naswot", 2.0) == pytest.approx(0.375)  # ties count half
    assert ref.ensemble({"naswot": 9, "synflow": 0, "jacob_cov": 2.5}) == pytest.approx(0.5)

    from xnas.config import SpaceConfig
    from xnas.objectives.proxies import ensemble

    monkeypatch.setenv("XNAS_CACHE", str(tmp_path))
    space = SpaceConfig(name="nb201", channels=4, layers=1)
    x = torch.randn(8, 1, 12, 12)
    state = torch.get_rng_state()
    first = reference_for(space, x, 4, 6, 0, torch.device("cpu"))
    assert torch.equal(state, torch.get_rng_state())  # the caller's random stream untouched
    assert all(len(first.scores[m]) == 6 for m in MEMBERS)
    (cached,) = (tmp_path / "proxy-reference").glob("*.json")
    ensemble._memory.clear()
    monkeypatch.setattr(ensemble, "build_reference", lambda *a: pytest.fail("not cached"))
    assert reference_for(space, x, 4, 6, 0, torch.device("cpu")) == first
    cached.write_text("{damaged")
    ensemble._memory.clear()
    monkeypatch.undo()
    monkeypatch.setenv("XNAS_CACHE", str(tmp_path))
    assert reference_for(space, x, 4, 6, 0, torch.device("cpu")) == first  # scored again


@pytest.mark.slow
def test_proxy_objectives_never_change_the_training_and_are_labelled_proxy(tmp_path, monkeypatch):
    from xnas.driver import make_task
    from xnas.evaluate.train import evaluate
    from xnas.space import get_space

    monkeypatch.setenv("XNAS_CACHE", str(tmp_path))
    c = cfg("measure.proxy_batch=16", "measure.proxy_reference=4")
    space = get_space(c.space)
    genome = space.parse(
        "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    )
    names = ("error", "naswot", "synflow", "jacob_cov", "grad_norm", "snip", "proxy_ensemble")
    with_proxies = evaluate(make_task(c, space, genome, objectives=names))
    plain = evaluate(make_task(c, space, genome, objectives=("error",)))
    assert with_proxies.curve == plain.curve  # same weights, same batches: proxies are inert
    for n in names[1:]:
        assert with_proxies.provenance(n) == "proxy", n
        assert np.isfinite(with_proxies.objectives[n])
    assert 0 <= with_proxies.objectives["proxy_ensemble"] <= 1
    how = with_proxies.measurements["proxy_ensemble"]
    assert set(how["members"]) == set(MEMBERS) and how["batch"] == 16
    assert how["members"]["naswot"] == with_proxies.objectives["naswot"]
    # a budget on a proxy is checked before training: nothing trained, the value stored
    task = replace(
        make_task(c, space, genome, objectives=("error", "naswot")),
        budgets=(("naswot", ">=", 1e9),),
    )
    rejected = evaluate(task)
    assert rejected.status == "rejected" and rejected.epochs == 0
    assert rejected.objectives["naswot"] == with_proxies.objectives["naswot"]


@pytest.mark.slow
def test_an_equivalent_genome_copies_its_representatives_proxy(tmp_path, monkeypatch):
    from xnas.driver import make_task
    from xnas.evaluate.train import evaluate
    from xnas.space import get_space

    monkeypatch.setenv("XNAS_CACHE", str(tmp_path))
    c = cfg("measure.proxy_batch=16")
    space = get_space(c.space)
    rng, first = np.random.default_rng(0), {}
    while True:  # two distinct genomes of one functional class
        g = space.sample(rng)
        cls = space.equivalence(g)
        if cls in first and space.canonical(first[cls]) != space.canonical(g):
            a, b = first[cls], g
            break
        first.setdefault(cls, g)
    names = ("error", "naswot", "synflow", "params")
    source = evaluate(make_task(c, space, a, objectives=names))
    task = replace(make_task(c, space, b, objectives=names), reuse=source, epochs=0)
    reused = evaluate(task)
    assert reused.reused_from == source.key
    for n in ("naswot", "synflow", "error"):  # per class: the representative's
        assert reused.objectives[n] == source.objectives[n], n
        assert reused.measurements[n]["reused_from"] == source.key
    assert reused.provenance("naswot") == "proxy"
    assert "reused_from" not in reused.measurements["params"]  # its own network's count

"""Zero-cost proxies: scores of an *untrained* network from one minibatch.

Each function takes the network, a batch ``x`` (and labels ``y`` where the proxy uses a
loss) and returns one float, higher = predicted better. None of them changes the network
passed in: each works on its own copy (BatchNorm running statistics, gradients and, for
synflow, the weights themselves would otherwise change before training).

Definitions follow the papers and the authors' code (Abdelfattah et al., ICLR 2021,
github.com/mohsaied/zero-cost-nas; Mellor et al., ICML 2021):

- ``naswot``: log|K_H|, K_H[i, j] = number of ReLU units on which samples i and j agree
  (both active or both inactive), summed over every ``nn.ReLU`` of the network.
- ``synflow``: sum over conv/linear weights of |theta * dR/dtheta|, R = sum of the outputs
  for an all-ones input, after every parameter is replaced by its absolute value; float64;
  BatchNorm layers removed (the authors' ``bn=False``).
- ``jacob_cov``: -sum_i log(v_i + k) + 1/(v_i + k) over the eigenvalues v of the
  correlation matrix of the per-sample input Jacobians of the summed output, k = 1e-5.
- ``grad_norm``: sum over conv/linear layers of the Frobenius norm of dL/dW (cross-entropy).
- ``snip``: sum over conv/linear weights of |W * dL/dW| (cross-entropy).

Where a paper leaves a value undefined xnas picks the natural floor (named in the README):
a singular NASWOT kernel scores 0 (an integer PSD matrix's log-determinant is >= 0 when it is
non-singular, so the order is kept); a Jacobian row with no variance (an output that does not
depend on the input) is taken as perfectly correlated with every other row, the worst score.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

WEIGHTED = (nn.Conv2d, nn.Linear)
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
JACOB_K = 1e-5


def _copy(model: nn.Module) -> nn.Module:
    net = copy.deepcopy(model)
    net.train()
    net.zero_grad(set_to_none=True)
    return net


def _fast(net: nn.Module, x: torch.Tensor) -> tuple[nn.Module, torch.Tensor]:
    """Image batches in channels_last memory format: about 1.8x faster convolutions on
    CPU (oneDNN); the values are the same up to float rounding."""
    if x.ndim != 4:
        return net, x
    return (
        net.to(memory_format=torch.channels_last),
        x.contiguous(memory_format=torch.channels_last),
    )


def weighted_layers(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, WEIGHTED)]


class _Codes:
    """Forward hooks that add every ReLU's binary activation codes into NASWOT's kernel.
    codes c (n x units): K += c c^T + (1 - c)(1 - c)^T = 2 c c^T - r 1^T - 1 r^T + units,
    r the row sums: one float32 matmul per layer (counts < 2^24 are exact in float32)."""

    def __init__(self, net: nn.Module, n: int, device) -> None:
        self.kernel = torch.zeros(n, n, dtype=torch.float64, device=device)
        self.n = n
        from xnas.nn.cells import is_dead  # dead edges: as the functional class, left out

        self.handles = [
            m.register_forward_hook(self._hook)
            for m in net.modules()
            if isinstance(m, nn.ReLU) and not is_dead(m)
        ]

    def _hook(self, _module, inputs, _output) -> None:
        codes = (inputs[0].detach().reshape(self.n, -1) > 0).to(torch.float32)
        r = codes.sum(dim=1, keepdim=True)
        k = 2 * (codes @ codes.T) - r - r.T + codes.shape[1]
        self.kernel.add_(k.to(torch.float64))

    def logdet(self) -> float:
        for h in self.handles:
            h.remove()
        sign, logdet = torch.linalg.slogdet(self.kernel.cpu())
        return float(logdet) if sign > 0 else 0.0


def naswot(model: nn.Module, x: torch.Tensor) -> float:
    """Mellor et al.'s log-determinant of the Hamming-similarity kernel of ReLU codes."""
    net, x = _fast(_copy(model), x)
    codes = _Codes(net, x.shape[0], x.device)
    with torch.no_grad():
        net(x)
    return codes.logdet()


def naswot_and_jacob_cov(model: nn.Module, x: torch.Tensor) -> tuple[float, float]:
    """Both from one forward and one backward pass (the same batch, train mode)."""
    net, x = _fast(_copy(model), x)
    codes = _Codes(net, x.shape[0], x.device)
    jacob = _jacob_cov(net, x)
    return codes.logdet(), jacob


def synflow(model: nn.Module, input_shape: tuple[int, ...], device=None) -> float:
    """Tanaka et al.'s synaptic flow of the linearised network (|theta|, all-ones input)."""
    net = _copy(model)
    for name, module in list(net.named_modules()):
        if isinstance(module, NORMS):
            parent, _, attr = name.rpartition(".")
            setattr(net.get_submodule(parent) if parent else net, attr, nn.Identity())
    net = net.double()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    device = device or next(net.parameters()).device
    out = net(torch.ones((1, *input_shape), dtype=torch.float64, device=device))
    out.sum().backward()
    total = 0.0
    for layer in weighted_layers(net):
        if layer.weight.grad is not None:
            total += float((layer.weight.detach() * layer.weight.grad).abs().sum())
    return total


def jacob_cov(model: nn.Module, x: torch.Tensor) -> float:
    """Mellor et al. (v1) as in zero-cost-nas: the input Jacobians' correlation spectrum."""
    return _jacob_cov(*_fast(_copy(model), x))


def _jacob_cov(net: nn.Module, x: torch.Tensor) -> float:
    for p in net.parameters():  # only d(output)/d(input) is needed: skip the weights' grads
        p.requires_grad_(False)
    x = x.detach().clone(memory_format=torch.preserve_format).requires_grad_(True)
    out = net(x)
    out.backward(torch.ones_like(out))
    jac = x.grad.reshape(x.shape[0], -1).double().cpu().numpy()
    return jacob_score(jac)


def jacob_score(jac: np.ndarray) -> float:
    """The score of per-sample Jacobian rows (zero-variance rows: fully correlated)."""
    centred = jac - jac.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1)
    flat = norms <= 1e-12 * max(1.0, float(np.abs(jac).max(initial=0.0)))
    safe = np.where(flat, 1.0, norms)
    unit = centred / safe[:, None]
    corr = unit @ unit.T
    corr[flat, :] = 1.0
    corr[:, flat] = 1.0
    v = np.clip(np.linalg.eigvalsh((corr + corr.T) / 2), 0.0, None)
    return float(-np.sum(np.log(v + JACOB_K) + 1.0 / (v + JACOB_K)))


def loss_gradients(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> nn.Module:
    """A copy of ``model`` holding dL/dtheta of the cross-entropy on (x, y)."""
    net, x = _fast(_copy(model), x)
    F.cross_entropy(net(x), y).backward()
    return net


def grad_norm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, net=None) -> float:
    net = net or loss_gradients(model, x, y)
    return float(
        sum(
            float(layer.weight.grad.norm())
            for layer in weighted_layers(net)
            if layer.weight.grad is not None
        )
    )


def snip(model: nn.Module, x: torch.Tensor, y: torch.Tensor, net=None) -> float:
    net = net or loss_gradients(model, x, y)
    return float(
        sum(
            float((layer.weight.detach() * layer.weight.grad).abs().sum())
            for layer in weighted_layers(net)
            if layer.weight.grad is not None
        )
    )


SCORES = ("naswot", "synflow", "jacob_cov", "grad_norm", "snip")


def all_scores(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Every proxy on one batch; grad_norm and snip share one backward pass."""
    grads = loss_gradients(model, x, y)
    nw, jc = naswot_and_jacob_cov(model, x)
    return {
        "naswot": nw,
        "synflow": synflow(model, tuple(x.shape[1:]), x.device),
        "jacob_cov": jc,
        "grad_norm": grad_norm(model, x, y, grads),
        "snip": snip(model, x, y, grads),
    }

"""BestOf: per-layer implementation selection, online (after PyDTNN's auto-tuner).

The fastest way to run a layer depends on the layer and its input size, so the choice is
made per op instance and input shape, at run time: the first calls of each op cycle
through its interchangeable implementations (one warm-up round, then ``rounds`` timed
rounds), the one with the smallest median time is kept for that (op, shape), and later
calls run it directly. Implementations (all compute the same function):

- ``eager``: the module on its input as it comes (on CPU, oneDNN where PyTorch picks it);
- ``contiguous`` / ``channels_last``: the input in NCHW / NHWC memory format first (a no-op
  when it already is); the output stays in that format, so a run of ops choosing NHWC
  converts once, at its start, as a whole-network ``channels_last`` would;
- ``native`` (CPU): oneDNN switched off around the call (PyTorch's own kernels);
- ``cudnn_benchmark`` (CUDA): cuDNN's algorithm search on for the call;
- ``compiled`` (opt-in: seconds of compilation per op): ``torch.compile`` of the op.

An *op* is each module that directly holds a convolution or a pooling layer (a cell
edge's ReLU-Conv-BN, the stem), or the layer itself where a container holds it (a bare
pooling edge): small enough that layers differ, large enough that the format conversions
around it are paid once. The module's ``forward`` is replaced on the instance, so
parameters and state-dict keys do not change.

Only forward time is measured (a backward pass cannot be timed per layer without
synchronising every autograd node); in training the choice made on the forward applies
to the whole step. A decision is a median of three timings: on a loaded machine it is
noisy, so another implementation must beat eager by ``MARGIN`` (5%), and the choice can
differ between runs (the values computed do not, beyond float rounding). Under a
data-parallel shard the forward timings include the synced BatchNorm's waits.

Decisions are cached per process by (op signature, input shape, device, threads), so a
later network with the same op at the same size starts tuned, and can be written to and
read from JSON (``Decisions``).
"""

from __future__ import annotations

import contextlib
import json
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

CPU_IMPLS = ("eager", "contiguous", "channels_last", "native")
CUDA_IMPLS = ("eager", "contiguous", "channels_last", "cudnn_benchmark")
KINDS = (nn.Conv2d, nn.AvgPool2d, nn.MaxPool2d)
MARGIN = 0.05  # the least relative gain over eager that makes another implementation win


def default_impls(device: torch.device) -> tuple[str, ...]:
    return CUDA_IMPLS if device.type == "cuda" else CPU_IMPLS


def _signature(module: nn.Module) -> str:
    """What makes two op instances interchangeable for timing: type and layer shapes."""
    parts = [type(module).__name__]
    for child in module.children():
        if isinstance(child, nn.Conv2d):
            parts.append(
                f"conv{child.in_channels}x{child.out_channels}k{child.kernel_size}"
                f"s{child.stride}g{child.groups}d{child.dilation}"
            )
        else:
            parts.append(type(child).__name__)
    return "/".join(parts)


CONTAINERS = (nn.ModuleDict, nn.ModuleList)  # hold modules, never called themselves


def ops(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The op instances BestOf tunes: each convolution or pooling layer's parent module (a
    ReLU-Conv-BN, the stem), or the layer itself where its parent is a container (a bare
    pooling edge in a cell's ModuleDict, whose forward is never called)."""
    out: dict[str, nn.Module] = {}
    for name, parent in model.named_modules():
        for child_name, child in parent.named_children():
            if not isinstance(child, KINDS):
                continue
            if isinstance(parent, CONTAINERS) or parent is model:
                out[f"{name}.{child_name}" if name else child_name] = child
            else:
                out[name] = parent
    return list(out.items())


@dataclass
class Decisions:
    """Chosen implementation per (op signature, shape, device, threads), with the timings
    that chose it (median ms of each implementation)."""

    chosen: dict[str, str] = field(default_factory=dict)
    timings: dict[str, dict[str, float]] = field(default_factory=dict)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"chosen": self.chosen, "timings": self.timings}))

    @classmethod
    def load(cls, path: str | Path) -> Decisions:
        raw = json.loads(Path(path).read_text())
        return cls(dict(raw["chosen"]), dict(raw["timings"]))


CACHE = Decisions()  # this process's decisions: a later network starts from them


def _runner(impl: str, forward: Callable, module: nn.Module) -> Callable:
    if impl == "eager":
        return forward
    if impl in ("contiguous", "channels_last"):
        fmt = torch.channels_last if impl == "channels_last" else torch.contiguous_format

        def run(x, *a, **k):
            return forward(x.contiguous(memory_format=fmt), *a, **k)

        return run
    if impl == "native":

        def run(x, *a, **k):
            # the switch torch.backends.mkldnn.flags() flips, without its TF32 settings
            # (which warn on every call on a CPU build)
            was = torch._C._get_mkldnn_enabled()
            torch._C._set_mkldnn_enabled(False)
            try:
                return forward(x, *a, **k)
            finally:
                torch._C._set_mkldnn_enabled(was)

        return run
    if impl == "cudnn_benchmark":

        def run(x, *a, **k):
            # only the benchmark switch (cudnn.flags() would also reset determinism, TF32)
            was = torch.backends.cudnn.benchmark
            torch.backends.cudnn.benchmark = True
            try:
                return forward(x, *a, **k)
            finally:
                torch.backends.cudnn.benchmark = was

        return run
    if impl == "compiled":
        return torch.compile(forward, dynamic=False)
    raise ValueError(f"unknown BestOf implementation {impl!r}")


class _Op:
    """One op instance's tuner (installed as the instance's ``forward``)."""

    def __init__(self, name, module, impls, rounds, decisions) -> None:
        self.name, self.module, self.rounds = name, module, rounds
        self.forward = module.forward  # the class's bound forward
        self.runners = {i: _runner(i, self.forward, module) for i in impls}
        self.impls = list(impls)
        self.signature = _signature(module)
        self.decisions = decisions
        self.samples: dict[str, dict[str, list[float]]] = {}
        self.calls: dict[str, int] = {}
        self.used: dict[str, str] = {}  # shape key -> implementation this instance ran
        # decided shapes -> their runner: one dict lookup a call once tuned (the model
        # stays on one device and dtype while it is installed)
        self.fast: dict[torch.Size, Callable] = {}

    def key(self, x: torch.Tensor) -> str:
        return f"{self.signature}|{tuple(x.shape)}|{x.dtype}|{x.device}|t{torch.get_num_threads()}"

    def __call__(self, x, *args, **kwargs):
        run = self.fast.get(x.shape)
        if run is not None:
            return run(x, *args, **kwargs)
        key = self.key(x)
        chosen = self.decisions.chosen.get(key)
        if chosen is not None:
            self.used[key] = chosen
            self.fast[x.shape] = self.runners[chosen]
            return self.runners[chosen](x, *args, **kwargs)
        n = self.calls.get(key, 0)
        self.calls[key] = n + 1
        impl = self.impls[n % len(self.impls)]
        sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
        sync()
        start = time.perf_counter()
        out = self.runners[impl](x, *args, **kwargs)
        sync()
        if n >= len(self.impls):  # the first round warms every implementation up
            self.samples.setdefault(key, {}).setdefault(impl, []).append(
                (time.perf_counter() - start) * 1e3
            )
        if n + 1 == (1 + self.rounds) * len(self.impls):
            medians = {i: statistics.median(t) for i, t in self.samples.pop(key).items()}
            best = min(medians, key=medians.__getitem__)
            # another implementation must beat eager by MARGIN: three timings under load
            # are noisy, and a switch for a 1% "gain" is a coin flip
            if "eager" in medians and medians[best] > medians["eager"] * (1 - MARGIN):
                best = "eager"
            self.decisions.chosen[key] = best
            self.decisions.timings[key] = {i: round(v, 5) for i, v in medians.items()}
        self.used[key] = impl
        return out


@dataclass
class Tuner:
    """The installed tuners of one model; ``report`` is what a result records."""

    ops: list[_Op]
    decisions: Decisions

    @property
    def tuned(self) -> bool:
        return all(k in self.decisions.chosen for op in self.ops for k in op.used)

    def report(self) -> dict:
        """Per op and input shape: the implementation it runs and its measured gain over
        eager (eager's median / the chosen one's), plus how often each implementation won."""
        layers: dict[str, dict] = {}
        tuning = 0  # ops still cycling through implementations (too few calls yet)
        for op in self.ops:
            for key in op.used:
                impl = self.decisions.chosen.get(key)
                t = self.decisions.timings.get(key, {})
                if impl is None:
                    tuning += 1
                    continue
                gain = t["eager"] / t[impl] if t.get("eager") and t.get(impl) else None
                shape = key.split("|")[1]
                layers[f"{op.name} {shape}"] = {
                    "impl": impl,
                    "gain": None if gain is None else round(gain, 3),
                }
        counts: dict[str, int] = {}
        for v in layers.values():
            counts[v["impl"]] = counts.get(v["impl"], 0) + 1
        gains = [v["gain"] for v in layers.values() if v["gain"] is not None]
        return {
            "method": "bestof",
            "ops": len(layers),
            "still_tuning": tuning,
            "chosen": counts,
            "median_gain": round(statistics.median(gains), 3) if gains else None,
            "layers": layers,
        }


def install(
    model: nn.Module,
    impls: tuple[str, ...] | None = None,
    rounds: int = 3,
    decisions: Decisions | None = None,
) -> Tuner:
    """Put a tuner on every op of ``model`` (see the module docstring)."""
    device = next(model.parameters(), torch.empty(0)).device
    impls = impls or default_impls(device)
    decisions = CACHE if decisions is None else decisions
    tuners = []
    for name, module in ops(model):
        op = _Op(name, module, impls, rounds, decisions)
        module.forward = op  # the instance attribute shadows the class's forward
        tuners.append(op)
    return Tuner(tuners, decisions)


def remove(tuner: Tuner) -> None:
    for op in tuner.ops:
        with contextlib.suppress(AttributeError):
            del op.module.forward


@contextlib.contextmanager
def tuned(model: nn.Module, **kwargs) -> Iterator[Tuner]:
    """``install`` for the block, then the model's own forwards again."""
    tuner = install(model, **kwargs)
    try:
        yield tuner
    finally:
        remove(tuner)


def tune(model: nn.Module, x: torch.Tensor, **kwargs) -> Tuner:
    """Install and run the tuning rounds on ``x`` at once (inference: latency)."""
    tuner = install(model, **kwargs)
    with torch.inference_mode():
        for _ in range(64):
            model(x)
            if tuner.tuned:
                break
    return tuner

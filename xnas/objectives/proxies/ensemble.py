"""``proxy_ensemble``: a rank-based ensemble of the three proxies the literature found
strongest on cell spaces (synflow and jacob_cov: Abdelfattah et al., ICLR 2021; NASWOT:
Mellor et al., ICML 2021), with equal weights: nothing is fitted to a benchmark table.

A genome's ensemble score is the mean, over the three, of where its score falls among the
scores of a *reference sample*: ``measure.proxy_reference`` random genomes of the same
space (drawn with ``measure.proxy_seed``, built and scored exactly like a candidate, on the
same minibatch). That quantile (ties count half) puts scores with very different scales
(a log-determinant, a sum spanning decades, a negative spectrum sum) on one [0, 1] scale
without knowing anything about the space, and it is a fixed function of the genome: the
reference never changes during a run. The reference is scored once per process and
cached on disk (``$XNAS_CACHE/proxy-reference``), keyed by everything its scores depend on.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from xnas.objectives.proxies import scores

MEMBERS = ("naswot", "synflow", "jacob_cov")


@dataclass(frozen=True)
class Reference:
    """Each member proxy's scores on the reference sample, sorted."""

    scores: dict[str, tuple[float, ...]]

    def quantile(self, name: str, value: float) -> float:
        ref = np.asarray(self.scores[name])
        below = np.searchsorted(ref, value, side="left")
        at_or_below = np.searchsorted(ref, value, side="right")
        return float((below + at_or_below) / (2 * len(ref)))

    def ensemble(self, values: dict[str, float]) -> float:
        return float(np.mean([self.quantile(n, values[n]) for n in MEMBERS]))


def member_scores(model, x: torch.Tensor, input_shape, device) -> dict[str, float]:
    """The three member proxies of one network (NASWOT and jacob_cov share a pass)."""
    nw, jc = scores.naswot_and_jacob_cov(model, x)
    return {
        "naswot": nw,
        "synflow": scores.synflow(model, tuple(input_shape), device),
        "jacob_cov": jc,
    }


def build_reference(
    space, x: torch.Tensor, num_classes: int, n: int, seed: int, device
) -> Reference:
    """Score ``n`` distinct random genomes of ``space`` (each initialised from its own seed)
    without touching the caller's torch random state."""
    rng = np.random.default_rng([seed, 7])
    keys, genomes = set(), []
    while len(genomes) < n:
        g = space.sample(rng)
        if space.canonical(g) not in keys:
            keys.add(space.canonical(g))
            genomes.append(g)
    out: dict[str, list[float]] = {m: [] for m in MEMBERS}
    input_shape = tuple(x.shape[1:])
    with torch.random.fork_rng(devices=[]):
        for i, g in enumerate(genomes):
            torch.manual_seed(seed * 100_003 + i)
            model = space.build(g, input_shape, num_classes).to(device)
            for name, v in member_scores(model, x, input_shape, device).items():
                out[name].append(v)
    return Reference({m: tuple(sorted(v)) for m, v in out.items()})


_memory: dict[str, Reference] = {}


def cache_key(space_cfg, x: torch.Tensor, num_classes: int, n: int, seed: int) -> str:
    """A digest of everything the reference's scores depend on."""
    text = json.dumps(
        {
            "space": asdict(space_cfg),
            "batch": hashlib.sha256(x.detach().cpu().numpy().tobytes()).hexdigest(),
            "shape": list(x.shape),
            "classes": num_classes,
            "n": n,
            "seed": seed,
            "torch": torch.__version__.split("+")[0],
            "version": 1,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def cache_dir() -> Path:
    return Path(os.environ.get("XNAS_CACHE", Path.home() / ".cache" / "xnas")) / "proxy-reference"


def reference_for(
    space_cfg, x: torch.Tensor, num_classes: int, n: int, seed: int, device
) -> Reference:
    """The reference, from memory, from disk, or scored now (then written atomically)."""
    from xnas.space import get_space

    key = cache_key(space_cfg, x, num_classes, n, seed)
    if key in _memory:
        return _memory[key]
    path = cache_dir() / f"{key}.json"
    ref = None
    if path.is_file():
        try:
            data = json.loads(path.read_text())
            ref = Reference({m: tuple(float(v) for v in data[m]) for m in MEMBERS})
            if any(len(ref.scores[m]) != n for m in MEMBERS):
                ref = None
        except (OSError, ValueError, KeyError, TypeError):
            ref = None  # a damaged cache file is scored again
    if ref is None:
        ref = build_reference(get_space(space_cfg), x, num_classes, n, seed, device)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({m: list(v) for m, v in ref.scores.items()}))
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only cache only costs the scoring again
    _memory[key] = ref
    return ref

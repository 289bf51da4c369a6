"""T3: the named reference genotypes trained under one budget on one task.

    python analysis/t3_references.py [--config experiments/four-lines/config.yaml]
                                     [--set train.epochs=10 ...] [--format md]

Each reference (NSGA-Net's micro cell, NB201's best CIFAR-10 cell, its ResNet-like cell,
all-conv3x3, all-skip) is built in its own space with the config's channels and layers,
trained with the config's data and training recipe, and scored on error,
introspectability, params, FLOPs, latency and energy (energy labelled modelled or
measured, as obtained).
"""

from __future__ import annotations

import argparse

from xnas.config import SpaceConfig, load_config
from xnas.driver import make_task
from xnas.evaluate import evaluate
from xnas.parallel import call_task
from xnas.report.tables import objective_header, render
from xnas.space import REFERENCES, resolve_arch

OBJECTIVES = ("error", "introspection", "params", "flops", "latency", "energy")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="experiments/four-lines/config.yaml")
    p.add_argument("--set", dest="overrides", action="append", default=[])
    p.add_argument("--format", choices=("md", "csv", "latex"), default="md")
    args = p.parse_args(argv)
    cfg = load_config(args.config, args.overrides)
    results = []
    for name in REFERENCES:
        space_cfg = SpaceConfig(
            name=REFERENCES[name].space, channels=cfg.space.channels, layers=cfg.space.layers
        )
        space, genome = resolve_arch(name, space_cfg)
        task = make_task(cfg, space, genome, objectives=OBJECTIVES)
        result = call_task(evaluate, task)  # a failure comes back as a failed result
        if result.status == "failed":
            raise SystemExit(f"{name}: {result.error.splitlines()[0]}")
        results.append((name, result))
    headers = ["reference", *(objective_header(n, [r for _, r in results]) for n in OBJECTIVES)]
    rows = [[name, *(r.objectives[n] for n in OBJECTIVES)] for name, r in results]
    print(f"{cfg.data.name}, {cfg.train.epochs} epochs, channels {cfg.space.channels}")
    print(render(headers, rows, args.format), end="")


if __name__ == "__main__":
    main()

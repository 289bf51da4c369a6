"""The ``xnas`` command line. Library code never prints or exits; this module does.

Every XnasError becomes one line on stderr and exit code 2; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from xnas import __version__
from xnas.errors import XnasError

Handler = Callable[[argparse.Namespace], int]


def _add_config_args(p: argparse.ArgumentParser, required: bool = False) -> None:
    p.add_argument("config", nargs=None if required else "?", help="YAML config file")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set data.name=digits (repeatable)",
    )


def cmd_data(args: argparse.Namespace) -> int:
    """Load the configured dataset and describe it (sizes, classes, shape, balance)."""
    from xnas.config import load_config
    from xnas.data import load_dataset

    cfg = load_config(args.config, args.overrides)
    bundle = load_dataset(cfg.data)
    print(f"dataset      {bundle.name}: {bundle.description}")
    print(f"input shape  {bundle.input_shape}   classes {bundle.num_classes}")
    for split_name, split in (("train", bundle.train), ("val", bundle.val)):
        counts = split.y.bincount(minlength=bundle.num_classes).tolist()
        print(f"{split_name:<12} {len(split):>6} samples, per class {counts}")
    print(f"normalised   mean {_fmt(bundle.mean)} std {_fmt(bundle.std)}")
    print(f"augment      {bundle.augment or 'off'}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The biggest real thing that exists: describe every offline dataset."""
    shared = args.shared_data
    for overrides in (
        ["data.name=lines"],
        ["data.name=digits"],
        ["data.name=mnist", f"data.root={shared}", "data.train_size=2000", "data.val_size=500"],
        ["data.name=cifar10", f"data.root={shared}", "data.train_size=1000", "data.val_size=200"],
    ):
        print(f"$ xnas data --set {' --set '.join(overrides)}")
        try:
            cmd_data(argparse.Namespace(config=None, overrides=overrides))
        except XnasError as exc:
            print(f"  (skipped: {exc})")
        print()
    return 0


def _fmt(values: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.3f}" for v in values) + ")"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xnas",
        description="Multi-objective evolutionary neural architecture search.",
    )
    parser.add_argument("--version", action="version", version=f"xnas {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("data", help="load a dataset from a config and describe it")
    _add_config_args(p)
    p.set_defaults(handler=cmd_data)

    p = sub.add_parser("demo", help="run the built-in demo on the offline datasets")
    p.add_argument("--shared-data", default="../shared/data", help="folder with MNIST/ and CIFAR")
    p.set_defaults(handler=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except XnasError as exc:
        print(f"xnas: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("xnas: interrupted", file=sys.stderr)
        return 130

"""The ``xnas`` command line. Library code never prints or exits; this module does.

Every XnasError becomes one line on stderr and exit code 2; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from xnas import __version__
from xnas.driver.callbacks import Callback
from xnas.errors import XnasError
from xnas.results import FAILURE_KINDS, MACHINE_FAILURES

Handler = Callable[[argparse.Namespace], int]


def _add_config_args(
    p: argparse.ArgumentParser, required: bool = False, default: str | None = None
) -> None:
    if required:
        p.add_argument("config", help="YAML config file")
    else:
        p.add_argument("--config", default=default, help="YAML config file")
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

    _print_data(load_config(args.config, args.overrides))
    return 0


def _print_data(cfg) -> None:
    from xnas.data import load_dataset

    bundle = load_dataset(cfg.data)
    print(f"dataset      {bundle.name}: {bundle.description}")
    print(f"input shape  {bundle.input_shape}   classes {bundle.num_classes}")
    for split_name, split in (("train", bundle.train), ("val", bundle.val)):
        counts = split.y.bincount(minlength=bundle.num_classes).tolist()
        print(f"{split_name:<12} {len(split):>6} samples, per class {counts}")
    print(f"normalised   mean {_fmt(bundle.mean)} std {_fmt(bundle.std)}")
    print(f"augment      {bundle.augment or 'off'}")


def cmd_arch(args: argparse.Namespace) -> int:
    """Print an architecture's genotype, params and FLOPs; draw its cells to a PNG."""
    from xnas.config import load_config
    from xnas.errors import ConfigError
    from xnas.objectives import count_flops, count_params
    from xnas.report.cells import draw_genotype
    from xnas.space import REFERENCES, resolve_arch

    cfg = load_config(args.config, args.overrides)
    shape = _parse_shape(args.input)
    if args.classes < 1:
        raise ConfigError(f"--classes {args.classes}: expected an integer >= 1")
    if args.png is not None:
        _check_output(args.png, suffixes=(".png", ".pdf", ".svg"), flag="--png")
    space, genome = resolve_arch(args.arch, cfg.space)
    genotype = space.decode(genome)
    model = space.build(genome, shape, args.classes)
    key = space.canonical(genome)
    if args.arch in REFERENCES:
        print(f"reference    {args.arch}: {REFERENCES[args.arch].source}")
    print(f"space        {space.name} (C={space.cfg.channels}, layers={space.cfg.layers})")
    print(f"key          {key}")
    print(f"genome       {list(genome)}")
    if hasattr(genotype, "normal"):
        for name in ("normal", "reduce"):
            cell = getattr(genotype, name)
            blocks = "  ".join(f"[{a[0]}~{a[1]} + {b[0]}~{b[1]}]" for a, b in cell.blocks)
            print(f"{name:<12} {blocks}  concat {list(cell.concat)}")
    else:
        for to, node in enumerate(genotype.nodes, start=1):
            print(f"node {to:<7} " + "  ".join(f"{op}<-{frm}" for op, frm in node))
    print(f"input        {shape}, {args.classes} classes")
    print(f"params       {count_params(model):,}")
    flops = count_flops(model, shape)
    print(f"flops        {flops:,} (torch.utils.flop_counter, one sample; 2 per MAC)")
    print(f"macs         {flops // 2:,} (what NAS-Bench-201 tables call FLOPs)")
    if args.png:
        print(f"drawing      {draw_genotype(genotype, args.png, title=key)}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Train and score one architecture; print objectives, timings and how each was measured."""
    import json

    from xnas.config import load_config
    from xnas.driver import make_task
    from xnas.evaluate import evaluator_for
    from xnas.objectives import OBJECTIVES
    from xnas.parallel import call_task
    from xnas.space import resolve_arch

    cfg = load_config(args.config, args.overrides)
    names = tuple(o.name for o in cfg.objectives)
    for n in names:
        OBJECTIVES.get(n)  # unknown objective -> one line, exit 2
    space, genome = resolve_arch(args.arch, cfg.space)
    key = space.canonical(genome)
    evaluator = evaluator_for(cfg)
    evaluator.check(cfg, list(names))
    task = make_task(cfg, space, genome, epochs=args.epochs, weights_dir=args.weights_dir)
    result = call_task(evaluator, task)  # a failure becomes a result here, as in a search
    print(f"key          {key}")
    print(f"status       {result.status}   device {result.device}   rank {result.rank}")
    if result.status == "failed":
        print(result.error, file=sys.stderr)
        return 1
    print("curve        val. acc. " + " ".join(f"{a:.3f}" for a in result.curve))
    print(f"\n{'objective':<14}{'value':>14}  {'sense':<5}  how")
    for n in names:
        obj = OBJECTIVES.get(n)
        how = result.measurements[n]
        print(
            f"{n:<14}{result.objectives[n]:>14.6g}  {obj.sense:<5}  {obj.unit or '-':<5} "
            f"{json.dumps(how, default=str)[:160]}"
        )
    print("\ntimings (s)  " + "  ".join(f"{k}={v:.2f}" for k, v in result.timings.items()))
    if result.weights_path:
        print(f"weights      {result.weights_path}")
    return 0


def cmd_latency_table(args: argparse.Namespace) -> int:
    """Measure every unit the configured space can produce on this device: a LUT for the
    ``latency_predicted`` objective (for searches here or on another machine)."""
    import json

    from xnas.config import load_config
    from xnas.objectives.latency_table import table_for_config
    from xnas.parallel.launch import set_threads

    cfg = load_config(args.config, args.overrides)
    _check_output(args.output, suffixes=(".json",))
    set_threads(args.threads)
    table = table_for_config(
        cfg,
        args.device,
        patience=args.patience,
        calibration=args.calibration,
        progress=(lambda line: print(line, file=sys.stderr)) if args.verbose else None,
    )
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(table, f, indent=1)
    fit, m = table["model"], cfg.measure
    print(
        f"latency table {args.output}: {len(table['entries'])} units of space "
        f"{cfg.space.name} at input {list(table['input_shape'])} on "
        f"{table['measured']['device_name']} ({table['measured']['threads']} threads, "
        f"median of {m.latency_repeats}); "
        f"correction {fit['scale']:.3f} x sum + {fit['overhead_ms']:.3f} ms"
    )
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Run a generational search and store every evaluation in RUN_DIR/xnas.sqlite."""
    from xnas import api

    cfg = api.load_config(args.config, args.overrides)
    with _Progress(cfg.search.generations) as progress:
        return _report(api.search(cfg, args.run_dir, callbacks=[progress]))


def cmd_resume(args: argparse.Namespace) -> int:
    """Continue a search from its last committed generation; nothing stored is re-run."""
    from xnas import api

    kinds = [k for k in (args.retry_failed or "").split(",") if k]
    with _Progress(None) as progress:
        view = api.resume(
            args.run_dir,
            callbacks=[progress],
            allow_version_change=args.allow_version_change,
            retry_failed=kinds,
        )
    return _report(view)


class _Progress(Callback):
    """A tqdm bar over generations on stderr (terminals only) plus one line per
    generation: a driver callback."""

    def __init__(self, total: int | None) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="gen", disable=not sys.stderr.isatty(), leave=False)

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()

    def on_generation(self, summary) -> None:
        with self.bar.external_write_mode():
            _print_generation(summary)
        self.bar.update(1)


def _print_generation(s) -> None:
    print(
        f"gen {s.generation:>3}: evaluated {s.evaluated}, reused {s.reused}, "
        f"failed {s.failed}, front size {s.front_size}, hypervolume {s.hypervolume:.6g}",
        flush=True,
    )


def cmd_plot(args: argparse.Namespace) -> int:
    """Every figure of a run (PNG and PDF) into RUN_DIR/plots or --output."""
    from xnas.report import open_run

    paths = open_run(args.run_dir).plot(args.output)
    print(f"plots        {len(paths)} files in {paths[0].parent}")
    for path in paths:
        print(f"  {path.name}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Progress, failures, front size and hypervolume of a run directory."""
    from xnas.report import open_run

    st = open_run(args.run_dir).status()
    print(f"generations  {st['generations_done']}/{st['generations']}")
    print(
        f"evaluations  {st['evaluations']} ({st['ok']} ok, {st['stopped_early']} stopped early, "
        f"{st['halted_at_a_rung']} halted at a rung, {st['rejected_before_training']} rejected "
        f"before training, {st['failed']} failed; {st['epoch_equivalents']} epochs trained)"
    )
    print(f"objectives   {', '.join(st['objectives'])}")
    print(f"front        {len(st['front'])} architectures, hypervolume {st['hypervolume']:.6g}")
    print(f"stopped      {st['stopped_by'] or 'no (running, or interrupted: xnas resume goes on)'}")
    return 0


def cmd_table(args: argparse.Namespace) -> int:
    """The Pareto set and the search cost as Markdown, CSV or LaTeX."""
    from xnas.report import open_run

    _write_tables(open_run(args.run_dir), args.format, args.output)
    return 0


def _write_tables(view, fmt: str, output: str | None) -> None:
    from xnas.report.tables import cost_table, pareto_table, render

    parts = []
    for title, (headers, rows) in (
        ("Pareto set", pareto_table(view)),
        ("Search cost", cost_table(view)),
    ):
        body = render(headers, rows, fmt)
        parts.append(body if fmt == "csv" else f"{title}\n\n{body}")
    with _output(output) as out:
        out.write("\n".join(parts))
    if output not in (None, "-"):
        print(f"wrote the Pareto set and search cost tables to {output}")


def cmd_export(args: argparse.Namespace) -> int:
    """Every evaluation as CSV (one row per key; pandas.read_csv-friendly), or with
    --arch one trained network as a torch.export program (.pt2) or ONNX."""
    from xnas.errors import ConfigError

    if args.arch:
        from xnas.export import FORMATS, export_network

        fmt = args.format or "pt2"
        if args.output:
            _check_output(args.output, suffixes=(FORMATS[fmt],))
        done = export_network(args.run_dir, args.arch, fmt, args.output)
        print(f"wrote {fmt} network {done.path}")
        if done.weights_of != args.arch:
            print(
                f"weights      of {done.weights_of}, the trained member of its functional "
                "class (this key was reused: it computes the same function)"
            )
        return 0
    if args.format is not None:
        raise ConfigError(
            f"--format {args.format} exports one network: expected --arch KEY with it "
            "(without --arch, export writes every evaluation as CSV)"
        )
    if args.output not in (None, "-"):
        _check_output(args.output, suffixes=(".csv",))

    from xnas.report.frames import write_csv

    with _output(args.output) as out:
        n = write_csv(args.run_dir, out)
    if args.output not in (None, "-"):
        print(f"wrote {n} evaluations to {args.output}")
    return 0


def _report(view) -> int:
    """The end of a search's terminal output: the front with its objective values, then
    why the search stopped."""
    if view is None:  # an MPI evaluator rank: the driver reports
        return 0
    print(view.table("front"), end="")
    print(f"run directory {view.run_dir}")
    print(f"stopped      {view.stopped_by or 'not recorded (a run of an older xnas)'}")
    total, failed = view.count(), view.count("failed")
    if total and failed == total:  # nothing to show for the search: never exit 0
        first = next(r for r in view.results if r.status == "failed")
        reason = (first.error or "no reason recorded").strip().splitlines()[0]
        print(f"xnas: error: all {total} evaluations failed; the first: {reason}", file=sys.stderr)
        return 1
    return 0


def _check_output(path: str, *, suffixes: tuple[str, ...] = (), flag: str = "-o") -> None:
    """An output file's folder must exist, the path must not be a folder, and its
    extension must be one the writer understands: one line otherwise, nothing written."""

    from xnas.errors import ConfigError

    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{flag} {path!r} is a directory; expected a file name")
    if not p.parent.is_dir():
        raise ConfigError(f"{flag} {path!r}: folder {str(p.parent)!r} does not exist")
    if suffixes and p.suffix.lower() not in suffixes:
        raise ConfigError(
            f"{flag} {path!r}: expected a file name ending in {' or '.join(suffixes)}"
        )


def _output(path: str | None):
    """A text file to write (closed afterwards), or standard output (left open)."""
    import contextlib

    if path is None or path == "-":
        return contextlib.nullcontext(sys.stdout)
    _check_output(path)
    return open(path, "w", newline="")  # noqa: SIM115  (the caller's `with` closes it)


def _parse_shape(text: str) -> tuple[int, int, int]:
    from xnas.errors import ConfigError

    parts = text.lower().replace(",", "x").split("x")
    if len(parts) != 3 or not all(p.strip().isdigit() for p in parts):
        raise ConfigError(f"--input {text!r}: expected CxHxW, e.g. 3x32x32")
    c, h, w = (int(p) for p in parts)
    if c not in (1, 3) or min(h, w) < 8:
        raise ConfigError(f"--input {text!r}: expected 1 or 3 channels and sides >= 8")
    return c, h, w


def cmd_demo(args: argparse.Namespace) -> int:
    """A real small search: experiments/demo/config.yaml on `lines`, then the Pareto plot,
    the front, and a look at the real image datasets in ../shared/data."""
    import time

    from xnas import api
    from xnas.store import RunDir

    cfg = api.load_config(args.config, args.overrides)
    run_dir = args.out or f"runs/demo-{time.strftime('%Y%m%d-%H%M%S')}"
    print(
        f"searching {cfg.data.name} / {cfg.space.name}: population {cfg.search.population}, "
        f"{cfg.search.generations} generations, objectives "
        f"{', '.join(o.name for o in cfg.objectives)}",
        flush=True,
    )
    view = api.search(cfg, run_dir, on_generation=_print_generation)
    print(f"pareto plot  {view.plot_front()}")
    print(f"all plots    {view.plot()[0].parent} (PNG and PDF)")
    _write_tables(view, "md", str(RunDir(run_dir).tables))
    shared = args.shared_data
    for overrides in (
        ["data.name=mnist", f"data.root={shared}", "data.train_size=2000", "data.val_size=500"],
        ["data.name=cifar10", f"data.root={shared}", "data.train_size=1000", "data.val_size=200"],
    ):
        print(f"\n$ xnas data --set {' --set '.join(overrides)}")
        try:
            _print_data(api.load_config(None, overrides))
        except XnasError as exc:
            print(f"  (skipped: {exc})")
    print()
    return _report(view)  # the output ends with the front and its values


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

    p = sub.add_parser("arch", help="show an architecture: genotype, params, FLOPs, cell drawing")
    p.add_argument("arch", help="reference name, NB201 arch string, micro key or list of ints")
    _add_config_args(p)
    p.add_argument("--input", default="3x32x32", help="input shape CxHxW (default 3x32x32)")
    p.add_argument("--classes", type=int, default=10, help="number of classes (default 10)")
    p.add_argument("--png", help="draw the cells to this PNG file")
    p.set_defaults(handler=cmd_arch)

    p = sub.add_parser("evaluate", help="train and score one architecture on the configured task")
    _add_config_args(p)
    p.add_argument("--arch", required=True, help="reference name, key or list of ints")
    p.add_argument("--epochs", type=int, help="override train.epochs")
    p.add_argument("--weights-dir", help="save the trained weights here")
    p.set_defaults(handler=cmd_evaluate)

    p = sub.add_parser(
        "latency-table", help="measure a per-unit latency LUT of the space on this device"
    )
    _add_config_args(p, required=True)
    p.add_argument("-o", "--output", required=True, help="the LUT file to write (.json)")
    p.add_argument("--device", help="cpu, cuda, cuda:N (default: the config's train.device)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument(
        "--patience",
        type=int,
        default=100,
        help="stop scanning genomes after this many in a row add no unit (default 100)",
    )
    p.add_argument(
        "--calibration",
        type=int,
        default=20,
        help="whole networks measured to fit the correction (default 20)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="print each unit's timing")
    p.set_defaults(handler=cmd_latency_table)

    p = sub.add_parser("search", help="run a multi-objective search (store in RUN_DIR)")
    _add_config_args(p, required=True)
    p.add_argument("--run-dir", help="where the store goes (default runs/<data>-<space>-<time>)")
    p.set_defaults(handler=cmd_search)

    p = sub.add_parser("resume", help="continue a search from its last committed generation")
    p.add_argument("run_dir", help="run directory of an earlier xnas search")
    p.add_argument(
        "--allow-version-change",
        action="store_true",
        help="resume although library versions differ from the run's (the replay is still "
        "checked genome by genome against the stored generations)",
    )
    p.add_argument(
        "--retry-failed",
        nargs="?",
        const=",".join(MACHINE_FAILURES),
        metavar="KINDS",
        help="first evaluate again the stored failures of these kinds (comma-separated: "
        f"{', '.join(FAILURE_KINDS)}; default {','.join(MACHINE_FAILURES)}: the machine's "
        "fault, not the genome's); the failed results are kept in the store",
    )
    p.set_defaults(handler=cmd_resume)

    p = sub.add_parser("plot", help="all figures of a run: fronts, hypervolume, curves, cells")
    p.add_argument("run_dir")
    p.add_argument("-o", "--output", help="folder (default RUN_DIR/plots)")
    p.set_defaults(handler=cmd_plot)

    p = sub.add_parser("status", help="progress, failures, front size and hypervolume of a run")
    p.add_argument("run_dir")
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("table", help="Pareto set and search cost tables (md, csv, latex)")
    p.add_argument("run_dir")
    p.add_argument("--format", choices=("md", "csv", "latex"), default="md")
    p.add_argument("-o", "--output", help="file (default: standard output)")
    p.set_defaults(handler=cmd_table)

    p = sub.add_parser(
        "export", help="all evaluations as CSV, or a trained network (--arch) as .pt2/ONNX"
    )
    p.add_argument("run_dir")
    p.add_argument("--arch", help="key of a stored architecture: export its trained network")
    p.add_argument("--format", choices=("pt2", "onnx"), help="with --arch: pt2 (default) or onnx")
    p.add_argument("-o", "--output", help="output file (CSV default: standard output)")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("demo", help="run a small real search and plot its Pareto front")
    _add_config_args(p, default="experiments/demo/config.yaml")
    p.add_argument("--shared-data", default="../shared/data", help="folder with MNIST/ and CIFAR")
    p.add_argument("--out", help="run directory (default runs/demo-<time>)")
    p.set_defaults(handler=cmd_demo)
    return parser


def abort_job(exc: BaseException) -> None:
    """An uncaught error on an MPI rank (``parallel.mpi.RankFailed``): say so, with the
    traceback, and abort every rank of the job (its partners would wait forever)."""
    import traceback

    print(f"xnas: {exc}; aborting all MPI ranks", file=sys.stderr)
    traceback.print_exception(exc.__cause__ or exc, file=sys.stderr)
    sys.stderr.flush()
    exc.abort()  # type: ignore[attr-defined]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return _run(handler, args)
    except BaseException as exc:
        if type(exc).__name__ == "RankFailed":  # (parallel.mpi is imported only under MPI)
            abort_job(exc)
        raise


def _run(handler: Handler, args: argparse.Namespace) -> int:
    try:
        return handler(args)
    except XnasError as exc:
        from xnas.parallel import world_rank

        if world_rank() == 0:  # under mpiexec every rank sees the same bad input: say it once
            print(f"xnas: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except sqlite3.DatabaseError as exc:  # pages damaged past the header: still one line
        if "full" in str(exc).lower():  # not damage: the store is intact, resume goes on
            print(
                f"xnas: error: disk full ({exc}); nothing stored is lost: free space and run "
                "`xnas resume` to go on",
                file=sys.stderr,
            )
        else:
            print(
                f"xnas: error: the run store is damaged ({exc}); expected an intact xnas.sqlite",
                file=sys.stderr,
            )
        return 2
    except KeyboardInterrupt:
        print("xnas: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` & co.: not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0

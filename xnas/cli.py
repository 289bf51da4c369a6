"""The ``xnas`` command line. Library code never prints or exits; this module does.

Every XnasError becomes one line on stderr and exit code 2; anything else is a bug and
keeps its traceback. Every command takes its config as ``-c/--config FILE`` (``search``,
``latency-table`` and ``demo`` also positionally) plus ``--set KEY=VALUE`` overrides, and
``-v`` for one line per stored evaluation; ``xnas COMMAND -h`` shows examples.
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from xnas import __version__
from xnas.driver.callbacks import Callback, describe, duration
from xnas.errors import ConfigError, XnasError
from xnas.results import FAILURE_KINDS, MACHINE_FAILURES

Handler = Callable[[argparse.Namespace], int]

EXAMPLES = {
    "search": """
  xnas search experiments/demo/config.yaml --run-dir runs/mine
  xnas search -c experiments/demo/config.yaml --set search.generations=6 -v
  mpiexec -n 3 xnas search experiments/demo/config.yaml --run-dir runs/par""",
    "resume": """
  xnas resume runs/mine                          # after a crash or Ctrl-C
  xnas resume runs/mine --set search.generations=12   # a longer budget
  xnas resume runs/mine --retry-failed           # timeouts and dead workers again""",
    "status": """
  xnas status runs/mine
  xnas status runs/mine --follow                 # a line whenever the run moves""",
    "dashboard": """
  xnas dashboard runs/mine                       # http://127.0.0.1:8080, live
  xnas dashboard runs/mine --port 8090 --host 0.0.0.0""",
    "plot": """
  xnas plot runs/mine                            # runs/mine/plots/*.png and .pdf
  xnas plot /readonly/run -o figures/            # a run on read-only media""",
    "table": """
  xnas table runs/mine                           # Markdown: Pareto set and cost
  xnas table runs/mine --format latex -o t.tex   # booktabs, captioned
  xnas table runs/mine --format csv --what pareto -o pareto.csv""",
    "export": """
  xnas export runs/mine -o all.csv               # every evaluation, one row each
  xnas export runs/mine --arch knee -o knee.pt2  # the knee's trained network
  xnas export runs/mine --arch best:error --format onnx -o best.onnx""",
    "arch": """
  xnas arch nb201-resnet                         # at NB201's published size C=16, N=5
  xnas arch nsganet --png nsganet.png
  xnas arch '|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|'""",
    "evaluate": """
  xnas evaluate --arch nb201-best-cifar10 --set data.name=digits --epochs 6
  xnas evaluate --run runs/mine --arch knee --epochs 20   # retrain the knee longer""",
    "data": """
  xnas data --set data.name=mnist --set data.root=../shared/data --set data.train_size=2000
  xnas data -c experiments/xnas-cifar10-mo/config.yaml --set data.root=../shared/data""",
    "retrain": """
  xnas retrain runs/lines-mo
  xnas retrain runs/lines-so --front error,introspection --repeats 3
  xnas retrain runs/digits-mo --arch knee --arch best:introspection""",
    "latency-table": """
  xnas latency-table experiments/demo/config.yaml -o lut.json
  xnas latency-table -c my.yaml --device cuda -o lut-gpu.json""",
    "demo": """
  xnas demo
  xnas demo --out runs/demo --set search.generations=2""",
}


# --------------------------------------------------------------------------- arguments
def _command(sub, name: str, help: str) -> argparse.ArgumentParser:
    p = sub.add_parser(
        name,
        help=help,
        description=help,
        epilog="examples:" + EXAMPLES.get(name, ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="one line per stored evaluation (key, rank, epochs, seconds, status); -vv: all",
    )
    return p


def _add_config_args(
    p: argparse.ArgumentParser, *, positional: bool = False, default: str | None = None
) -> None:
    if positional:
        p.add_argument("config_file", nargs="?", metavar="CONFIG", help="YAML config file")
    p.add_argument(
        "-c", "--config", help="YAML config file" + (f" (default {default})" if default else "")
    )
    p.set_defaults(config_default=default)
    _add_set(p, "override a config value, e.g. --set data.name=digits (repeatable)")


def _add_set(p: argparse.ArgumentParser, help: str) -> None:
    """``--set KEY=VALUE`` (repeatable) into ``args.overrides``."""
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=help
    )


def _config(args: argparse.Namespace) -> str | None:
    given = [c for c in (getattr(args, "config_file", None), args.config) if c]
    if len(set(given)) > 1:
        raise ConfigError(f"two configs given ({given[0]} and {given[1]}); expected one")
    return given[0] if given else args.config_default


def _verbosity(level: int) -> None:
    """-v: a line per stored evaluation on stderr; -vv: everything xnas logs."""
    if level <= 0:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("xnas" if level > 1 else "xnas.driver.evaluations")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if level > 1 else logging.INFO)


# --------------------------------------------------------------------------- search
class _Progress(Callback):
    """What a terminal sees of a search: a line as it starts, one per generation (with
    the time so far and to go), a tqdm bar on terminals; it also knows whether anything
    was done at all (a resume of a finished run does nothing)."""

    def __init__(self, total: int | None) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="gen", disable=not sys.stderr.isatty(), leave=False)
        self.launched = self.generations = 0

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()

    def on_launch(self, task) -> None:
        self.launched += 1

    def on_generation(self, summary) -> None:
        self.generations += 1
        with self.bar.external_write_mode():
            print(describe(summary), flush=True)
        self.bar.update(1)


def _start_line(cfg, run_dir) -> None:
    from xnas.parallel.launch import world_rank

    if world_rank() != 0:  # under mpiexec only the driver speaks
        return
    print(
        f"searching {cfg.data.name} / {cfg.space.name} with {cfg.search.strategy}: population "
        f"{cfg.search.population}, {cfg.search.generations} generations, objectives "
        f"{', '.join(o.name for o in cfg.objectives)}; run directory {run_dir}",
        flush=True,
    )


def cmd_search(args: argparse.Namespace) -> int:
    """Run a multi-objective search and store every evaluation in RUN_DIR/xnas.sqlite."""
    from xnas import api

    path = _config(args)
    if path is None:
        raise ConfigError("search: expected a config file (xnas search CONFIG, or -c CONFIG)")
    cfg = api.load_config(path, args.overrides)
    run_dir = args.run_dir or api.default_run_dir(cfg)
    _start_line(cfg, run_dir)
    with _Progress(cfg.search.generations) as progress:
        return _report(api.search(cfg, run_dir, callbacks=[progress], progress=False))


def cmd_resume(args: argparse.Namespace) -> int:
    """Continue a search from its last committed generation; nothing stored is re-run."""
    from xnas import api

    kinds = [k for k in (args.retry_failed or "").split(",") if k]
    print(f"resuming {args.run_dir}", flush=True)
    with _Progress(None) as progress:
        view = api.resume(
            args.run_dir,
            callbacks=[progress],
            allow_version_change=args.allow_version_change,
            retry_failed=kinds,
            budget=args.overrides,
            progress=False,
        )
    if view is not None and not progress.launched and not progress.generations:
        print(
            f"nothing left to do: {view.stopped_by or 'the budget is spent'} "
            "(xnas resume RUN --set search.generations=N continues it)"
        )
    return _report(view)


def _report(view) -> int:
    """The end of a search's terminal output: the front with its objective values, the
    run directory, and why the search stopped (an MPI evaluator rank says nothing)."""
    if view is None:
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


# --------------------------------------------------------------------------- reading a run
def _status_lines(st: dict) -> list[str]:
    now = time.time()
    if st["writer"]:
        ago = (
            f", its last result {duration(now - st['last_activity'])} ago"
            if st["last_activity"]
            else ""
        )
        state = f"running ({st['writer']}{ago})"
    else:
        state = st["stopped_by"] or "not running, not finished (interrupted: xnas resume goes on)"
    return [
        f"generations  {st['generations_done']}/{st['generations']}",
        f"evaluations  {st['evaluations']} ({st['ok']} ok, {st['stopped_early']} stopped early, "
        f"{st['halted_at_a_rung']} halted at a rung, {st['rejected_before_training']} rejected "
        f"before training, {st['failed']} failed; {st['epoch_equivalents']} epochs trained)",
        f"objectives   {', '.join(st['objectives'])}",
        f"front        {len(st['front'])} architectures, hypervolume "
        f"{st['hypervolume_normalized']:.4f} of the box {_box(st)}",
        f"stopped      {st['stopped_by']}" if st["stopped_by"] else f"state        {state}",
    ]


def _box(st: dict) -> str:
    """The normalised hypervolume's box, ideal to reference (minimisation form)."""
    if st["reference"] is None or st["ideal"] is None:
        return "(not fixed yet)"
    lo = ", ".join(f"{v:.4g}" for v in st["ideal"])
    hi = ", ".join(f"{v:.4g}" for v in st["reference"])
    return f"[{lo}] .. [{hi}] (minimisation form)"


def cmd_status(args: argparse.Namespace) -> int:
    """Progress, failures, front size and hypervolume of a run; whether it is running."""
    from xnas.report import open_run

    st = open_run(args.run_dir).status()
    for line in _status_lines(st):
        print(line)
    if not args.follow:
        return 0
    last = None
    while True:  # a line whenever the run moves, until it is no longer running
        st = open_run(args.run_dir).status()
        line = (
            f"{time.strftime('%H:%M:%S')}  generation {st['generations_done']}/"
            f"{st['generations']}, {st['evaluations']} evaluations ({st['failed']} failed), "
            f"front {len(st['front'])}, hypervolume {st['hypervolume_normalized']:.4f}"
        )
        if line.split("  ", 1)[1] != (last or "  ").split("  ", 1)[1]:
            print(line, flush=True)
            last = line
        if not st["writer"]:
            print(f"stopped      {st['stopped_by'] or 'not running (interrupted? xnas resume)'}")
            return 0
        time.sleep(args.interval)


def cmd_plot(args: argparse.Namespace) -> int:
    """Every figure of a run (PNG and PDF) into RUN_DIR/plots or -o FOLDER."""
    from xnas.report import open_run

    paths = open_run(args.run_dir).plot(args.output)
    print(f"plots        {len(paths)} files in {paths[0].parent}")
    for path in paths:
        print(f"  {path.name}")
    return 0


def cmd_table(args: argparse.Namespace) -> int:
    """The Pareto set and the search cost as Markdown, CSV (one table) or LaTeX."""
    from xnas.report import open_run

    _write_tables(open_run(args.run_dir), args.format, args.output, args.what)
    return 0


def _write_tables(view, fmt: str, output: str | None, what: str = "all") -> None:
    from xnas.report.tables import cost_table, pareto_table, render

    if fmt == "csv" and what == "all":
        raise ConfigError(
            "--format csv writes one table a file: expected --what pareto or --what cost"
        )
    if output not in (None, "-"):
        _check_output(
            output, suffixes={"md": (".md", ".txt"), "csv": (".csv",), "latex": (".tex",)}[fmt]
        )
    name = view.run_dir.name
    tables = {
        "pareto": ("Pareto set", f"Pareto set of run {name}", pareto_table(view)),
        "cost": ("Search cost", f"What run {name} cost", cost_table(view)),
    }
    parts = []
    for key, (title, caption, (headers, rows)) in tables.items():
        if what in ("all", key):
            body = render(headers, rows, fmt, caption)
            parts.append(body if fmt != "md" else f"{title}\n\n{body}")
    with _output(output) as out:
        out.write("\n".join(parts))
    if output not in (None, "-"):
        written = [t for k, (t, _, _) in tables.items() if what in ("all", k)]
        print(f"wrote {' and '.join(written)} to {output}")


def cmd_export(args: argparse.Namespace) -> int:
    """Every evaluation as CSV (one row per key; pandas.read_csv-friendly), or with
    --arch one trained network as a torch.export program (.pt2) or ONNX."""
    if args.arch:
        from xnas.export import FORMATS, export_network
        from xnas.report import open_run
        from xnas.report.select import select

        fmt = args.format or "pt2"
        if args.output:
            _check_output(args.output, suffixes=(FORMATS[fmt],))
        key = select(open_run(args.run_dir), args.arch).key
        done = export_network(args.run_dir, key, fmt, args.output)
        print(
            f"wrote {fmt} network {done.path}"
            + (f" ({args.arch}: {key})" if key != args.arch else "")
        )
        if done.weights_of != key:
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


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Serve the run in optuna-dashboard (Pareto front, hypervolume history, parallel
    coordinates, trials), mirroring new results every few seconds while it runs."""
    import threading

    from xnas.report.optuna_mirror import storage_url, sync

    url = storage_url(args.run_dir, args.storage)
    study, added = sync(args.run_dir, url)
    print(f"mirrored {added} evaluations of {args.run_dir} into {url} (study {study})", flush=True)
    if args.once:
        return 0
    from optuna_dashboard import run_server

    def follow() -> None:
        while True:
            time.sleep(args.interval)
            try:
                sync(args.run_dir, url)
            except Exception as exc:  # a reader must not kill the server; say it and go on
                print(f"xnas: mirror: {type(exc).__name__}: {exc}", file=sys.stderr)

    threading.Thread(target=follow, daemon=True).start()
    print(f"dashboard    http://{args.host}:{args.port}/dashboard (Ctrl-C to stop)", flush=True)
    run_server(url, host=args.host, port=args.port)
    return 0


# --------------------------------------------------------------------------- one network
# the sizes the published tables are for: NAS-Bench-201 counts C=16, N=5 (params column)
PUBLISHED = {"nb201": {"space.channels": 16, "space.layers": 5}}


def cmd_arch(args: argparse.Namespace) -> int:
    """Print an architecture's genotype, params and FLOPs; draw its cells to a PNG."""
    from xnas.config import load_config
    from xnas.objectives import count_flops, count_params
    from xnas.report.cells import draw_genotype
    from xnas.space import REFERENCES, resolve_arch

    cfg = load_config(_config(args), args.overrides)
    shape = _parse_shape(args.input)
    if args.classes < 1:
        raise ConfigError(f"--classes {args.classes}: expected an integer >= 1")
    if args.png is not None:
        _check_output(args.png, suffixes=(".png", ".pdf", ".svg"), flag="--png")
    space, genome = resolve_arch(args.arch, cfg.space)
    sizes = "from the config"
    given = {o.partition("=")[0] for o in args.overrides}
    published = PUBLISHED.get(space.name, {})
    if published and _config(args) is None and not given & set(published):
        cfg = load_config(None, [*args.overrides, *(f"{k}={v}" for k, v in published.items())])
        space, genome = resolve_arch(args.arch, cfg.space)
        sizes = "NAS-Bench-201's published network; its tables count these"
    genotype = space.decode(genome)
    model = space.build(genome, shape, args.classes)
    key = space.canonical(genome)
    if args.arch in REFERENCES:
        print(f"reference    {args.arch}: {REFERENCES[args.arch].source}")
    print(f"space        {space.name} (C={space.cfg.channels}, layers={space.cfg.layers}: {sizes})")
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
    """Train and score one architecture; print objectives, timings and how each was
    measured. With --run, the architecture (knee, best:OBJECTIVE or a key) and the
    config are the run's."""
    from xnas.config import config_from, load_config, to_dict
    from xnas.driver import make_task
    from xnas.evaluate import evaluator_for
    from xnas.objectives import OBJECTIVES
    from xnas.parallel import call_task
    from xnas.space import get_space, resolve_arch

    if args.run:
        from xnas.report import open_run
        from xnas.report.select import select

        if _config(args):
            raise ConfigError("--run takes the run's config: expected no -c with it (use --set)")
        view = open_run(args.run)
        chosen = select(view, args.arch)
        cfg = config_from(to_dict(view.cfg), args.overrides)
        space, genome = get_space(cfg.space), chosen.genome
    else:
        cfg = load_config(_config(args), args.overrides)
        space, genome = resolve_arch(args.arch, cfg.space)
    names = tuple(o.name for o in cfg.objectives)
    for n in names:
        OBJECTIVES.get(n)  # unknown objective -> one line, exit 2
    key = space.canonical(genome)
    evaluator = evaluator_for(cfg)
    evaluator.check(cfg, list(names))
    task = make_task(cfg, space, genome, epochs=args.epochs, weights_dir=args.weights_dir)
    print(f"evaluating   {key} ({task.epochs} epochs on {cfg.data.name})", flush=True)
    result = call_task(evaluator, task)  # a failure becomes a result here, as in a search
    print(f"status       {result.status}   device {result.device}   rank {result.rank}")
    if result.status == "failed":
        print(result.error, file=sys.stderr)
        return 1
    if result.curve:
        print("curve        val. acc. " + " ".join(f"{a:.3f}" for a in result.curve))
    import textwrap

    print(f"\n{'objective':<14}{'value':>12}  {'sense':<5} {'unit':<8} provenance")
    for n in names:
        obj = OBJECTIVES.get(n)
        print(
            f"{n:<14}{result.objectives[n]:>12.5g}  {obj.sense:<5} {obj.unit or '-':<8} "
            f"{result.provenance(n)}"
        )
        print(
            textwrap.fill(
                _how(result.measurements[n]),
                96,
                initial_indent=" " * 16,
                subsequent_indent=" " * 16,
            )
        )
    timings = {k: v for k, v in result.timings.items() if not k.endswith("_at")}
    print(
        "\ntimings      "
        + "  ".join(
            f"{k} {_num(v)}{'' if k == 'images_per_s' else ' s'}" for k, v in timings.items()
        )
    )
    if result.weights_path:
        print(f"weights      {result.weights_path}")
    return 0


def _num(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _how(how: dict) -> str:
    """A measurement record as ``key value; ...`` (numbers to 4 figures, nested records
    summarised by their first entries)."""
    skip = {"provenance"}
    parts = []
    for k, v in how.items():
        if k in skip:
            continue
        if isinstance(v, dict):
            v = (
                "{"
                + ", ".join(f"{a} {_num(b)}" for a, b in list(v.items())[:3])
                + (", ...}" if len(v) > 3 else "}")
            )
        elif isinstance(v, list | tuple):
            v = "[" + ", ".join(_num(x) for x in list(v)[:4]) + (", ...]" if len(v) > 4 else "]")
        parts.append(f"{k} {_num(v)}")
    return "; ".join(parts)


def cmd_retrain(args: argparse.Namespace) -> int:
    """Retrain the run's final networks on train + validation and score them on the
    held-out test split; stored in the run (table ``final``), resumable."""
    from xnas.report import open_run
    from xnas.report.select import select
    from xnas.retrain import retrain

    keys = None
    if args.arch:
        view = open_run(args.run_dir)
        keys = list(dict.fromkeys(select(view, spec).key for spec in args.arch))
    objectives = [n for n in args.front.split(",") if n] if args.front else None
    names: list[str] = []

    def show(item) -> None:
        if not names:
            names.extend(item.search.objectives)
            print(f"{'key':<44} rep  " + "  ".join(f"{n + ' val/test':>26}" for n in names))
        pairs = []
        for n in names:
            before = item.search.objectives.get(n)
            after = item.final.objectives.get(n)
            pairs.append(f"{_num(before):>12} {_num(after) if after is not None else '-':>13}")
        status = "" if item.final.status == "ok" else f"  {item.final.status}"
        if item.trained_as != item.key:
            status += f"  (its class, trained as {item.trained_as[:24]}...)"
        print(f"{item.key:<44} {item.repeat:>3}  " + "  ".join(pairs) + status, flush=True)

    done = retrain(
        args.run_dir,
        keys,
        objectives=objectives,
        repeats=args.repeats,
        overrides=args.overrides,
        progress=show,
    )
    if not done:
        print(
            f"nothing to retrain: {args.run_dir} has no feasible full-budget front", file=sys.stderr
        )
        return 1
    if all(d.final.status == "failed" for d in done):
        print(f"every retraining failed; first: {done[0].final.error}", file=sys.stderr)
        return 1
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    """Load the configured dataset and describe it (sizes, classes, shape, balance)."""
    from xnas.config import load_config

    _print_data(load_config(_config(args), args.overrides))
    return 0


def _print_data(cfg) -> None:
    from xnas.data import load_dataset

    d = cfg.data
    print(f"loading      {d.name}" + (f" from {d.root}" if d.root else "") + " ...", flush=True)
    t = time.perf_counter()
    bundle = load_dataset(d)
    took = time.perf_counter() - t
    print(f"dataset      {bundle.name}: {bundle.description} (loaded in {took:.1f} s)")
    print(f"input shape  {bundle.input_shape}   classes {bundle.num_classes}")
    for split_name, split in (("train", bundle.train), ("val", bundle.val)):
        counts = split.y.bincount(minlength=bundle.num_classes).tolist()
        print(f"{split_name:<12} {len(split):>6} samples, per class {counts}")
    if d.val_source == "test":
        why = "the dataset's test split" + (
            "" if d.val_size is None else f", a balanced subset of {d.val_size}"
        )
    elif d.val_size is None:
        why = (
            f"{d.val_fraction:.0%} of the training split held out (data.val_fraction), "
            "whatever data.train_size is; set data.val_size for a smaller subset"
        )
    else:
        why = f"a balanced subset of the {d.val_fraction:.0%} held out (data.val_size)"
    print(f"validation   {why}")
    print(f"normalised   mean {_fmt(bundle.mean)} std {_fmt(bundle.std)}")
    print(f"augment      {bundle.augment or 'off'}")


def cmd_latency_table(args: argparse.Namespace) -> int:
    """Measure every unit the configured space can produce on this device: a LUT for the
    ``latency_predicted`` objective (for searches here or on another machine)."""
    import json

    from xnas.config import load_config
    from xnas.objectives.latency_table import table_for_config
    from xnas.parallel.launch import set_threads

    path = _config(args)
    if path is None:
        raise ConfigError("latency-table: expected a config file (CONFIG or -c CONFIG)")
    cfg = load_config(path, args.overrides)
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


def cmd_demo(args: argparse.Namespace) -> int:
    """A real small search: experiments/demo/config.yaml on `lines`, then the Pareto plot,
    the front, and a look at the real image datasets in ../shared/data."""
    from xnas import api
    from xnas.store import RunDir

    cfg = api.load_config(_config(args), args.overrides)
    run_dir = args.out or f"runs/demo-{time.strftime('%Y%m%d-%H%M%S')}"
    _start_line(cfg, run_dir)
    with _Progress(cfg.search.generations) as progress:
        view = api.search(cfg, run_dir, callbacks=[progress], progress=False)
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


# --------------------------------------------------------------------------- helpers
def _check_output(path: str, *, suffixes: tuple[str, ...] = (), flag: str = "-o") -> None:
    """An output file's folder must exist, the path must not be a folder, and its
    extension must be one the writer understands: one line otherwise, nothing written."""
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
    parts = text.lower().replace(",", "x").split("x")
    if len(parts) != 3 or not all(p.strip().isdigit() for p in parts):
        raise ConfigError(f"--input {text!r}: expected CxHxW, e.g. 3x32x32")
    c, h, w = (int(p) for p in parts)
    if c not in (1, 3) or min(h, w) < 8:
        raise ConfigError(f"--input {text!r}: expected 1 or 3 channels and sides >= 8")
    return c, h, w


def _fmt(values: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.3f}" for v in values) + ")"


# --------------------------------------------------------------------------- the parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xnas",
        description="Multi-objective evolutionary neural architecture search. "
        "`xnas COMMAND -h` shows a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"xnas {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = _command(sub, "search", "run a multi-objective search (every evaluation stored in RUN_DIR)")
    _add_config_args(p, positional=True)
    p.add_argument("--run-dir", help="where the store goes (default runs/<data>-<space>-<time>)")
    p.set_defaults(handler=cmd_search)

    p = _command(sub, "resume", "continue a search from its last committed generation")
    p.add_argument("run_dir", help="run directory of an earlier xnas search")
    _add_set(
        p,
        "a new budget: search.generations, search.max_evaluations or "
        "search.max_wall_time (nothing else: a different search is a new run)",
    )
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

    p = _command(sub, "status", "progress, failures, front and hypervolume; is it running?")
    p.add_argument("run_dir")
    p.add_argument(
        "--follow", action="store_true", help="a line whenever the run moves, until it stops"
    )
    p.add_argument("--interval", type=float, default=5.0, help="seconds between looks (default 5)")
    p.set_defaults(handler=cmd_status)

    p = _command(sub, "dashboard", "serve the run in optuna-dashboard, live")
    p.add_argument("run_dir")
    p.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument(
        "--storage", help="Optuna storage URL (default sqlite:///RUN_DIR/optuna.sqlite3)"
    )
    p.add_argument("--interval", type=float, default=3.0, help="seconds between mirror updates")
    p.add_argument("--once", action="store_true", help="mirror the run and exit (no server)")
    p.set_defaults(handler=cmd_dashboard)

    p = _command(
        sub,
        "plot",
        "all figures of a run: fronts, parallel coordinates, hypervolume, curves, cells",
    )
    p.add_argument("run_dir")
    p.add_argument("-o", "--output", help="folder (default RUN_DIR/plots)")
    p.set_defaults(handler=cmd_plot)

    p = _command(sub, "table", "Pareto set and search cost tables (md, csv, latex)")
    p.add_argument("run_dir")
    p.add_argument("--format", choices=("md", "csv", "latex"), default="md")
    p.add_argument(
        "--what",
        choices=("all", "pareto", "cost"),
        default="all",
        help="which table (csv: one a file)",
    )
    p.add_argument("-o", "--output", help="file (default: standard output)")
    p.set_defaults(handler=cmd_table)

    p = _command(
        sub, "export", "all evaluations as CSV, or a trained network (--arch) as .pt2/ONNX"
    )
    p.add_argument("run_dir")
    p.add_argument("--arch", help="knee, best:OBJECTIVE, or a key (or unique key prefix)")
    p.add_argument("--format", choices=("pt2", "onnx"), help="with --arch: pt2 (default) or onnx")
    p.add_argument("-o", "--output", help="output file (CSV default: standard output)")
    p.set_defaults(handler=cmd_export)

    p = _command(sub, "arch", "show an architecture: genotype, params, FLOPs, cell drawing")
    p.add_argument("arch", help="reference name, NB201 arch string, micro key or list of ints")
    _add_config_args(p)
    p.add_argument("--input", default="3x32x32", help="input shape CxHxW (default 3x32x32)")
    p.add_argument("--classes", type=int, default=10, help="number of classes (default 10)")
    p.add_argument("--png", help="draw the cells to this PNG file")
    p.set_defaults(handler=cmd_arch)

    p = _command(sub, "evaluate", "train and score one architecture on the configured task")
    _add_config_args(p)
    p.add_argument(
        "--arch",
        required=True,
        help="reference name, key or list of ints; with --run: knee, best:OBJECTIVE or a key",
    )
    p.add_argument("--run", help="take the architecture and the config from this run")
    p.add_argument("--epochs", type=int, help="override train.epochs")
    p.add_argument("--weights-dir", help="save the trained weights here")
    p.set_defaults(handler=cmd_evaluate)

    p = _command(sub, "retrain", "retrain the final networks on train + validation, score on test")
    p.add_argument("run_dir")
    p.add_argument(
        "--arch",
        action="append",
        help="knee, best:OBJECTIVE or a key (repeatable; default: the whole front)",
    )
    p.add_argument(
        "--front",
        metavar="OBJ,OBJ",
        help="the front of these recorded objectives (default: the searched ones)",
    )
    p.add_argument("--repeats", type=int, default=1, help="trainings per network (default 1)")
    _add_set(p, "override the final config, e.g. --set data.test_size=1000 (repeatable)")
    p.set_defaults(handler=cmd_retrain)

    p = _command(sub, "data", "load a dataset from a config and describe it")
    _add_config_args(p)
    p.set_defaults(handler=cmd_data)

    p = _command(sub, "latency-table", "measure a per-unit latency LUT of the space on this device")
    _add_config_args(p, positional=True)
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
    p.set_defaults(handler=cmd_latency_table)

    p = _command(sub, "demo", "run a small real search and plot its Pareto front")
    _add_config_args(p, positional=True, default="experiments/demo/config.yaml")
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
    _verbosity(getattr(args, "verbose", 0))
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

"""YAML config -> frozen dataclasses.

One generic builder turns nested mappings into the dataclasses below, checking
every key and type; unknown keys are an error that lists the valid ones, and
``--set a.b=c`` overrides are applied to the raw mapping first so they get the
same checks. Sections that later issues fill in already exist so configs stay
forward compatible.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from xnas.errors import ConfigError


@dataclass(frozen=True)
class LinesOptions:
    """The synthetic `lines` task of XNAS (no line / horizontal / vertical / diagonal)."""

    side: int = 12  # image side in pixels
    length: int = 5  # line length in pixels
    noise: float = 0.1  # std of additive Gaussian pixel noise; 0 gives clean images


@dataclass(frozen=True)
class DataConfig:
    """Which dataset, where it lives, how it is split, subset and augmented."""

    # a registered dataset: lines, digits, mnist, fashion_mnist, cifar10, imagefolder, tensors
    name: str = "lines"
    root: str | None = None  # folder (or .tar.gz for imagefolder); None for generated/bundled data
    download: bool = False  # torchvision download for users who are online
    train_size: int | None = None  # class-balanced, seeded subset of the training split
    val_size: int | None = None  # same for the validation split
    val_source: Literal["split", "test"] = "split"  # hold out from train, or the test split
    val_fraction: float = 0.1  # fraction of train held out when val_source == "split"
    # share of every class held out of the training split as a test split the search never
    # sees, for datasets without one (digits, an imagefolder without test/); 0: none. Set
    # it before the search: ``xnas retrain`` scores the final front on it.
    test_fraction: float = 0.0
    test_size: int | None = None  # class-balanced subset of the test split (split: final)
    # "search": train and validation as above; "final": train + validation together are the
    # training set and the held-out test split is the scored one (``xnas retrain``)
    split: Literal["search", "final"] = "search"
    normalize: bool = True  # per-channel mean/std computed on the training subset
    augment: bool = False  # random crop (padding 4) + horizontal flip on training batches
    cutout: int = 0  # side of the cutout square in pixels; 0 = off
    image_size: int | None = None  # resize images of an imagefolder to this side
    seed: int = 0  # seed of the subsets, the validation hold-out and generated data
    lines: LinesOptions = field(default_factory=LinesOptions)

    def __post_init__(self) -> None:
        _at_least("data.train_size", self.train_size, 1)
        _at_least("data.val_size", self.val_size, 1)
        _at_least("data.test_size", self.test_size, 1)
        _at_least("data.image_size", self.image_size, 1)
        _at_least("data.cutout", self.cutout, 0)
        _at_least("data.seed", self.seed, 0)
        if not 0 < self.val_fraction < 1:
            raise ConfigError(f"data.val_fraction: expected 0 < f < 1, got {self.val_fraction}")
        if not 0 <= self.test_fraction < 1:
            raise ConfigError(f"data.test_fraction: expected 0 <= f < 1, got {self.test_fraction}")


@dataclass(frozen=True)
class SearchConfig:
    """The search: strategy, budget, seed, and the proxy-assisted options."""

    # a registered strategy: nsga2, nsga3, spea2, smsemoa, nsga2-sbx, deap-nsga2, regevo, regevo-ws,
    # surrogate-nsga2, random
    strategy: str = "nsga2"
    # generational: ask a population, wait for all of it; steady_state: one genome per free worker
    mode: Literal["generational", "steady_state"] = "generational"
    population: int = 8  # genomes per generation (steady-state: the kept population)
    generations: int = 2  # generations to run (a budget; xnas resume --set extends it)
    # stop at the first generation boundary past this many stored evaluations
    max_evaluations: int | None = None
    # seconds of this process's search; stops at a generation boundary (steady-state: stops
    # launching), resumable: e.g. below a batch job's time limit, then requeue + resume
    max_wall_time: float | None = None
    seed: int = 0  # the run seed: genomes, per-evaluation seeds and the front follow from it
    # evaluate one genome per functional equivalence class (space.equivalence); later
    # members are stored as reuses of it (static objectives their own, no training)
    reuse_equivalent: bool = True
    # proxy-assisted search: the zero-cost proxy objective that ranks untrained genomes
    # (e.g. proxy_ensemble; xnas.objectives.proxies), used by the two options below
    proxy: str | None = None
    # warm start: screen this many x population random genomes (proxy + the run's static
    # objectives, no training) and start from NSGA-II's survivors among them (0: off)
    proxy_warm_start: int = 0
    # proposal filtering (generational): each generation after the first, ask this many x
    # population offspring, screen them, train the population a surrogate on (genome
    # features, proxy) ranks best (0 or 1: off)
    proxy_filter: int = 0
    # the hypervolume's reference point, one bound per searched objective in its own sense
    # (e.g. [1.0, 0.0] for error <= 1, introspection >= 0); null: natural bounds, else 1.1 x
    # the worst value of the first feasible generation (fixed then, stored with the run)
    hv_reference: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        _at_least("search.population", self.population, 2)
        _at_least("search.proxy_warm_start", self.proxy_warm_start, 0)
        _at_least("search.proxy_filter", self.proxy_filter, 0)
        if (self.proxy_warm_start > 1 or self.proxy_filter > 1) and self.proxy is None:
            raise ConfigError(
                "search.proxy_warm_start / proxy_filter need search.proxy: expected a proxy "
                "objective such as proxy_ensemble"
            )
        if self.proxy_filter > 1 and self.mode != "generational":
            raise ConfigError(
                "search.proxy_filter works in generational mode; expected search.mode: "
                "generational or proxy_filter: 0"
            )
        _at_least("search.generations", self.generations, 1)
        _at_least("search.max_evaluations", self.max_evaluations, 1)
        if self.max_wall_time is not None and not 0 < self.max_wall_time < math.inf:
            raise ConfigError(
                f"search.max_wall_time: expected seconds > 0 or null, got {self.max_wall_time}"
            )
        _at_least("search.seed", self.seed, 0)


@dataclass(frozen=True)
class SpaceConfig:
    """The search space and the network size its genomes are built at."""

    # a registered search space: nb201 (NAS-Bench-201 cell) or micro (NSGA-Net normal + reduction
    # cells)
    name: str = "nb201"
    blocks: int = 5  # micro: blocks per cell
    ops: tuple[str, ...] | None = None  # micro: op subset; None = the space's default
    channels: int = 8  # stem channels C of the network (NB201 tables: 16)
    layers: int = 1  # micro: normal cells per stage; nb201: cells per stage

    def __post_init__(self) -> None:
        _at_least("space.blocks", self.blocks, 1)
        _at_least("space.channels", self.channels, 1)
        _at_least("space.layers", self.layers, 1)


@dataclass(frozen=True)
class TrainConfig:
    """How each candidate is trained (the XNAS recipe: SGD + Nesterov, warm-up, cosine)."""

    # training epochs per evaluation (the full budget; rungs and inheritance may use fewer)
    epochs: int = 3
    batch_size: int = 64  # training batch size
    lr: float = 0.05  # peak learning rate of SGD (cosine schedule after the warm-up)
    momentum: float = 0.9  # SGD momentum
    nesterov: bool = True  # Nesterov momentum (the XNAS recipe)
    weight_decay: float = 3e-4  # L2 weight decay
    warmup_epochs: int = 0  # linear learning-rate warm-up epochs
    grad_clip: float | None = 5.0  # gradient norm clip; null: none
    amp: bool = True  # autocast on CUDA only
    grad_checkpoint: bool = False  # CUDA only
    # per-layer implementation chosen online in the first steps (nn.bestof; forward-timed)
    bestof: bool = False
    num_workers: int = 0  # no fork inside MPI ranks
    label_smoothing: float = 0.0  # cross-entropy label smoothing
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    # keep each trained network weights in the run directory (exports, inheritance)
    save_weights: bool = True
    # weights that error and trained objectives are measured on: the last epoch's, or the
    # best validation epoch's (XNAS's val_acc__max tasks, e.g. CIFAR-10)
    checkpoint: Literal["last", "best"] = "last"

    def __post_init__(self) -> None:
        _at_least("train.epochs", self.epochs, 0)
        _at_least("train.batch_size", self.batch_size, 1)
        _at_least("train.warmup_epochs", self.warmup_epochs, 0)
        _at_least("train.num_workers", self.num_workers, 0)
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"train.lr: expected a number > 0, got {self.lr}")
        for name in ("momentum", "weight_decay", "label_smoothing"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise ConfigError(f"train.{name}: expected a number >= 0, got {value}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ConfigError(
                f"train.grad_clip: expected a number > 0 or null, got {self.grad_clip}"
            )
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?|mps", self.device):
            raise ConfigError(
                f"train.device: expected auto, cpu, cuda, cuda:N or mps, got {self.device!r}"
            )


# the latency objective's implementations (objectives.latency.prepare)
LATENCY_IMPLS = ("eager", "channels_last", "bestof", "compiled", "torchscript")
# the longest parallel.task_timeout: 30 days (setitimer overflows near 1e9 s on some systems)
MAX_TASK_TIMEOUT = 30 * 24 * 3600


@dataclass(frozen=True)
class MeasureConfig:
    """How static and trained objectives are measured (recorded with every value)."""

    latency_batch: int = 1  # batch size of a latency measurement
    latency_warmup: int = 5  # untimed forward passes before timing
    latency_repeats: int = 30  # timed forward passes (the median is kept)
    # timed, fastest kept; also "bestof" (per-layer choice, nn.bestof), "compiled"
    # (torch.compile: fastest, 16-30 s per genome to compile on CPU) and "torchscript"
    # (deprecated): benchmarks/bench_latency_impls.py, bench_bestof.py
    latency_impls: tuple[str, ...] = ("eager", "channels_last")
    latency_table: str | None = None  # LUT file for latency_predicted (xnas latency-table)
    # a latency whose spread (IQR / median) exceeds this is measured again, up to
    # latency_retries times (the steadiest attempt is kept, flagged noisy if still beyond)
    latency_max_spread: float = 0.25
    # the same for the 1-minute load average per core during the measurement
    latency_max_load: float = 1.0
    latency_retries: int = 2  # repeated measurements of a noisy latency
    # at the end of a search, measure the front's latencies again on the driver while the
    # workers are idle (kept beside the search-time values; tables show both)
    latency_quiet_pass: bool = True
    # auto: NVML on NVIDIA GPUs, RAPL where readable, else the model (labelled modelled)
    energy_source: Literal["auto", "nvml", "rapl", "model"] = "auto"
    energy_repeats: int = 50  # forward passes an energy counter is read over
    introspection_samples: int = 25000  # cap on validation samples used
    introspection_batch: int = 256  # batch size of the introspection pass
    mcd_samples: int = 32  # validation samples the mean confidence decrease is averaged over
    mcd_top_fraction: float = 0.1  # share of input pixels masked
    mcd_steps: int = 16  # IntegratedGradients steps
    # captum method behind mcd: integrated_gradients, saliency, gradient_shap, kernel_shap, lime
    attribution: str = "integrated_gradients"
    attribution_samples: int = 64  # GradientShap samples; KernelShap/Lime coalitions per image
    attribution_patch: int = 4  # side (pixels) of the square patches KernelShap/Lime perturb
    # zero-cost proxies (naswot, synflow, jacob_cov, grad_norm, snip, proxy_ensemble): one
    # minibatch of this many training images, drawn with this seed (the same for every genome)
    proxy_batch: int = 64
    proxy_seed: int = 0  # seed of the proxies minibatch and of the ensemble reference sample
    # proxy_ensemble: each proxy's score is placed among those of this many random genomes
    # of the space (drawn with proxy_seed, scored once per process and cached on disk)
    proxy_reference: int = 64

    def __post_init__(self) -> None:
        for name in ("proxy_batch", "proxy_reference"):
            _at_least(f"measure.{name}", getattr(self, name), 2)
        for name in ("latency_batch", "latency_repeats", "energy_repeats"):
            _at_least(f"measure.{name}", getattr(self, name), 1)
        for name in ("introspection_samples", "introspection_batch", "mcd_samples", "mcd_steps"):
            _at_least(f"measure.{name}", getattr(self, name), 1)
        _at_least("measure.latency_warmup", self.latency_warmup, 0)
        _at_least("measure.latency_retries", self.latency_retries, 0)
        for name in ("latency_max_spread", "latency_max_load"):
            if not getattr(self, name) > 0:
                raise ConfigError(
                    f"measure.{name}: expected a number > 0, got {getattr(self, name)}"
                )
        if not self.latency_impls:
            raise ConfigError("measure.latency_impls: expected at least one implementation")
        for impl in self.latency_impls:
            if impl not in LATENCY_IMPLS:
                raise ConfigError(
                    f"measure.latency_impls: unknown implementation {impl!r}; expected any of "
                    f"{', '.join(LATENCY_IMPLS)}"
                )
        attribution_methods = (
            "integrated_gradients",
            "saliency",
            "gradient_shap",
            "kernel_shap",
            "lime",
        )
        if self.attribution not in attribution_methods:
            raise ConfigError(
                f"measure.attribution: expected one of {', '.join(attribution_methods)}, "
                f"got {self.attribution!r}"
            )
        _at_least("measure.attribution_samples", self.attribution_samples, 1)
        _at_least("measure.attribution_patch", self.attribution_patch, 1)
        if not 0 < self.mcd_top_fraction <= 1:
            raise ConfigError(
                f"measure.mcd_top_fraction: expected 0 < f <= 1, got {self.mcd_top_fraction}"
            )


@dataclass(frozen=True)
class ObjectiveConfig:
    """One entry of ``objectives``: a name, or a mapping with a budget or ``optimize: false``."""

    # a registered objective: error, introspection, latency, latency_predicted, energy, params,
    # flops, mcd, naswot, synflow, jacob_cov, grad_norm, snip, proxy_ensemble, or a plugin's
    name: str
    constraint: str | None = None  # e.g. "<= 5" for latency in ms
    optimize: bool = True  # false: measured and stored for every genome, not searched on

    def __post_init__(self) -> None:
        if self.constraint is not None:
            parse_constraint(self.constraint, f"objective {self.name}")


def parse_constraint(text: str, where: str) -> tuple[str, float]:
    """'<= 5' -> ('<=', 5.0); anything else is a ConfigError naming ``where``."""
    m = re.fullmatch(r"\s*(<=|>=)\s*(\S+)\s*", text)
    bound = None
    if m:
        with contextlib.suppress(ValueError):
            bound = float(m.group(2))
    if bound is None or not math.isfinite(bound):
        raise ConfigError(f"{where}: constraint {text!r}: expected '<= NUMBER' or '>= NUMBER'")
    return m.group(1), bound


@dataclass(frozen=True)
class ParallelConfig:
    """Where evaluations run: serially, or on MPI ranks (one evaluation per evaluator rank)."""

    backend: Literal["auto", "serial", "mpi"] = "auto"  # auto: mpi when launched on >= 2 ranks
    threads_per_rank: int | None = None  # None: Slurm cpus-per-task or 1 per MPI rank; all serially
    poll_interval: float = 0.002  # s, longest sleep between MPI polls of an idle rank
    task_timeout: float | None = None  # s; a longer evaluation is stopped, stored as failed
    # ranks that train one candidate together (data parallel, DDP: gloo on CPU, NCCL on GPU);
    # the evaluators form groups of this many, the driver sees one worker per group
    ranks_per_eval: int = 1
    # BatchNorm in a group's training: local = each rank's own shard's statistics, as plain
    # DDP (1.9x on 2 CPU ranks); sync = the whole batch's, so the group trains exactly what
    # one process trains whatever k, but its small all-reduces ate the gain on CPU (1.05x)
    ddp_batchnorm: Literal["local", "sync"] = "local"

    def __post_init__(self) -> None:
        if self.ranks_per_eval < 1:
            raise ConfigError(f"parallel.ranks_per_eval: expected >= 1, got {self.ranks_per_eval}")
        if self.task_timeout is not None and not 0 < self.task_timeout <= MAX_TASK_TIMEOUT:
            raise ConfigError(
                f"parallel.task_timeout: expected seconds in (0, {MAX_TASK_TIMEOUT}] (30 days) "
                f"or null for none, got {self.task_timeout}"
            )
        if self.threads_per_rank is not None and self.threads_per_rank < 1:
            raise ConfigError(
                f"parallel.threads_per_rank: expected >= 1, got {self.threads_per_rank}"
            )
        if not 0 <= self.poll_interval <= 1:
            raise ConfigError(
                f"parallel.poll_interval: expected 0..1 seconds, got {self.poll_interval}"
            )


@dataclass(frozen=True)
class CostConfig:
    """Cheaper evaluations: weight inheritance and learning-curve early stopping."""

    inherit: bool = False  # start each new genome from a stored donor's matching weights
    donor: Literal["nearest", "parent"] = "nearest"  # parent: the strategy's lineage if known
    inherit_epochs: int | None = None  # training budget of an inheriting child (None: full)
    keep_weights: int | None = None  # cap on weight files: the front + the most recent
    extrapolate: bool = False  # stop training that cannot reach the front (stop rule)
    min_epochs: int = 3  # epochs before the first extrapolation
    band_quantile: float = 0.99  # two-sided coverage of the calibrated learning-curve band
    # with inherit + extrapolate: read a child's curve as the continuation of its donor's, so
    # min_epochs counts the donor's epochs and a short child can be stopped (stoprule.check)
    donor_prior: bool = True
    # multi-fidelity: successive halving over each generation's new candidates (driver.fidelity)
    fidelity: bool = False
    eta: int = 3  # 1/eta of a rung continues to the next
    rungs: int = 3  # rungs at full budget / eta^j epochs, j = rungs-1 .. 0 (>= 1 epoch)

    def __post_init__(self) -> None:
        if self.eta < 2:
            raise ConfigError(f"cost.eta: expected >= 2, got {self.eta}")
        if self.rungs < 2:
            raise ConfigError(f"cost.rungs: expected >= 2, got {self.rungs}")
        if self.inherit_epochs is not None and self.inherit_epochs < 1:
            raise ConfigError(f"cost.inherit_epochs: expected >= 1, got {self.inherit_epochs}")
        if self.keep_weights is not None and self.keep_weights < 1:
            raise ConfigError(f"cost.keep_weights: expected >= 1, got {self.keep_weights}")
        if self.min_epochs < 2:
            raise ConfigError(f"cost.min_epochs: expected >= 2, got {self.min_epochs}")
        if not 0 < self.band_quantile < 1:
            raise ConfigError(f"cost.band_quantile: expected 0 < q < 1, got {self.band_quantile}")


@dataclass(frozen=True)
class TableColumn:
    """Where a tabular objective's value comes from: ``offset + scale * row[column]``, so
    the stored value keeps the objective's unit (error as a fraction: ``scale: 0.01`` for
    percent; accuracy in percent to error: ``scale: -0.01, offset: 1``)."""

    objective: str  # the objective this column gives
    column: str  # the table column holding it
    scale: float = 1.0  # stored value = offset + scale * cell
    offset: float = 0.0  # stored value = offset + scale * cell


@dataclass(frozen=True)
class EvaluatorConfig:
    """How a genome gets its objective values: trained here, or looked up in a table."""

    name: str = "train"  # a registered evaluator (xnas.evaluate.EVALUATORS): train | tabular
    table: str | None = None  # tabular: CSV with a key column and one column per objective
    key_column: str = "arch"  # tabular: the canonical arch string (NB201 format for nb201)
    # tabular: objective -> column with a conversion; an objective not listed reads the
    # column of its own name as it is
    columns: tuple[TableColumn, ...] = ()

    def __post_init__(self) -> None:
        names = [c.objective for c in self.columns]
        dup = next((n for i, n in enumerate(names) if n in names[:i]), None)
        if dup is not None:
            raise ConfigError(f"evaluator.columns: objective {dup!r} is mapped twice")


@dataclass(frozen=True)
class Config:
    """A whole run's configuration (what ``xnas search`` reads and the store keeps)."""

    search: SearchConfig = field(default_factory=SearchConfig)
    space: SpaceConfig = field(default_factory=SpaceConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    # what every genome is scored on: names, or {name, constraint, optimize} mappings
    objectives: tuple[ObjectiveConfig, ...] = (
        ObjectiveConfig("error"),
        ObjectiveConfig("introspection"),
    )
    measure: MeasureConfig = field(default_factory=MeasureConfig)
    parallel: ParallelConfig = field(default_factory=ParallelConfig)
    cost: CostConfig = field(default_factory=CostConfig)
    evaluator: EvaluatorConfig = field(default_factory=EvaluatorConfig)
    # modules imported whenever this config is built (by the search, on every MPI rank, by
    # every reader of the run: the list is stored with it): a user's own objectives, spaces,
    # datasets, strategies or evaluators register themselves there (xnas.plugins)
    plugins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        from xnas.plugins import load_plugins

        load_plugins(self.plugins)
        names = [o.name for o in self.objectives]
        dup = next((n for i, n in enumerate(names) if n in names[:i]), None)
        if dup is not None:
            raise ConfigError(f"objectives: {dup!r} is listed twice; expected each at most once")


def _at_least(where: str, value: int | None, low: int) -> None:
    if value is not None and value < low:
        raise ConfigError(f"{where}: expected an integer >= {low}, got {value}")


# --------------------------------------------------------------------------- building


def build(cls: type, raw: Any, where: str = "") -> Any:
    """Build dataclass ``cls`` from a mapping, naming the dotted key of any error."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {_show(raw)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        key = _join(where, str(unknown[0]))
        raise ConfigError(f"unknown config key {key!r}; valid keys here: {', '.join(fields)}")
    kwargs = {}
    for name, value in raw.items():
        kwargs[name] = _coerce(hints[name], value, _join(where, name))
    missing = [
        n
        for n, f in fields.items()
        if n not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"missing config key {_join(where, missing[0])!r}")
    return cls(**kwargs)


def _coerce(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(arg, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0])
    if origin is Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise ConfigError(f"{where}: expected one of {choices}, got {_show(value)}")
        return value
    if origin is tuple:
        if isinstance(value, str | Mapping) or not isinstance(value, Iterable):
            raise ConfigError(f"{where}: expected a list, got {_show(value)}")
        item_tp = args[0]
        return tuple(_coerce(item_tp, v, f"{where}.{i}") for i, v in enumerate(value))
    if dataclasses.is_dataclass(tp):
        if tp is ObjectiveConfig and isinstance(value, str):
            value = {"name": value}  # shorthand: `objectives: [error, latency]`
        return build(tp, value, where)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {_show(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {_show(value)}")
        return value
    if tp is float:
        if isinstance(value, str):  # YAML 1.1 reads "1e-3" as a string; accept it as a number
            with contextlib.suppress(ValueError):
                value = float(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {_show(value)}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {_show(value)}")
        return value
    if tp is Any:
        return value
    raise TypeError(f"config type {tp!r} at {where} is not supported")  # a bug, not user input


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --------------------------------------------------------------------------- overrides


def apply_overrides(raw: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Return a copy of ``raw`` with each ``a.b=c`` applied (``c`` parsed as YAML)."""
    result = _deepcopy(raw)
    for item in overrides:
        path, sep, text = item.partition("=")
        if not sep or not path.strip():
            raise ConfigError(f"override {item!r}: expected the form key.subkey=value")
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError as exc:
            raise ConfigError(f"override {item!r}: value is not valid YAML ({exc})") from None
        _check_size(value, f"override {path.strip()}")
        node: Any = result
        keys = path.strip().split(".")
        for depth, key in enumerate(keys):
            last = depth == len(keys) - 1
            if isinstance(node, list):
                if not key.isdigit() or int(key) >= len(node):
                    raise ConfigError(
                        f"override {item!r}: {'.'.join(keys[:depth])} has no item {key}"
                    )
                idx = int(key)
                if last:
                    node[idx] = value
                else:
                    if isinstance(node[idx], str):
                        node[idx] = {"name": node[idx]}
                    node = node[idx]
            else:
                if last:
                    node[key] = value
                else:
                    node = node.setdefault(key, {})
                    if not isinstance(node, dict | list):
                        raise ConfigError(
                            f"override {item!r}: {'.'.join(keys[: depth + 1])} is not a section"
                        )
    return result


def _deepcopy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deepcopy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deepcopy(v) for v in value]
    return value


# --------------------------------------------------------------------------- entry points


def load_config(path: str | Path | None = None, overrides: Iterable[str] = ()) -> Config:
    """Read a YAML file (or start from defaults), apply overrides, build the Config."""
    raw: Any = {}
    if path is not None:
        p = Path(path)
        if p.is_dir():
            raise ConfigError(f"config file {str(p)!r} is a directory; expected a YAML file")
        if not p.is_file():
            raise ConfigError(f"config file {str(p)!r} not found; expected a YAML file")
        size = p.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"config file {str(p)!r} is {size:,} bytes; expected a YAML config of at most "
                f"{MAX_CONFIG_BYTES:,} bytes"
            )
        try:
            raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except UnicodeDecodeError:
            raise ConfigError(f"config file {str(p)!r} is not UTF-8 text; expected YAML") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1}" if mark else ""
            raise ConfigError(f"config file {str(p)!r} is not valid YAML{at}") from None
        _check_size(raw, f"config file {str(p)!r}")
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {str(path)!r}: expected a mapping at the top level")
    return config_from(raw, overrides)


def config_from(raw: dict[str, Any], overrides: Iterable[str] = ()) -> Config:
    """A Config from a plain mapping (a parsed YAML file, a notebook's dict) + overrides.

    Overrides land on the defaults merged with the mapping, so `objectives.0.constraint=...`
    works even when the mapping does not spell the objectives out."""
    return build(Config, apply_overrides(_merge(to_dict(Config()), raw), overrides))


MAX_CONFIG_NODES = 100_000
MAX_CONFIG_BYTES = 1_000_000  # a config is a page of YAML; 1 MB parses in well under a second


def _check_size(raw: Any, where: str) -> None:
    """Refuse a config whose aliases expand past ``MAX_CONFIG_NODES`` values (a YAML
    'billion laughs' bomb: a few lines that expand until memory runs out). The walk
    stops as soon as the bound is passed, so it costs at most that many steps."""
    count = 0
    stack = [raw]
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_CONFIG_NODES:
            raise ConfigError(
                f"{where} expands to more than {MAX_CONFIG_NODES:,} values "
                "(YAML aliases?); expected a config of ordinary size"
            )
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _merge(base: Any, top: Any) -> Any:
    if isinstance(base, dict) and isinstance(top, dict):
        return {**base, **{k: _merge(base.get(k), v) for k, v in top.items()}}
    return top


def to_dict(cfg: Any) -> Any:
    """The plain-data form of a config (for YAML dumps and the run store)."""
    if dataclasses.is_dataclass(cfg):
        return {f.name: to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, tuple):
        return [to_dict(v) for v in cfg]
    return cfg

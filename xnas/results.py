"""What crosses process boundaries: one task in, one result out (plain frozen data).

Dependency-free on purpose (no torch, pymoo or scipy): the run store, the reports and
``xnas status`` read results without importing the evaluation stack. A result's status
is made by one of its named constructors (``EvalResult.failed``, ``rejected``,
``reused``, ``as_partial``) or by an evaluator as ``ok``/``stopped``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from xnas.config import DataConfig, MeasureConfig, SpaceConfig, TrainConfig

# rejected: a static objective broke its budget (constraint), so nothing was trained;
# partial: multi-fidelity training ended at a lower rung (not promoted), values measured
# there, never the full budget's
# "screened": static values only (a proxy-assisted search's untrained candidates; kept
# in the store's ``screened`` table, never among the evaluations)
Status = Literal["ok", "stopped", "failed", "rejected", "partial", "screened"]


# Why an evaluation failed: the genome's own fault (an exception while evaluating it, a value
# that breaks a run invariant) or the machine's (a timeout, a worker that died, a result lost
# in transport). ``xnas resume --retry-failed`` re-runs chosen kinds on purpose.
FailureKind = Literal["exception", "invalid", "timeout", "worker-died", "transport"]
FAILURE_KINDS: tuple[FailureKind, ...] = (
    "exception",
    "invalid",
    "timeout",
    "worker-died",
    "transport",
)
MACHINE_FAILURES: tuple[FailureKind, ...] = ("timeout", "worker-died", "transport")


def failure_kind(result: EvalResult) -> FailureKind | None:
    """A failed result's kind: its ``failure`` field, or for stores written before that
    field existed, read off its reason."""
    if result.status != "failed":
        return None
    if result.failure in FAILURE_KINDS:
        return result.failure
    error = result.error or ""
    if error.startswith("timed out after"):
        return "timeout"
    if error.startswith("worker died"):
        return "worker-died"
    if error.startswith("non-finite") or error.startswith("energy came from"):
        return "invalid"
    return "exception"


# How a stored objective value was obtained, as a typed field of its measurement record:
# measured on the evaluating device (validation error, captum introspection, timed latency,
# an energy counter), counted exactly (params, FLOPs), modelled (energy without a counter),
# predicted (a latency LUT), extrapolated (learning-curve stop rule), read from a table, or
# a proxy (a zero-cost score of the untrained network: never a trained value).
Provenance = Literal[
    "measured", "counted", "modelled", "predicted", "extrapolated", "tabular", "proxy"
]
PROVENANCES: tuple[Provenance, ...] = (
    "measured",
    "counted",
    "modelled",
    "predicted",
    "extrapolated",
    "tabular",
    "proxy",
)


def provenance(how: dict[str, Any] | None) -> Provenance:
    """The provenance of one measurement record: its ``provenance`` field, stamped by the
    evaluator; for stores written before that field existed, inferred from the record."""
    how = how or {}
    stamped = how.get("provenance")
    if stamped in PROVENANCES:
        return stamped
    method = str(how.get("method", ""))
    if method == "tabular":
        return "tabular"
    if method == "extrapolated" or how.get("predicted") is True:
        return "extrapolated"
    if method == "predicted":
        return "predicted"
    if how.get("energy_source") == "model" or method.startswith("modelled"):
        return "modelled"
    if method == "counted" or "flop_counter" in method:
        return "counted"
    return "measured"


@dataclass(frozen=True)
class StopRule:
    """The learning-curve stop rule's settings and the driver's front snapshot
    (``xnas.evaluate.stoprule`` applies it)."""

    names: tuple[str, ...]  # objective order of the front vectors
    front: tuple[tuple[float, ...], ...]  # current front, minimisation form
    min_epochs: int = 3
    quantile: float = 0.99  # two-sided coverage of the calibrated band


@dataclass(frozen=True)
class RungSpec:
    """Multi-fidelity (``cost.fidelity``): train rung ``rung`` of a schedule spanning
    ``schedule_epochs``, continuing the checkpoint ``resume_from`` (the rung before's) and,
    below the last rung, writing this rung's own to ``checkpoint_to``."""

    rung: int
    schedule_epochs: int
    resume_from: str | None = None
    checkpoint_to: str | None = None


@dataclass(frozen=True)
class EvalTask:
    """Everything a worker needs to evaluate one genome; every file and folder in it was
    chosen by the driver (``store.RunDir``): a worker only names its own inflight marker
    inside the folder it is given."""

    key: str
    genome: tuple[int, ...]
    space: SpaceConfig
    data: DataConfig
    train: TrainConfig
    measure: MeasureConfig
    objectives: tuple[str, ...]
    seed: int
    epochs: int
    weights_to: str | None = None  # file to save the trained weights to (None: don't)
    # the run's ``inflight`` folder: the worker leaves a marker naming the key there while
    # it evaluates, so a job killed outright tells the next driver what was running
    inflight: str | None = None
    donor_key: str | None = None
    donor_weights: str | None = None  # state-dict file of the donor (weight inheritance)
    stop: StopRule | None = None  # learning-curve stop rule with the driver's front snapshot
    # an inheriting child's donor curve: the stop rule reads the child's curve as its
    # continuation, so a child trained fewer epochs than min_epochs can still be stopped
    prior_curve: tuple[float, ...] = ()
    # a functionally equivalent genome's evaluation (space.equivalence): no training; the
    # static objectives are computed for this genome, the trained ones are that result's
    reuse: EvalResult | None = None
    # (objective, "<=" | ">=", bound) of the static objectives' budgets: a genome that
    # breaks one is rejected before training, with the static values it has
    budgets: tuple[tuple[str, str, float], ...] = ()
    fidelity: RungSpec | None = None  # multi-fidelity rung (None: the full budget at once)
    # screening (proxy-assisted search): build and compute the static objectives only,
    # nothing trained; the result's status is "screened"
    screen: bool = False

    @property
    def rung(self) -> int | None:
        return None if self.fidelity is None else self.fidelity.rung


@dataclass(frozen=True)
class EvalResult:
    key: str
    genome: tuple[int, ...]
    status: Status
    objectives: dict[str, float]  # raw values, each in its own sense (see objectives.base)
    measurements: dict[str, dict[str, Any]]  # how each value was obtained
    curve: tuple[float, ...] = ()  # validation accuracy after every epoch
    train_loss: tuple[float, ...] = ()
    epochs: int = 0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase
    error: str | None = None  # reason and traceback when status == "failed"
    rank: int = 0
    host: str = ""
    device: str = ""
    weights_path: str | None = None
    donor_key: str | None = None
    inherited_fraction: float = 0.0
    reused_from: str | None = None  # the evaluated key whose trained values this reuses
    # multi-fidelity: {"rung", "epochs", "full_epochs"} these values were measured at
    # (None without cost.fidelity)
    fidelity: dict[str, Any] | None = None
    failure: FailureKind | None = None  # a failed result's kind (failure_kind)

    def __post_init__(self) -> None:
        # every value's record carries its provenance, whichever code path produced it
        for name in self.objectives:
            how = self.measurements.get(name)
            if isinstance(how, dict) and "provenance" not in how:
                how["provenance"] = provenance(how)

    def provenance(self, name: str) -> Provenance:
        return provenance(self.measurements.get(name))

    @property
    def rung(self) -> int | None:
        return None if self.fidelity is None else int(self.fidelity["rung"])

    @property
    def has_values(self) -> bool:
        """Every objective has a value (not failed, not rejected before training)."""
        return self.status in ("ok", "stopped", "partial")

    # ----------------------------------------------------------- named constructors
    @classmethod
    def failed(
        cls, task: EvalTask, error: str, kind: FailureKind = "exception", **fields: Any
    ) -> EvalResult:
        """An evaluation that went wrong: its kind, the reason (and traceback), no values."""
        return cls(
            key=task.key,
            genome=task.genome,
            status="failed",
            objectives={},
            measurements={},
            error=error,
            donor_key=task.donor_key,
            fidelity=fidelity_of(task),
            failure=kind,
            **fields,
        )

    @classmethod
    def rejected(
        cls, task: EvalTask, values: dict[str, float], how: dict[str, dict], broken: list[str]
    ) -> EvalResult:
        """A static objective broke its budget: nothing was trained; the static values
        it has are kept (they say by how much)."""
        return cls(
            key=task.key,
            genome=task.genome,
            status="rejected",
            objectives=values,
            measurements=how,
            error="rejected before training: " + "; ".join(broken),
            donor_key=task.donor_key,
            fidelity=fidelity_of(task),
        )

    @classmethod
    def screened(cls, task: EvalTask, values: dict[str, float], how: dict[str, dict]) -> EvalResult:
        """A screening (``task.screen``): the static objectives of the untrained network."""
        return cls(
            key=task.key, genome=task.genome, status="screened", objectives=values, measurements=how
        )

    @classmethod
    def reused(
        cls,
        task: EvalTask,
        static: dict[str, float],
        static_how: dict[str, dict],
        copied: set[str],
    ) -> EvalResult:
        """A reuse (``task.reuse`` is set): this genome's ``static`` objective values with
        the evaluated equivalent's values for the ``copied`` objectives (trained ones and
        per-class ones, ``objectives.copied_on_reuse``), which say where they came from.
        Nothing was trained, so no curve, epochs or weights of its own."""
        source = task.reuse
        assert source is not None
        values, how = dict(static), dict(static_how)
        for name in task.objectives:
            if name in copied:
                values[name] = source.objectives[name]
                how[name] = {**source.measurements.get(name, {}), "reused_from": source.key}
        return cls(
            key=task.key,
            genome=task.genome,
            status=source.status,
            objectives=values,
            measurements=how,
            reused_from=source.key,
        )

    def as_partial(self) -> EvalResult:
        """This rung result as its candidate's final one: halted at a lower rung, so its
        values are the rung's, never the full budget's."""
        return replace(self, status="partial")


def broken_budgets(budgets, values: dict[str, float]) -> list[str]:
    """Each budget in ``budgets`` that ``values`` break, as 'name value op bound'."""
    return [
        f"{name} {values[name]:.6g} breaks {op} {bound:g}"
        for name, op, bound in budgets
        if name in values and (values[name] > bound if op == "<=" else values[name] < bound)
    ]


def fidelity_of(task: EvalTask) -> dict[str, Any] | None:
    """The fidelity record of a multi-fidelity task's result (None otherwise)."""
    if task.fidelity is None:
        return None
    return {
        "rung": task.fidelity.rung,
        "epochs": task.epochs,
        "full_epochs": task.fidelity.schedule_epochs,
    }

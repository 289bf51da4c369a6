"""``run_search``: preflight -> store -> strategy -> the loop -> the outcome.

Called by every process of an MPI job: rank 0 drives and returns the outcome, the
evaluator ranks serve evaluations until the search ends and return None.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from xnas.config import Config, to_dict
from xnas.driver.callbacks import Callback, Callbacks
from xnas.driver.checks import preflight
from xnas.driver.generational import Generational
from xnas.driver.loop import drive
from xnas.driver.policy import Search, Work
from xnas.driver.quiet import quiet_latency
from xnas.driver.resume import check_kinds, retire_failed, stored_config, versions
from xnas.driver.screen import ProxyFilter, Screener, warm_start
from xnas.driver.state import RunState
from xnas.driver.steady import SteadyState
from xnas.driver.tasks import TaskFactory
from xnas.errors import ConfigError, XnasError
from xnas.parallel import open_executor
from xnas.results import EvalResult, EvalTask
from xnas.store import RunStore
from xnas.strategy import STRATEGIES


@dataclass(frozen=True)
class SearchOutcome:
    """How a search ended, on the driver."""

    run_dir: Path
    front: tuple[str, ...]  # the feasible non-dominated keys, sorted
    hypervolume: float
    stopped_by: str  # the criterion or callback that stopped it
    evaluations: int  # stored results of the whole run
    failed: int  # of which failed
    writes: int = 0  # results and generations this call stored (0: nothing left to do)


def run_search(
    cfg: Config | None,
    run_dir: str | Path,
    *,
    resume: bool = False,
    evaluate_fn: Callable[[EvalTask], EvalResult] | None = None,
    callbacks: Iterable[Callback] = (),
    allow_version_change: bool = False,
    retry_failed: Iterable[str] = (),
    budget: Iterable[str] = (),
) -> SearchOutcome | None:
    """Run (or, with ``resume``, continue) a search in ``run_dir``.

    ``evaluate_fn`` replaces the configured evaluator (tests inject faults with it);
    ``callbacks`` are notified on the driver and can stop the run (``driver.callbacks``);
    ``retry_failed`` (a resume) evaluates again the stored failures of those kinds
    (``results.FAILURE_KINDS``, e.g. timeout and worker-died), first; ``budget`` (a resume)
    sets ``search.generations``, ``max_evaluations`` or ``max_wall_time`` anew.
    """
    retry = check_kinds(retry_failed)
    if retry and not resume:
        raise ConfigError("retry_failed: a new run has no failures to retry; expected a resume")
    budget = list(budget)
    if budget and not resume:
        raise ConfigError("budget: a new run takes its budget from its config")
    if resume:
        cfg = stored_config(run_dir, allow_version_change, budget)
    assert cfg is not None
    checked = preflight(cfg)  # bad input leaves nothing behind
    names, constraints = list(checked.names), list(checked.constraints)
    with open_executor(cfg.parallel) as executor:
        if executor is None:
            return None  # an evaluator rank: its work is done
        store = (
            RunStore.open(run_dir, write=True)
            if resume
            else RunStore.create(run_dir, to_dict(cfg), versions())
        )
        try:
            if budget:  # the run's config says the budget it runs under now
                store.set_meta("config", to_dict(cfg))
            again = retire_failed(store, retry)
            notify = Callbacks(callbacks)
            state = RunState(
                store,
                checked.space,
                names,
                constraints,
                reuse_equivalent=cfg.search.reuse_equivalent,
                on_done=notify.on_done,
                declared_reference=cfg.search.hv_reference,
            )
            strategy = STRATEGIES.get(cfg.search.strategy)(
                checked.space,
                len(names),
                1 + len(constraints),
                cfg.search.population,
                cfg.search.seed,
            )
            if hasattr(strategy, "set_static"):  # strategies that model objectives
                strategy.set_static(checked.evaluator.static(cfg, checked.space, names))
            search = Search(
                cfg,
                checked.space,
                checked.names,
                state,
                TaskFactory(cfg, checked.space, store.dir, constraints),
                strategy,
                checked.evaluator,
                executor,
                evaluate_fn or checked.evaluator,
                notify,
            )
            policy = (SteadyState if cfg.search.mode == "steady_state" else Generational)(search)
            if cfg.search.proxy is not None:  # proxy-assisted search (driver.screen)
                screener = Screener(search)
                policy.screener = screener
                if cfg.search.proxy_warm_start > 1:
                    strategy.warm_start(warm_start(search, screener))
                if cfg.search.proxy_filter > 1:
                    policy.filter = ProxyFilter(search, screener)
            policy.retry([Work(genome, key, gen) for genome, key, gen in again])
            drive(search, policy)
            state.tidy()
            if state.writes:  # a search that ran: its front's latencies, measured quietly
                quiet_latency(search, state.front()[0])
            stopped_by = policy.stopped_by or "nothing left to ask"
            if state.writes:  # a resume with nothing left to do leaves the store as it was
                store.set_meta("stopped_by", stopped_by)
            front, hv = state.front()
            failed = sum(r.result.status == "failed" for r in state.rows.values())
            return SearchOutcome(
                Path(run_dir), tuple(front), hv, stopped_by, len(state), failed, state.writes
            )
        except XnasError:
            # bad input found only now (the first task): a store created here that holds
            # nothing is removed, so the corrected command can run in the same directory
            store.discard()
            raise
        finally:
            store.close()

"""Every check of a search's config, made once, before anything is stored: bad input
is one line (an ``XnasError``, exit 2 from the CLI) and leaves no run directory behind.

``check_config`` needs nothing but the config (space, objectives and budgets, strategy,
cost settings, the latency table); ``preflight`` adds what the evaluator must find on
this machine (a device, a dataset that loads, a table with the columns).
"""

from __future__ import annotations

from dataclasses import dataclass

from xnas.config import Config
from xnas.errors import ConfigError
from xnas.evaluate.base import Evaluator, evaluator_for
from xnas.objectives import OBJECTIVES
from xnas.space import SearchSpace, get_space
from xnas.strategy import STRATEGIES
from xnas.summary import Constraint, constraints_of, search_objectives


@dataclass(frozen=True)
class Checked:
    """What the checks derived from the config (computed once, used by the run)."""

    space: SearchSpace
    names: tuple[str, ...]  # the searched objectives
    constraints: tuple[Constraint, ...]
    evaluator: Evaluator


def check_config(cfg: Config) -> Checked:
    """Everything about ``cfg`` that can be refused without looking at this machine."""
    space = get_space(cfg.space)
    names = search_objectives(cfg)
    constraints = constraints_of(cfg)
    evaluator = evaluator_for(cfg)
    check_cost(cfg, names, evaluator)
    check_latency_table(cfg)
    check_strategy(cfg)
    check_proxy(cfg)
    if cfg.data.split != "search":  # a search scored on test would select on it
        raise ConfigError(
            "data.split is 'final' in a search config: the held-out test split is for "
            "`xnas retrain` only; expected data.split: search"
        )
    if cfg.search.hv_reference is not None and len(cfg.search.hv_reference) != len(names):
        raise ConfigError(
            f"search.hv_reference has {len(cfg.search.hv_reference)} values; expected one per "
            f"searched objective ({', '.join(names)})"
        )
    return Checked(space, tuple(names), tuple(constraints), evaluator)


def preflight(cfg: Config) -> Checked:
    """``check_config``, then the evaluator's own checks (device, dataset, table)."""
    checked = check_config(cfg)
    names = list(checked.names)
    checked.evaluator.check(cfg, list(dict.fromkeys([*names, *screen_names(cfg, names)])))
    return checked


def screen_names(cfg: Config, names: list[str]) -> list[str]:
    """What a proxy-assisted search screens untrained genomes on: the proxy, then the
    searched objectives known before training (params, FLOPs, latency, ...); [] if off."""
    if cfg.search.proxy is None:
        return []
    static = [n for n in names if OBJECTIVES.get(n).stage == "static" and n != cfg.search.proxy]
    return [cfg.search.proxy, *static]


def check_proxy(cfg: Config) -> None:
    name = cfg.search.proxy
    if name is None:
        return
    obj = OBJECTIVES.get(name)
    if obj.provenance != "proxy" or obj.stage != "static":
        proxies = [n for n in OBJECTIVES.names() if OBJECTIVES.get(n).provenance == "proxy"]
        raise ConfigError(
            f"search.proxy: {name!r} is not a zero-cost proxy; expected one of {', '.join(proxies)}"
        )


def check_strategy(cfg: Config) -> None:
    strategy = STRATEGIES.get(cfg.search.strategy)
    if cfg.cost.inherit and cfg.cost.donor == "parent" and not strategy.keeps_lineage:
        keeping = [n for n in STRATEGIES.names() if STRATEGIES.get(n).keeps_lineage]
        raise ConfigError(
            f"cost.donor: parent needs a strategy that records each child's parent; "
            f"{cfg.search.strategy!r} does not (its children mix parents); expected "
            f"cost.donor: nearest, or search.strategy one of: {', '.join(keeping)}"
        )


def check_cost(cfg: Config, names: list[str], evaluator: Evaluator | None = None) -> None:
    """Refuse cost settings that cannot work."""
    evaluator = evaluator or evaluator_for(cfg)
    if cfg.cost.fidelity:
        if cfg.cost.extrapolate:
            raise ConfigError(
                "cost.fidelity with cost.extrapolate: both end trainings early and the stop "
                "rule's front would mix rung values; expected one of them"
            )
        if cfg.search.mode != "generational":
            raise ConfigError(
                "cost.fidelity: rungs are decided per generation; expected "
                "search.mode: generational"
            )
        if not evaluator.trains:
            raise ConfigError(
                f"cost.fidelity: the {cfg.evaluator.name} evaluator trains nothing, so it has "
                "no epochs to halve (a table has no epochs); expected evaluator.name: train"
            )
    if not cfg.cost.extrapolate:
        return
    if "error" not in names:
        raise ConfigError(
            "cost.extrapolate: the stop rule bounds the error's learning curve; expected "
            "'error' among the searched objectives"
        )
    trained = [n for n in names if n != "error" and OBJECTIVES.get(n).stage == "trained"]
    if trained:
        raise ConfigError(
            f"cost.extrapolate: {trained[0]} is only known after training and has no bound "
            "a front could dominate, so the stop rule would never fire; set "
            "cost.extrapolate: false or search without it"
        )


def check_latency_table(cfg: Config) -> None:
    """``latency_predicted`` needs a readable LUT of this space (the input shape is
    checked when the first genome is scored)."""
    if not any(o.name == "latency_predicted" for o in cfg.objectives):
        return
    if not cfg.measure.latency_table:
        raise ConfigError(
            "objective latency_predicted needs measure.latency_table: expected the path of "
            "a LUT written by `xnas latency-table`"
        )
    from xnas.objectives.lut import load_table

    load_table(cfg.measure.latency_table, cfg.space)

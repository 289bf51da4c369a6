"""Retrain a run's final networks on train + validation and score them on a held-out test
split (``data.split: final``), so what a study reports was not also what selected it.

A search selects on the validation split; a value read off that split for a network the
search chose is optimistic (the winner's curse). Here each chosen network (by default the
feasible full-budget front of the run's searched objectives, or the front of the objectives
given) is trained again from scratch, with the run's training recipe and a fresh seed, on
the samples the search trained *and* validated on, and every objective of the run is
measured on the test split. Networks of one functional class (``space.equivalence``)
compute the same function, so a class is trained once, as its first chosen member, and its
other members are reported with that training. The results go into the run's store (table
``final``, one row per trained key and repeat), a later call trains only what is missing,
and the search's own results are not touched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from xnas.config import Config, build, config_from, to_dict
from xnas.errors import ConfigError
from xnas.results import EvalResult
from xnas.store import RunStore
from xnas.summary import constraints_of, feasible_front, search_objectives

# the final split; and the last epoch's weights, since "best" would pick an epoch on test
FINAL_OVERRIDES = ("data.split=final", "train.checkpoint=last")


@dataclass(frozen=True)
class Retrained:
    """One network scored on the held-out test split beside its search-time values."""

    key: str
    repeat: int
    search: EvalResult  # as the search stored it (validation values)
    final: EvalResult  # trained on train + validation, scored on test
    trained_as: str  # the member of its functional class that was trained (itself, or not)


def final_config(cfg: Config, overrides: Iterable[str] = ()) -> Config:
    """The run's config under ``data.split: final`` (its recipe otherwise unchanged). An
    override may not touch the data the search split (only ``data.test_size``): the test
    split must be the one the search held out, or its scores would be on searched data."""
    final = config_from(to_dict(cfg), [*overrides, *FINAL_OVERRIDES])
    if final.data != replace(cfg.data, split="final", test_size=final.data.test_size):
        raise ConfigError(
            "retrain --set: the data settings must stay the search's (only data.test_size "
            "may change), so that the test split is the one the search never saw"
        )
    return final


def front_keys(rows, cfg: Config, objectives: list[str] | None = None) -> list[str]:
    """Keys of the feasible full-budget non-dominated results over ``objectives`` (default:
    the searched ones), in stored order; partial results never enter (``full_budget``)."""
    names = objectives or search_objectives(cfg)
    recorded = [o.name for o in cfg.objectives]
    unknown = [n for n in names if n not in recorded]
    if unknown:
        raise ConfigError(
            f"front of {', '.join(unknown)}: not an objective of this run; expected some of "
            f"{', '.join(recorded)}"
        )
    ok, _, idx = feasible_front(list(rows), names, constraints_of(cfg))
    return [ok[i].key for i in sorted(idx)]


def retrain(
    run_dir: str | Path,
    keys: Iterable[str] | None = None,
    *,
    objectives: list[str] | None = None,
    repeats: int = 1,
    overrides: Iterable[str] = (),
    progress: Callable[[Retrained], None] | None = None,
) -> list[Retrained]:
    """Retrain ``keys`` (default: the front of ``objectives``) ``repeats`` times each and
    store the test-split results; returns every stored (key, repeat) asked for. Bad input
    (a key not in the run, a dataset without a held-out test split) raises before anything
    is trained or stored."""
    from xnas.data import cached_dataset
    from xnas.driver import make_task
    from xnas.driver.tasks import derive_seed
    from xnas.evaluate import evaluator_for
    from xnas.parallel import call_task
    from xnas.space import get_space

    if repeats < 1:
        raise ConfigError(f"--repeats {repeats}: expected at least 1")
    with RunStore.open(run_dir) as store:
        cfg = build(Config, store.meta("config"))
        rows = list(store.results())
    by_key = {r.key: r for _, _, r in rows}
    chosen = list(keys) if keys is not None else front_keys(rows, cfg, objectives)
    missing = [k for k in chosen if k not in by_key]
    if missing:
        raise ConfigError(f"{missing[0]!r} is not in {run_dir}; expected a key from `xnas table`")
    final = final_config(cfg, overrides)
    cached_dataset(final.data)  # no held-out test split: one line, exit 2, nothing stored
    space = get_space(final.space)
    names = tuple(o.name for o in final.objectives)
    evaluator = evaluator_for(final)
    evaluator.check(final, list(names))
    if final.parallel.threads_per_rank is not None:  # the recipe's threads, as in the search
        from xnas.parallel.launch import set_threads

        set_threads(final.parallel.threads_per_rank)
    out = []
    with RunStore.open(run_dir, write=True) as store:
        done = store.finals()
        trained: dict[str, str] = {}  # functional class -> its trained member
        for k, _ in done:
            trained.setdefault(space.equivalence(by_key[k].genome), k)
        for key in chosen:
            cls = space.equivalence(by_key[key].genome)
            rep = trained.setdefault(cls, key)
            for repeat in range(repeats):
                result = done.get((rep, repeat))
                if result is None or result.status == "failed":  # a failure is tried again
                    task = make_task(final, space, by_key[rep].genome)
                    # a fresh training: not the search's seed for this key
                    task = replace(task, seed=derive_seed(cfg.search.seed, f"{rep}/final/{repeat}"))
                    result = call_task(evaluator, task)
                    store.add_final(result, repeat, replace=(rep, repeat) in done)
                    done[(rep, repeat)] = result
                item = Retrained(key, repeat, by_key[key], result, rep)
                out.append(item)
                if progress is not None:
                    progress(item)
    return out

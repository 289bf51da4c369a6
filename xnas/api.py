"""The Python API a notebook uses; the CLI goes through the same functions.

import xnas
cfg = xnas.load_config("experiments/demo/config.yaml", {"search.generations": 2})
run = xnas.search(cfg, "runs/nb")          # or xnas.search("config.yaml", "runs/nb")
run = xnas.open_run("runs/nb")             # any run directory, finished or not
run.front_frame(); run.frame(); run.plot(); print(run.table("cost"))

Callbacks are objects (``xnas.Callback``: ``on_launch``, ``on_done``,
``on_generation``, and ``stop(reason)`` to end the run at its next safe point); a plain
function is accepted as ``on_generation=``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from xnas.config import Config, config_from, to_dict
from xnas.config import load_config as _load_yaml
from xnas.driver.callbacks import Callback, FunctionCallback, GenerationSummary
from xnas.report.view import RunView, open_run


def _overrides(overrides: Mapping[str, Any] | Iterable[str] | None) -> list[str]:
    """``{"train.epochs": 2}`` or ``["train.epochs=2"]`` as the CLI's ``--set`` strings."""
    if overrides is None:
        return []
    if isinstance(overrides, Mapping):
        import yaml

        return [
            f"{k}={yaml.safe_dump(v, default_flow_style=True).strip()}"
            for k, v in overrides.items()
        ]
    return list(overrides)


def load_config(
    source: Config | Mapping | str | Path | None = None,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
) -> Config:
    """A validated Config from a YAML file, a plain mapping, a Config, or the defaults,
    with ``overrides`` applied (the same rules and errors as ``--set``)."""
    sets = _overrides(overrides)
    if source is None or isinstance(source, (str, Path)):
        return _load_yaml(source, sets)
    return config_from(to_dict(source) if isinstance(source, Config) else dict(source), sets)


class ProgressBar(Callback):
    """A progress bar over generations (tqdm.auto: a widget in notebooks, text on a
    terminal) showing the front and the time to go: the API's default."""

    def __init__(self, total: int | None) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, unit="gen", desc="xnas search", leave=True)

    def on_generation(self, summary: GenerationSummary) -> None:
        from xnas.driver.callbacks import duration

        eta = duration(summary.eta) if summary.eta is not None else "?"
        self.bar.set_postfix_str(
            f"front {summary.front_size}, hv {summary.hypervolume:.4g}, {eta} to go",
            refresh=False,
        )
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def _callbacks(
    callbacks: Iterable[Callback],
    on_generation: Callable[[GenerationSummary], None] | None,
    bar: ProgressBar | None,
) -> list[Callback]:
    out = list(callbacks)
    if on_generation is not None:
        out.append(FunctionCallback(on_generation=on_generation))
    if bar is not None:
        out.append(bar)
    return out


def default_run_dir(cfg: Config) -> str:
    """``runs/<data>-<space>-<time>``: where a search goes when no directory is named."""
    import time

    return f"runs/{cfg.data.name}-{cfg.space.name}-{time.strftime('%Y%m%d-%H%M%S')}"


def search(
    source: Config | Mapping | str | Path,
    run_dir: str | Path | None = None,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    *,
    callbacks: Iterable[Callback] = (),
    on_generation: Callable[[GenerationSummary], None] | None = None,
    progress: bool = True,
) -> RunView | None:
    """Run a search (serially, or as one rank of an MPI job) and return its RunView;
    ``None`` on an MPI evaluator rank. ``run_dir`` defaults to runs/<data>-<space>-<time>;
    ``progress`` shows a bar over generations (``xnas.driver`` logs the same lines, and
    ``xnas.driver.evaluations`` one per evaluation, for ``logging`` users)."""
    from xnas.driver import run_search

    cfg = load_config(source, overrides)
    run_dir = run_dir or default_run_dir(cfg)
    bar = ProgressBar(cfg.search.generations) if progress else None
    try:
        outcome = run_search(cfg, run_dir, callbacks=_callbacks(callbacks, on_generation, bar))
    finally:
        if bar is not None:
            bar.close()
    return None if outcome is None else open_run(run_dir)


def resume(
    run_dir: str | Path,
    *,
    callbacks: Iterable[Callback] = (),
    on_generation: Callable[[GenerationSummary], None] | None = None,
    allow_version_change: bool = False,
    retry_failed: Iterable[str] = (),
    budget: Mapping[str, Any] | Iterable[str] | None = None,
    progress: bool = True,
) -> RunView | None:
    """Continue a stored search from its last committed generation (nothing stored is
    re-run). ``allow_version_change`` resumes although library versions differ from the
    run's; the replay is still checked genome by genome against the stored generations.
    ``retry_failed`` re-runs the stored failures of those kinds first (e.g. ``("timeout",
    "worker-died")``: the machine's fault, not the genome's); the failed rows are kept.
    ``budget`` sets search.generations, max_evaluations or max_wall_time anew
    (``{"search.generations": 12}`` continues a finished run)."""
    from xnas.driver import run_search

    bar = ProgressBar(None) if progress else None
    try:
        outcome = run_search(
            None,
            run_dir,
            resume=True,
            callbacks=_callbacks(callbacks, on_generation, bar),
            allow_version_change=allow_version_change,
            retry_failed=retry_failed,
            budget=_overrides(budget),
        )
    finally:
        if bar is not None:
            bar.close()
    return None if outcome is None else open_run(run_dir)


__all__ = [
    "Callback",
    "GenerationSummary",
    "ProgressBar",
    "RunView",
    "default_run_dir",
    "load_config",
    "open_run",
    "resume",
    "search",
]

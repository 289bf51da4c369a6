"""``xnas status``: progress, failures, front and hypervolume of a run (read-only)."""

from __future__ import annotations

from pathlib import Path

from xnas.report.view import RunView, open_run


def search_status(run: RunView | str | Path) -> dict:
    view = run if isinstance(run, RunView) else open_run(run)
    last = view.generations[-1] if view.generations else None
    return {
        "generations_done": 0 if last is None else last.generation + 1,
        "generations": view.cfg.search.generations,
        "evaluations": view.count(),
        "failed": view.count("failed"),
        "rejected_before_training": view.count("rejected"),
        "stopped_early": view.count("stopped"),
        "halted_at_a_rung": view.count("partial"),
        "epoch_equivalents": sum(r.epochs for r in view.results),
        "objectives": list(view.names),
        "front": list(view.front_keys),
        "hypervolume": view.hypervolume,
    }

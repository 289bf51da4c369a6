"""``xnas status``: progress, failures, front and hypervolume of a run (read-only)."""

from __future__ import annotations

from pathlib import Path

from xnas.report.data import RunData, as_data


def search_status(run: RunData | str | Path) -> dict:
    view = as_data(run)
    last = view.generations[-1] if view.generations else None
    return {
        "generations_done": 0 if last is None else last.generation + 1,
        "generations": view.cfg.search.generations,
        "evaluations": view.count(),
        "ok": view.count("ok"),
        "failed": view.count("failed"),
        "rejected_before_training": view.count("rejected"),
        "stopped_early": view.count("stopped"),
        "halted_at_a_rung": view.count("partial"),
        "epoch_equivalents": sum(r.epochs for r in view.results),
        "objectives": list(view.names),
        "front": list(view.front_keys),
        "hypervolume": view.hypervolume,  # raw, in the objectives' own units
        # the front's share of the box from the ideal point to the reference: in [0, 1]
        "hypervolume_normalized": view.hypervolume_normalized,
        "reference": None if view.reference is None else list(view.reference),
        "ideal": None if view.ideal is None else list(view.ideal),
        # why the search last stopped; None while it runs (or after a kill: resume goes on)
        "stopped_by": view.stopped_by,
        "writer": view.writer,  # the process searching it now, or None
        "last_activity": view.last_activity,  # when its latest result was stored
    }

"""Paper-style tables of a run: the Pareto set, the cost of the search, the short front
table the terminal ends with.

``pareto_table`` and ``cost_table`` take a ``RunData`` (or a run directory) and return
(headers, rows) of plain values; ``render`` writes them as Markdown, CSV or LaTeX
(booktabs). Objective headers carry their unit and the provenance of the values under
them ("energy (mJ, modelled)"), so a table never passes a modelled, predicted or
extrapolated value off as measured.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from xnas.config import Config
from xnas.errors import ConfigError
from xnas.objectives import OBJECTIVES
from xnas.report.data import RunData, as_data
from xnas.results import EvalResult

FORMATS = ("md", "csv", "latex")


# what a header says about the values under it, per provenance (measured/counted: nothing)
HEADER_NOTES = {
    "modelled": "modelled",
    "predicted": "predicted",
    "extrapolated": "some extrapolated",
    "tabular": "from table",
    "proxy": "proxy",
    "counted": None,  # exact: nothing to say
    "measured": None,
}


def objective_header(name: str, results: list[EvalResult]) -> str:
    obj = OBJECTIVES.get(name)
    notes = [obj.unit] if obj.unit else []
    kinds = {r.provenance(name) for r in results if name in r.objectives}
    notes += [HEADER_NOTES[k] for k in HEADER_NOTES if k in kinds and HEADER_NOTES[k]]
    if any(r.status == "partial" and "fidelity" in r.measurements.get(name, {}) for r in results):
        notes.append("some at a lower rung")
    return f"{name} ({', '.join(notes)})" if notes else name


Complexity = Callable[[EvalResult, Config], tuple[int, int]]


def pareto_table(
    run: RunData | str | Path, complexity: Complexity | None = None
) -> tuple[list[str], list[list]]:
    """The front, every recorded objective with its provenance. ``complexity(result,
    cfg) -> (params, FLOPs)`` adds those two where they are not objectives (counting needs
    the network: ``objectives.complexity.count_complexity``, torch); without it they are
    listed only as the objectives they are, so reading a run never imports torch."""
    view = as_data(run)
    cfg, names, results = view.cfg, list(view.recorded), view.front  # recorded ones too
    headers = ["key", *(objective_header(n, results) for n in names)]
    # params and FLOPs listed once: as objectives when they are, else counted if asked
    extra = [c for c in ("params", "flops") if c not in names] if complexity else []
    headers += [{"params": "params", "flops": "FLOPs (2 x MACs)"}[c] for c in extra]
    quiet = view.latency_quiet if "latency" in names else {}
    if quiet:  # the end-of-search re-measurement beside the search-time value
        headers.append("latency re-measured quietly (ms, median; load per core)")
    headers += ["status", "epochs", "donor"]
    rows = []
    for r in results:
        counted = dict(zip(("params", "flops"), complexity(r, cfg), strict=True)) if extra else {}
        rows.append(
            [
                r.key,
                *(r.objectives.get(n, "") for n in names),
                *(counted[c] for c in extra),
                *([_quiet(quiet.get(r.key))] if quiet else []),
                r.status,
                # a candidate halted at a rung says so: "1 of 9"
                f"{r.epochs} of {r.fidelity['full_epochs']}" if r.status == "partial" else r.epochs,
                r.donor_key or "",
            ]
        )
    return headers, rows


def cost_table(run: RunData | str | Path) -> tuple[list[str], list[list]]:
    """One row: what the search cost (device hours split by the device that evaluated)."""
    view = as_data(run)
    results = view.results
    rungs = [r for *_, r in view.rungs]  # multi-fidelity rungs below a final one
    generations = view.generations
    asked = sum(len(g.population) for g in generations)
    evaluated_in_gens = sum(g.counters.get("evaluated", 0) for g in generations)
    steady = any(g.strategy_state.get("mode") == "steady_state" for g in generations)
    seconds = {"cpu": 0.0, "gpu": 0.0}
    for r in results + rungs:
        seconds["gpu" if r.device.startswith("cuda") else "cpu"] += r.timings.get("total", 0.0)
    starts = [r.timings["started_at"] for r in results if "started_at" in r.timings]
    ends = [r.timings["finished_at"] for r in results if "finished_at" in r.timings]
    headers = [
        "evaluations",
        "reused",
        "failed",
        "stopped early",
        "halted at a rung",
        "inherited",
        "epoch-equivalents",
        "CPU hours",
        "GPU hours",
        "wall hours",
    ]
    row = [
        len(results),
        0 if steady else max(0, asked - evaluated_in_gens),
        sum(r.status == "failed" for r in results),
        sum(r.status == "stopped" for r in results),
        sum(r.status == "partial" for r in results),
        sum(bool(r.donor_key) for r in results),
        sum(r.epochs for r in results),
        round(seconds["cpu"] / 3600, 4),
        round(seconds["gpu"] / 3600, 4),
        round((max(ends) - min(starts)) / 3600, 4) if starts and ends else "",
    ]
    proxy_s = proxy_seconds(view)
    if view.screened or proxy_s:  # a proxy-assisted search, or proxies as objectives
        headers += ["screened", "proxy CPU hours"]
        row += [len(view.screened), round(proxy_s / 3600, 4)]
    return headers, [row]


def _quiet(record: dict | None) -> str:
    if not record:
        return ""
    load = record.get("load_per_core")
    return f"{record['value']:.4g}" + (f" (load {load:.2f})" if load is not None else "")


def proxy_seconds(view: RunData) -> float:
    """Seconds spent on zero-cost proxies: every screening (proxy and static objectives)
    and the proxy objectives measured with the evaluations (their records' seconds)."""
    total = sum(float(r.timings.get("total", 0.0)) for r in view.screened)
    for r in view.results:
        for how in r.measurements.values():
            proxy = isinstance(how, dict) and how.get("provenance") == "proxy"
            if proxy and "seconds" in how and "reused_from" not in how:
                total += float(how["seconds"])
    return total


def front_text(run: RunData | str | Path, limit: int = 20) -> str:
    """The front as a small fixed-width table (what ``xnas search`` and ``make demo`` end
    with): every configured objective's value, best first by the first objective."""
    view = as_data(run)
    names = list(view.recorded)
    front = sorted(view.front, key=lambda r: (view.F([r])[0].tolist(), r.key))
    title = f"front ({len(front)} architectures"
    title += f", first {limit} by {names[0]})" if len(front) > limit else ")"
    if not front:
        return title + "\n"
    headers = [objective_header(n, front) for n in names]
    cells = [[_cell(r.objectives.get(n, "")) for n in names] for r in front[:limit]]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    lines = [title, "  " + "  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))]
    for r, row in zip(front, cells, strict=False):
        values = "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True))
        lines.append(f"  {values}  {r.key}")
    return "\n".join(lines) + "\n"


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def render(headers: list[str], rows: list[list], fmt: str = "md", caption: str = "") -> str:
    """One table as Markdown, CSV (one table, ``pandas.read_csv``-ready) or LaTeX (a
    ``table`` environment through pandas' ``Styler``: booktabs rules, numbers right-aligned
    with the precision the Markdown shows, keys in ``\\texttt``, a caption)."""
    if fmt not in FORMATS:
        raise ConfigError(f"table format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
        return out.getvalue()
    cells = [[_cell(v) for v in row] for row in rows]
    if fmt == "md":
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(c.replace("|", r"\|") for c in row) + " |" for row in cells]
        return "\n".join(lines) + "\n"
    return _latex(headers, rows, caption)


def _latex(headers: list[str], rows: list[list], caption: str) -> str:
    import pandas as pd

    frame = pd.DataFrame([[_cell(v) for v in row] for row in rows], columns=range(len(headers)))
    numeric = [
        bool(rows) and all(isinstance(row[j], int | float) or row[j] == "" for row in rows)
        for j in range(len(headers))
    ]
    keyish = [h in ("key", "donor") for h in headers]

    def texttt(text: str) -> str:  # keys hold | ~ + [ ]: verbatim, not escaped runs
        return r"\texttt{\detokenize{" + text + "}}" if text else ""

    styler = frame.style.hide(axis="index")
    for j in range(len(headers)):
        if keyish[j]:
            styler = styler.format(texttt, subset=[j])
        elif not numeric[j]:
            styler = styler.format(escape="latex", subset=[j])
    styler = styler.relabel_index([_tex_escape(h) for h in headers], axis="columns")
    return styler.to_latex(
        column_format="".join("r" if n else "l" for n in numeric),
        hrules=True,
        caption=_tex_escape(caption) or None,
        position_float="centering",
        environment="table",
    )


_TEX = str.maketrans(
    {
        "\\": r"\textbackslash{}",
        "&": r"\&",
        "%": r"\%",
        "$": r"\$",
        "#": r"\#",
        "_": r"\_",
        "{": r"\{",
        "}": r"\}",
        "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}",
        "|": r"\textbar{}",
    }
)


def _tex_escape(text: str) -> str:
    return text.translate(_TEX)

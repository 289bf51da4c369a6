"""Every figure of a run directory (``xnas plot RUN_DIR``), as PNG and PDF.

- ``pareto``: the front for every pair of objectives over all evaluations (a scatter
  matrix of the pairs when there are three or more objectives);
- ``parallel``: parallel coordinates of the front, each objective scaled so lower is better;
- ``hypervolume``: hypervolume (the run's fixed reference point) against evaluations and
  against wall time;
- ``curves``: learning curves, stopped runs marked where they stopped, with their
  extrapolated final accuracy and band;
- ``cells_<tag>``: the cells of the knee point and of the best member for each objective.

Every function takes a ``RunData`` (``xnas.report.data``) or a run directory; axis labels
carry units and the values' provenance (``axis_label``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from xnas.config import Config  # noqa: E402
from xnas.errors import ConfigError  # noqa: E402
from xnas.objectives import OBJECTIVES  # noqa: E402
from xnas.report.cells import draw_genotype  # noqa: E402
from xnas.report.data import RunData, as_data  # noqa: E402
from xnas.report.select import chosen_members, scaled  # noqa: E402
from xnas.results import EvalResult  # noqa: E402
from xnas.store.rundir import RunDir  # noqa: E402
from xnas.summary import full_budget, normalized_hypervolume, objective_rows  # noqa: E402

FORMATS = ("png", "pdf")


def task_label(cfg: Config) -> str:
    """What the values are measured on: the dataset and space, or for a tabular run the
    table and the column the first objective comes from."""
    ev = cfg.evaluator
    if ev.name == "tabular" and ev.table:
        col = next((c.column for c in ev.columns if c.objective == "error"), None)
        return f"{Path(ev.table).name}" + (f": {col}" if col else "") + f" / {cfg.space.name}"
    return f"{cfg.data.name} / {cfg.space.name}"


def footer(view: RunData) -> str:
    """Where a figure's values come from: run, seed, budget, device, library versions."""
    cfg = view.cfg
    versions = dict(view.versions)
    devices = sorted({r.device for r in view.results if r.device})
    where = f"on {', '.join(devices)}" if devices else "looked up, nothing trained"
    commit = versions.get("xnas_commit")
    code = f"xnas {versions.get('xnas', '?')}" + (f" ({commit})" if commit else "")
    return (
        f"{view.run_dir.name}: {task_label(cfg)}, seed {cfg.search.seed}, "
        f"{cfg.search.strategy} {cfg.search.population} x {cfg.search.generations} gen., "
        f"{view.count()} evaluations {where}; {code}, "
        f"torch {versions.get('torch', '?')}"
    )


def _stamp(fig, text: str) -> None:
    """The provenance footer, wrapped to the figure's width."""
    import textwrap

    width = int(fig.get_figwidth() * 22)
    fig.text(
        0.005,
        0.004,
        textwrap.fill(text, width),
        fontsize=6,
        color="#666666",
        ha="left",
        va="bottom",
    )


def _save(fig, out: Path, name: str, formats) -> list[Path]:
    paths = []
    for fmt in formats:
        path = out / f"{name}.{fmt}"
        fig.savefig(path, dpi=110)
        paths.append(path)
    plt.close(fig)
    return paths


def writable(folder: Path) -> None:
    """``folder`` exists (made if needed) and takes files: else one line saying where to
    write instead (a run on read-only media is read where it lies, plotted elsewhere)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".xnas-write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"cannot write figures into '{folder}' ({exc.strerror}); expected a writable "
            "folder: pass one with -o (xnas plot RUN -o FOLDER; from Python: run.plot(FOLDER))"
        ) from None


def plot_all(
    run: RunData | str | Path, out_dir: str | Path | None = None, formats=FORMATS
) -> list[Path]:
    view = as_data(run)
    out = Path(out_dir) if out_dir else RunDir(view.run_dir).plots
    writable(out)
    names, constraints, rows = list(view.names), list(view.constraints), list(view.rows)
    ok, front = view.with_values, view.front
    reference = np.array(view.reference)
    how = {n: next((r.measurements.get(n) for r in ok if n in r.measurements), None) for n in names}
    stamp = footer(view)
    paths = []
    for fmt in formats:
        paths.append(plot_front(view, out / f"pareto.{fmt}"))
    paths += _parallel(front, names, how, out, formats, stamp)
    ideal = None if view.ideal is None else np.array(view.ideal)
    paths += _hypervolume(rows, names, constraints, reference, out, formats, stamp, ideal)
    paths += _curves(ok, set(view.front_keys), out, formats, stamp)
    paths += _cells(view.cfg, front, names, out)
    return paths


def axis_label(name: str, how: dict | None) -> str:
    """An objective's axis label: label, unit, and provenance where it is not plain
    measurement (or, for energy and latency, which counter or device measured it)."""
    from xnas.objectives import OBJECTIVES
    from xnas.results import provenance

    obj = OBJECTIVES.get(name)
    unit = f"{obj.unit}, " if obj.unit else ""
    kind = provenance(how) if how else "measured"
    if kind in ("modelled", "predicted", "tabular", "proxy"):
        return f"{obj.label} ({unit}{kind})"
    if name == "energy" and how:
        return f"{obj.label} ({unit}measured: {how.get('energy_source', '?')})"
    if name == "latency" and how:
        return (
            f"{obj.label} ({unit}measured on {how.get('device', '?')}, {how.get('threads')} thr.)"
        )
    return f"{obj.label} ({unit}{'higher' if obj.sense == 'max' else 'lower'} is better)".replace(
        "(, ", "("
    )


def plot_front(run: RunData | str | Path, path: str | Path | None = None) -> Path:
    """Every pair of objectives: all evaluations in grey, the Pareto front highlighted."""
    import itertools

    view = as_data(run)
    cfg, names, ok, front = view.cfg, list(view.names), view.with_values, set(view.front_keys)
    pairs = list(itertools.combinations(names, 2))[:6] or [(names[0], names[0])]
    cols = min(3, len(pairs))
    rows = -(-len(pairs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.4 * rows), squeeze=False)
    how = {n: next((r.measurements.get(n) for r in ok if n in r.measurements), None) for n in names}
    for ax, (a, b) in zip(axes.flat, pairs, strict=False):
        xs = [r.objectives[a] for r in ok]
        ys = [r.objectives[b] for r in ok]
        ax.scatter(xs, ys, s=14, c="#bbbbbb", label="all evaluations")
        fr = sorted((r for r in ok if r.key in front), key=lambda r: r.objectives[a])
        ax.scatter(
            [r.objectives[a] for r in fr],
            [r.objectives[b] for r in fr],
            s=30,
            c="#d62728",
            edgecolors="black",
            linewidths=0.5,
            label="Pareto front",
            zorder=3,
        )
        low = [r for r in ok if r.status == "partial"]  # multi-fidelity: halted at a rung
        if low:
            ax.scatter(
                [r.objectives[a] for r in low],
                [r.objectives[b] for r in low],
                s=40,
                facecolors="none",
                edgecolors="#1f77b4",
                linewidths=0.8,
                label="halted at a lower rung (not fully trained)",
                zorder=4,
            )
        ax.set_xlabel(axis_label(a, how[a]), fontsize=8)
        ax.set_ylabel(axis_label(b, how[b]), fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(pairs) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    note = (
        f"\nfront members are non-dominated in all {len(names)} objectives together, so in "
        "one pair of them some look dominated"
        if len(names) > 2
        else ""
    )
    import textwrap

    title = (
        f"{task_label(cfg)}: {len(ok)} evaluations, "
        f"{len(front)} on the front ({len(names)} objectives){note}"
    )
    width = int(fig.get_figwidth() * 13)
    fig.suptitle("\n".join(textwrap.fill(t, width) for t in title.splitlines()), fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    _stamp(fig, footer(view))
    path = Path(path) if path else RunDir(view.run_dir).pareto
    try:
        writable(path.parent)
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path


def _parallel(front: list[EvalResult], names, how, out: Path, formats, stamp="") -> list[Path]:
    """One line per front member over every objective, coloured by the first objective's
    raw value (colour bar); each axis scaled within the front (0 = best) and ticked with
    raw values."""
    fig, ax = plt.subplots(figsize=(2.6 + 2.2 * len(names), 4.6))
    if front:
        F = objective_rows(front, names, [])[0]
        first = np.array([r.objectives[names[0]] for r in front])
        norm = plt.Normalize(
            first.min(), first.max() if first.max() > first.min() else first.min() + 1
        )
        cmap = plt.get_cmap("viridis")
        for row, value in zip(scaled(F), first, strict=True):
            ax.plot(
                range(len(names)),
                row,
                marker="o",
                ms=3,
                lw=1.2,
                alpha=0.85,
                color=cmap(norm(value)),
            )
        bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, pad=0.02)
        bar.set_label(axis_label(names[0], how[names[0]]), fontsize=7)
        bar.ax.tick_params(labelsize=7)
        lo, hi = F.min(axis=0), F.max(axis=0)
        for i, n in enumerate(names):  # raw values at 0, 1/2, 1 of each scaled axis
            sign = -1.0 if OBJECTIVES.get(n).sense == "max" else 1.0  # F is minimisation form
            for t in (0.0, 0.5, 1.0):
                raw = sign * (lo[i] + t * (hi[i] - lo[i]))
                ax.annotate(
                    f"{raw:.3g}",
                    (i, t),
                    xytext=(4, 0),
                    textcoords="offset points",
                    fontsize=6.5,
                    color="#444444",
                    va="center",
                )
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([axis_label(n, how[n]) for n in names], fontsize=7, rotation=10)
    ax.set_yticks([0, 0.5, 1])
    ax.set_yticklabels(["best", "", "worst"], fontsize=7)
    ax.set_ylim(-0.06, 1.06)
    ax.set_title(
        f"Pareto front: {len(front)} architectures, coloured by {names[0]} "
        "(each axis from its best to its worst front value)",
        fontsize=9,
    )
    ax.grid(alpha=0.3)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    _stamp(fig, stamp)
    return _save(fig, out, "parallel", formats)


def hypervolume_trace(
    rows, names, constraints, reference, ideal=None
) -> tuple[list[int], list[float]]:
    """Hypervolume of the feasible full-budget front after each arrival (stored order):
    normalised to the box from ``ideal`` to ``reference`` when ``ideal`` is given."""
    from pymoo.indicators.hv import HV

    hv = HV(ref_point=reference)
    if ideal is not None:
        hv = lambda F: normalized_hypervolume(F, reference, ideal)  # noqa: E731
    points = np.unique(np.linspace(1, len(rows), min(len(rows), 200)).astype(int))
    values = []
    for n in points:
        ok = [r for _, v, r in rows[:n] if full_budget(r) and v == 0]
        values.append(float(hv(objective_rows(ok, names, constraints)[0])) if ok else 0.0)
    return [int(p) for p in points], values


def _time_axis(seconds: np.ndarray) -> tuple[np.ndarray, str]:
    """Seconds in the unit a person reads them in at this span."""
    span = float(np.nanmax(seconds)) if len(seconds) else 0.0
    if span < 120:
        return seconds, "s"
    if span < 7200:
        return seconds / 60, "min"
    return seconds / 3600, "h"


def _hypervolume(
    rows, names, constraints, reference, out: Path, formats, stamp="", ideal=None
) -> list[Path]:
    counts, values = hypervolume_trace(rows, names, constraints, reference, ideal)
    start = min((r.timings.get("started_at", np.inf) for _, _, r in rows), default=0.0)
    wall = np.array([rows[n - 1][2].timings.get("finished_at", np.nan) - start for n in counts])
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.9))
    a.step(counts, values, where="post")
    a.set_xlabel("evaluations stored")
    if np.isfinite(wall).any():
        t, unit = _time_axis(wall)
        b.step(t, values, where="post")
        b.set_xlabel(f"wall time ({unit}, from the first evaluation's start)")
    else:
        b.text(0.5, 0.5, "no evaluation timings in this run", ha="center", transform=b.transAxes)
    label = "hypervolume (share of the box)" if ideal is not None else "hypervolume"
    for ax in (a, b):
        ax.set_ylabel(f"{label} of the feasible front", fontsize=8)
        ax.grid(alpha=0.3)
    box = ", ".join(f"{n} {v:.4g}" for n, v in zip(names, reference, strict=False))
    if ideal is not None:
        box = ", ".join(
            f"{n} {lo:.4g}..{hi:.4g}" for n, lo, hi in zip(names, ideal, reference, strict=False)
        )
    fig.suptitle(
        f"box (minimisation form, stored with the run): {box}",
        fontsize=7,
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    _stamp(fig, stamp)
    return _save(fig, out, "hypervolume", formats)


def _curves(ok: list[EvalResult], front: set[str], out: Path, formats, stamp="") -> list[Path]:
    """Learning curves (none for a tabular run: no figure then)."""
    from matplotlib.ticker import MaxNLocator

    if not any(r.curve for r in ok):
        return []
    fig, ax = plt.subplots(figsize=(7, 4.6))
    for i, r in enumerate(ok):
        if not r.curve:
            continue
        epochs = np.arange(1, len(r.curve) + 1)
        if r.status == "stopped":
            pred = r.measurements.get("error", {})
            ax.plot(epochs, r.curve, color="#ff7f0e", alpha=0.7, lw=1)
            ax.plot(epochs[-1], r.curve[-1], "x", color="#ff7f0e")
            if "target_epoch" in pred:
                # spread the bands a little along x so they stay apart
                # a child with its donor as prior counts epochs from the donor's start
                t = pred["target_epoch"] - pred.get("prior", {}).get("epochs", 0) + 0.04 * (i % 9)
                m = pred["predicted_final_accuracy"]
                ax.plot([epochs[-1], t], [r.curve[-1], m], ls=":", color="#ff7f0e", lw=1)
                ax.errorbar(
                    t,
                    m,
                    yerr=[[m - pred["band"][0]], [pred["band"][1] - m]],
                    fmt="o",
                    color="#ff7f0e",
                    ms=3,
                    capsize=2,
                )
        else:
            colour, width = ("#d62728", 1.6) if r.key in front else ("#999999", 0.8)
            ax.plot(epochs, r.curve, color=colour, lw=width, alpha=0.8)
    ax.plot([], [], color="#999999", label="trained to the end")
    if any(r.key in front and r.status != "stopped" for r in ok if r.curve):
        ax.plot([], [], color="#d62728", label="on the front")
    if any(r.status == "stopped" for r in ok):
        ax.plot([], [], "x:", color="#ff7f0e", label="stopped early -> extrapolated (band)")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("validation accuracy (measured; dotted: extrapolated)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    _stamp(fig, stamp)
    return _save(fig, out, "curves", formats)


def _cells(cfg: Config, front, names, out: Path) -> list[Path]:
    from xnas.space import get_space

    space = get_space(cfg.space)
    paths = []
    for tag, r in chosen_members(front, names).items():
        values = ", ".join(f"{n} {r.objectives[n]:.4g}" for n in names)
        title = f"{tag}: {values}\n{r.key}"
        paths.append(draw_genotype(space.decode(r.genome), out / f"cells_{tag}.png", title))
    return paths

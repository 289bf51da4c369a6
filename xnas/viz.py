"""Figures. So far: drawings of the cells of one architecture (`xnas arch --png`)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display (MPI ranks, CI)
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402

from xnas.space.genotypes import CellGenotype, MicroGenotype, NB201Genotype  # noqa: E402

OP_COLOURS = {
    "skip_connect": "#7f7f7f",
    "none": "#d0d0d0",
    "max_pool_3x3": "#1f77b4",
    "avg_pool_3x3": "#17becf",
}


def _colour(op: str) -> str:
    return OP_COLOURS.get(op, "#d62728" if "conv" in op else "#2ca02c")


def _node(ax, xy, label, face="#ffffff"):
    ax.text(
        *xy,
        label,
        ha="center",
        va="center",
        fontsize=9,
        zorder=3,
        bbox=dict(boxstyle="round,pad=0.35", fc=face, ec="#333333"),
    )


def _edge(ax, a, b, op, rad):
    colour = _colour(op)
    style = "dashed" if op == "none" else "solid"
    ax.add_patch(
        FancyArrowPatch(
            a,
            b,
            arrowstyle="-|>",
            mutation_scale=12,
            lw=1.4,
            color=colour,
            linestyle=style,
            connectionstyle=f"arc3,rad={rad}",
            zorder=1,
            shrinkA=14,
            shrinkB=14,
        )
    )
    # arc3 is a quadratic Bezier whose control point is mid + rad * (dy, -dx); its
    # midpoint lies half-way there (valid because the axes have equal aspect).
    dx, dy = b[0] - a[0], b[1] - a[1]
    mx, my = (a[0] + b[0]) / 2 + 0.5 * rad * dy, (a[1] + b[1]) / 2 - 0.5 * rad * dx
    ax.text(
        mx,
        my,
        op,
        fontsize=7,
        color=colour,
        ha="center",
        va="center",
        zorder=2,
        bbox=dict(boxstyle="square,pad=0.1", fc="white", ec="none", alpha=0.8),
    )


def _draw_micro_cell(ax, cell: CellGenotype, title: str) -> None:
    pos = {0: (0.0, 2.0), 1: (0.0, -2.0)}
    for b in range(len(cell.blocks)):
        pos[2 + b] = (2.2 * (b + 1), 0.6 if b % 2 else -0.6)
    out = (2.2 * (len(cell.blocks) + 1), 0.0)
    for b, block in enumerate(cell.blocks):
        for j, (op, inp) in enumerate(block):
            bend = 0.18 + 0.06 * (b + 1 - max(inp - 1, 0))
            _edge(ax, pos[inp], pos[2 + b], op, rad=bend if j == 0 else -bend)
    for i in cell.concat:
        ax.add_patch(
            FancyArrowPatch(
                pos[i],
                out,
                arrowstyle="-|>",
                mutation_scale=10,
                color="#999999",
                lw=0.8,
                shrinkA=14,
                shrinkB=16,
                connectionstyle="arc3,rad=0.1",
            )
        )
    _node(ax, pos[0], "c[k-2]", "#cfe2f3")
    _node(ax, pos[1], "c[k-1]", "#cfe2f3")
    for b in range(len(cell.blocks)):
        _node(ax, pos[2 + b], f"block {b}")
    _node(ax, out, "concat", "#d9ead3")
    ax.set_title(title, fontsize=11)
    ax.set_xlim(-1.0, out[0] + 1.0)
    ax.set_ylim(-4.2, 4.2)
    ax.set_aspect("equal")
    ax.axis("off")


def _draw_nb201_cell(ax, genotype: NB201Genotype, title: str) -> None:
    pos = {i: (1.6 * i, 0.0) for i in range(4)}
    for to, node in enumerate(genotype.nodes, start=1):
        for op, frm in node:
            span = to - frm
            _edge(ax, pos[frm], pos[to], op, rad=0.0 if span == 1 else -0.25 * (span - 1))
    for i in range(4):
        _node(
            ax,
            pos[i],
            ("in" if i == 0 else "out" if i == 3 else f"node {i}"),
            "#cfe2f3" if i in (0, 3) else "#ffffff",
        )
    ax.set_title(title, fontsize=11)
    ax.set_xlim(-0.8, 5.6)
    ax.set_ylim(-0.6, 2.4)
    ax.set_aspect("equal")
    ax.axis("off")


def draw_genotype(
    genotype: MicroGenotype | NB201Genotype, path: str | Path, title: str = ""
) -> Path:
    """Draw the cell(s) of ``genotype`` to ``path`` (PNG, PDF, ... by extension)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(genotype, MicroGenotype):
        fig, axes = plt.subplots(2, 1, figsize=(12, 9))
        _draw_micro_cell(axes[0], genotype.normal, "normal cell")
        _draw_micro_cell(axes[1], genotype.reduce, "reduction cell")
    else:
        fig, ax = plt.subplots(figsize=(8, 3.2))
        _draw_nb201_cell(ax, genotype, "NB201 cell")
    if title:
        fig.suptitle(title if len(title) <= 110 else title[:107] + "...", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _axis_label(name: str, how: dict | None) -> str:
    from xnas.objectives import OBJECTIVES

    obj = OBJECTIVES.get(name)
    unit = f"{obj.unit}, " if obj.unit else ""
    if name == "energy" and how:
        source = how.get("energy_source", "?")
        return f"{obj.label} ({unit}{'modelled' if source == 'model' else 'measured: ' + source})"
    if name == "latency" and how:
        return (
            f"{obj.label} ({unit}measured on {how.get('device', '?')}, {how.get('threads')} thr.)"
        )
    return f"{obj.label} ({unit}{'higher' if obj.sense == 'max' else 'lower'} is better)".replace(
        "(, ", "("
    )


def plot_front(run_dir: str | Path, path: str | Path | None = None) -> Path:
    """Every pair of objectives: all evaluations in grey, the Pareto front highlighted."""
    import itertools

    from xnas.config import Config, build
    from xnas.run import constraints_of, front_summary, search_objectives
    from xnas.store import RunStore

    with RunStore.open(run_dir) as store:
        cfg = build(Config, store.meta("config"))
        names = search_objectives(cfg)
        ok = [r for _, v, r in store.results() if r.has_values]
        front = set(front_summary(store, names, constraints_of(cfg))[0])
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
        ax.set_xlabel(_axis_label(a, how[a]), fontsize=8)
        ax.set_ylabel(_axis_label(b, how[b]), fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(pairs) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(
        f"{cfg.data.name} / {cfg.space.name}: {len(ok)} evaluations, "
        f"{len(front)} on the front ({len(names)} objectives)",
        fontsize=10,
    )
    fig.tight_layout()
    path = Path(path) if path else Path(run_dir) / "pareto.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

"""Drawings of the cells of one architecture (`xnas arch --png`, the front's chosen members)."""

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

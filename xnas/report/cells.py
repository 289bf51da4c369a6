"""Drawings of the cells of one architecture (`xnas arch --png`, the front's chosen members)."""

from __future__ import annotations

import textwrap
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


def _edge(ax, a, b, op, rad, at: float = 0.5, lift: float = 0.0):
    """An arrow from ``a`` to ``b`` labelled ``op`` at fraction ``at`` of its length
    (``lift``: the label raised off a straight edge so it never sits on the line)."""
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
    # arc3 is a quadratic Bezier whose control point is mid + rad * (dy, -dx) (valid
    # because the axes have equal aspect): the label sits on it at fraction ``at``
    dx, dy = b[0] - a[0], b[1] - a[1]
    cx, cy = (a[0] + b[0]) / 2 + rad * dy, (a[1] + b[1]) / 2 - rad * dx
    u = 1.0 - at
    mx = u * u * a[0] + 2 * u * at * cx + at * at * b[0]
    my = u * u * a[1] + 2 * u * at * cy + at * at * b[1] + lift
    ax.text(
        mx,
        my,
        op,
        fontsize=6.5,
        color=colour,
        ha="center",
        va="center",
        zorder=2,
        bbox=dict(boxstyle="square,pad=0.1", fc="white", ec="none", alpha=0.8),
    )


def _arrow(ax, a, b, colour="#999999", lw=0.9, rad=0.0, shrink=(14, 14)):
    ax.add_patch(
        FancyArrowPatch(
            a,
            b,
            arrowstyle="-|>",
            mutation_scale=9,
            color=colour,
            lw=lw,
            shrinkA=shrink[0],
            shrinkB=shrink[1],
            connectionstyle=f"arc3,rad={rad}",
            zorder=1,
        )
    )


def _draw_micro_cell(ax, cell: CellGenotype, title: str) -> None:
    """Each operation is a box of its own between its input and its block (as papers
    draw DARTS-like cells), so no label ever sits on a line or under a node."""
    pos = {0: (0.0, 3.2), 1: (0.0, -3.2)}
    for b in range(len(cell.blocks)):
        pos[2 + b] = (4.0 * (b + 1), 1.5 if b % 2 else -1.5)
    out = (4.0 * (len(cell.blocks) + 1), 0.0)
    for b, block in enumerate(cell.blocks):
        bx, by = pos[2 + b]
        for j, (op, inp) in enumerate(block):
            at = (bx - 1.7, by + (0.75 if j == 0 else -0.75))
            _arrow(ax, pos[inp], at, rad=0.08, shrink=(14, 22))
            _arrow(ax, at, pos[2 + b], colour=_colour(op), lw=1.4, shrink=(22, 14))
            ax.text(
                *at,
                op,
                ha="center",
                va="center",
                fontsize=6.5,
                color="white" if op not in ("none", "skip_connect") else "black",
                zorder=3,
                bbox=dict(boxstyle="round,pad=0.25", fc=_colour(op), ec="none"),
            )
    for i in cell.concat:
        _arrow(ax, pos[i], out, colour="#bbbbbb", lw=0.8, rad=0.1, shrink=(14, 16))
    _node(ax, pos[0], "c[k-2]", "#cfe2f3")
    _node(ax, pos[1], "c[k-1]", "#cfe2f3")
    for b in range(len(cell.blocks)):
        _node(ax, pos[2 + b], f"block {b}")
    _node(ax, out, "concat", "#d9ead3")
    ax.set_title(title, fontsize=11)
    ax.set_xlim(-1.2, out[0] + 1.2)
    ax.set_ylim(-4.4, 4.4)
    ax.set_aspect("equal")
    ax.axis("off")


def _draw_nb201_cell(ax, genotype: NB201Genotype, title: str) -> None:
    pos = {i: (3.0 * i, 0.0) for i in range(4)}
    for to, node in enumerate(genotype.nodes, start=1):
        for op, frm in node:
            span = to - frm
            if span == 1:  # neighbours: a straight edge, its label above the line
                _edge(ax, pos[frm], pos[to], op, rad=0.0, lift=0.22)
            else:
                _edge(ax, pos[frm], pos[to], op, rad=-0.22 * (span - 1))
    for i in range(4):
        _node(
            ax,
            pos[i],
            ("in" if i == 0 else "out" if i == 3 else f"node {i}"),
            "#cfe2f3" if i in (0, 3) else "#ffffff",
        )
    ax.set_title(title, fontsize=11)
    ax.set_xlim(-0.9, 9.9)
    ax.set_ylim(-0.7, 4.4)
    ax.set_aspect("equal")
    ax.axis("off")


def draw_genotype(
    genotype: MicroGenotype | NB201Genotype, path: str | Path, title: str = ""
) -> Path:
    """Draw the cell(s) of ``genotype`` to ``path`` (PNG, PDF, ... by extension)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(genotype, MicroGenotype):
        fig, axes = plt.subplots(2, 1, figsize=(13, 10.5))
        _draw_micro_cell(axes[0], genotype.normal, "normal cell")
        _draw_micro_cell(axes[1], genotype.reduce, "reduction cell")
    else:
        fig, ax = plt.subplots(figsize=(9, 4.2))
        _draw_nb201_cell(ax, genotype, "NB201 cell")
    if title:  # the whole key, wrapped: never cut
        lines = [textwrap.fill(line, 130) for line in title.splitlines()]
        fig.suptitle("\n".join(lines), fontsize=7.5)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path

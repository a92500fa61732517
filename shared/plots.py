"""Ternary plots of human vs model distributions (corners: entailment, neutral, contradiction)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from shared.errors import DataError

PLOT_SUFFIXES = (".png", ".svg")
_HEIGHT = math.sqrt(3) / 2


def to_cartesian(probs: np.ndarray) -> np.ndarray:
    """Barycentric (E, N, C) to the plane: E bottom-left, C bottom-right, N at the top."""
    probs = np.asarray(probs, dtype=np.float64)
    return np.column_stack([probs[:, 2] + probs[:, 1] / 2, probs[:, 1] * _HEIGHT])


def ternary_figure(
    human: np.ndarray, model: np.ndarray | None = None, *, title: str = "", links: bool = True
) -> Figure:
    """Scatter the human (and model) distributions in the label simplex; thin grey lines
    join each item's human and model points when ``links`` is set."""
    figure = Figure(figsize=(6.4, 6.0), layout="constrained")
    ax = figure.add_subplot()
    corners = np.array([[0, 0], [1, 0], [0.5, _HEIGHT], [0, 0]])
    for step in np.arange(0.1, 1.0, 0.1):  # grid lines of constant E, N and C
        for a, b in (
            ((step, 0, 1 - step), (step, 1 - step, 0)),
            ((0, step, 1 - step), (1 - step, step, 0)),
            ((0, 1 - step, step), (1 - step, 0, step)),
        ):
            ends = to_cartesian(np.array([a, b]))
            ax.plot(ends[:, 0], ends[:, 1], color="0.88", linewidth=0.6, zorder=0)
    ax.plot(corners[:, 0], corners[:, 1], color="black", linewidth=1.2)
    h = to_cartesian(human)
    if model is not None:
        m = to_cartesian(model)
        if links:
            for (x0, y0), (x1, y1) in zip(h, m, strict=True):
                ax.plot((x0, x1), (y0, y1), color="0.7", linewidth=0.4, zorder=1)
        ax.scatter(m[:, 0], m[:, 1], s=14, color="tab:orange", marker="v", label="model", zorder=3)
    ax.scatter(h[:, 0], h[:, 1], s=14, color="tab:blue", label="human", zorder=2)
    for (x, y), text, align in (
        ((-0.03, -0.04), "entailment", "right"),
        ((1.03, -0.04), "contradiction", "left"),
        ((0.5, _HEIGHT + 0.03), "neutral", "center"),
    ):
        ax.text(x, y, text, ha=align, va="bottom" if text == "neutral" else "top", fontsize=11)
    ax.set_xlim(-0.25, 1.25)
    ax.set_ylim(-0.12, _HEIGHT + 0.12)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.legend(loc="upper right", frameon=False)
    if title:
        ax.set_title(title)
    return figure


def save_ternary(
    path: str | Path, human: np.ndarray, model: np.ndarray | None = None, **kw: object
) -> Path:
    """Write a ternary plot as PNG or SVG (chosen by the file suffix)."""
    path = Path(path)
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise DataError(f"plot file must end in {' or '.join(PLOT_SUFFIXES)}", field="plot")
    path.parent.mkdir(parents=True, exist_ok=True)
    ternary_figure(human, model, **kw).savefig(path, dpi=150)  # type: ignore[arg-type]
    return path

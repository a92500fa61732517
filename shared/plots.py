"""Plots of human vs model distributions: the ternary plot (corners: entailment, neutral,
contradiction) and the entropy scatter, each titled with the headline metrics."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from shared.errors import DataError
from shared.metrics import entropy

PLOT_SUFFIXES = (".png", ".svg")
#: above this many items a ternary plot shows densities: pairing lines would be a tangle
DENSITY_THRESHOLD = 200
#: the metrics a plot's title shows (summary-row keys -> names)
HEADLINE = {"kl": "KL", "jsd": "JSD", "dcorr": "D.Corr"}
_HEIGHT = math.sqrt(3) / 2


def to_cartesian(probs: np.ndarray) -> np.ndarray:
    """Barycentric (E, N, C) to the plane: E bottom-left, C bottom-right, N at the top."""
    probs = np.asarray(probs, dtype=np.float64)
    return np.column_stack([probs[:, 2] + probs[:, 1] / 2, probs[:, 1] * _HEIGHT])


def plot_title(title: str, n: int, metrics: Mapping[str, float] | None) -> str:
    """The title line, then N and the headline metrics (those given)."""
    shown = [f"N = {n}"] + [
        f"{name} {metrics[key]:.3f}" for key, name in HEADLINE.items() if metrics and key in metrics
    ]
    return f"{title}\n{'   '.join(shown)}" if title else "   ".join(shown)


def uses_density(n: int) -> bool:
    return n > DENSITY_THRESHOLD


def _simplex(ax: Axes) -> None:
    """The triangle, its 0.1 grid and the corner labels."""
    for step in np.arange(0.1, 1.0, 0.1):  # grid lines of constant E, N and C
        for a, b in (
            ((step, 0, 1 - step), (step, 1 - step, 0)),
            ((0, step, 1 - step), (1 - step, step, 0)),
            ((0, 1 - step, step), (1 - step, 0, step)),
        ):
            ends = to_cartesian(np.array([a, b]))
            ax.plot(ends[:, 0], ends[:, 1], color="0.88", linewidth=0.6, zorder=0)
    corners = np.array([[0, 0], [1, 0], [0.5, _HEIGHT], [0, 0]])
    ax.plot(corners[:, 0], corners[:, 1], color="black", linewidth=1.2)
    for (x, y), text, align in (
        ((-0.03, -0.04), "entailment", "right"),
        ((1.03, -0.04), "contradiction", "left"),
        ((0.5, _HEIGHT + 0.03), "neutral", "center"),
    ):
        ax.text(x, y, text, ha=align, va="bottom" if text == "neutral" else "top", fontsize=10)
    ax.set_xlim(-0.25, 1.25)
    ax.set_ylim(-0.12, _HEIGHT + 0.12)
    ax.set_aspect("equal")
    ax.axis("off")


def ternary_figure(
    human: np.ndarray,
    model: np.ndarray | None = None,
    *,
    title: str = "Human vs model distributions",
    metrics: Mapping[str, float] | None = None,
    density: bool | None = None,
) -> Figure:
    """Human (and model) distributions in the label simplex, titled with the metrics. Few
    items: points, with a thin grey line joining each item's human and model points. Many
    (``density`` defaults to more than DENSITY_THRESHOLD): a hexbin density panel each."""
    density = uses_density(len(human)) if density is None else density
    sets = {"human": human} if model is None else {"human": human, "model": model}
    if density:
        figure = Figure(figsize=(5.0 * len(sets) + 0.8, 4.6), layout="constrained")
        axes = figure.subplots(1, len(sets), squeeze=False)[0]
        hexbins = []
        for ax, (name, probs) in zip(axes, sets.items(), strict=True):
            _simplex(ax)
            xy = to_cartesian(probs)
            extent = (0.0, 1.0, 0.0, _HEIGHT)
            hexbins.append(
                ax.hexbin(xy[:, 0], xy[:, 1], gridsize=24, extent=extent, cmap="viridis", mincnt=1)
            )
            ax.set_title(name)
        top = max(float(h.get_array().max()) for h in hexbins)
        for h in hexbins:
            h.set_clim(1, top)
        figure.colorbar(hexbins[-1], ax=list(axes), shrink=0.6, label="items per cell")
    else:
        figure = Figure(figsize=(6.4, 6.0), layout="constrained")
        ax = figure.add_subplot()
        _simplex(ax)
        h = to_cartesian(human)
        if model is not None:
            m = to_cartesian(model)
            for (x0, y0), (x1, y1) in zip(h, m, strict=True):
                ax.plot((x0, x1), (y0, y1), color="0.7", linewidth=0.4, zorder=1)
            ax.scatter(m[:, 0], m[:, 1], s=14, color="tab:orange", marker="v", label="model")
        ax.scatter(h[:, 0], h[:, 1], s=14, color="tab:blue", label="human", zorder=2)
        ax.legend(loc="upper right", frameon=False)
    figure.suptitle(plot_title(title, len(human), metrics))
    return figure


def entropy_figure(
    human: np.ndarray,
    model: np.ndarray,
    *,
    title: str = "Human vs model entropy",
    metrics: Mapping[str, float] | None = None,
) -> Figure:
    """Each item's human entropy against its model entropy (nats), with the y = x line: points
    above it are items the model is less sure of than the annotators."""
    h, m = entropy(np.asarray(human)), entropy(np.asarray(model))
    figure = Figure(figsize=(5.6, 5.6), layout="constrained")
    ax = figure.add_subplot()
    top = math.log(3)
    ax.plot((0, top), (0, top), color="0.4", linewidth=1, linestyle="--", label="y = x")
    alpha = 0.35 if uses_density(len(h)) else 0.8
    ax.scatter(h, m, s=12, alpha=alpha, color="tab:purple", label="items")
    ax.set_xlim(0, top * 1.02)
    ax.set_ylim(0, top * 1.02)
    ax.set_aspect("equal")
    ax.set_xlabel("human entropy (nats)")
    ax.set_ylabel("model entropy (nats)")
    ax.legend(loc="upper left", frameon=False)
    figure.suptitle(plot_title(title, len(h), metrics))
    return figure


def png_bytes(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=150)
    return buffer.getvalue()


def check_plot_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise DataError(f"plot file must end in {' or '.join(PLOT_SUFFIXES)}", field="plot")
    return path


def entropy_path(path: Path) -> Path:
    """Where the entropy scatter goes beside a ternary plot: ``x.png`` -> ``x.entropy.png``."""
    return path.with_name(f"{path.stem}.entropy{path.suffix}")


def save_plots(
    path: str | Path,
    human: np.ndarray,
    model: np.ndarray,
    *,
    title: str = "",
    metrics: Mapping[str, float] | None = None,
) -> list[Path]:
    """Write the ternary plot at ``path`` and the entropy scatter beside it, as PNG or SVG
    (chosen by the suffix); returns both paths."""
    path = check_plot_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figures = {
        path: ternary_figure(human, model, title=title, metrics=metrics),
        entropy_path(path): entropy_figure(
            human, model, title=f"{title} (entropy)", metrics=metrics
        ),
    }
    for target, figure in figures.items():
        figure.savefig(target, dpi=150)
    return list(figures)

"""Plots of human vs model distributions over K labels, each titled with the headline
metrics: the ternary plot for K = 3 (corners: entailment, neutral, contradiction for NLI), the
mean distributions side by side for any other K, the human vs model expected value per item
for ordinal tasks, and the entropy scatter for all."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from shared.errors import DataError
from shared.labels import LABEL_NAMES
from shared.metrics import default_labels, entropy

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


def _labels_for(k: int, labels: Sequence[str] | None) -> tuple[str, ...]:
    """``labels`` (one per column; ValueError naming ``labels`` otherwise) or the defaults."""
    if labels is None:
        return default_labels(k)
    if len(labels) != k:
        raise ValueError(f"labels: {len(labels)} names for {k} columns")
    return tuple(labels)


def _simplex(ax: Axes, labels: Sequence[str] = LABEL_NAMES) -> None:
    """The triangle, its 0.1 grid and the corner labels (column 0 bottom-left, 1 at the top,
    2 bottom-right)."""
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
    for (x, y), text, align, vertical in (
        ((-0.03, -0.04), labels[0], "right", "top"),
        ((1.03, -0.04), labels[2], "left", "top"),
        ((0.5, _HEIGHT + 0.03), labels[1], "center", "bottom"),
    ):
        ax.text(x, y, text, ha=align, va=vertical, fontsize=10)
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
    labels: Sequence[str] | None = None,
) -> Figure:
    """Human (and model) distributions of 3 labels in their simplex, titled with the metrics.
    Few items: points, with a thin grey line joining each item's human and model points. Many
    (``density`` defaults to more than DENSITY_THRESHOLD): a hexbin density panel each.
    ``labels`` name the corners (by default NLI's)."""
    k = np.shape(human)[1]
    if k != 3:
        raise ValueError(f"human: a ternary plot shows 3 labels, got {k} columns")
    corners = _labels_for(k, labels)
    density = uses_density(len(human)) if density is None else density
    sets = {"human": human} if model is None else {"human": human, "model": model}
    if density:
        figure = Figure(figsize=(5.0 * len(sets) + 0.8, 4.6), layout="constrained")
        axes = figure.subplots(1, len(sets), squeeze=False)[0]
        hexbins = []
        for ax, (name, probs) in zip(axes, sets.items(), strict=True):
            _simplex(ax, corners)
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
        _simplex(ax, corners)
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
    above it are items the model is less sure of than the annotators. The axes end at ln K."""
    h, m = entropy(np.asarray(human)), entropy(np.asarray(model))
    figure = Figure(figsize=(5.6, 5.6), layout="constrained")
    ax = figure.add_subplot()
    top = math.log(np.shape(human)[1])
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


def means_figure(
    human: np.ndarray,
    model: np.ndarray,
    *,
    labels: Sequence[str] | None = None,
    title: str = "Human vs model mean distributions",
    metrics: Mapping[str, float] | None = None,
) -> Figure:
    """The mean human and mean model probability of each label, as bars side by side, the
    label names (in column order) on the x axis."""
    human, model = np.asarray(human, dtype=np.float64), np.asarray(model, dtype=np.float64)
    names = _labels_for(human.shape[1], labels)
    k = len(names)
    figure = Figure(figsize=(max(5.6, 0.6 * k + 2.4), 4.6), layout="constrained")
    ax = figure.add_subplot()
    x = np.arange(k)
    width = 0.4
    ax.bar(x - width / 2, human.mean(axis=0), width, color="tab:blue", label="human")
    ax.bar(x + width / 2, model.mean(axis=0), width, color="tab:orange", label="model")
    _label_ticks(ax.set_xticks, x, names)
    ax.set_ylabel("mean probability")
    ax.set_ylim(0, max(float(human.mean(axis=0).max()), float(model.mean(axis=0).max())) * 1.15)
    ax.legend(loc="upper right", frameon=False)
    figure.suptitle(plot_title(title, len(human), metrics))
    return figure


def _label_ticks(set_ticks: Any, positions: np.ndarray, names: Sequence[str]) -> None:
    """Ticks named by the labels, slanted when they would not fit side by side."""
    slanted = len(names) * max(len(name) for name in names) > 48
    set_ticks(positions, names, rotation=45 if slanted else 0, ha="right" if slanted else "center")


def expected_values(probs: np.ndarray, values: Sequence[float] | None = None) -> np.ndarray:
    """Each row's expected value on the scale: the labels at ``values`` (by default 0..K-1)."""
    probs = np.asarray(probs, dtype=np.float64)
    positions = _positions(probs.shape[1], values)
    return probs @ positions


def _positions(k: int, values: Sequence[float] | None) -> np.ndarray:
    if values is None:
        return np.arange(k, dtype=np.float64)
    positions = np.asarray(values, dtype=np.float64)
    if positions.shape != (k,) or not np.isfinite(positions).all():
        raise ValueError(f"values: expected {k} finite numbers (one per label), got {values!r}")
    return positions


def expected_figure(
    human: np.ndarray,
    model: np.ndarray,
    *,
    labels: Sequence[str] | None = None,
    values: Sequence[float] | None = None,
    title: str = "Human vs model expected value",
    metrics: Mapping[str, float] | None = None,
) -> Figure:
    """For an ordinal task: each item's human expected value against its model expected value,
    the labels at ``values`` on the scale (by default 0..K-1), with the y = x line; the ticks
    are the label names where given (up to 11), else the values."""
    k = np.shape(human)[1]
    names = _labels_for(k, labels)
    positions = _positions(k, values)
    h, m = expected_values(human, positions), expected_values(model, positions)
    low, high = float(positions.min()), float(positions.max())
    margin = (high - low) * 0.03
    figure = Figure(figsize=(5.6, 5.6), layout="constrained")
    ax = figure.add_subplot()
    ax.plot((low, high), (low, high), color="0.4", linewidth=1, linestyle="--", label="y = x")
    alpha = 0.35 if uses_density(len(h)) else 0.8
    ax.scatter(h, m, s=12, alpha=alpha, color="tab:green", label="items")
    ax.set_xlim(low - margin, high + margin)
    ax.set_ylim(low - margin, high + margin)
    ax.set_aspect("equal")
    if labels is not None and k <= 11:
        _label_ticks(ax.set_xticks, positions, names)
        ax.set_yticks(positions, names)
    ax.set_xlabel("human expected value")
    ax.set_ylabel("model expected value")
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


def plot_path(path: Path, kind: str) -> Path:
    """Where a plot of ``kind`` goes beside the main one: ``x.png`` -> ``x.<kind>.png``."""
    return path.with_name(f"{path.stem}.{kind}{path.suffix}")


def entropy_path(path: Path) -> Path:
    """Where the entropy scatter goes beside a ternary plot: ``x.png`` -> ``x.entropy.png``."""
    return plot_path(path, "entropy")


def plot_figures(
    human: np.ndarray,
    model: np.ndarray,
    *,
    title: str = "",
    metrics: Mapping[str, float] | None = None,
    labels: Sequence[str] | None = None,
    ordinal: bool = False,
    values: Sequence[float] | None = None,
) -> dict[str, Figure]:
    """The plots for K labels, main one first: "ternary" (K = 3) or "means" (any other K),
    then "entropy", then for an ordinal task "expected" (labels at ``values``, by default
    0..K-1)."""
    k = np.shape(human)[1]
    names = _labels_for(k, labels)
    main = (
        {"ternary": ternary_figure(human, model, title=title, metrics=metrics, labels=names)}
        if k == 3
        else {"means": means_figure(human, model, labels=names, title=title, metrics=metrics)}
    )
    figures = main | {
        "entropy": entropy_figure(human, model, title=f"{title} (entropy)", metrics=metrics)
    }
    if ordinal:
        figures["expected"] = expected_figure(
            human,
            model,
            labels=labels,
            values=values,
            title=f"{title} (expected value)",
            metrics=metrics,
        )
    return figures


def save_plots(
    path: str | Path,
    human: np.ndarray,
    model: np.ndarray,
    *,
    title: str = "",
    metrics: Mapping[str, float] | None = None,
    labels: Sequence[str] | None = None,
    ordinal: bool = False,
    values: Sequence[float] | None = None,
) -> list[Path]:
    """Write the plots of :func:`plot_figures` as PNG or SVG (chosen by the suffix): the main
    one (ternary for K = 3, mean distributions otherwise) at ``path``, each other one beside
    it as ``x.<kind>.png`` (``x.entropy.png``, ``x.expected.png``); returns the paths."""
    path = check_plot_path(path)
    figures = plot_figures(
        human, model, title=title, metrics=metrics, labels=labels, ordinal=ordinal, values=values
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for i, (kind, figure) in enumerate(figures.items()):
        target = path if i == 0 else plot_path(path, kind)
        figure.savefig(target, dpi=150)
        written.append(target)
    return written

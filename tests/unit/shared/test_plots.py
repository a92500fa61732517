"""Plots people would look at (issue 13): a ternary plot titled with its headline metrics that
turns into densities for many items, and an entropy scatter with the y = x line."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PolyCollection

from shared.metrics import entropy, evaluate
from shared.plots import DENSITY_THRESHOLD, entropy_figure, save_plots, ternary_figure

PNG = b"\x89PNG\r\n\x1a\n"


def _pairs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    human = rng.dirichlet([2, 1, 1], n)
    return human, 0.6 * human + 0.4 * rng.dirichlet([1, 1, 1], n)


def _headline(human: np.ndarray, model: np.ndarray) -> dict[str, float]:
    return evaluate(human, model, resamples=0).headline().as_dict()


def _hexbins(figure) -> int:
    return sum(isinstance(c, PolyCollection) for ax in figure.axes for c in ax.collections)


def test_ternary_title_names_the_plot_and_its_metrics():
    human, model = _pairs(40)
    metrics = _headline(human, model)
    title = ternary_figure(human, model, metrics=metrics).get_suptitle()
    assert title.startswith("Human vs model distributions")
    for name, key in (("KL", "kl"), ("JSD", "jsd"), ("D.Corr", "dcorr")):
        assert f"{name} {metrics[key]:.3f}" in title
    assert "N = 40" in title


@pytest.mark.parametrize("n", [DENSITY_THRESHOLD + 1, 629])
def test_many_items_are_shown_as_densities_without_pairing_lines(n):
    human, model = _pairs(n)
    few = ternary_figure(human[:20], model[:20])
    many = ternary_figure(human, model)
    assert _hexbins(few) == 0 and _hexbins(many) == 2  # a human and a model panel
    # the simplex grid and outline are the same in both; only few items add a line per pair
    grid = len(many.axes[0].lines)
    assert len(many.axes[1].lines) == grid and len(few.axes[0].lines) == grid + 20
    counts = [c.get_array().sum() for ax in many.axes[:2] for c in ax.collections]
    assert counts == [n, n]  # every item lands in a cell of each panel


def test_entropy_scatter_plots_each_items_human_and_model_entropy_against_y_equals_x():
    human, model = _pairs(30)
    figure = entropy_figure(human, model, metrics=_headline(human, model))
    ax = figure.axes[0]
    (points,) = ax.collections
    assert np.allclose(points.get_offsets(), np.column_stack([entropy(human), entropy(model)]))
    (diagonal,) = ax.lines
    xs, ys = diagonal.get_data()
    assert np.allclose(xs, ys) and max(xs) == pytest.approx(np.log(3))
    assert "KL" in figure.get_suptitle() and "entropy" in ax.get_xlabel()


def test_save_plots_writes_the_ternary_and_the_entropy_png_beside_it(tmp_path):
    human, model = _pairs(250)
    written = save_plots(tmp_path / "out" / "run.png", human, model, title="run")
    assert written == [tmp_path / "out" / "run.png", tmp_path / "out" / "run.entropy.png"]
    assert all(path.read_bytes().startswith(PNG) for path in written)

"""Plots for any K labels (issue 22, section 5): mean distributions side by side, the expected
value per item for ordinal tasks, the entropy scatter up to ln K; the ternary plot for K = 3."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shared.metrics import entropy, evaluate
from shared.plots import (
    entropy_figure,
    expected_figure,
    expected_values,
    means_figure,
    plot_figures,
    save_plots,
    ternary_figure,
)

PNG = b"\x89PNG\r\n\x1a\n"


def _pairs(n: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    human = rng.dirichlet(np.full(k, 0.8), n)
    return human, 0.6 * human + 0.4 * rng.dirichlet(np.ones(k), n)


def _headline(human, model, ordinal=False):
    return evaluate(human, model, ordinal=ordinal, resamples=0).headline().as_dict()


@pytest.mark.parametrize(
    ("k", "ordinal", "kinds"),
    [
        (2, False, ["", "entropy"]),
        (6, True, ["", "entropy", "expected"]),
        (11, False, ["", "entropy"]),
        (3, True, ["", "entropy", "expected"]),
    ],
)
def test_save_plots_writes_the_plots_for_k_labels(tmp_path, k, ordinal, kinds):
    human, model = _pairs(80, k)
    labels = [f"label {i}" for i in range(k)]
    target = tmp_path / "plots" / "run.png"
    written = save_plots(
        target,
        human,
        model,
        title="run",
        metrics=_headline(human, model, ordinal),
        labels=labels,
        ordinal=ordinal,
    )
    expected = [target if not kind else target.with_name(f"run.{kind}.png") for kind in kinds]
    assert written == expected
    for path in written:
        data = path.read_bytes()
        assert data.startswith(PNG) and len(data) > 5000, path


def test_the_main_plot_is_ternary_for_three_labels_and_mean_bars_otherwise():
    human, model = _pairs(30, 3)
    assert list(plot_figures(human, model)) == ["ternary", "entropy"]
    human, model = _pairs(30, 5)
    assert list(plot_figures(human, model, ordinal=True)) == ["means", "entropy", "expected"]
    with pytest.raises(ValueError, match="3 labels"):
        ternary_figure(human, model)


def test_ternary_corners_take_the_tasks_labels():
    human, model = _pairs(20, 3)
    figure = ternary_figure(human, model, labels=["negative", "mixed", "positive"])
    texts = {t.get_text() for t in figure.axes[0].texts}
    assert {"negative", "mixed", "positive"} <= texts


def test_mean_bars_show_each_labels_mean_probability_with_its_name():
    human, model = _pairs(50, 6)
    labels = ["one", "two", "three", "four", "five", "six"]
    figure = means_figure(human, model, labels=labels, metrics=_headline(human, model))
    ax = figure.axes[0]
    heights = [patch.get_height() for patch in ax.patches]
    assert heights == pytest.approx([*human.mean(axis=0), *model.mean(axis=0)])
    assert [tick.get_text() for tick in ax.get_xticklabels()] == labels
    assert "N = 50" in figure.get_suptitle() and "KL" in figure.get_suptitle()


@pytest.mark.parametrize("values", [None, list(range(-5, 6))])
def test_expected_value_scatter_places_the_labels_on_their_scale(values):
    human, model = _pairs(40, 11, seed=2)
    figure = expected_figure(human, model, values=values)
    ax = figure.axes[0]
    (points,) = ax.collections
    scale = np.arange(11) if values is None else np.array(values, dtype=float)
    assert np.allclose(points.get_offsets(), np.column_stack([human @ scale, model @ scale]))
    assert np.allclose(expected_values(human, values), human @ scale)
    (diagonal,) = ax.lines
    assert diagonal.get_data()[0] == pytest.approx([scale.min(), scale.max()])


def test_entropy_scatter_for_eleven_labels_ends_at_ln_11():
    human, model = _pairs(30, 11)
    ax = entropy_figure(human, model).axes[0]
    (points,) = ax.collections
    assert np.allclose(points.get_offsets(), np.column_stack([entropy(human), entropy(model)]))
    (diagonal,) = ax.lines
    assert max(diagonal.get_data()[0]) == pytest.approx(math.log(11))


def test_wrong_labels_or_values_name_the_argument(tmp_path):
    human, model = _pairs(10, 4)
    with pytest.raises(ValueError, match="labels"):
        save_plots(tmp_path / "x.png", human, model, labels=["a", "b"])
    with pytest.raises(ValueError, match="values"):
        save_plots(tmp_path / "x.png", human, model, ordinal=True, values=[0, 1])
    assert not list(tmp_path.iterdir())  # nothing written before the check

"""Properties of the metric suite, and exactness of the blocked distance correlation."""

from __future__ import annotations

import math

import dcor
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from shared.dcorr import (
    distance_correlation,
    distance_correlation_blocks,
    distance_correlation_exact,
)
from shared.errors import DataError
from shared.metrics import (
    MAX_BOOTSTRAP,
    as_distributions,
    bootstrap_dcorr,
    entropy,
    evaluate,
    f1_scores,
    js_distance,
    kl_divergence,
    total_variation,
)

MAX_JSD = math.sqrt(math.log(2))


@st.composite
def distribution_pairs(draw, min_rows=2, max_rows=40):
    """Two aligned N x 3 probability matrices, with exact zeros allowed."""
    n = draw(st.integers(min_rows, max_rows))
    weights = st.floats(0, 100, allow_nan=False, allow_infinity=False)
    raw = [
        draw(
            hnp.arrays(np.float64, (n, 3), elements=weights).filter(lambda a: (a.sum(1) > 0).all())
        )
        for _ in range(2)
    ]
    return tuple(r / r.sum(axis=1, keepdims=True) for r in raw)


@settings(max_examples=60, deadline=None)
@given(distribution_pairs())
def test_identical_inputs_give_zero_distance_and_unit_dcorr(pair):
    p, _ = pair
    assert np.allclose(kl_divergence(p, p), 0, atol=1e-12)
    assert np.allclose(js_distance(p, p), 0, atol=1e-6)
    assert np.allclose(total_variation(p, p), 0)
    if np.ptp(p, axis=0).any():  # not all rows equal: distance variance is positive
        assert distance_correlation_exact(p, p) == pytest.approx(1.0, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(distribution_pairs())
def test_metrics_stay_within_their_bounds(pair):
    p, q = pair
    assert (kl_divergence(p, q) >= -1e-12).all()
    assert ((js_distance(p, q) >= 0) & (js_distance(p, q) <= MAX_JSD + 1e-9)).all()
    assert ((total_variation(p, q) >= 0) & (total_variation(p, q) <= 1 + 1e-12)).all()
    assert ((entropy(p) >= 0) & (entropy(p) <= math.log(3) + 1e-12)).all()
    assert 0.0 <= distance_correlation_exact(p, q) <= 1.0 + 1e-12


@settings(max_examples=60, deadline=None)
@given(distribution_pairs())
def test_symmetric_metrics_are_symmetric(pair):
    p, q = pair
    assert np.allclose(js_distance(p, q), js_distance(q, p), atol=1e-12)
    assert np.allclose(total_variation(p, q), total_variation(q, p))
    assert distance_correlation_exact(p, q) == pytest.approx(
        distance_correlation_exact(q, p), abs=1e-12
    )


@settings(max_examples=40, deadline=None)
@given(distribution_pairs(), st.randoms(use_true_random=False))
def test_report_is_invariant_to_row_order(pair, random):
    p, q = pair
    order = list(range(len(p)))
    random.shuffle(order)
    a = evaluate(p, q, resamples=0)
    b = evaluate(p[order], q[order], resamples=0)
    for x, y in zip(a.headline().values(), b.headline().values(), strict=True):
        assert x == pytest.approx(y, abs=1e-12)
    assert (a.accuracy.mean, a.f1_weighted, a.f1_macro) == pytest.approx(
        (b.accuracy.mean, b.f1_weighted, b.f1_macro)
    )


@settings(max_examples=25, deadline=None)
@given(
    st.integers(2, 3000),
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(0, 2**32 - 1),
)
def test_blocked_dcorr_equals_dcor_on_random_inputs(n, p, q, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, p))
    y = rng.standard_normal((n, q)) + (x[:, :1] if rng.random() < 0.5 else 0)
    assert distance_correlation_exact(x, y) == pytest.approx(
        dcor.distance_correlation(x, y), abs=1e-9
    )


def test_dcorr_on_a_few_thousand_distribution_rows_equals_dcor():
    rng = np.random.default_rng(7)
    human = rng.multinomial(100, rng.dirichlet([0.7, 0.7, 0.7], 4000)) / 100
    model = 0.6 * human + 0.4 * rng.dirichlet([2, 2, 2], 4000)
    assert distance_correlation_exact(human, model) == pytest.approx(
        dcor.distance_correlation(human, model), abs=1e-9
    )


def test_block_estimator_is_close_to_exact_and_labelled():
    rng = np.random.default_rng(3)
    x = rng.dirichlet([1, 1, 1], 30_000)
    y = 0.5 * x + 0.5 * rng.dirichlet([1, 1, 1], 30_000)
    exact = distance_correlation_exact(x, y)
    assert distance_correlation_blocks(x, y, block_rows=2048) == pytest.approx(exact, abs=2e-3)
    estimate = distance_correlation(x, y, method="estimate")
    assert estimate.method.startswith("estimate")
    assert distance_correlation(x, y, method="exact").method == "exact"


def _reference_f1(truth, predicted):
    """Straight-line per-class precision/recall, as textbooks define it."""
    scores, supports = [], []
    for label in range(3):
        tp = sum(t == label and p == label for t, p in zip(truth, predicted, strict=True))
        fp = sum(t != label and p == label for t, p in zip(truth, predicted, strict=True))
        fn = sum(t == label and p != label for t, p in zip(truth, predicted, strict=True))
        if tp + fp + fn == 0:
            continue
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(f1)
        supports.append(tp + fn)
    weighted = sum(f * s for f, s in zip(scores, supports, strict=True)) / len(truth)
    return weighted, sum(scores) / len(scores)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=60))
def test_f1_scores_match_textbook_definition(pairs):
    truth, predicted = (np.array(column) for column in zip(*pairs, strict=True))
    assert f1_scores(truth, predicted) == pytest.approx(_reference_f1(truth, predicted))


def test_bootstrap_intervals_are_seeded_and_contain_the_mean():
    rng = np.random.default_rng(11)
    human = rng.dirichlet([1, 1, 1], 300)
    model = rng.dirichlet([1, 1, 1], 300)
    a = evaluate(human, model, resamples=300, seed=5)
    b = evaluate(human, model, resamples=300, seed=5)
    c = evaluate(human, model, resamples=300, seed=6)
    assert a.to_json() == b.to_json()
    assert (a.kl.low, a.kl.high) != (c.kl.low, c.kl.high)
    for estimate in (a.kl, a.jsd, a.tvd, a.entropy_human, a.entropy_model, a.accuracy):
        assert estimate.low <= estimate.mean <= estimate.high
    assert sum(b.n for b in a.entropy_bins) == 300


def test_dcorr_bootstrap_draws_are_seeded_and_paired_across_models():
    """Each column is one model's D.Corr on the same resampled items, so a difference of
    columns is a paired bootstrap; a model equal to the human rows scores 1 on every draw."""
    rng = np.random.default_rng(4)
    human = rng.dirichlet([1, 1, 1], 80)
    noisy = 0.7 * human + 0.3 * rng.dirichlet([1, 1, 1], 80)
    unrelated = rng.dirichlet([1, 1, 1], 80)
    draws = bootstrap_dcorr(human, [human, noisy, unrelated], resamples=60, seed=2)
    assert draws.shape == (60, 3)
    assert np.allclose(draws[:, 0], 1.0)
    assert np.array_equal(
        draws, bootstrap_dcorr(human, [human, noisy, unrelated], resamples=60, seed=2)
    )
    alone = bootstrap_dcorr(human, [noisy], resamples=60, seed=2)
    assert np.array_equal(alone[:, 0], draws[:, 1])  # the draws do not depend on the others
    assert not np.array_equal(alone, bootstrap_dcorr(human, [noisy], resamples=60, seed=3))
    low, high = np.percentile(draws[:, 1] - draws[:, 2], [2.5, 97.5])
    assert 0 < low < high  # the noisy copy beats the unrelated model: paired CI above 0
    first = np.random.default_rng(2).integers(0, 80, 80)  # the rows of the first resample
    assert draws[0, 1] == pytest.approx(distance_correlation_exact(human[first], noisy[first]))
    with pytest.raises(DataError) as caught:
        bootstrap_dcorr(human, [noisy], resamples=MAX_BOOTSTRAP + 1)
    assert caught.value.field == "bootstrap"
    with pytest.raises(ValueError, match="models\\[0\\]"):
        bootstrap_dcorr(human, [noisy[:10]], resamples=5)


def test_report_states_its_conventions():
    report = evaluate(np.full((4, 3), 1 / 3), np.eye(3)[[0, 1, 2, 0]], resamples=0)
    text = report.to_table()
    assert "KL(human || model)" in report.conventions["kl"]
    assert "1e-10" in report.conventions["kl"]
    assert "distance" in report.conventions["jsd"]
    assert "conventions:" in text and "label_order" in text


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([[0.5, 0.5, 0.1]], "sum to 1"),
        ([[1.2, -0.2, 0.0]], "non-negative"),
        ([[np.nan, 0.5, 0.5]], "finite"),
        ([[0.5, 0.5]], "shape"),
        (np.zeros((0, 3)), "no rows"),
    ],
)
def test_invalid_arrays_are_rejected_with_a_reason(rows, message):
    with pytest.raises(ValueError, match=message):
        as_distributions(rows, "model")


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"resamples": MAX_BOOTSTRAP + 1}, "bootstrap"),
        ({"resamples": 10**12}, "bootstrap"),  # killed the metrics worker (MemoryError)
        ({"resamples": -1}, "bootstrap"),
        ({"seed": -1}, "seed"),  # numpy's ValueError: a 500 at the API
        ({"seed": 2**32}, "seed"),
    ],
)
def test_finding_7_bootstrap_and_seed_are_bounded(options, field):
    rows = np.eye(3)
    with pytest.raises(DataError) as caught:
        evaluate(rows, rows, **options)
    assert caught.value.field == field


def test_finding_7_bootstrap_reports_progress_and_a_callback_can_stop_it():
    """A running metrics job checks for cancellation through this callback."""
    rng = np.random.default_rng(3)
    human, model = rng.dirichlet([1, 1, 1], 50), rng.dirichlet([1, 1, 1], 50)
    seen: list[tuple[int, int]] = []
    report = evaluate(human, model, resamples=40, seed=1, progress=lambda *p: seen.append(p))
    assert seen[-1] == (40, 40) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert report.to_json() == evaluate(human, model, resamples=40, seed=1).to_json()

    class Stop(Exception):
        pass

    def stop_at_ten(done: int, total: int) -> None:
        if done >= 10:
            raise Stop

    with pytest.raises(Stop):
        evaluate(human, model, resamples=MAX_BOOTSTRAP, progress=stop_at_ten)

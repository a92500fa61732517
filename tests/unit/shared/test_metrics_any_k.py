"""The metric suite for any K labels (issue 22, section 5): LeWiDi 2025's Manhattan and
Wasserstein distances against independent computations, K = 2 and K = 11 end to end, entropy
bins by ln K, F1 over K labels, exact D.Corr for wide data, and NLI's numbers unchanged."""

from __future__ import annotations

import math

import dcor
import msgspec
import numpy as np
import pytest
from scipy import stats

from shared.contracts import encode
from shared.contracts.summaries import MetricsSummary
from shared.dcorr import distance_correlation_blocks, distance_correlation_exact
from shared.labels import LABEL_NAMES
from shared.metrics import (
    MAX_LABELS,
    Headline,
    MetricReport,
    as_distributions,
    bootstrap_dcorr,
    evaluate,
    f1_scores,
    instance_metrics,
)


def _pairs(n: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    human = rng.dirichlet(np.full(k, 0.8), n)
    return human, 0.6 * human + 0.4 * rng.dirichlet(np.full(k, 1.5), n)


def _reference_manhattan(human: np.ndarray, model: np.ndarray) -> list[float]:
    return [
        sum(abs(a - b) for a, b in zip(h, m, strict=True))
        for h, m in zip(human, model, strict=True)
    ]


def _reference_wasserstein(human: np.ndarray, model: np.ndarray) -> list[float]:
    """scipy's earth mover's distance with the labels at 0..K-1, weighted by the rows."""
    scale = np.arange(human.shape[1])
    return [
        stats.wasserstein_distance(scale, scale, u_weights=h, v_weights=m)
        for h, m in zip(human, model, strict=True)
    ]


@pytest.mark.parametrize("k", [2, 3, 5, 11, MAX_LABELS])
def test_manhattan_and_wasserstein_match_independent_computations(k):
    human, model = _pairs(60, k, seed=k)
    per_item = instance_metrics(human, model, ordinal=True)
    assert per_item["manhattan"] == pytest.approx(_reference_manhattan(human, model), abs=1e-12)
    assert per_item["wasserstein"] == pytest.approx(_reference_wasserstein(human, model), abs=1e-12)
    report = evaluate(human, model, ordinal=True, resamples=0)
    assert report.manhattan.mean == pytest.approx(np.mean(_reference_manhattan(human, model)))
    assert report.wasserstein.mean == pytest.approx(np.mean(_reference_wasserstein(human, model)))
    assert report.manhattan.mean == pytest.approx(2 * report.tvd.mean, abs=1e-12)


def test_wasserstein_of_a_one_step_shift_is_one_and_of_the_ends_is_k_minus_one():
    k = 6
    eye = np.eye(k)
    shifted = evaluate(eye[:-1], eye[1:], ordinal=True, resamples=0)
    assert shifted.wasserstein.mean == pytest.approx(1.0)
    ends = evaluate(eye[[0]], eye[[k - 1]], ordinal=True, resamples=0)
    assert ends.wasserstein.mean == pytest.approx(k - 1)
    assert ends.manhattan.mean == pytest.approx(2.0)


@pytest.mark.parametrize("k", [2, 11])
def test_evaluate_end_to_end_for_k_labels(k):
    human, model = _pairs(120, k, seed=3)
    report = evaluate(human, model, ordinal=True, resamples=200, seed=1)
    data = report.to_json()
    assert data["n"] == 120
    assert data["conventions"]["label_order"] == [str(i) for i in range(k)]
    assert f"ln {k} = {math.log(k):.4f}" in data["conventions"]["entropy"]
    assert f"N x {k}" in data["conventions"]["dcorr"]
    assert "LeWiDi 2025" in data["conventions"]["manhattan"]
    assert "unit spacing" in data["conventions"]["wasserstein"]
    for name in ("kl", "jsd", "tvd", "manhattan", "wasserstein", "accuracy"):
        estimate = data[name]
        assert estimate["low"] <= estimate["mean"] <= estimate["high"], name
    assert report.dcorr.method == "exact"
    assert report.dcorr.value == pytest.approx(dcor.distance_correlation(human, model), abs=1e-9)
    assert report.entropy_bins[-1].high == pytest.approx(math.log(k))
    assert sum(b.n for b in report.entropy_bins) == 120
    headline = report.headline()
    assert headline.manhattan == report.manhattan.mean
    assert headline.wasserstein == report.wasserstein.mean
    table = report.to_table()
    assert "Manhattan" in table and "Wasserstein" in table and "unit spacing" in table


def test_a_nominal_task_has_no_wasserstein():
    human, model = _pairs(40, 4)
    report = evaluate(human, model, labels=["a", "b", "c", "d"], resamples=0)
    assert report.wasserstein is None and report.headline().wasserstein is None
    assert report.to_json()["wasserstein"] is None
    assert "wasserstein" not in report.conventions
    assert report.conventions["label_order"] == ["a", "b", "c", "d"]
    assert "Wasserstein" not in report.to_table()
    assert "earlier label in label_order" in report.conventions["classification"]


def test_entropy_bins_for_eleven_labels_end_at_ln_11():
    k = 11
    top = math.log(k)
    uniform = np.full((5, k), 1 / k)
    one_hot = np.eye(k)[:4]
    human = np.vstack([uniform, one_hot])
    report = evaluate(human, human, resamples=0)
    edges = [edge for b in report.entropy_bins for edge in (b.low, b.high)]
    assert edges == pytest.approx([0, top / 3, top / 3, 2 * top / 3, 2 * top / 3, top])
    assert [b.n for b in report.entropy_bins] == [4, 0, 5]  # uniform rows at ln 11: the top bin
    assert f"{top:.4f}" in report.conventions["entropy_bins"]


def _reference_f1(truth, predicted, k):
    scores, supports = [], []
    for label in range(k):
        tp = sum(t == label and p == label for t, p in zip(truth, predicted, strict=True))
        fp = sum(t != label and p == label for t, p in zip(truth, predicted, strict=True))
        fn = sum(t == label and p != label for t, p in zip(truth, predicted, strict=True))
        if tp + fp + fn == 0:
            continue
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0)
        supports.append(tp + fn)
    weighted = sum(f * s for f, s in zip(scores, supports, strict=True)) / len(truth)
    return weighted, sum(scores) / len(scores)


@pytest.mark.parametrize("seed", range(5))
def test_f1_over_six_labels_matches_the_textbook_definition(seed):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 6, 80)
    predicted = np.where(rng.random(80) < 0.5, truth, rng.integers(0, 5, 80))  # 5 rarely
    assert f1_scores(truth, predicted, 6) == pytest.approx(_reference_f1(truth, predicted, 6))
    noise = rng.dirichlet(np.ones(6), (2, 80))  # at most 0.3 off the argmax: it stays
    human, model = (
        0.7 * np.eye(6)[truth] + 0.3 * noise[0],
        0.7 * np.eye(6)[predicted] + 0.3 * noise[1],
    )
    report = evaluate(human, model, resamples=0)
    assert (report.f1_weighted, report.f1_macro) == pytest.approx(
        _reference_f1(truth, predicted, 6)
    )
    assert report.accuracy.mean == pytest.approx(np.mean(truth == predicted))


def test_nli_reports_are_unchanged_by_the_new_options():
    """K = 3 without labels is NLI; naming NLI's labels or asking for Wasserstein changes no
    number of the paper's (the LeWiDi metrics are bootstrapped in a block of their own)."""
    human, model = _pairs(300, 3, seed=9)
    plain = evaluate(human, model, resamples=300, seed=2).to_json()
    named = evaluate(human, model, labels=LABEL_NAMES, resamples=300, seed=2).to_json()
    ordinal = evaluate(human, model, ordinal=True, resamples=300, seed=2).to_json()
    assert plain["conventions"]["label_order"] == list(LABEL_NAMES)
    assert named == plain
    for key in plain:
        if key not in ("wasserstein", "conventions"):
            assert ordinal[key] == plain[key], key
    assert plain["conventions"]["classification"].endswith("E<N<C)")
    assert plain["conventions"]["entropy"] == "Shannon entropy, natural log (max ln 3 = 1.0986)"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda h: evaluate(h, h, labels=["a", "b"], resamples=0), "human.*labels"),
        (lambda h: as_distributions(h, "model", labels=["a", "b", "c", "d"]), "model.*labels"),
        (lambda h: evaluate(h, h, labels="abc", resamples=0), "labels"),
        (lambda h: evaluate(h, h, labels=["a", "a", "b"], resamples=0), "labels: repeated"),
        (lambda h: evaluate(h, h, labels=["a", "", "b"], resamples=0), "labels"),
        (lambda h: evaluate(h, h, labels=[str(i) for i in range(17)], resamples=0), "labels"),
        (lambda h: evaluate(np.full((2, 17), 1 / 17), np.full((2, 17), 1 / 17)), "human"),
        (lambda h: evaluate(np.ones((2, 1)), np.ones((2, 1)), resamples=0), "human"),
        (lambda h: evaluate(h, np.full((4, 4), 0.25), resamples=0), "model"),
        (lambda h: bootstrap_dcorr(h, [h], labels=["a", "b"], resamples=2), "human.*labels"),
    ],
)
def test_wrong_labels_or_widths_are_a_value_error_naming_the_argument(call, message):
    human = np.full((4, 3), 1 / 3)
    with pytest.raises(ValueError, match=message):
        call(human)


def test_exact_dcorr_for_eleven_labels_equals_dcor():
    rng = np.random.default_rng(12)
    human = rng.dirichlet(np.full(11, 0.6), 300)
    model = 0.5 * human + 0.5 * rng.dirichlet(np.ones(11), 300)
    assert distance_correlation_exact(human, model) == pytest.approx(
        dcor.distance_correlation(human, model), abs=1e-9
    )
    unrelated = rng.dirichlet(np.ones(11), 300)
    assert distance_correlation_exact(human, unrelated) == pytest.approx(
        dcor.distance_correlation(human, unrelated), abs=1e-9
    )


@pytest.mark.parametrize(("p", "q"), [(11, 3), (1, 16), (16, 16), (5, 2)])
def test_exact_dcorr_for_mixed_widths_equals_dcor(p, q):
    rng = np.random.default_rng(p * 100 + q)
    x = rng.standard_normal((150, p))
    y = rng.standard_normal((150, q)) + x[:, :1]
    assert distance_correlation_exact(x, y) == pytest.approx(
        dcor.distance_correlation(x, y), abs=1e-9
    )


def test_block_estimate_takes_wide_data():
    human, model = _pairs(6000, 11, seed=5)
    exact = distance_correlation_exact(human, model)
    assert distance_correlation_blocks(human, model, block_rows=1024) == pytest.approx(
        exact, abs=5e-3
    )


def test_dcorr_bootstrap_takes_k_labels():
    human, model = _pairs(50, 6, seed=1)
    draws = bootstrap_dcorr(human, [human, model], resamples=5, seed=0)
    assert draws.shape == (5, 2) and np.allclose(draws[:, 0], 1.0)


def test_a_headline_of_the_paper_four_stores_as_before_and_old_rows_decode():
    headline = Headline(0.1, 0.2, 0.3, 0.9)
    assert headline.values() == (0.1, 0.2, 0.3, 0.9)
    stored = encode(
        MetricsSummary(job_id="j", items=2, summary_row=headline, artifacts=[], seconds=1)
    )
    assert stored["summary_row"] == {"kl": 0.1, "jsd": 0.2, "tvd": 0.3, "dcorr": 0.9}
    full = Headline(0.1, 0.2, 0.3, 0.9, manhattan=0.6, wasserstein=0.8)
    assert full.values() == (0.1, 0.2, 0.3, 0.9)  # the paper's columns, as the CLI tables print
    assert full.as_dict()["wasserstein"] == 0.8
    assert msgspec.convert(msgspec.to_builtins(full), Headline) == full
    assert msgspec.convert({"kl": 1.0, "jsd": 2.0, "tvd": 3.0, "dcorr": None}, Headline) == (
        Headline(1.0, 2.0, 3.0)
    )


def test_a_report_stored_before_the_lewidi_metrics_still_reads():
    human, model = _pairs(20, 3)
    stored = evaluate(human, model, resamples=0).to_json()
    del stored["manhattan"], stored["wasserstein"]
    stored["conventions"].pop("manhattan")
    report = msgspec.convert(stored, MetricReport)
    assert report.manhattan is None and report.headline().manhattan is None
    assert "Manhattan" not in report.to_table()

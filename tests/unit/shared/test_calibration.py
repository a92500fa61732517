"""The pure calibration method: the fit lowers the divergence it is fitted on, every record
comes back recalibrated, folds score each labelled record out of sample."""

from __future__ import annotations

import numpy as np
import pytest

from shared.errors import DataError
from shared.method.aggregation import softmax_aggregate
from shared.method.calibration import Recalibration, calibrate
from shared.method.runs import MJDRecord
from shared.metrics import Headline


def _records(count: int, seed: int = 0, scale: float = 4.0) -> list[MJDRecord]:
    """Records whose logits are too sharp (``scale``) for their human distributions."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        logits = rng.normal(size=(2, 3, 3)) * scale
        out.append(
            MJDRecord(
                id=f"item-{i}",
                distribution=softmax_aggregate(logits, 1.0).tolist(),
                label_logits=logits.tolist(),
                letter_mass=[[1.0] * 3] * 2,
                explanation_orders=[[0], [1]],
                missing_mass=None,
                spec={"aggregation": "softmax", "temperature": 1.0},
            )
        )
    return out


def _human(records: list[MJDRecord], temperature: float) -> dict[str, np.ndarray]:
    return {r.id: softmax_aggregate(r.logits, temperature) for r in records}


def test_the_fit_finds_the_temperature_that_made_the_labels_and_lowers_kl():
    records = _records(30)
    result = calibrate(records, _human(records, 5.0))
    assert isinstance(result, Recalibration)
    assert result.fit.temperature == pytest.approx(5.0, rel=1e-2)
    assert result.fit.bias == (0.0, 0.0, 0.0)
    assert result.after["kl"] < result.before["kl"] and result.after["kl"] < 1e-6
    assert set(result.before) == set(result.after) == set(Headline.__struct_fields__)
    assert result.folds == [] and result.warnings == []


def test_every_record_comes_back_recalibrated_labelled_or_not():
    records = _records(12)
    human = _human(records[:8], 3.0)
    result = calibrate(records, human)
    assert (result.items, result.labelled) == (12, 8)
    assert [r.id for r in result.records] == [r.id for r in records]
    for old, new in zip(records, result.records, strict=True):
        assert new.label_logits == old.label_logits
        assert new.spec["temperature"] == result.fit.temperature
        assert new.spec["calibration"]["cross_fit_fold"] is None
        np.testing.assert_allclose(new.distribution, result.fit.apply(old.logits))


def test_labels_equal_to_the_records_leave_the_temperature_at_one():
    records = _records(20, scale=1.0)
    result = calibrate(records, _human(records, 1.0))
    assert result.fit.temperature == pytest.approx(1.0, rel=1e-2)
    assert result.before["kl"] == pytest.approx(0.0, abs=1e-12)


def test_cross_fitting_scores_each_labelled_record_with_another_folds_fit():
    records = _records(20)
    result = calibrate(records, _human(records, 5.0), folds=4, seed=1)
    assert len(result.folds) == 4
    folds = [r.spec["calibration"]["cross_fit_fold"] for r in result.records]
    assert sorted(set(folds)) == [0, 1, 2, 3]
    for record, fold in zip(result.records, folds, strict=True):
        assert record.spec["temperature"] == result.folds[fold].temperature


def test_the_bias_is_fitted_only_when_asked():
    records = _records(30)
    human = {
        i: softmax_aggregate(r.logits, 2.0, (0.0, 1.0, -1.0))
        for i, r in zip([r.id for r in records], records, strict=True)
    }
    assert calibrate(records, human).fit.bias == (0.0, 0.0, 0.0)
    biased = calibrate(records, human, fit_bias=True)
    assert biased.fit.bias == pytest.approx((0.0, 1.0, -1.0), abs=0.05)


def test_no_labelled_record_is_refused():
    with pytest.raises(DataError, match="no record has a human distribution"):
        calibrate(_records(3), {"elsewhere": np.array([1.0, 0.0, 0.0])})

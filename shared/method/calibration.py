"""Temperature (and bias) calibration of MJD records against human distributions.

Works on the records' raw label logits, so no LLM is needed. With ``folds`` the fit is
cross-fitted: every item is scored with parameters fitted on the other folds. Pure: reading
and writing the files and the table people read are the CLI's (``services/cli/calibration.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from shared.errors import DataError
from shared.method.aggregation import (
    BIAS_BOUND,
    TEMPERATURE_BOUNDS,
    Calibration,
    fit_calibration,
)
from shared.method.runs import MJDRecord
from shared.metrics import evaluate
from shared.tasks import NLI, Task


def bound_warnings(fit: Calibration, what: str = "calibration") -> list[str]:
    """A fit that ends at a bound of its search did not find an optimum there: at T = 100 the
    logits carry no usable signal at this scale and the calibrated MJDs are near uniform."""
    low, high = TEMPERATURE_BOUNDS
    warnings = []
    if fit.temperature >= high * (1 - 1e-3):
        warnings.append(
            f"{what}: the temperature hit its upper bound (T = {high:g}); the label logits "
            "carry little signal at this scale and the calibrated MJDs are close to uniform"
        )
    elif fit.temperature <= low * (1 + 1e-3):
        warnings.append(f"{what}: the temperature hit its lower bound (T = {low:g})")
    if any(abs(b) >= BIAS_BOUND * (1 - 1e-3) for b in fit.bias):
        warnings.append(f"{what}: a label bias hit its bound (±{BIAS_BOUND:g})")
    return warnings


def _fold_of(count: int, folds: int, seed: int) -> np.ndarray:
    order = np.random.default_rng(seed).permutation(count)
    assignment = np.empty(count, dtype=int)
    assignment[order] = np.arange(count) % folds
    return assignment


def cross_fit(
    logits: list[np.ndarray], human: np.ndarray, *, folds: int, fit_bias: bool, seed: int
) -> tuple[np.ndarray, list[Calibration], np.ndarray]:
    """Distributions for each item from a calibration fitted on the other folds; also the
    per-fold fits and each item's fold."""
    if folds < 2 or folds > len(logits):
        raise DataError(
            f"folds must be between 2 and the number of items ({len(logits)})", field="folds"
        )
    fold = _fold_of(len(logits), folds, seed)
    out = np.empty((len(logits), human.shape[1]))
    fits = []
    for f in range(folds):
        train = np.flatnonzero(fold != f)
        fit = fit_calibration([logits[i] for i in train], human[train], fit_bias=fit_bias)
        fits.append(fit)
        for i in np.flatnonzero(fold == f):
            out[i] = fit.apply(logits[i])
    return out, fits, fold


@dataclass(frozen=True, slots=True)
class Recalibration:
    """What :func:`calibrate` found: the fit on every labelled record (and per fold when
    cross-fitted), the metrics before and after, and every record recalibrated."""

    items: int
    labelled: int
    fit: Calibration
    before: dict[str, float]
    #: the metrics after, in sample (no folds) or cross-fitted (folds)
    after: dict[str, float]
    folds: list[Calibration]
    records: list[MJDRecord]
    warnings: list[str]


def calibrate(
    records: Sequence[MJDRecord],
    human_by_id: Mapping[str, np.ndarray],
    *,
    folds: int = 0,
    fit_bias: bool = False,
    seed: int = 0,
    task: Task = NLI,
) -> Recalibration:
    """Fit on the records that have a human distribution and apply the fit to every record;
    with ``folds`` each labelled record is instead scored by the fit of the other folds. The
    warnings say when a fit ends at a bound of its search. The records and the human
    distributions are over ``task``'s labels (the metrics use its labels and scale)."""
    labelled = [i for i, r in enumerate(records) if r.id in human_by_id]
    if not labelled:
        raise DataError("no record has a human distribution", field="id")
    k = len(task.labels)
    wrong = next((records[i] for i in labelled if records[i].logits.shape[-1] != k), None)
    if wrong is not None:
        raise DataError(
            f"record {wrong.id!r} has {wrong.logits.shape[-1]} label logits; task {task.ref} "
            f"has {k} labels ({', '.join(task.label_names)})",
            field="label_logits",
        )
    logits = [records[i].logits for i in labelled]
    human = np.array([human_by_id[records[i].id] for i in labelled])
    before = np.array([records[i].distribution for i in labelled])
    overall = fit_calibration(logits, human, fit_bias=fit_bias)
    # item index -> (distribution, the fit that made it, its fold or None)
    calibrated = {i: (overall.apply(r.logits), overall, None) for i, r in enumerate(records)}
    warnings = bound_warnings(overall)
    fits: list[Calibration] = []
    if folds:
        crossed, fits, fold = cross_fit(logits, human, folds=folds, fit_bias=fit_bias, seed=seed)
        for j, i in enumerate(labelled):
            calibrated[i] = (crossed[j], fits[fold[j]], int(fold[j]))
        after = crossed
        for f, fit in enumerate(fits):
            warnings += bound_warnings(fit, f"fold {f}")
    else:
        after = np.array([calibrated[i][0] for i in labelled])
    return Recalibration(
        items=len(records),
        labelled=len(labelled),
        fit=overall,
        before=_row(human, before, task),
        after=_row(human, after, task),
        folds=fits,
        records=[_recalibrated(r, *calibrated[i]) for i, r in enumerate(records)],
        warnings=warnings,
    )


def _row(human: np.ndarray, model: np.ndarray, task: Task) -> dict[str, float | None]:
    report = evaluate(human, model, labels=task.label_names, ordinal=task.ordinal, resamples=0)
    return report.headline().as_dict()


def _recalibrated(
    record: MJDRecord, distribution: np.ndarray, fit: Calibration, fold: int | None
) -> MJDRecord:
    spec = {
        **record.spec,
        "aggregation": "softmax",
        "temperature": fit.temperature,
        "bias": list(fit.bias),
        "calibration": {"cross_fit_fold": fold, "fitted_items": fit.items, "mean_kl": fit.mean_kl},
    }
    return replace(record, distribution=distribution.tolist(), spec=spec)

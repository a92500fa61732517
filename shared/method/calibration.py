"""Temperature (and bias) calibration of stored MJD runs against human distributions.

Works on the raw label logits in ``mjd generate`` output, so no LLM is needed. With ``folds``
the fit is cross-fitted: every item is scored with parameters fitted on the other folds.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from shared.datasets import (
    DEFAULT_DATASETS_DIR,
    id_mismatch,
    located,
    read_distributions,
    write_jsonl,
)
from shared.errors import DataError
from shared.jsonl import json_lines
from shared.method.aggregation import (
    BIAS_BOUND,
    TEMPERATURE_BOUNDS,
    Calibration,
    fit_calibration,
)
from shared.method.runs import MJDRecord
from shared.metrics import Headline, evaluate


def read_mjd_records(path: str | Path) -> list[MJDRecord]:
    """Records written by ``mjd generate``; each needs its raw label logits."""
    source = str(path)
    records = []
    for row, raw in json_lines(Path(path)):
        with located(source, row):
            if not isinstance(raw, dict) or not raw.get("id"):
                raise DataError("missing required field", field="id")
            logits = np.asarray(raw.get("label_logits"), dtype=np.float64)
            if logits.ndim != 3 or logits.shape[-1] != 3 or not np.isfinite(logits).all():
                raise DataError(
                    "expected [orders][option orders][3] finite logits (mjd generate output)",
                    field="label_logits",
                )
            records.append(MJDRecord.from_json(raw))
    if not records:
        raise DataError("file has no records", source=source)
    return records


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
    out = np.empty((len(logits), 3))
    fits = []
    for f in range(folds):
        train = np.flatnonzero(fold != f)
        fit = fit_calibration([logits[i] for i in train], human[train], fit_bias=fit_bias)
        fits.append(fit)
        for i in np.flatnonzero(fold == f):
            out[i] = fit.apply(logits[i])
    return out, fits, fold


def calibrate_file(
    mjd_path: str | Path,
    human_path: str | Path,
    *,
    out: str | Path | None = None,
    folds: int = 0,
    fit_bias: bool = False,
    seed: int = 0,
    datasets_dir: Path = DEFAULT_DATASETS_DIR,
) -> dict[str, Any]:
    """Fit on the MJD records that have a human distribution (the ids both files share) and
    apply the fit to every record; the summary warns when the files' ids differ (as ``mjd
    evaluate --subset`` does) and when a fit ends at a bound of its search."""
    records = read_mjd_records(mjd_path)
    human_set = read_distributions(human_path, datasets_dir=datasets_dir)
    mismatch = id_mismatch(human_set.ids, [r.id for r in records], human_path, mjd_path)
    human_by_id = dict(zip(human_set.ids, human_set.probs, strict=True))
    labelled = [i for i, r in enumerate(records) if r.id in human_by_id]
    if not labelled:
        raise DataError(f"no MJD id appears in {human_path}", field="id")
    logits = [records[i].logits for i in labelled]
    human = np.array([human_by_id[records[i].id] for i in labelled])
    before = np.array([records[i].distribution for i in labelled])
    overall = fit_calibration(logits, human, fit_bias=fit_bias)
    # item index -> (distribution, the fit that made it, its fold or None)
    calibrated = {i: (overall.apply(r.logits), overall, None) for i, r in enumerate(records)}
    summary: dict[str, Any] = {
        "items": len(records),
        "labelled": len(labelled),
        "fit": asdict(overall),
        "before": _row(human, before),
    }
    warnings = [f"fitted on the {len(labelled)} shared id(s); {mismatch}"] if mismatch else []
    warnings += bound_warnings(overall)
    if folds:
        crossed, fits, fold = cross_fit(logits, human, folds=folds, fit_bias=fit_bias, seed=seed)
        for j, i in enumerate(labelled):
            calibrated[i] = (crossed[j], fits[fold[j]], int(fold[j]))
        summary["folds"] = [asdict(fit) for fit in fits]
        summary["after_cross_fitted"] = _row(human, crossed)
        for f, fit in enumerate(fits):
            warnings += bound_warnings(fit, f"fold {f}")
    else:
        summary["after_in_sample"] = _row(human, np.array([calibrated[i][0] for i in labelled]))
    if out:
        write_jsonl(out, (_recalibrated(r, *calibrated[i]) for i, r in enumerate(records)))
        summary["out"] = str(out)
    summary["warnings"] = warnings
    return summary


def summary_table(summary: dict[str, Any]) -> str:
    """``calibrate_file``'s summary for people: the fit, then the metrics before and after."""
    fit = summary["fit"]
    lines = [
        f"items: {summary['items']} MJDs, {summary['labelled']} with a human distribution",
        f"fit: T = {fit['temperature']:.4g}, bias = "
        + ", ".join(f"{b:+.3f}" for b in fit["bias"])
        + f" (mean KL {fit['mean_kl']:.4f} on {fit['items']} items)",
        f"{'':<20}{'KL':>9}{'JSD':>9}{'TVD':>9}{'D.Corr':>9}",
    ]
    for key in ("before", "after_in_sample", "after_cross_fitted"):
        if key in summary:
            row = summary[key]
            name = key.replace("_", " ")
            lines.append(
                f"{name:<20}" + "".join(f"{row[m]:>9.4f}" for m in Headline.__struct_fields__)
            )
    if "folds" in summary:
        shown = ", ".join(f"{f['temperature']:.3g}" for f in summary["folds"])
        lines.append(f"fold temperatures: {shown}")
    if "out" in summary:
        lines.append(f"out: {summary['out']}")
    lines += [f"warning: {w}" for w in summary["warnings"]]
    return "\n".join(lines)


def _row(human: np.ndarray, model: np.ndarray) -> dict[str, float | None]:
    return evaluate(human, model, resamples=0).headline().as_dict()


def _recalibrated(
    record: MJDRecord, distribution: np.ndarray, fit: Calibration, fold: int | None
) -> dict[str, Any]:
    spec = {
        **record.spec,
        "aggregation": "softmax",
        "temperature": fit.temperature,
        "bias": list(fit.bias),
        "calibration": {"cross_fit_fold": fold, "fitted_items": fit.items, "mean_kl": fit.mean_kl},
    }
    return replace(record, distribution=distribution.tolist(), spec=spec).to_json()

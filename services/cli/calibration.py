"""``mjd calibrate``'s files and table: read ``mjd generate`` output and human
distributions, run :func:`shared.method.calibration.calibrate`, write the recalibrated records
and summarise the fit (JSON or a table for people)."""

from __future__ import annotations

from dataclasses import asdict
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
from shared.method.calibration import calibrate
from shared.method.runs import MJDRecord


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
    if not any(r.id in human_by_id for r in records):
        raise DataError(f"no MJD id appears in {human_path}", field="id")
    result = calibrate(records, human_by_id, folds=folds, fit_bias=fit_bias, seed=seed)
    summary: dict[str, Any] = {
        "items": result.items,
        "labelled": result.labelled,
        "fit": asdict(result.fit),
        "before": result.before,
    }
    if folds:
        summary["folds"] = [asdict(fit) for fit in result.folds]
        summary["after_cross_fitted"] = result.after
    else:
        summary["after_in_sample"] = result.after
    if out:
        write_jsonl(out, (record.to_json() for record in result.records))
        summary["out"] = str(out)
    shared = [f"fitted on the {result.labelled} shared id(s); {mismatch}"] if mismatch else []
    summary["warnings"] = shared + result.warnings
    return summary


#: the columns of the table: the paper's four (Manhattan and Wasserstein are in the JSON)
SHOWN = ("kl", "jsd", "tvd", "dcorr")


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
            lines.append(f"{name:<20}" + "".join(f"{row[m]:>9.4f}" for m in SHOWN))
    if "folds" in summary:
        shown = ", ".join(f"{f['temperature']:.3g}" for f in summary["folds"])
        lines.append(f"fold temperatures: {shown}")
    if "out" in summary:
        lines.append(f"out: {summary['out']}")
    lines += [f"warning: {w}" for w in summary["warnings"]]
    return "\n".join(lines)

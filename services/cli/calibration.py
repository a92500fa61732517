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
from shared.tasks import NLI, Task


def read_mjd_records(path: str | Path, task: Task | None = None) -> list[MJDRecord]:
    """Records written by ``mjd generate``; each needs its raw label logits, one per label
    of the labels it lists (records from before list none: NLI's three), which must be
    ``task``'s when one is given."""
    source = str(path)
    records = []
    for row, raw in json_lines(Path(path)):
        with located(source, row):
            if not isinstance(raw, dict) or not raw.get("id"):
                raise DataError("missing required field", field="id")
            labels = raw.get("labels")
            if labels is not None and (
                not isinstance(labels, list) or not all(isinstance(x, str) for x in labels)
            ):
                raise DataError("expected a list of label names", field="labels")
            names = tuple(labels) if labels else NLI.label_names
            if task is not None and names != task.label_names:
                raise DataError(
                    f"the record's labels are {', '.join(names)}; task {task.ref} has "
                    f"{', '.join(task.label_names)}",
                    field="labels",
                )
            logits = np.asarray(raw.get("label_logits"), dtype=np.float64)
            k = len(names)
            if logits.ndim != 3 or logits.shape[-1] != k or not np.isfinite(logits).all():
                raise DataError(
                    f"expected [orders][option orders][{k}] finite logits (mjd generate output)",
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
    task: Task | None = None,
) -> dict[str, Any]:
    """Fit on the MJD records that have a human distribution (the ids both files share) and
    apply the fit to every record; the summary warns when the files' ids differ (as ``mjd
    evaluate --subset`` does) and when a fit ends at a bound of its search. The task is the
    human file's (or ``task``); the records must be over its labels."""
    human_set = read_distributions(human_path, task=task, datasets_dir=datasets_dir)
    chosen = human_set.task
    records = read_mjd_records(mjd_path, chosen)
    mismatch = id_mismatch(human_set.ids, [r.id for r in records], human_path, mjd_path)
    human_by_id = dict(zip(human_set.ids, human_set.probs, strict=True))
    if not any(r.id in human_by_id for r in records):
        raise DataError(f"no MJD id appears in {human_path}", field="id")
    result = calibrate(records, human_by_id, folds=folds, fit_bias=fit_bias, seed=seed, task=chosen)
    summary: dict[str, Any] = {
        "task": chosen.ref,
        "labels": list(chosen.label_names),
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
#: the columns another task's table adds, with their headers
LEWIDI = {"manhattan": "Manh.", "wasserstein": "Wass."}


def summary_table(summary: dict[str, Any]) -> str:
    """``calibrate_file``'s summary for people: the fit, then the metrics before and after."""
    fit = summary["fit"]
    lines = [
        f"items: {summary['items']} MJDs, {summary['labelled']} with a human distribution",
        f"fit: T = {fit['temperature']:.4g}, bias = "
        + ", ".join(f"{b:+.3f}" for b in fit["bias"])
        + f" (mean KL {fit['mean_kl']:.4f} on {fit['items']} items)",
    ]
    # another task's table adds LeWiDi's columns its rows have (Wasserstein: ordinal ones)
    nli = summary.get("labels", list(NLI.label_names)) == list(NLI.label_names)
    lewidi = [] if nli else [m for m in LEWIDI if summary["before"].get(m) is not None]
    lines.append(f"{'':<20}{'KL':>9}{'JSD':>9}{'TVD':>9}{'D.Corr':>9}"
                 + "".join(f"{LEWIDI[m]:>9}" for m in lewidi))  # fmt: skip
    if not nli:
        lines.insert(0, f"task: {summary['task']} ({', '.join(summary['labels'])})")
    for key in ("before", "after_in_sample", "after_cross_fitted"):
        if key in summary:
            row = summary[key]
            name = key.replace("_", " ")
            lines.append(f"{name:<20}" + "".join(f"{row[m]:>9.4f}" for m in (*SHOWN, *lewidi)))
    if "folds" in summary:
        shown = ", ".join(f"{f['temperature']:.3g}" for f in summary["folds"])
        lines.append(f"fold temperatures: {shown}")
    if "out" in summary:
        lines.append(f"out: {summary['out']}")
    lines += [f"warning: {w}" for w in summary["warnings"]]
    return "\n".join(lines)

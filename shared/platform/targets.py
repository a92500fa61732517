"""Where training data comes from: a dataset's human distributions (HJDs), or the MJDs of a
finished generation job, optionally recalibrated (temperature and per-label bias) on a
labelled subset, because a small LLM's raw MJDs are near-uniform."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shared.contracts.specs import DataRef
from shared.datasets import DEFAULT_DATASETS_DIR, VENDORED, read_instances, vendored_path
from shared.errors import DataError, NotFound
from shared.method.aggregation import fit_calibration
from shared.method.calibration import bound_warnings
from shared.method.runs import MJDRecord
from shared.platform import layout
from shared.platform.artifacts import ArtifactStore, check_id
from shared.schemas import Instance
from shared.tasks import NLI, Task
from shared.training import SoftLabelled

#: the ways a training request names its data; exactly one per request
SOURCES = DataRef.__struct_fields__


@dataclass(frozen=True, slots=True)
class Source:
    """Instances and, for an MJD job, its records (aligned by id)."""

    instances: list[Instance]
    records: list[MJDRecord] | None
    provenance: dict[str, str]


def resolve(
    store: ArtifactStore,
    ref: DataRef,
    field: str = "data",
    *,
    datasets_dir: Path = DEFAULT_DATASETS_DIR,
    task: Task = NLI,
) -> Source:
    """Read what ``ref`` names (vendored datasets, NLI, from ``datasets_dir``; a stored
    dataset or MJD job holds items of ``task``), with errors naming ``field``; cheap enough
    for the API to call before queueing."""
    given = [name for name in SOURCES if getattr(ref, name) is not None]
    if len(given) != 1:
        raise DataError(f"give exactly one of {', '.join(SOURCES)}", field=field)
    kind, value = given[0], str(getattr(ref, given[0]))
    where = f"{field}.{kind}"
    if kind == "vendored":
        if value not in VENDORED:
            raise DataError(f"unknown dataset; vendored: {', '.join(VENDORED)}", field=where)
        instances = read_instances(vendored_path(value, datasets_dir), datasets_dir=datasets_dir)
        return Source(instances, None, {kind: value})
    check_id(value, where)
    if kind == "dataset_id":
        if not layout.dataset_exists(store, value):
            raise NotFound(f"no dataset {value!r}", field=where)
        return Source(layout.dataset_instances(store, value, task), None, {kind: value})
    if layout.finished_summary(store, value) is None or not store.exists(
        layout.JOBS, value, layout.MJD_RESULT
    ):
        raise NotFound(f"no finished MJD job {value!r}", field=where)
    instances = layout.job_input(store, value, task)
    by_id = {r["id"]: MJDRecord.from_json(r) for r in layout.mjd_records(store, value)}
    if set(by_id) != {i.id for i in instances}:
        raise DataError("the job's records do not match its instances", field=where)
    return Source(instances, [by_id[i.id] for i in instances], {kind: value})


@dataclass(frozen=True, slots=True)
class Targets:
    data: SoftLabelled
    calibration: dict[str, Any] | None


def mjd_targets(
    instances: Sequence[Instance],
    records: Sequence[MJDRecord],
    calibrate_on: int | None = None,
    seed: int = 0,
) -> Targets:
    """MJDs as soft targets; with ``calibrate_on`` = n, temperature and bias are fitted on a
    seeded sample of n items that have human distributions and applied to every item."""
    if not calibrate_on:
        targets = np.array([r.distribution for r in records], dtype=np.float64)
        return Targets(SoftLabelled.from_instances(instances, targets), None)
    labelled = labelled_rows(instances, calibrate_on)
    rows = np.random.default_rng(seed).choice(labelled, size=calibrate_on, replace=False)
    fit = fit_calibration(
        [records[r].logits for r in rows],
        np.array([instances[r].human.probs for r in rows]),
        fit_bias=True,
    )
    targets = np.array([fit.apply(r.logits) for r in records])
    calibration = {
        "temperature": fit.temperature,
        "bias": list(fit.bias),
        "fitted_items": fit.items,
        "fitted_mean_kl": fit.mean_kl,
        "fitted_ids": sorted(instances[r].id for r in rows),
        "warnings": bound_warnings(fit),
    }
    return Targets(SoftLabelled.from_instances(instances, targets), calibration)


def labelled_rows(instances: Sequence[Instance], calibrate_on: int) -> list[int]:
    """Rows with a human distribution, at least ``calibrate_on`` of them."""
    labelled = [i for i, instance in enumerate(instances) if instance.human is not None]
    if calibrate_on > len(labelled):
        raise DataError(
            f"only {len(labelled)} items have human distributions", field="calibrate_on"
        )
    return labelled


def check_targets(source: Source, calibrate_on: int | None = None) -> None:
    """Refuse what :func:`targets_of` would refuse, without fitting a calibration (the API
    checks a training request before queueing it)."""
    if source.records is None:
        targets_of(source, calibrate_on)  # cheap for human distributions
    elif calibrate_on:
        labelled_rows(source.instances, calibrate_on)


def targets_of(source: Source, calibrate_on: int | None = None, seed: int = 0) -> Targets:
    """Human distributions for a dataset, MJDs for a generation job."""
    if source.records is None:
        if calibrate_on:
            raise DataError("only MJD targets are calibrated", field="calibrate_on")
        return Targets(SoftLabelled.from_instances(source.instances), None)
    return mjd_targets(source.instances, source.records, calibrate_on, seed)

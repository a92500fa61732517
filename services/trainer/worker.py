"""Celery worker of the training service (queue ``training``): distil, export, register.

Run: ``celery -A services.trainer.worker worker -Q training``. One job trains a student of
its task (``job.task``: the head has its labels, a row its input fields) on soft targets,
exports it to ONNX (checked against torch), publishes it as a new model version of that task
and, when asked, promotes it for that task (API servers then hot-reload it).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from services.trainer.export import export_student
from services.trainer.training import train
from shared.contracts import JobKind, encode
from shared.contracts.specs import TrainingJobSpec
from shared.contracts.summaries import TrainingSummary
from shared.metrics import Headline
from shared.platform.jobs import celery_app, database, job_task, progress_reporter, settings, store
from shared.platform.layout import JOBS, TRAINING_REPORT, TRAINING_VERSION
from shared.platform.registry import ModelRegistry
from shared.platform.targets import resolve, targets_of
from shared.platform.telemetry import instrument_worker
from shared.training import check_base_model

app = celery_app("mjd-trainer")
instrument_worker()
log = logging.getLogger(__name__)


def _version_for(job_id: str, registry: ModelRegistry) -> str:
    """The job's model version: claimed once, reused when the task is redelivered."""
    if store().exists(JOBS, job_id, TRAINING_VERSION):
        return str(store().read_json(JOBS, job_id, TRAINING_VERSION)["version"])
    version = registry.claim_version()
    store().write_json(JOBS, job_id, TRAINING_VERSION, {"version": version})
    return version


@job_task(app, JobKind.TRAINING)
def train_job(task: Any, job_id: str, job: TrainingJobSpec) -> TrainingSummary:
    started = time.monotonic()
    spec, task = job.train, job.task
    check_base_model(spec.base_model)  # a job names bases; folders are the command line's
    folder = settings().datasets_dir
    source = resolve(store(), job.data, datasets_dir=folder, task=task)
    targets = targets_of(source, job.calibrate_on, spec.seed)
    for warning in (targets.calibration or {}).get("warnings", []):
        log.warning(warning)  # train() logs its own (a small dev set)
    if job.dev is not None:
        dev_source = resolve(store(), job.dev, "dev", datasets_dir=folder, task=task)
        data, dev = targets.data, targets_of(dev_source).data
    else:
        data, dev = targets.data.split(spec.dev_fraction, spec.seed)
    result = train(data, dev, spec, progress_reporter(job_id), task)
    registry = ModelRegistry(store(), database())
    version = _version_for(job_id, registry)
    export = export_student(
        result.student, result.tokenizer, dev, registry.folder(version), int8=job.quantize
    )
    held_out = f"{spec.dev_fraction:.0%} held out (seed {spec.seed})"
    training_data = {
        **source.provenance,
        "targets": "mjd" if source.records else "human",
        "items": len(data),
        "dev_items": len(dev),
        "dev": encode(job.dev) if job.dev else held_out,
        "calibration": targets.calibration,
    }
    metadata = registry.publish(
        version, {**result.info(spec, training_data), "job_id": job_id, "export": export}
    )
    if job.promote:
        registry.promote(version, task.ref)
    store().write_json(JOBS, job_id, TRAINING_REPORT, metadata)
    return TrainingSummary(
        job_id=job_id,
        version=version,
        promoted=job.promote,
        items=len(data),
        best_epoch=result.best_epoch,
        dev=result.dev_report.headline() if result.dev_report else Headline(),
        parity_max_abs_diff=export["parity"]["max_abs_diff"],
        warnings=[*(targets.calibration or {}).get("warnings", []), *result.warnings],
        artifacts=[TRAINING_REPORT],
        seconds=time.monotonic() - started,
    )

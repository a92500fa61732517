"""Celery worker of the generation service (queue ``mjd``): a thin adapter over the engine.

Run: ``celery -A services.generator.worker worker -Q mjd``. The LLM is loaded once per
worker process and reused by every job with the same backend settings.
"""

from __future__ import annotations

import functools
import json
import time
from typing import Any

from services.generator.backends import create_backend
from services.generator.engine import generate
from shared.jobs import celery_app, job_task, progress_reporter, store
from shared.layout import JOBS, MJD_RESULT, job_input
from shared.method.runs import RunSpec
from shared.telemetry import instrument_worker

app = celery_app("mjd-generator")
instrument_worker("mjd")


@functools.cache
def backend_for(name: str, model: str | None, options: str) -> Any:
    """One backend (one loaded model) per process and configuration."""
    return create_backend(name, model, **json.loads(options))


@job_task(app, "mjd.generate")
def generate_mjd(task: Any, job_id: str, job: dict[str, Any]) -> dict[str, Any]:
    """MJDs for the job's stored instances; the result file is written atomically, so a
    redelivered task redoes the work into the same file (never two copies)."""
    instances = job_input(store(), job_id)
    started = time.monotonic()
    backend = backend_for(
        job.get("backend", "transformers"),
        job.get("model"),
        json.dumps(job.get("backend_options", {}), sort_keys=True),
    )
    loaded = time.monotonic()
    records = generate(
        instances,
        backend,
        RunSpec(**job.get("run", {})),
        items_per_call=1,
        progress=progress_reporter(task, job_id),
    )
    lines = b"".join(json.dumps(r.to_json()).encode() + b"\n" for r in records)
    store().write_bytes(JOBS, job_id, MJD_RESULT, lines)
    return {
        "job_id": job_id,
        "kind": "mjd",
        "items": len(instances),
        "model": backend.model_id,
        "backend": backend.name,
        "artifacts": [MJD_RESULT],
        "seconds": {"model": loaded - started, "generation": time.monotonic() - loaded},
    }

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
from services.generator.engine import RunSpec, generate
from shared.datasets import read_instances
from shared.jobs import (
    JOB_INPUT,
    JOB_SPEC,
    JOB_SUMMARY,
    cancellable,
    celery_app,
    finished_summary,
    progress_reporter,
    start_job,
    store,
)
from shared.telemetry import instrument_worker

app = celery_app("mjd-generator")
instrument_worker("mjd")
RESULT = "result.jsonl"


@functools.cache
def backend_for(name: str, model: str | None, options: str) -> Any:
    """One backend (one loaded model) per process and configuration."""
    return create_backend(name, model, **json.loads(options))


@app.task(name="mjd.generate", bind=True)
def generate_mjd(self: Any, job_id: str) -> dict[str, Any]:
    """MJDs for the job's stored instances and spec; the result file is written atomically
    and the summary last, so a redelivered task either returns the summary or redoes the
    work into the same file (never two copies)."""
    with cancellable(self):
        done = finished_summary(job_id)
        if done is not None:
            return done
        start_job(job_id)
        job = store().read_json("jobs", job_id, JOB_SPEC)
        instances = read_instances(store().path("jobs", job_id, JOB_INPUT), "jsonl")
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
            progress=progress_reporter(self, job_id),
        )
        lines = b"".join(json.dumps(r.to_json()).encode() + b"\n" for r in records)
        store().write_bytes("jobs", job_id, RESULT, lines)
        summary = {
            "job_id": job_id,
            "kind": "mjd",
            "items": len(instances),
            "model": backend.model_id,
            "backend": backend.name,
            "artifacts": [RESULT],
            "seconds": {"model": loaded - started, "generation": time.monotonic() - loaded},
        }
        store().write_json("jobs", job_id, JOB_SUMMARY, summary)
        return summary

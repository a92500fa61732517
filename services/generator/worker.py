"""Celery worker of the generation service (queue ``mjd``): a thin adapter over the engine.

Run: ``celery -A services.generator.worker worker -Q mjd``. Each pool process loads the
default LLM when it starts, before it takes a task, so no job spends its time limit loading
it; a model is loaded once per process and reused by every job with the same backend settings.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from typing import Any

from celery.signals import worker_process_init

from services.generator.backends import create_backend
from services.generator.engine import generate
from shared.jobs import celery_app, job_task, progress_reporter, store
from shared.layout import JOBS, MJD_RESULT, job_input
from shared.method.runs import RunSpec
from shared.telemetry import instrument_worker

log = logging.getLogger(__name__)
app = celery_app("mjd-generator")
#: a pool process reports up once it has loaded the LLM: allow that as long as a task may run
app.conf.worker_proc_alive_timeout = app.conf.task_time_limit
instrument_worker()


@functools.cache
def backend_for(name: str, model: str | None, options: str) -> Any:
    """One backend (one loaded model) per process and configuration."""
    return create_backend(name, model, **json.loads(options))


def backend_settings(job: dict[str, Any]) -> tuple[str, str | None, str]:
    """The backend a job spec asks for, as :func:`backend_for`'s arguments (the defaults when
    it names none)."""
    options = json.dumps(job.get("backend_options", {}), sort_keys=True)
    return job.get("backend", "transformers"), job.get("model"), options


@worker_process_init.connect(weak=False)
def load_default_backend(**_: Any) -> None:
    """Load the default LLM in each pool process before its first task, outside every task
    time limit (on a loaded machine loading takes longer than a short soft limit)."""
    started = time.monotonic()
    try:
        backend = backend_for(*backend_settings({}))
    except Exception:  # the first job that needs the model reports the error as its own
        log.exception("the default LLM did not load at start-up")
        return
    log.info("loaded %s in %.1f s", backend.model_id, time.monotonic() - started)


@job_task(app, "mjd.generate")
def generate_mjd(task: Any, job_id: str, job: dict[str, Any]) -> dict[str, Any]:
    """MJDs for the job's stored instances; the result file is written atomically, so a
    redelivered task redoes the work into the same file (never two copies)."""
    instances = job_input(store(), job_id)
    started = time.monotonic()
    backend = backend_for(*backend_settings(job))
    loaded = time.monotonic()
    records = generate(
        instances,
        backend,
        RunSpec(**job.get("run", {})),
        items_per_call=1,
        progress=progress_reporter(job_id),
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

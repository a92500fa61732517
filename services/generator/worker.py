"""Celery worker of the generation service (queue ``mjd``): a thin adapter over the engine
(MJD jobs) and over :func:`shared.method.explanations.explain` (explanation jobs).

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

import msgspec
from celery.signals import worker_process_init

from services.generator.backends import backend_arguments, create_backend
from services.generator.engine import generate
from shared.contracts import JobKind
from shared.contracts.specs import ExplanationJobSpec, MjdJobSpec
from shared.contracts.summaries import ExplanationSummary, MjdSeconds, MjdSummary
from shared.method.explanations import explain_with, plan, tally
from shared.method.runs import LLMChoice, RunSpec, explanation_orders
from shared.platform import layout
from shared.platform.jobs import (
    JobCancelled,
    JobYielded,
    cancel_check,
    celery_app,
    give_way_check,
    job_task,
    progress_reporter,
    settings,
    store,
)
from shared.platform.layout import JOBS, job_input
from shared.platform.telemetry import instrument_worker
from shared.schemas import Instance
from shared.tasks import NLI, Task, option_orders

log = logging.getLogger(__name__)
app = celery_app("mjd-generator")
#: a pool process reports up once it has loaded the LLM: allow that as long as a task may run
app.conf.worker_proc_alive_timeout = app.conf.task_time_limit
instrument_worker()


@functools.cache
def backend_for(name: str, model: str | None, options: str) -> Any:
    """One backend (one loaded model) per process and configuration."""
    return create_backend(name, model, **json.loads(options))


def backend_settings(llm: LLMChoice) -> tuple[str, str | None, str]:
    """The backend a job's LLM choice asks for, as :func:`backend_for`'s arguments; an
    endpoint name becomes its URL and options from this worker's MJD_OPENAI_ENDPOINTS."""
    name, model, options = backend_arguments(llm, settings().openai_endpoints)
    return name, model, json.dumps(options, sort_keys=True)


@worker_process_init.connect(weak=False)
def load_default_backend(**_: Any) -> None:
    """Load the default LLM in each pool process before its first task, outside every task
    time limit (on a loaded machine loading takes longer than a short soft limit)."""
    started = time.monotonic()
    try:
        backend = backend_for(*backend_settings(LLMChoice()))
    except Exception:  # the first job that needs the model reports the error as its own
        log.exception("the default LLM did not load at start-up")
        return
    log.info("loaded %s in %.1f s", backend.model_id, time.monotonic() - started)


@job_task(app, JobKind.MJD)
def generate_mjd(task: Any, job_id: str, job: MjdJobSpec) -> MjdSummary:
    """MJDs for the job's stored instances. Each finished item is checkpointed, so a job
    delivered again (its worker stopped, or it gave way to waiting jobs as a background job
    does between items) goes on where it stopped; the result file is written atomically at
    the end, so a redelivered task never leaves two copies."""
    instances = job_input(store(), job_id, job.task)
    spec = job.run.for_task(job.task)
    records = layout.checkpointed_records(store(), job_id, [i.id for i in instances])
    layout.checkpoint_records(store(), job_id, records)
    started = time.monotonic()
    backend = backend_for(*backend_settings(job.llm))
    loaded = time.monotonic()
    report = progress_reporter(job_id)
    before = sum(prompt_count(i, spec, job.task) for i in instances[: len(records)])
    gives_way = give_way_check(job_id)
    for record in generate(
        instances[len(records) :],
        backend,
        spec,
        task=job.task,
        progress=lambda done, total: report(before + done, before + total),
    ):
        records.append(record.to_json())
        layout.append_checkpoint(store(), job_id, records[-1])
        if len(records) < len(instances) and gives_way():
            raise JobYielded(job_id)
    lines = b"".join(msgspec.json.encode(r) + b"\n" for r in records)
    store().write_bytes(JOBS, job_id, layout.MJD_RESULT, lines)
    store().path(JOBS, job_id, layout.MJD_CHECKPOINT).unlink()
    return MjdSummary(
        job_id=job_id,
        items=len(instances),
        artifacts=[layout.MJD_RESULT],
        **llm_run(backend, started, loaded),
    )


@job_task(app, JobKind.EXPLANATION)
def explain_items(task: Any, job_id: str, job: ExplanationJobSpec) -> ExplanationSummary:
    """Explanations by the job's LLM for its stored items. The labels are planned again from
    the stored items (the API planned them the same way before queueing); the result is
    written whole at the end, so a redelivered job simply starts again."""
    instances = job_input(store(), job_id, job.task)
    spec = job.explain
    given = plan(instances, spec, layout.job_labels(store(), job_id, job.task), job.task)
    started = time.monotonic()
    backend = backend_for(*backend_settings(job.llm))
    loaded = time.monotonic()
    records = list(
        explain_with(
            backend,
            instances,
            given,
            spec,
            task=job.task,
            progress=progress_reporter(job_id),
            cancelled=cancel_check(job_id),
        )
    )
    if len(records) < len(instances):  # explain stopped early: the job was cancelled
        raise JobCancelled(job_id)
    lines = b"".join(msgspec.json.encode(r) + b"\n" for r in records)
    store().write_bytes(JOBS, job_id, layout.EXPLANATION_RESULT, lines)
    return ExplanationSummary(
        job_id=job_id,
        items=len(records),
        **tally(records),
        artifacts=[layout.EXPLANATION_RESULT],
        **llm_run(backend, started, loaded),
    )


def llm_run(backend: Any, started: float, loaded: float) -> dict[str, Any]:
    """A generation summary's model, backend and seconds (loading the model, then the rest)."""
    seconds = MjdSeconds(model=loaded - started, generation=time.monotonic() - loaded)
    return {"model": backend.model_id, "backend": backend.name, "seconds": seconds}


def prompt_count(instance: Instance, spec: RunSpec, task: Task = NLI) -> int:
    return len(explanation_orders(instance, spec)) * len(option_orders(task, spec.seed))

"""Celery worker of the metrics service (queue ``metrics``): reports, ternary plots and
entropy scatters.

Run: ``celery -A services.metrics.worker worker -Q metrics``.
"""

from __future__ import annotations

import time
from typing import Any

from shared.contracts import JobKind
from shared.contracts.specs import MetricsJobSpec
from shared.contracts.summaries import MetricsSummary
from shared.datasets import align, read_distributions
from shared.metrics import evaluate
from shared.platform.jobs import celery_app, job_task, progress_reporter, settings, store
from shared.platform.layout import (
    JOBS,
    METRICS_ENTROPY_PLOT,
    METRICS_HUMAN,
    METRICS_MODEL,
    METRICS_PLOT,
    METRICS_REPORT,
)
from shared.platform.telemetry import instrument_worker
from shared.plots import entropy_figure, png_bytes, ternary_figure

app = celery_app("mjd-metrics")
instrument_worker()


@job_task(app, JobKind.METRICS)
def evaluate_job(task: Any, job_id: str, job: MetricsJobSpec) -> MetricsSummary:
    """Compare the job's stored human and model distributions; write the report and the
    plots, titled with its headline metrics. The bootstrap reports its progress, and stops
    the job (JobCancelled) once it is cancelled."""
    started = time.monotonic()
    folder = settings().datasets_dir
    human = read_distributions(store().path(JOBS, job_id, METRICS_HUMAN), datasets_dir=folder)
    model = read_distributions(store().path(JOBS, job_id, METRICS_MODEL), datasets_dir=folder)
    _, human_probs, model_probs = align(human, model)
    report = evaluate(
        human_probs,
        model_probs,
        resamples=job.bootstrap,
        seed=job.seed,
        progress=progress_reporter(job_id),
    )
    store().write_json(JOBS, job_id, METRICS_REPORT, report.to_json())
    artifacts = [METRICS_REPORT]
    headline = report.headline()
    summary = headline.as_dict()
    if job.plot:
        for name, figure in (
            (METRICS_PLOT, ternary_figure(human_probs, model_probs, metrics=summary)),
            (METRICS_ENTROPY_PLOT, entropy_figure(human_probs, model_probs, metrics=summary)),
        ):
            store().write_bytes(JOBS, job_id, name, png_bytes(figure))
            artifacts.append(name)
    return MetricsSummary(
        job_id=job_id,
        items=report.n,
        summary_row=headline,
        artifacts=artifacts,
        seconds=time.monotonic() - started,
    )

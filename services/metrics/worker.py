"""Celery worker of the metrics service (queue ``metrics``): reports and plots for any task
(the ternary plot for 3 labels, the mean distributions otherwise, the entropy scatter, and
for an ordinal task the expected values).

Run: ``celery -A services.metrics.worker worker -Q metrics``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from shared.contracts import JobKind
from shared.contracts.specs import MetricsJobSpec
from shared.contracts.summaries import MetricsSummary
from shared.datasets import align, read_distributions
from shared.metrics import evaluate
from shared.platform.jobs import celery_app, job_task, progress_reporter, settings, store
from shared.platform.layout import (
    JOBS,
    METRICS_ENTROPY_PLOT,
    METRICS_EXPECTED_PLOT,
    METRICS_HUMAN,
    METRICS_MODEL,
    METRICS_PLOT,
    METRICS_REPORT,
)
from shared.platform.telemetry import instrument_worker
from shared.plots import plot_figures, png_bytes
from shared.tasks import Task

#: the artifact each of :func:`shared.plots.plot_figures`' plots is stored as
PLOT_FILES = {
    "ternary": METRICS_PLOT,
    "means": METRICS_PLOT,
    "entropy": METRICS_ENTROPY_PLOT,
    "expected": METRICS_EXPECTED_PLOT,
}
#: the main plot's title (the ternary plot's as before tasks)
PLOT_TITLE = "Human vs model distributions"

app = celery_app("mjd-metrics")
instrument_worker()


def scale_values(task: Task) -> list[float] | None:
    """Where an ordinal task's labels sit on its scale: their numbers ("-5".."5") when every
    label is one, else None (0..K-1)."""
    try:
        return [float(name) for name in task.label_names]
    except ValueError:
        return None


def plot_artifacts(
    human: np.ndarray, model: np.ndarray, task: Task, metrics: dict[str, Any]
) -> list[tuple[str, bytes]]:
    """The job's plots as (artifact name, PNG bytes), main plot first."""
    figures = plot_figures(
        human,
        model,
        title=PLOT_TITLE,
        metrics=metrics,
        labels=task.label_names,
        ordinal=task.ordinal,
        values=scale_values(task),
    )
    return [(PLOT_FILES[kind], png_bytes(figure)) for kind, figure in figures.items()]


@job_task(app, JobKind.METRICS)
def evaluate_job(task: Any, job_id: str, job: MetricsJobSpec) -> MetricsSummary:
    """Compare the job's stored human and model distributions over its task's labels; write
    the report and the plots, titled with its headline metrics. The bootstrap reports its
    progress, and stops the job (JobCancelled) once it is cancelled."""
    started = time.monotonic()
    folder = settings().datasets_dir
    of = job.task
    paths = (store().path(JOBS, job_id, name) for name in (METRICS_HUMAN, METRICS_MODEL))
    human, model = (read_distributions(p, task=of, datasets_dir=folder) for p in paths)
    _, human_probs, model_probs = align(human, model)
    report = evaluate(
        human_probs,
        model_probs,
        labels=of.label_names,
        ordinal=of.ordinal,
        resamples=job.bootstrap,
        seed=job.seed,
        progress=progress_reporter(job_id),
    )
    store().write_json(JOBS, job_id, METRICS_REPORT, report.to_json())
    artifacts = [METRICS_REPORT]
    headline = report.headline()
    if job.plot:
        for name, png in plot_artifacts(human_probs, model_probs, of, headline.as_dict()):
            store().write_bytes(JOBS, job_id, name, png)
            artifacts.append(name)
    return MetricsSummary(
        job_id=job_id,
        items=report.n,
        summary_row=headline,
        artifacts=artifacts,
        seconds=time.monotonic() - started,
    )

"""Celery worker of the metrics service (queue ``metrics``): reports and ternary plots.

Run: ``celery -A services.metrics.worker worker -Q metrics``.
"""

from __future__ import annotations

import io
import time
from typing import Any

from shared.datasets import align, read_distributions
from shared.jobs import celery_app, job_task, store
from shared.metrics import evaluate
from shared.plots import ternary_figure
from shared.telemetry import instrument_worker

app = celery_app("mjd-metrics")
instrument_worker("metrics")
HUMAN, MODEL, REPORT, PLOT = "human.jsonl", "model.jsonl", "report.json", "ternary.png"


@job_task(app, "metrics.evaluate")
def evaluate_job(task: Any, job_id: str, job: dict[str, Any]) -> dict[str, Any]:
    """Compare the job's stored human and model distributions; write report and plot."""
    started = time.monotonic()
    human = read_distributions(store().path("jobs", job_id, HUMAN))
    model = read_distributions(store().path("jobs", job_id, MODEL))
    _, human_probs, model_probs = align(human, model)
    report = evaluate(
        human_probs,
        model_probs,
        resamples=int(job.get("bootstrap", 1000)),
        seed=int(job.get("seed", 0)),
    )
    store().write_json("jobs", job_id, REPORT, report.to_json())
    artifacts = [REPORT]
    if job.get("plot", True):
        buffer = io.BytesIO()
        ternary_figure(human_probs, model_probs).savefig(buffer, format="png", dpi=150)
        store().write_bytes("jobs", job_id, PLOT, buffer.getvalue())
        artifacts.append(PLOT)
    return {
        "job_id": job_id,
        "kind": "metrics",
        "items": report.n,
        "summary_row": dict(zip(("kl", "jsd", "tvd", "dcorr"), report.summary_row(), strict=True)),
        "artifacts": artifacts,
        "seconds": time.monotonic() - started,
    }

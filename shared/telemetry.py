"""Prometheus metrics shared by the API and the workers.

Workers run in several processes, so mjd up sets PROMETHEUS_MULTIPROC_DIR (wiped at start)
and the API's /metrics aggregates every process's files (prometheus_client multiprocess
mode). Series names are listed in :data:`SERIES` for the dashboards and alert rules.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
    start_http_server,
)

JOBS_SUBMITTED = Counter("mjd_jobs_submitted_total", "Jobs queued by the API", ["queue"])
JOBS_FINISHED = Counter(
    "mjd_jobs_finished_total", "Job deliveries ended by workers, by final state", ["queue", "state"]
)
JOB_SECONDS = Histogram(
    "mjd_job_duration_seconds",
    "Wall time of finished jobs",
    ["queue", "state"],
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)

PREDICT_BATCH = Histogram(
    "mjd_predictor_batch_size",
    "Pairs per model call of the predictor's micro-batcher",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
PREDICT_WAIT = Histogram(
    "mjd_predictor_queue_wait_seconds",
    "Time a prediction request waited for its batch to start",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
PREDICT_SECONDS = Histogram(
    "mjd_predictor_inference_seconds",
    "Tokenisation and ONNX Runtime time per batch",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
PREDICT_REJECTED = Counter(
    "mjd_predictor_rejected_total", "Prediction requests refused (429) because the queue was full"
)
PREDICT_DROPPED = Counter(
    "mjd_predictor_dropped_total",
    "Prediction requests dropped before inference: past their deadline, or the client left",
    ["reason"],
)
ARTIFACTS_BYTES = Gauge(
    "mjd_artifacts_bytes",
    "Bytes in the artifact store (datasets, job files, models), as of the last retention round",
    multiprocess_mode="livemax",
)
WORKER_RESTARTS = Counter(
    "mjd_worker_restarts_total",
    "Workers mjd up started again after their main process exited",
    ["queue"],
)
MODEL_INFO = Gauge(
    "mjd_predictor_model_info",
    "1 for the model version, variant and execution provider this server answers with",
    ["version", "variant", "provider"],
    multiprocess_mode="livemax",
)

SERIES = (
    "mjd_requests_total",
    "mjd_request_duration_seconds",
    "mjd_jobs_submitted_total",
    "mjd_jobs_finished_total",
    "mjd_job_duration_seconds",
    "mjd_queue_depth",
    "mjd_predictor_batch_size",
    "mjd_predictor_queue_wait_seconds",
    "mjd_predictor_inference_seconds",
    "mjd_predictor_rejected_total",
    "mjd_predictor_dropped_total",
    "mjd_predictor_model_info",
    "mjd_worker_restarts_total",
    "mjd_artifacts_bytes",
)


def metrics_registry() -> CollectorRegistry:
    """Every process's series when PROMETHEUS_MULTIPROC_DIR is set (workers' pool children,
    the API beside its workers under mjd up), else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def serve_worker_metrics(port: int) -> None:
    """/metrics (and /healthz, for probes) of a worker on its own port, for Prometheus to
    scrape when workers run in their own containers."""
    start_http_server(port, registry=metrics_registry())


def instrument_worker() -> None:
    """Serve the worker's metrics when MJD_WORKER_METRICS_PORT is set (job outcomes are
    counted by the job protocol, shared.jobs, with the job store's final states)."""
    from celery.signals import worker_init

    @worker_init.connect(weak=False)
    def _serve(**_: Any) -> None:
        port = os.environ.get("MJD_WORKER_METRICS_PORT")
        if port:
            serve_worker_metrics(int(port))

"""Prometheus plumbing shared by the API and the workers, and the names of every series.

Each process defines only its own series, where they are counted: the workers' job outcomes
in :mod:`shared.platform.jobs`, the API's in ``services.api.observability`` and
``services.predictor.telemetry``, ``mjd up``'s worker restarts in ``services.cli.launcher``;
so a worker's /metrics holds worker series only. Workers run in several processes, so mjd up
sets PROMETHEUS_MULTIPROC_DIR (wiped at start) and the API's /metrics aggregates every
process's files (prometheus_client multiprocess mode). The names are listed in
:data:`API_SERIES` and :data:`WORKER_SERIES` for the dashboards and alert rules.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, CollectorRegistry, make_wsgi_app, multiprocess

from shared.platform.settings import env_setting

#: series a worker serves (job outcomes, counted by the job protocol)
WORKER_SERIES = (
    "mjd_jobs_finished_total",
    "mjd_job_duration_seconds",
)
#: series the API serves: requests, submissions, queue depth, the predictor, the artifact
#: store, and under mjd up (one metrics folder) the restarts of its workers
API_SERIES = (
    "mjd_requests_total",
    "mjd_request_duration_seconds",
    "mjd_jobs_submitted_total",
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
SERIES = API_SERIES + WORKER_SERIES
#: the body of a metrics port's /healthz: the process is alive and serving
HEALTHY = {"status": "ok"}

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def metrics_registry() -> CollectorRegistry:
    """Every process's series when PROMETHEUS_MULTIPROC_DIR is set (workers' pool children,
    the API beside its workers under mjd up), else this process's."""
    if env_setting("prometheus_multiproc_dir"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _json(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


def metrics_app(registry: CollectorRegistry) -> WSGIApp:
    """/metrics: the exposition of ``registry`` (prometheus_client's, with its content type);
    /healthz: a JSON health answer for probes; anything else 404."""
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics(environ, start_response)
        if path == "/healthz":
            return _json(start_response, "200 OK", HEALTHY)
        return _json(start_response, "404 Not Found", {"detail": "/metrics and /healthz only"})

    return app


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Nothing: scrapes and probes every few seconds would flood the process's log."""


def serve_metrics(port: int, registry: CollectorRegistry) -> WSGIServer:
    """Serve :func:`metrics_app` on ``port`` (every interface: Prometheus and probes reach
    containers from outside) from a daemon thread."""
    server = make_server("0.0.0.0", port, metrics_app(registry), _Server, _QuietHandler)
    threading.Thread(target=server.serve_forever, name="mjd-metrics", daemon=True).start()
    return server


def instrument_worker() -> None:
    """Serve the worker's metrics and health when MJD_WORKER_METRICS_PORT is set (job
    outcomes are counted by the job protocol, shared.platform.jobs, with the job store's final
    states)."""
    from celery.signals import worker_init

    @worker_init.connect(weak=False)
    def _serve(**_: Any) -> None:
        port = env_setting("worker_metrics_port")
        if port:
            serve_metrics(port, metrics_registry())

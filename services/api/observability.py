"""Prometheus: request metrics (Litestar's middleware), the API's own series (submissions,
the artifact store's size), job counters from every process (multiprocess mode), and the
depth of each job queue, read at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import CollectorRegistry, Counter, Gauge, Metric
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from services.api.urls import PROMETHEUS as METRICS_PATH
from shared.platform.queue import JobQueue
from shared.platform.telemetry import metrics_registry, serve_metrics

PROMETHEUS = PrometheusConfig(
    app_name="mjd",
    prefix="mjd",
    group_path=True,  # label by route template, not raw path: bounded cardinality
    exclude=[METRICS_PATH],
)
JOBS_SUBMITTED = Counter("mjd_jobs_submitted_total", "Jobs queued by the API", ["queue"])
ARTIFACTS_BYTES = Gauge(
    "mjd_artifacts_bytes",
    "Bytes in the artifact store (datasets, job files, models), as of the last retention round",
    multiprocess_mode="livemax",
)


class QueueDepth(Collector):
    """Messages waiting in each queue; absent when the broker is down."""

    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = self.queue.depth()
        if not depth:
            return
        family = GaugeMetricFamily(
            "mjd_queue_depth", "Messages waiting per queue", labels=["queue"]
        )
        for queue, waiting in depth.items():
            family.add_metric([queue], float(waiting))
        yield family


class Everything(Collector):
    """Every process's series and the queue depths, as one collector."""

    def __init__(self, queue: JobQueue) -> None:
        self.sources = (metrics_registry(), QueueDepth(queue))

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source.collect()


def everything(queue: JobQueue) -> CollectorRegistry:
    """:class:`Everything` in a registry, which prometheus_client's encoders take."""
    registry = CollectorRegistry()
    registry.register(Everything(queue))
    return registry


def scrape(queue: JobQueue, accept: str | None) -> tuple[bytes, str]:
    """Every process's series and the queue depths in the format the scraper accepts, and
    its content type (one charset), negotiated as the metrics ports' server does it
    (prometheus_client's), so every /metrics answers alike."""
    encode, content_type = choose_encoder(accept or "")
    return encode(everything(queue)), content_type


def serve_metrics_port(port: int, queue: JobQueue) -> None:
    """The same series on their own port, without a key: for Prometheus inside the
    deployment, while /metrics on the API port needs one (a port not published outside)."""
    serve_metrics(port, everything(queue))

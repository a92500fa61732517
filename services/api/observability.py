"""Prometheus: request metrics (Litestar's middleware), job counters from every process
(multiprocess mode), and the depth of each job queue, read at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Metric,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.api.urls import PROMETHEUS as METRICS_PATH
from shared.queue import JobQueue
from shared.telemetry import metrics_registry

PROMETHEUS = PrometheusConfig(
    app_name="mjd",
    prefix="mjd",
    group_path=True,  # label by route template, not raw path: bounded cardinality
    exclude=[METRICS_PATH],
)
MEDIA_TYPE = CONTENT_TYPE_LATEST


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


def scrape(queue: JobQueue) -> bytes:
    """The exposition text of every process's series and the queue depths."""
    extra = CollectorRegistry()
    extra.register(QueueDepth(queue))
    return generate_latest(metrics_registry()) + generate_latest(extra)


class Everything(Collector):
    """Every process's series and the queue depths, as one collector."""

    def __init__(self, queue: JobQueue) -> None:
        self.sources = (metrics_registry(), QueueDepth(queue))

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source.collect()


def serve_metrics_port(port: int, queue: JobQueue) -> None:
    """The same series on their own port, without a key: for Prometheus inside the
    deployment, while /metrics on the API port needs one (a port not published outside)."""
    registry = CollectorRegistry()
    registry.register(Everything(queue))
    start_http_server(port, registry=registry)

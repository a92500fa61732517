"""/metrics for the API: request metrics (Litestar's Prometheus middleware), job counters from
every process (multiprocess mode), and the depth of each Celery queue read from Redis at
scrape time."""

from __future__ import annotations

from collections.abc import Iterator

import redis
from litestar import Response, get
from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from shared import jobs
from shared.celery_app import QUEUES
from shared.telemetry import metrics_registry

PROMETHEUS = PrometheusConfig(
    app_name="mjd",
    prefix="mjd",
    group_path=True,  # label by route template, not raw path: bounded cardinality
    exclude=["/metrics"],
)


class QueueDepth(Collector):
    """Messages waiting in each queue (Redis list length); absent when Redis is down."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "mjd_queue_depth", "Messages waiting per queue", labels=["queue"]
        )
        try:
            client = redis.Redis.from_url(
                jobs.broker_url(), socket_timeout=1, socket_connect_timeout=1
            )
            for queue in QUEUES:
                family.add_metric([queue], float(client.llen(queue)))
        except redis.RedisError:
            return
        yield family


@get("/metrics", sync_to_thread=True, include_in_schema=False)
def metrics() -> Response[bytes]:
    scrape = CollectorRegistry()
    scrape.register(QueueDepth())
    body = generate_latest(metrics_registry()) + generate_latest(scrape)
    return Response(body, media_type=CONTENT_TYPE_LATEST)

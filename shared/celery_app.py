"""The one Celery app factory every service uses.

JSON only, one queue per service, late acknowledgement with redelivery when a worker dies,
soft and hard time limits, result expiry, and a Redis visibility timeout just past the hard
limit (so a killed worker's task is redelivered in minutes, never twice while running).
"""

from __future__ import annotations

from celery import Celery
from kombu import Exchange, Queue

from shared.settings import Settings

QUEUES = ("mjd", "metrics", "training")
#: task name prefix -> queue; services send tasks to each other by these names only
TASK_ROUTES = {f"{queue}.*": {"queue": queue} for queue in QUEUES}


def create_celery(name: str, settings: Settings, broker_url: str) -> Celery:
    app = Celery(name, broker=broker_url, backend=broker_url)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_queues=[Queue(q, Exchange(q, type="direct"), routing_key=q) for q in QUEUES],
        task_routes=TASK_ROUTES,
        task_default_queue="mjd",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_track_started=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        result_expires=settings.result_expires,
        result_extended=True,
        broker_transport_options={"visibility_timeout": settings.visibility_timeout},
        result_backend_transport_options={"visibility_timeout": settings.visibility_timeout},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return app

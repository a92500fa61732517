"""The one Celery app factory every service uses.

JSON only, one queue per service, no result backend (job states and results live in the
job store and the artifact store), late acknowledgement with redelivery when a worker dies,
soft and hard time limits, a Redis visibility timeout just past the hard
limit (so a killed worker's task is redelivered in minutes, never twice while running), and a
soft shutdown: a worker told to stop hands its running task back to the queue at once, so a
restarted worker resumes it in seconds instead of after the visibility timeout. Workers send
task events and clients a task-sent event, for Flower and ``celery events``.

This module is also what Celery's own tools load: ``celery -A shared.platform.celery_app
inspect ping`` (``inspect active``, ``events``, ``flower``) finds its ``celery`` attribute, an
app on the broker REDIS_URL names, made on first use; importing the module needs no broker and
loads no model.
"""

from __future__ import annotations

import functools

from celery import Celery
from kombu import Exchange, Queue

from shared.contracts import QUEUES
from shared.errors import MjdError
from shared.platform.settings import Settings

#: task name prefix -> queue; services send tasks to each other by these names only
TASK_ROUTES = {f"{queue}.*": {"queue": queue} for queue in QUEUES}
#: seconds a worker told to stop lets its running task go on before handing it back
SOFT_SHUTDOWN_SECONDS = 2.0
#: what every worker process must start with (billiard reads it when imported): SIGTERM, as
#: docker stop, Kubernetes and mjd up send it, then starts Celery's cold shutdown after the
#: soft one (the running task is cancelled and the Redis transport puts its unacknowledged
#: message back on the queue) instead of the warm one, which waits for the task to finish
WORKER_ENVIRONMENT = {"REMAP_SIGTERM": "SIGQUIT"}


def create_celery(name: str, settings: Settings, broker_url: str) -> Celery:
    app = Celery(name, broker=broker_url)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_queues=[Queue(q, Exchange(q, type="direct"), routing_key=q) for q in QUEUES],
        task_routes=TASK_ROUTES,
        task_default_queue=QUEUES[0],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        task_ignore_result=True,
        broker_transport_options={"visibility_timeout": settings.visibility_timeout},
        broker_connection_retry_on_startup=True,
        worker_soft_shutdown_timeout=SOFT_SHUTDOWN_SECONDS,
        worker_enable_soft_shutdown_on_idle=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=True,
        task_send_sent_event=True,
    )
    return app


@functools.cache
def tools_app() -> Celery:
    """The app of ``celery -A shared.platform.celery_app …``: the services' configuration on the
    broker from the environment, without tasks (the tools only talk to workers)."""
    settings = Settings.from_env()
    if not settings.redis_url:
        raise MjdError(
            "REDIS_URL is not set: name the broker the workers use, e.g. "
            "REDIS_URL=redis://127.0.0.1:6379/0 celery -A shared.platform.celery_app inspect ping"
        )
    return create_celery("mjd", settings, settings.redis_url)


def __getattr__(name: str) -> Celery:
    """``celery``, the attribute Celery's ``-A`` option looks for, as :func:`tools_app`."""
    if name == "celery":
        return tools_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

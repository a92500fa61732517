"""The API's side of the job queues: submit a job's task, revoke it, see which jobs still
have a message and which queues have workers. Job states live in the job store
(:mod:`shared.platform.db.jobs`), never here. :class:`CeleryQueue` talks to Celery over Redis and
fails fast when Redis is down; :class:`MemoryQueue` is the in-package stand-in that API unit
tests use (no Redis, no workers)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import redis
from celery import Celery

from shared.contracts import QUEUES, TASKS, queue_of
from shared.errors import MjdError, Unavailable
from shared.platform.celery_app import create_celery
from shared.platform.settings import Settings

log = logging.getLogger(__name__)


#: the kombu Redis transport's hash of delivered, not yet acknowledged messages
UNACKED = "unacked"


class QueueUnavailable(Unavailable):
    """The broker cannot be reached; the API answers 503."""


@runtime_checkable
class JobQueue(Protocol):
    def ping(self) -> None:
        """Return when the broker answers; raise :class:`QueueUnavailable` otherwise."""

    def submit(self, kind: str, job_id: str) -> None:
        """Queue the task of a ``kind`` job; the job id is its task id."""

    def revoke(self, job_id: str) -> None:
        """Drop a queued copy of the job's task."""

    def pending(self) -> set[str]:
        """Ids of the jobs whose message waits in a queue or is being worked on."""

    def workers(self) -> dict[str, set[str]]:
        """Each live worker and the queues it consumes."""

    def depth(self) -> dict[str, int]:
        """Messages waiting per queue."""


class CeleryQueue:
    """Celery over Redis, tuned for a request path: short socket timeouts and no retry loops,
    so an outage is a quick 503 rather than a hung request."""

    def __init__(self, settings: Settings) -> None:
        if not settings.redis_url:
            raise MjdError(
                "REDIS_URL is not set (mjd up sets it, starting an embedded Redis if needed)"
            )
        self.url = settings.redis_url
        self.app = self._fail_fast(create_celery("mjd-api", settings, settings.redis_url))

    @staticmethod
    def _fail_fast(app: Celery) -> Celery:
        fast = {"socket_timeout": 2, "socket_connect_timeout": 2}
        app.conf.broker_connection_timeout = 2
        app.conf.broker_connection_max_retries = 1
        app.conf.broker_transport_options = {**app.conf.broker_transport_options, **fast}
        return app

    def _redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)

    def ping(self) -> None:
        try:
            self._redis().ping()
        except redis.RedisError as exc:
            log.warning("Redis is unreachable: %s", exc)  # the address is the operator's business
            raise QueueUnavailable("the job queue is unavailable: Redis is unreachable") from None

    def submit(self, kind: str, job_id: str) -> None:
        self.ping()
        try:
            self.app.send_task(TASKS[kind], args=[job_id], task_id=job_id)
        except Exception as exc:  # kombu raises its own OperationalError family
            log.warning("could not queue job %s: %s", job_id, exc)
            raise QueueUnavailable("could not queue the job: the broker is unreachable") from None

    def revoke(self, job_id: str) -> None:
        self.app.control.revoke(job_id)

    def pending(self) -> set[str]:
        """Ids in the queues' Redis lists and in the transport's unacknowledged messages
        (delivered to a worker, not yet done)."""
        try:
            client = self._redis()
            raw = [m for queue in QUEUES for m in client.lrange(queue, 0, -1)]
            raw += [json.loads(m)[0] for m in client.hvals(UNACKED)]
        except redis.RedisError as exc:
            log.warning("Redis is unreachable: %s", exc)
            raise QueueUnavailable("the job queue is unavailable: Redis is unreachable") from None
        messages = [m if isinstance(m, dict) else json.loads(m) for m in raw]
        return {m.get("headers", {}).get("id") for m in messages} - {None}

    def workers(self) -> dict[str, set[str]]:
        replies = self.app.control.inspect(timeout=1.0).active_queues() or {}
        return {name: {queue["name"] for queue in queues} for name, queues in replies.items()}

    def depth(self) -> dict[str, int]:
        try:
            client = self._redis()
            return {queue: int(client.llen(queue)) for queue in QUEUES}
        except redis.RedisError:
            return {}


@dataclass
class MemoryQueue:
    """A queue in memory: records what was submitted and revoked; a test sets states."""

    submitted: list[tuple[str, str]] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    #: submitted jobs whose message a test says was lost
    lost: set[str] = field(default_factory=set)
    consumers: dict[str, set[str]] = field(
        default_factory=lambda: {"memory@localhost": set(QUEUES)}
    )
    available: bool = True

    def ping(self) -> None:
        if not self.available:
            raise QueueUnavailable("the job queue is unavailable")

    def submit(self, kind: str, job_id: str) -> None:
        self.ping()
        self.submitted.append((kind, job_id))

    def revoke(self, job_id: str) -> None:
        self.revoked.append(job_id)

    def pending(self) -> set[str]:
        self.ping()
        return {job_id for _, job_id in self.submitted} - self.lost

    def workers(self) -> dict[str, set[str]]:
        return {name: set(queues) for name, queues in self.consumers.items()}

    def depth(self) -> dict[str, int]:
        return {
            queue: sum(queue_of(kind) == queue for kind, _ in self.submitted) for queue in QUEUES
        }

"""The REST API (Litestar): :func:`create_app` wires the settings, the artifact store, the
job queue and the predictor into the controllers as dependencies.

Run with ``uvicorn services.api.app:create_app --factory`` (``mjd api`` does). Every error is
RFC 9457 problem details naming the offending field. This module imports no torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from litestar import Litestar, Request
from litestar.di import Provide
from litestar.exceptions import ClientException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsPlugin

from services.api import urls
from services.api.auth import Authentication, Caller, KeyRing
from services.api.browser import cors, require_body_media
from services.api.controllers.bootstrap import BootstrapController
from services.api.controllers.datasets import DatasetController
from services.api.controllers.health import HealthController
from services.api.controllers.jobs import JobController
from services.api.controllers.metrics import MetricsController
from services.api.controllers.models import ModelController
from services.api.controllers.oip_v2 import ROUTER_ERRORS, OipController
from services.api.controllers.predict import PredictController
from services.api.controllers.tasks import TaskController
from services.api.controllers.training import TrainingController
from services.api.domain.bootstrap import BootstrapService
from services.api.domain.datasets import DatasetService
from services.api.domain.health import CachedReadiness, readiness
from services.api.domain.jobs import JobService, Reconciler
from services.api.domain.predictions import Models, Predictions
from services.api.domain.retention import Retention
from services.api.domain.submissions import Submissions
from services.api.domain.tasks import TaskService
from services.api.limits import STORE as RATE_STORE
from services.api.limits import rate_limits, rate_store
from services.api.observability import PROMETHEUS, serve_metrics_port
from services.api.problems import EXCEPTION_HANDLERS, client_problem, validation_problem
from services.predictor import Predictor
from shared.contracts import QUEUES
from shared.platform.artifacts import ArtifactStore
from shared.platform.db.database import Database
from shared.platform.queue import CeleryQueue, JobQueue
from shared.platform.registry import ModelRegistry
from shared.platform.settings import Settings

CONTROLLERS = (
    DatasetController,
    TaskController,
    JobController,
    MetricsController,
    TrainingController,
    ModelController,
    BootstrapController,
    PredictController,
    OipController,
    HealthController,
)


def _provide(value: Any) -> Provide:
    """A dependency that is the same object for every request."""
    return Provide(lambda: value, use_cache=True, sync_to_thread=False)


def metrics_port(settings: Settings, queue: JobQueue) -> list[Callable[[], None]]:
    """At start, /metrics on MJD_API_METRICS_PORT too (when set)."""
    port = settings.api_metrics_port
    return [] if port is None else [lambda: serve_metrics_port(port, queue)]


def the_caller(request: Request) -> Caller:
    """The request's caller, as the authentication middleware found it."""
    return request.user


@dataclass(frozen=True, slots=True)
class Services:
    """The domain services of one app, wired over its collaborators; each is a dependency
    of the same name, and the reconciler's rounds and the lifecycle hooks come from here."""

    database: Database
    settings: Settings
    queue: JobQueue
    required_queues: tuple[str, ...]
    registry: ModelRegistry
    predictor: Predictor
    jobs: JobService
    tasks: TaskService
    datasets: DatasetService
    submissions: Submissions
    bootstrap: BootstrapService
    readiness: CachedReadiness
    predictions: Predictions
    models: Models
    retention: Retention

    def dependencies(self) -> dict[str, Provide]:
        provided = {f.name: _provide(getattr(self, f.name)) for f in fields(self)}
        return {**provided, "caller": Provide(the_caller, sync_to_thread=False)}

    def reconciler(self) -> Reconciler:
        rounds = [self.jobs.reconcile, self.bootstrap.advance_latest, self.retention.run]
        return Reconciler(rounds, self.settings.reconcile_seconds)


def build_services(
    settings: Settings,
    store: ArtifactStore,
    queue: JobQueue,
    database: Database,
    required_queues: tuple[str, ...],
) -> Services:
    registry = ModelRegistry(store, database)
    registry.adopt_files()
    predictor = Predictor(registry, settings)
    jobs = JobService(store, queue, database)
    tasks = TaskService(database)
    datasets = DatasetService(
        store, database, tasks, settings.max_dataset_rows, settings.datasets_dir
    )
    submissions = Submissions(jobs, datasets, tasks, store, settings.openai_endpoints)
    return Services(
        database=database,
        settings=settings,
        queue=queue,
        required_queues=required_queues,
        registry=registry,
        predictor=predictor,
        jobs=jobs,
        tasks=tasks,
        datasets=datasets,
        submissions=submissions,
        bootstrap=BootstrapService(jobs, datasets, submissions, registry, database),
        readiness=CachedReadiness(
            lambda: readiness(store, database, queue, required_queues, predictor),
            settings.ready_cache_seconds,
        ),
        predictions=Predictions(predictor, settings),
        models=Models(registry, predictor),
        retention=Retention(store, database, settings.retention_days),
    )


def problem_details() -> ProblemDetailsPlugin:
    """Every HTTP error as problem details, request validation naming its field."""
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            enable_for_all_http_exceptions=True,
            exception_to_problem_detail_map={
                ValidationException: validation_problem,
                ClientException: client_problem,
            },
        )
    )


def create_app(
    settings: Settings | None = None,
    store: ArtifactStore | None = None,
    queue: JobQueue | None = None,
    database: Database | None = None,
    required_queues: tuple[str, ...] = QUEUES,
) -> Litestar:
    """The API over ``settings`` (default: the environment), ``store`` (default: the
    folder ARTIFACTS_DIR), ``queue`` (default: Celery over REDIS_URL) and ``database`` (the
    job store, default: DATABASE_URL or SQLite in ARTIFACTS_DIR, upgraded to the current
    schema). ``required_queues`` are those /readyz wants a worker on."""
    settings = settings or Settings.from_env()
    store = store or ArtifactStore(settings.artifacts_dir)
    queue = queue or CeleryQueue(settings)
    services = build_services(
        settings, store, queue, database or Database(settings.store_url), required_queues
    )
    reconciler = services.reconciler()
    predictor = services.predictor
    keys = KeyRing(services.database) if settings.auth == "required" else None
    return Litestar(
        route_handlers=list(CONTROLLERS),
        dependencies=services.dependencies(),
        before_request=require_body_media,
        cors_config=cors(settings),
        on_startup=[predictor.start, reconciler.start, *metrics_port(settings, queue)],
        on_shutdown=[predictor.stop, reconciler.stop],
        middleware=[PROMETHEUS.middleware, Authentication(keys), *rate_limits(settings)],
        stores={RATE_STORE: rate_store(settings)},
        plugins=[problem_details()],
        exception_handlers={**EXCEPTION_HANDLERS, **ROUTER_ERRORS},
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(title="mjd", version="0.1.0", path=urls.OPENAPI),
    )

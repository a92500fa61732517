"""Metrics: the full report inline for small inputs, or as a queued job with a plot."""

from __future__ import annotations

from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from services.api import urls
from services.api.controllers import LOCATION
from services.api.controllers.jobs import accepted
from services.api.domain.submissions import Submissions, checked_rows, same_length
from services.api.problems import problem, responses
from services.api.schemas import JobView, MetricsIn, MetricsJobIn
from shared.metrics import MetricReport, evaluate
from shared.settings import Settings

MAX_SYNC_BOOTSTRAP = 10_000


class MetricsController(Controller):
    tags = ("metrics",)

    @post(
        urls.METRICS,
        status_code=200,
        sync_to_thread=True,
        operation_id="computeMetrics",
        summary="The full metric report, computed inline for up to MJD_SYNC_METRICS_MAX_ROWS rows",
        responses=responses(400, 413, 422),
    )
    def compute(
        self, data: JSONBody[MetricsIn], settings: NamedDependency[Settings]
    ) -> MetricReport:
        limit = settings.sync_metrics_max_rows
        if max(len(data.human), len(data.model)) > limit:
            raise problem(
                413,
                f"more than {limit} rows: submit them to {urls.METRICS_JOBS} instead",
                "human",
                jobs_url=urls.METRICS_JOBS,
            )
        human, model = checked_rows(data.human, "human"), checked_rows(data.model, "model")
        same_length(human, model)
        if not 0 <= data.bootstrap <= MAX_SYNC_BOOTSTRAP:
            raise problem(422, f"must be between 0 and {MAX_SYNC_BOOTSTRAP}", "bootstrap")
        return evaluate(human, model, resamples=data.bootstrap, seed=data.seed)

    @post(
        urls.METRICS_JOBS,
        status_code=202,
        sync_to_thread=True,
        operation_id="createMetricsJob",
        summary="Queue an evaluation (report and ternary plot) of stored or inline distributions",
        responses=responses(400, 404, 409, 413, 422, 503),
        response_headers=LOCATION,
    )
    def create_job(
        self, data: JSONBody[MetricsJobIn], submissions: NamedDependency[Submissions]
    ) -> Response[JobView]:
        return accepted(submissions.metrics(data))

"""Metrics: the full report inline for small inputs, or as a queued job with plots; both for
any task (its labels name the columns; an ordinal one is scored with Wasserstein too)."""

from __future__ import annotations

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from services.api import urls
from services.api.controllers import Accepted, Calling, Submit, accepted, route, submission
from services.api.domain.request_parts import checked_rows, same_length
from services.api.domain.tasks import TaskService
from services.api.problems import problem
from services.api.schemas import MetricsIn, MetricsJobIn
from shared.metrics import MetricReport, check_bootstrap, evaluate
from shared.platform.auth import Scope
from shared.platform.settings import Settings

#: most resamples answered inline (a metrics job takes up to shared.metrics.MAX_BOOTSTRAP)
MAX_SYNC_BOOTSTRAP = 10_000


class MetricsController(Controller):
    tags = ("metrics",)

    @route(
        post, urls.METRICS, "computeMetrics", "The metric report, inline", 400, 404, 413, 422,
        scope=Scope.SUBMIT,
    )  # fmt: skip
    def compute(
        self,
        data: JSONBody[MetricsIn],
        settings: NamedDependency[Settings],
        tasks: NamedDependency[TaskService],
    ) -> MetricReport:
        """For up to MJD_SYNC_METRICS_MAX_ROWS rows; more go to a metrics job. The rows are
        distributions over `task`'s labels (default `nli`: E/N/C), as many columns as it has
        labels; the report names them (`conventions.label_order`) and, for an ordinal task,
        adds the Wasserstein distance."""
        task = tasks.resolve(data.task)
        check_bootstrap(data.bootstrap, data.seed, MAX_SYNC_BOOTSTRAP)
        limit = settings.sync_metrics_max_rows
        if max(len(data.human), len(data.model)) > limit:
            raise problem(
                413,
                f"more than {limit} rows: submit them to {urls.METRICS_JOBS} instead",
                "human",
                jobs_url=urls.METRICS_JOBS,
            )
        human = checked_rows(data.human, "human", task)
        model = checked_rows(data.model, "model", task)
        same_length(human, model)
        return evaluate(
            human,
            model,
            labels=task.label_names,
            ordinal=task.ordinal,
            resamples=data.bootstrap,
            seed=data.seed,
        )

    @submission(urls.METRICS_JOBS, "createMetricsJob", "Queue an evaluation", 409)
    def create_job(
        self, data: JSONBody[MetricsJobIn], submissions: Submit, caller: Calling
    ) -> Accepted:
        """A report and plots of stored or inline distributions, for their task."""
        return accepted(submissions.metrics(data, caller))

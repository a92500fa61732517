"""Training: distil a student on a dataset's human distributions or a job's MJDs."""

from __future__ import annotations

from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from services.api import urls
from services.api.controllers import LOCATION
from services.api.controllers.jobs import accepted
from services.api.domain.submissions import Submissions
from services.api.problems import responses
from services.api.schemas import JobView, TrainingJobIn


class TrainingController(Controller):
    tags = ("training",)

    @post(
        urls.TRAINING_JOBS,
        status_code=202,
        sync_to_thread=True,
        operation_id="createTrainingJob",
        summary="Queue distillation of a student, its ONNX export and registration",
        description="On a dataset's human distributions, or on the MJDs of a finished "
        "generation job (optionally calibrated on `calibrate_on` labelled items).",
        responses=responses(400, 404, 413, 422, 503),
        response_headers=LOCATION,
    )
    def create_job(
        self, data: JSONBody[TrainingJobIn], submissions: NamedDependency[Submissions]
    ) -> Response[JobView]:
        return accepted(submissions.training(data))

"""Training: distil a student on a dataset's human distributions or a job's MJDs."""

from __future__ import annotations

from litestar import Controller
from litestar.params import JSONBody

from services.api import urls
from services.api.controllers import Accepted, Calling, Submit, accepted, submission
from services.api.schemas import TrainingJobIn
from shared.platform.auth import Scope


class TrainingController(Controller):
    tags = ("training",)

    @submission(
        urls.TRAINING_JOBS, "createTrainingJob", "Queue training of a student", scope=Scope.ADMIN
    )
    def create_job(
        self, data: JSONBody[TrainingJobIn], submissions: Submit, caller: Calling
    ) -> Accepted:
        """On a dataset's human distributions, or on the MJDs of a finished generation job
        (optionally calibrated on `calibrate_on` labelled items); the job exports the
        student to ONNX and registers it as a new model version."""
        return accepted(submissions.training(data, caller))

"""Real-time predicted judgment distributions from the served students (one per task)."""

from __future__ import annotations

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from services.api import urls
from services.api.controllers import route
from services.api.domain.predictions import Predictions, client_gone
from services.api.model_schemas import PredictIn, PredictOut
from shared.platform.auth import Scope


class PredictController(Controller):
    tags = ("predict",)

    @route(
        post,
        urls.PREDICT,
        "predict",
        "Predicted distributions",
        400,
        404,
        409,
        413,
        422,
        429,
        503,
        scope=Scope.PREDICT,
    )
    async def predict(
        self, data: JSONBody[PredictIn], predictions: NamedDependency[Predictions], request: Request
    ) -> PredictOut:
        """Judgment distributions, in the task's label order (`labels`), for instances as
        objects of the task's input fields (`task`, default `nli`: premise/hypothesis pairs,
        E/N/C); `model` may name the version promoted for the task or a pinned one of it. A
        missing field is named (`instances[0].Question2`)."""
        return await predictions.predict(
            data.instances, data.model, client_gone(request), data.task
        )

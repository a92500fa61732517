"""Real-time predicted judgment distributions from the served student."""

from __future__ import annotations

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from services.api import urls
from services.api.controllers import route
from services.api.domain.predictions import Predictions
from services.api.schemas import PredictIn, PredictOut
from shared.auth import Scope


class PredictController(Controller):
    tags = ("predict",)

    @route(
        post,
        urls.PREDICT,
        "predict",
        "Predicted distributions",
        400,
        404,
        413,
        422,
        429,
        503,
        scope=Scope.PREDICT,
    )
    async def predict(
        self, data: JSONBody[PredictIn], predictions: NamedDependency[Predictions]
    ) -> PredictOut:
        """Judgment distributions (E/N/C order) for premise/hypothesis pairs."""
        return await predictions.predict(data.instances, data.model)

"""Real-time predicted judgment distributions from the served students (one per task)."""

from __future__ import annotations

import re

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency, Provide

from services.api import urls
from services.api.controllers import route
from services.api.domain.predictions import MalformedInstance, Predictions, client_gone
from services.api.model_schemas import PredictIn, PredictOut, PredictRequest
from shared.errors import msgspec_location
from shared.platform.auth import Scope

_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")


def _documented_body(data: PredictIn) -> None:
    """Never resolved (the handler reads the body itself, to check its instances against
    the task it names); its ``data`` documents the body in the OpenAPI document."""


def read_body(body: bytes) -> PredictRequest:
    """The request, or a 400 naming the field that does not fit (``body`` when it is not
    JSON), as when the body was decoded by the framework."""
    try:
        return msgspec.json.decode(body, type=PredictRequest)
    except msgspec.ValidationError as exc:
        detail, path = msgspec_location(str(exc))
        unknown = _UNKNOWN_FIELD.search(detail)
        named = ".".join(part for part in (path, unknown and unknown.group(1)) if part)
        raise MalformedInstance(detail, named or "body") from None
    except msgspec.DecodeError as exc:
        raise MalformedInstance(f"the request body could not be read: {exc}", "body") from None


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
        dependencies={"documented_body": Provide(_documented_body, sync_to_thread=False)},
    )
    async def predict(
        self, predictions: NamedDependency[Predictions], request: Request
    ) -> PredictOut:
        """Judgment distributions, in the task's label order (`labels`), for instances as
        objects of the task's input fields (`task`, default `nli`: premise/hypothesis pairs,
        E/N/C); `model` may name the version promoted for the task or a pinned one of it. A
        missing field is named (`instances[0].Question2`)."""
        data = read_body(await request.body())
        return await predictions.predict(
            data.instances, data.model, client_gone(request), data.task
        )

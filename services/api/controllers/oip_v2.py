"""Open Inference Protocol v2 routes, as KServe and Triton clients speak them (one model per
task, see :mod:`services.api.domain.oip`): Triton's
binary tensor data extension, compressed request bodies, and every error as OIP's
``{"error": ...}`` in plain application/json (problem-detail fields beside it)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import (
    ClientException,
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath
from litestar.plugins.problem_details import ProblemDetailsException

from services.api import urls
from services.api.browser import JSON, require_body_media
from services.api.controllers import route
from services.api.domain import oip, oip_requests
from services.api.domain.predictions import Predictions, client_gone
from services.api.problems import (
    ANSWERS,
    EXCEPTION_HANDLERS,
    Answer,
    domain_error,
    domain_problem,
    problem,
    responses,
)
from shared.errors import DataError
from shared.platform.auth import Scope

log = logging.getLogger(__name__)
PredictionsDep = NamedDependency[Predictions]
NOT_SERVING = "No model is served yet"
SERVER_NOT_READY = {503: ResponseSpec(oip.Ready, description=NOT_SERVING)}
MODEL_NOT_READY = {503: ResponseSpec(oip.ModelReady, description=NOT_SERVING)}
INFER_ERRORS = (400, 404, 409, 413, 415, 429, 503)
#: domain errors as OIP answers them: a bad value is 400 (Triton's and KServe's clients
#: expect it), the rest as on the REST routes
OIP_ANSWERS = {**ANSWERS, DataError: Answer(400)}
#: the exceptions the app turns into problem details; under /v2 each answers as OIP's error
#: (test_oip_v2 checks this covers every one the app handles)
HANDLED = (
    Exception, HTTPException, ProblemDetailsException, ValidationException, ClientException,
    *EXCEPTION_HANDLERS, NotFoundException, MethodNotAllowedException,
)  # fmt: skip


def oip_error(request: Request, exc: Exception) -> Response[Any]:
    """The app's problem details for ``exc``, as exactly application/json with OIP's
    ``error`` member (KServe's client reads error bodies only of that media type, Triton's
    reads ``error``)."""
    handlers = request.app.exception_handlers
    handler = next((handlers[c] for c in type(exc).__mro__ if c in handlers), None)
    if handler is None:
        log.error("unhandled error", exc_info=exc)
        answer = problem(500, "Internal Server Error").to_response(request)
    elif handler is domain_error:
        answer = domain_problem(exc, OIP_ANSWERS).to_response(request)
    else:
        answer = handler(request, exc)
    return _as_oip(answer)


def router_error(request: Request, exc: HTTPException) -> Response[Any]:
    """A 404 or 405 the router answers before any controller is matched (an unknown path or
    method): under /v2 as OIP's error like every other, elsewhere the app's problem details."""
    handlers = request.app.exception_handlers
    handler = next(
        handlers[c] for c in type(exc).__mro__ if handlers.get(c, router_error) is not router_error
    )
    answer = handler(request, exc)
    path = request.url.path
    return _as_oip(answer) if path == urls.OIP or path.startswith(f"{urls.OIP}/") else answer


#: the app's handlers for what its router refuses itself
ROUTER_ERRORS = {NotFoundException: router_error, MethodNotAllowedException: router_error}


def _as_oip(answer: Response[Any]) -> Response[Any]:
    body = dict(answer.content) if isinstance(answer.content, dict) else {}
    body.setdefault("status", answer.status_code)
    body.setdefault("error", body.get("detail") or body.get("title") or "error")
    return Response(body, status_code=answer.status_code, headers=answer.headers, media_type=JSON)


async def body_media(request: Request) -> None:
    """Triton's client sends its body without a Content-Type, binary data after the JSON
    as application/octet-stream is fine too; any other media type is refused as elsewhere."""
    media = request.headers.get("content-type", oip.BINARY_MEDIA).split(";", 1)[0].strip()
    if media.lower() != oip.BINARY_MEDIA:
        await require_body_media(request)


def _ready_status(predictions: Predictions) -> tuple[bool, int]:
    """The server is ready once a model (of any task) is loaded and served."""
    ready = bool(predictions.predictor.served)
    return ready, 200 if ready else 503


def _not_ready(ready: bool) -> str | None:
    return None if ready else NOT_SERVING


def oip_route(
    verb: Callable[..., Any], path: str, operation_id: str, summary: str, *errors: int,
    scope: Scope | None, **options: Any,
) -> Callable[[Callable[..., Any]], Any]:  # fmt: skip
    """:func:`route`, its errors documented as this controller answers them."""
    documented = (*errors, 401, 403, 429) if scope is not None else errors
    options["responses"] = {
        **responses(*documented, media_type=JSON), **options.get("responses", {})
    }  # fmt: skip
    return route(verb, path, operation_id, summary, *errors, scope=scope, **options)


def _documented_body(data: oip.InferIn) -> None:
    """Never resolved (the handlers read the body themselves, binary data included); its
    ``data`` documents the JSON body in the OpenAPI document."""


def infer_route(path: str, operation_id: str, summary: str) -> Any:
    return oip_route(
        post, path, operation_id, summary, *INFER_ERRORS, scope=Scope.PREDICT,
        dependencies={"documented_body": Provide(_documented_body, sync_to_thread=False)},
    )  # fmt: skip


class OipController(Controller):
    tags = ("oip-v2",)
    exception_handlers = dict.fromkeys(HANDLED, oip_error)
    before_request = body_media

    @oip_route(
        get,
        urls.OIP,
        "oipServerMetadata",
        "Server metadata",
        scope=Scope.PREDICT,
        sync_to_thread=False,
    )
    def server_metadata(self) -> oip.ServerMetadata:
        return oip.ServerMetadata(name="mjd", version="0.1.0", extensions=["binary_tensor_data"])

    @oip_route(get, urls.OIP_LIVE, "oipLive", "Server liveness", scope=None, sync_to_thread=False)
    def live(self) -> oip.Live:
        """Live while the process answers."""
        return oip.Live(live=True)

    @oip_route(
        get, urls.OIP_READY, "oipReady", "Server readiness", scope=None, responses=SERVER_NOT_READY
    )
    def ready(self, predictions: PredictionsDep) -> Response[oip.Ready]:
        """Ready once a promoted model (of any task) is loaded and served."""
        ready, status = _ready_status(predictions)
        return Response(oip.Ready(ready=ready, error=_not_ready(ready)), status_code=status)

    @oip_route(
        get, urls.OIP_MODEL_READY, "oipModelReady", "Model readiness", 400, 404, scope=None,
        responses=MODEL_NOT_READY,
    )  # fmt: skip
    def model_ready(
        self, name: FromPath[str], predictions: PredictionsDep
    ) -> Response[oip.ModelReady]:
        """Ready once the model promoted for its task is loaded and served."""
        ready = oip.model_ready(name, predictions)
        return Response(
            oip.ModelReady(name, ready, _not_ready(ready)), status_code=200 if ready else 503
        )

    @oip_route(
        get, urls.OIP_VERSION_READY, "oipVersionReady", "Model version readiness", 400, 404,
        scope=None, responses=MODEL_NOT_READY,
    )  # fmt: skip
    def version_ready(
        self, name: FromPath[str], version: FromPath[str], predictions: PredictionsDep
    ) -> Response[oip.ModelReady]:
        """Ready when a request naming the version is served: the promoted version once
        loaded, or one pinned by MJD_PREDICT_PINNED; another published version is not."""
        ready = oip.version_ready(name, version, predictions)
        error = None if ready else f"version {version} is neither served nor pinned"
        return Response(oip.ModelReady(name, ready, error), status_code=200 if ready else 503)

    @oip_route(
        get, urls.OIP_MODEL, "oipModelMetadata", "Model metadata", 400, 404, scope=Scope.PREDICT
    )
    def model_metadata(self, name: FromPath[str], predictions: PredictionsDep) -> oip.ModelMetadata:
        """Its versions (those of its task), input tensors (the task's fields), output
        tensors (probabilities [-1, K]) and `parameters.labels`."""
        return oip.model_metadata(name, predictions)

    @oip_route(
        get, urls.OIP_VERSION, "oipVersionMetadata", "Model version metadata", 400, 404,
        scope=Scope.PREDICT,
    )  # fmt: skip
    def version_metadata(
        self, name: FromPath[str], version: FromPath[str], predictions: PredictionsDep
    ) -> oip.ModelMetadata:
        """One published version's input and output tensors."""
        return oip.version_metadata(name, version, predictions)

    @infer_route(urls.OIP_INFER, "oipInfer", "Inference")
    async def infer(
        self, name: FromPath[str], predictions: PredictionsDep, request: Request
    ) -> Response[oip.InferOut]:
        """With the served version."""
        return await _infer(name, None, predictions, request)

    @infer_route(urls.OIP_VERSION_INFER, "oipInferVersion", "Inference, a version")
    async def infer_version(
        self,
        name: FromPath[str],
        version: FromPath[str],
        predictions: PredictionsDep,
        request: Request,
    ) -> Response[oip.InferOut]:
        """With a version: the promoted one or one pinned by MJD_PREDICT_PINNED."""
        return await _infer(name, version, predictions, request)


async def _infer(
    name: str, version: str | None, predictions: Predictions, request: Request
) -> Response[Any]:
    predictions.oip_task(name)  # an unknown model is 404 whatever the body
    body = oip_requests.read_request(
        await request.body(), request.headers, predictions.settings.max_body_bytes
    )
    answer = await oip.infer(predictions, name, version, body, client_gone(request))
    return oip.answer_response(answer)

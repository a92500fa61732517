"""Open Inference Protocol v2 routes, as KServe and Triton clients speak them."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody

from services.api import urls
from services.api.controllers import route
from services.api.domain import oip
from services.api.domain.predictions import Predictions, client_gone
from shared.auth import Scope
from shared.registry import ModelRegistry

Predictor = NamedDependency[Predictions]
NOT_SERVING = "No model is served yet"
SERVER_NOT_READY = {503: ResponseSpec(oip.Ready, description=NOT_SERVING)}
MODEL_NOT_READY = {503: ResponseSpec(oip.ModelReady, description=NOT_SERVING)}
INFER_ERRORS = (400, 404, 409, 413, 429, 503)


def _ready_status(predictions: Predictions) -> tuple[bool, int]:
    ready = predictions.predictor.current is not None
    return ready, 200 if ready else 503


class OipController(Controller):
    tags = ("oip-v2",)

    @route(
        get,
        urls.OIP,
        "oipServerMetadata",
        "Server metadata",
        scope=Scope.PREDICT,
        sync_to_thread=False,
    )
    def server_metadata(self) -> oip.ServerMetadata:
        return oip.ServerMetadata(name="mjd", version="0.1.0", extensions=[])

    @route(get, urls.OIP_LIVE, "oipLive", "Server liveness", scope=None, sync_to_thread=False)
    def live(self) -> oip.Live:
        return oip.Live(live=True)

    @route(
        get, urls.OIP_READY, "oipReady", "Server readiness", scope=None, responses=SERVER_NOT_READY
    )
    def ready(self, predictions: Predictor) -> Response[oip.Ready]:
        """Ready once a model is being served."""
        ready, status = _ready_status(predictions)
        return Response(oip.Ready(ready=ready), status_code=status)

    @route(
        get,
        urls.OIP_MODEL_READY,
        "oipModelReady",
        "Model readiness",
        400,
        404,
        scope=None,
        responses=MODEL_NOT_READY,
    )
    def model_ready(self, name: FromPath[str], predictions: Predictor) -> Response[oip.ModelReady]:
        oip.check_model(name)
        ready, status = _ready_status(predictions)
        return Response(oip.ModelReady(name=name, ready=ready), status_code=status)

    @route(get, urls.OIP_MODEL, "oipModelMetadata", "Model metadata", 400, 404, scope=Scope.PREDICT)
    def model_metadata(
        self, name: FromPath[str], registry: NamedDependency[ModelRegistry]
    ) -> oip.ModelMetadata:
        """Its versions, input and output tensors."""
        oip.check_model(name)
        return oip.metadata([m["version"] for m in registry.versions()])

    @route(post, urls.OIP_INFER, "oipInfer", "Inference", *INFER_ERRORS, scope=Scope.PREDICT)
    async def infer(
        self,
        name: FromPath[str],
        data: JSONBody[oip.InferIn],
        predictions: Predictor,
        request: Request,
    ) -> oip.InferOut:
        """With the served version."""
        return await oip.infer(predictions, name, None, data, client_gone(request))

    @route(
        post, urls.OIP_VERSION_INFER, "oipInferVersion", "Inference, a version", *INFER_ERRORS,
        scope=Scope.PREDICT,
    )  # fmt: skip
    async def infer_version(
        self,
        name: FromPath[str],
        version: FromPath[str],
        data: JSONBody[oip.InferIn],
        predictions: Predictor,
        request: Request,
    ) -> oip.InferOut:
        """With a version: the promoted one or one pinned by MJD_PREDICT_PINNED."""
        return await oip.infer(predictions, name, version, data, client_gone(request))

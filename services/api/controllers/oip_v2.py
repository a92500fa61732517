"""Open Inference Protocol v2 routes, as KServe and Triton clients speak them."""

from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody

from services.api import urls
from services.api.domain import oip
from services.api.domain.predictions import Predictions
from services.api.problems import responses
from shared.registry import ModelRegistry


def _ready_status(ready: bool) -> int:
    return 200 if ready else 503


class OipController(Controller):
    tags = ("oip-v2",)

    @get(
        urls.OIP, sync_to_thread=False, operation_id="oipServerMetadata", summary="Server metadata"
    )
    def server_metadata(self) -> oip.ServerMetadata:
        return oip.ServerMetadata(name="mjd", version="0.1.0", extensions=[])

    @get(urls.OIP_LIVE, sync_to_thread=False, operation_id="oipLive", summary="Server liveness")
    def live(self) -> oip.Live:
        return oip.Live(live=True)

    @get(
        urls.OIP_READY,
        sync_to_thread=False,
        operation_id="oipReady",
        summary="Server readiness: a model is being served",
        responses={503: ResponseSpec(oip.Ready, description="No model is served yet")},
    )
    def ready(self, predictions: NamedDependency[Predictions]) -> Response[oip.Ready]:
        ready = predictions.predictor.current is not None
        return Response(oip.Ready(ready=ready), status_code=_ready_status(ready))

    @get(
        urls.route(urls.OIP_MODEL_READY),
        sync_to_thread=False,
        operation_id="oipModelReady",
        summary="Model readiness",
        responses={
            **responses(400, 404),
            503: ResponseSpec(oip.ModelReady, description="No model is served yet"),
        },
    )
    def model_ready(
        self, name: FromPath[str], predictions: NamedDependency[Predictions]
    ) -> Response[oip.ModelReady]:
        oip.check_model(name)
        ready = predictions.predictor.current is not None
        return Response(oip.ModelReady(name=name, ready=ready), status_code=_ready_status(ready))

    @get(
        urls.route(urls.OIP_MODEL),
        sync_to_thread=True,
        operation_id="oipModelMetadata",
        summary="Model metadata: versions and tensors",
        responses=responses(400, 404),
    )
    def model_metadata(
        self, name: FromPath[str], registry: NamedDependency[ModelRegistry]
    ) -> oip.ModelMetadata:
        oip.check_model(name)
        return oip.metadata([m["version"] for m in registry.versions()])

    @post(
        urls.route(urls.OIP_INFER),
        status_code=200,
        operation_id="oipInfer",
        summary="Inference with the served version",
        responses=responses(400, 404, 413, 429, 503),
    )
    async def infer(
        self,
        name: FromPath[str],
        data: JSONBody[oip.InferIn],
        predictions: NamedDependency[Predictions],
    ) -> oip.InferOut:
        return await oip.infer(predictions, name, None, data)

    @post(
        urls.route(urls.OIP_VERSION_INFER),
        status_code=200,
        operation_id="oipInferVersion",
        summary="Inference with a given version",
        responses=responses(400, 404, 413, 429, 503),
    )
    async def infer_version(
        self,
        name: FromPath[str],
        version: FromPath[str],
        data: JSONBody[oip.InferIn],
        predictions: NamedDependency[Predictions],
    ) -> oip.InferOut:
        return await oip.infer(predictions, name, version, data)

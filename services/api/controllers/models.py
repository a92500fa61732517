"""The model registry: published student versions and which one is served."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from services.api import urls
from services.api.domain.predictions import Models
from services.api.problems import responses
from services.api.schemas import ModelList, ModelView, Promotion


class ModelController(Controller):
    tags = ("models",)

    @get(
        urls.MODELS,
        sync_to_thread=True,
        operation_id="listModels",
        summary="Published versions, newest first, and the one being served",
    )
    def list_models(self, models: NamedDependency[Models]) -> ModelList:
        return models.list()

    @get(
        urls.route(urls.MODEL),
        sync_to_thread=True,
        operation_id="getModel",
        summary="A published version's metadata",
        responses=responses(400, 404),
    )
    def get_model(self, version: FromPath[str], models: NamedDependency[Models]) -> ModelView:
        return models.get(version)

    @post(
        urls.route(urls.MODEL_PROMOTE),
        status_code=200,
        operation_id="promoteModel",
        summary="Serve this version (this replica at once, others within the poll interval)",
        responses=responses(400, 404, 500),
    )
    async def promote(self, version: FromPath[str], models: NamedDependency[Models]) -> Promotion:
        return await models.promote(version)

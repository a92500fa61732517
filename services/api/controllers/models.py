"""The model registry: published student versions and which one is served."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from services.api import urls
from services.api.controllers import route
from services.api.domain.predictions import Models
from services.api.model_schemas import ModelList, ModelView, Promotion
from shared.platform.auth import Scope

ModelsDep = NamedDependency[Models]


class ModelController(Controller):
    tags = ("models",)

    @route(
        get, urls.MODELS, "listModels", "Published versions and the one served", scope=Scope.READ
    )
    def list_models(self, models: ModelsDep) -> ModelList:
        """Newest first."""
        return models.list()

    @route(
        get, urls.MODEL, "getModel", "A published version's metadata", 400, 404, scope=Scope.READ
    )
    def get_model(self, version: FromPath[str], models: ModelsDep) -> ModelView:
        return models.get(version)

    @route(
        delete, urls.MODEL, "deleteModel", "Delete a version and its files", 400, 404, 409,
        scope=Scope.ADMIN, status_code=204,
    )  # fmt: skip
    def delete_model(self, version: FromPath[str], models: ModelsDep) -> None:
        """Never the promoted version nor a pinned one."""
        models.delete(version)

    @route(
        post, urls.MODEL_PROMOTE, "promoteModel", "Serve this version", 400, 404, 422, 500, 503,
        scope=Scope.ADMIN,
    )  # fmt: skip
    async def promote(
        self,
        version: FromPath[str],
        models: ModelsDep,
        task: Annotated[str | None, QueryParameter(max_length=80)] = None,
    ) -> Promotion:
        """For its own task (`task`, when given, must name it: a student of one task is
        never served for another, 422); this replica switches before answering, others
        within MJD_MODEL_POLL_SECONDS."""
        return await models.promote(version, task)

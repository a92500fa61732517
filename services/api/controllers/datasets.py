"""Datasets: store instances inline, by vendored name, or from an uploaded file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody

from services.api import urls
from services.api.controllers import LOCATION, located
from services.api.domain.datasets import DatasetService
from services.api.problems import responses
from services.api.schemas import DatasetIn, DatasetView


@dataclass
class UploadForm:
    """A dataset file in any format the readers know (explained, ChaosNLI, VariErr, LeWiDi,
    generic JSONL or CSV)."""

    file: UploadFile | None = None


def _created(view: DatasetView) -> Response[DatasetView]:
    return located(view, urls.DATASET.format(dataset_id=view.id), 201)


class DatasetController(Controller):
    tags = ("datasets",)

    @post(
        urls.DATASETS,
        status_code=201,
        sync_to_thread=True,
        operation_id="createDataset",
        summary="Store instances (inline, or a vendored dataset by name)",
        responses=responses(400, 413, 422),
        response_headers=LOCATION,
    )
    def create(
        self, data: JSONBody[DatasetIn], datasets: NamedDependency[DatasetService]
    ) -> Response[DatasetView]:
        return _created(datasets.create(data.instances, data.vendored, data.name))

    @post(
        urls.DATASET_UPLOAD,
        status_code=201,
        sync_to_thread=True,
        operation_id="uploadDataset",
        summary="Store instances from a file uploaded as the multipart field 'file'",
        responses=responses(400, 413, 422),
        response_headers=LOCATION,
    )
    def upload(
        self,
        data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        datasets: NamedDependency[DatasetService],
    ) -> Response[DatasetView]:
        return _created(datasets.upload(data.file))

    @get(
        urls.route(urls.DATASET),
        sync_to_thread=True,
        operation_id="getDataset",
        summary="A stored dataset's description",
        responses=responses(400, 404),
    )
    def get(
        self, dataset_id: FromPath[str], datasets: NamedDependency[DatasetService]
    ) -> DatasetView:
        return datasets.get(dataset_id)

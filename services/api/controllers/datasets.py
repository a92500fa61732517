"""Datasets: store instances inline, by vendored name, or from an uploaded file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Response, delete, get
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody

from services.api import urls
from services.api.browser import BODY_MEDIA, MULTIPART
from services.api.controllers import Calling, creation, located, route
from services.api.domain.datasets import DatasetService
from services.api.schemas import DatasetIn, DatasetView
from shared.platform.auth import Scope

Datasets = NamedDependency[DatasetService]


@dataclass
class UploadForm:
    """A dataset file in any format the readers know (explained, ChaosNLI, VariErr, LeWiDi,
    generic JSONL or CSV) and, optionally, the task its items are of."""

    file: UploadFile | None = None
    task: str | None = None


def _created(view: DatasetView) -> Response[DatasetView]:
    return located(view, urls.DATASET.format(dataset_id=view.id), 201)


class DatasetController(Controller):
    tags = ("datasets",)

    @creation(urls.DATASETS, "createDataset", "Store a dataset", 400, 413, 422, 503)
    def create(
        self, data: JSONBody[DatasetIn], datasets: Datasets, caller: Calling
    ) -> Response[DatasetView]:
        """Instances inline, or a vendored dataset by name."""
        return _created(
            datasets.create(data.instances, data.vendored, data.name, caller.key_id, data.task)
        )

    @creation(
        urls.DATASET_UPLOAD, "uploadDataset", "Upload a dataset file", 400, 413, 415, 422, 503,
        opt={BODY_MEDIA: MULTIPART},
    )  # fmt: skip
    def upload(
        self,
        data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        datasets: Datasets,
        caller: Calling,
    ) -> Response[DatasetView]:
        """The multipart form field ``file``, in any format the readers know; ``task``
        names its task when the file does not."""
        return _created(datasets.upload(data.file, caller.key_id, data.task))

    @route(
        get, urls.DATASET, "getDataset", "A stored dataset's description", 400, 404,
        scope=Scope.READ,
    )  # fmt: skip
    def describe(
        self, dataset_id: FromPath[str], datasets: Datasets, caller: Calling
    ) -> DatasetView:
        return datasets.get(dataset_id, caller.sees)

    @route(
        delete, urls.DATASET, "deleteDataset", "Delete a dataset and its file", 400, 404,
        scope=Scope.SUBMIT, status_code=204,
    )  # fmt: skip
    def delete_dataset(
        self, dataset_id: FromPath[str], datasets: Datasets, caller: Calling
    ) -> None:
        """A submit key deletes its own datasets, an admin key any; jobs made from it keep
        their copy of its items."""
        datasets.delete(dataset_id, caller.sees)

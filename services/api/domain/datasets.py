"""Datasets: instances stored under an id, from a request body, a vendored set or a file."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec
from litestar.datastructures import UploadFile

from services.api.domain.tasks import TaskService
from services.api.schemas import DatasetView
from shared.datasets import VENDORED, instance_from_record, read_dataset, vendored_path
from shared.errors import DataError, NotFound, TooLarge, echo
from shared.platform import layout
from shared.platform.artifacts import ArtifactStore, check_id, new_id
from shared.platform.db.database import Database
from shared.platform.db.datasets import Dataset
from shared.schemas import Instance
from shared.tasks import NLI, Task

UPLOAD_SUFFIXES = (".jsonl", ".json", ".csv")


def instances_jsonl(
    instances: list[Instance], labels: list[list[str] | None] | None = None
) -> bytes:
    """One JSON line per instance; with ``labels``, an item's list of labels to explain (when
    it has one) as its ``labels`` field, which explanation generation reads."""
    records = [i.to_json() for i in instances]
    for record, given in zip(records, labels or [], strict=False):
        if given is not None:
            record["labels"] = [str(label) for label in given]
    return b"".join(msgspec.json.encode(r) + b"\n" for r in records)


def parse_instances(
    records: list[dict[str, Any]], field_name: str, task: Task = NLI
) -> list[Instance]:
    """Instances of ``task`` from request records (its inputs by field name); errors name
    ``field_name[row].field``."""
    if not records:
        raise DataError("must not be empty", field=field_name)
    out, seen = [], set()
    for index, record in enumerate(records):
        try:
            instance = instance_from_record(record, task)
        except DataError as exc:
            raise exc.located(f"{field_name}[{index}].") from None
        if instance.id in seen:
            raise DataError(f"duplicate id {echo(instance.id)}", field=f"{field_name}[{index}].id")
        seen.add(instance.id)
        out.append(instance)
    return out


class DatasetService:
    def __init__(
        self,
        store: ArtifactStore,
        db: Database,
        tasks: TaskService,
        max_rows: int,
        datasets_dir: Path,
    ) -> None:
        self.store = store
        self.db = db
        self.tasks = tasks
        self.max_rows = max_rows
        self.datasets_dir = datasets_dir

    def vendored_instances(self, name: str) -> list[Instance]:
        """The instances of vendored dataset ``name`` (from Settings.datasets_dir: NLI)."""
        path = vendored_path(name, self.datasets_dir)
        return read_dataset(path, datasets_dir=self.datasets_dir).instances

    def check_rows(self, count: int, field_name: str) -> None:
        if count > self.max_rows:
            raise TooLarge(f"{count} instances; at most {self.max_rows}", field=field_name)

    def create(
        self,
        instances: list[dict[str, Any]] | None,
        vendored: str | None,
        name: str | None,
        owner: str | None,
        task_name: str | None = None,
    ) -> DatasetView:
        """Inline instances of ``task_name`` (default NLI) or a vendored (NLI) dataset."""
        if (instances is None) == (vendored is None):
            raise DataError("give exactly one of 'instances' or 'vendored'", field="instances")
        if vendored is not None:
            if vendored not in VENDORED:
                raise DataError(
                    f"unknown dataset; vendored: {', '.join(VENDORED)}", field="vendored"
                )
            if task_name is not None and self.tasks.resolve(task_name) != NLI:
                raise DataError("vendored datasets are NLI", field="task")
            return self.add(self.vendored_instances(vendored), name or vendored, owner, NLI)
        task = self.tasks.resolve(task_name)
        self.check_rows(len(instances or []), "instances")
        return self.add(parse_instances(instances or [], "instances", task), name, owner, task)

    def upload(
        self, upload: UploadFile | None, owner: str | None, task_name: str | None = None
    ) -> DatasetView:
        """A file in any format; its task is ``task_name``'s, else the one the file names
        (LeWiDi's ``annotation task``, among built-in and added tasks), else NLI."""
        if not isinstance(upload, UploadFile):
            raise DataError("upload the dataset as the multipart form field 'file'", field="file")
        suffix = Path(upload.filename or "upload.jsonl").suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            raise DataError("expected a .jsonl, .json or .csv file", field="file")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"upload{suffix}"
            path.write_bytes(upload.file.read())
            given = None if task_name is None else self.tasks.resolve(task_name)
            try:
                dataset = read_dataset(
                    path, task=given, tasks=self.tasks.all(), datasets_dir=self.datasets_dir
                )
            except DataError as exc:
                detail = exc.message if exc.row is None else f"row {exc.row}: {exc.message}"
                raise DataError(
                    detail, field=f"file.{exc.field}" if exc.field else "file"
                ) from None
        self.check_rows(len(dataset.instances), "file")
        return self.add(dataset.instances, upload.filename, owner, dataset.task)

    def add(
        self, instances: list[Instance], name: str | None, owner: str | None, task: Task
    ) -> DatasetView:
        """Store ``instances`` of ``task`` as a new dataset."""
        dataset = Dataset(
            id=new_id(),
            name=name,
            instances=len(instances),
            with_human=sum(i.human is not None for i in instances),
            with_explanations=sum(bool(i.explanations) for i in instances),
            created=time.time(),
            task=task.ref,
        )
        self.store.write_bytes(
            layout.DATASETS, dataset.id, layout.DATASET_INSTANCES, instances_jsonl(instances)
        )
        self.db.datasets.add_dataset(dataset, owner)
        return dataset

    def get(self, dataset_id: str, sees: str | None, field_name: str = "dataset_id") -> DatasetView:
        """The dataset, if the caller sees it (``sees``: whose datasets, None for all)."""
        dataset = self.db.datasets.get_dataset(dataset_id[:64], sees)
        if dataset is None:
            raise NotFound(f"no dataset {echo(dataset_id)}", field=field_name)
        return dataset

    def delete(self, dataset_id: str, sees: str | None) -> None:
        """A dataset and its file (jobs made from it keep their own copy of its items)."""
        self.get(dataset_id, sees)
        self.db.datasets.delete_dataset(dataset_id)
        self.store.remove(layout.DATASETS, dataset_id)

    def items(
        self, dataset_id: str, field_name: str, sees: str | None
    ) -> tuple[Task, list[Instance]]:
        """A stored dataset's task and instances, if the caller sees it."""
        try:
            check_id(dataset_id, field_name)
        except DataError as exc:
            raise DataError(exc.message, field=field_name) from None
        dataset = self.get(dataset_id, sees, field_name)
        if not layout.dataset_exists(self.store, dataset_id):
            raise NotFound(f"no dataset {echo(dataset_id)}", field=field_name)
        task = self.tasks.resolve(dataset.task, field_name)
        return task, layout.dataset_instances(self.store, dataset_id, task)

    def instances(self, dataset_id: str, field_name: str, sees: str | None) -> list[Instance]:
        return self.items(dataset_id, field_name, sees)[1]

"""The model registry: student versions in the artifact store, and which one is promoted
for each task.

A version is ``models/v<N>/`` holding the ONNX files, the tokenizer and ``metadata.json``
(the task it predicts: ``task`` as ``name@version``, its ``labels`` and ``inputs``; base
model, training data, spec, metrics, sha256 of every file, created). Versions from before
tasks have none of these and are NLI's. Its record in the job store is written last, so a
folder without one is an unfinished version and is never listed. The job store also says
which version of each task was promoted last; servers poll it and serve one per task.
"""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path
from typing import Any

from shared.errors import DataError, NotFound
from shared.platform.artifacts import MODELS, ArtifactStore
from shared.platform.db.database import Database
from shared.platform.db.model_versions import record_task
from shared.platform.layout import MODEL_METADATA

VERSION_PATTERN = re.compile(r"^v[1-9][0-9]{0,8}$")


class UnknownVersion(NotFound):
    def __init__(self, version: str) -> None:
        shown = version if len(version) <= 32 else version[:32] + "…"
        super().__init__(f"no model version {shown!r}", field="version")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_digests(folder: Path) -> dict[str, dict[str, Any]]:
    """sha256 and size of every file of a model folder but its metadata."""
    return {
        p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size}
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.name.startswith(".") and p.name != MODEL_METADATA
    }


class ModelRegistry:
    """Version folders in the artifact store, their records in the job store."""

    def __init__(self, store: ArtifactStore, db: Database) -> None:
        self.store = store
        self.db = db

    def claim_version(self) -> str:
        """A new version folder; mkdir is atomic, so concurrent trainers never share one."""
        root = self.store.root / MODELS
        root.mkdir(parents=True, exist_ok=True)
        number = 1 + max((int(p.name[1:]) for p in self._folders()), default=0)
        while True:
            try:
                (root / f"v{number}").mkdir()
                return f"v{number}"
            except FileExistsError:
                number += 1

    def _folders(self) -> list[Path]:
        root = self.store.root / MODELS
        if not root.is_dir():
            return []
        return [p for p in root.iterdir() if p.is_dir() and VERSION_PATTERN.match(p.name)]

    def folder(self, version: str) -> Path:
        if not isinstance(version, str) or not VERSION_PATTERN.match(version):
            raise UnknownVersion(str(version))
        return self.store.folder(MODELS, version)

    def publish(self, version: str, metadata: dict[str, Any]) -> dict[str, Any]:
        """Finish a version whose files are in its folder: hash them, write the metadata
        beside them (the folder describes itself) and record the version in the job store
        (from then on it is listed). A redelivered training job publishes again harmlessly."""
        files = file_digests(self.folder(version))
        record = {**metadata, "version": version, "created": time.time(), "files": files}
        self.store.write_json(MODELS, version, MODEL_METADATA, record)
        if not self.db.models.add_model(record):
            return self.get(version)
        return record

    def get(self, version: str) -> dict[str, Any]:
        self.folder(version)  # a well-formed name
        record = self.db.models.get_model(version)
        if record is None:
            raise UnknownVersion(version)
        return record

    def versions(self, task: str | None = None) -> list[dict[str, Any]]:
        """Published versions (of the task ``name@version`` when given), newest first."""
        return self.db.models.list_models(task)

    def task_of(self, version: str) -> str:
        """The task (``name@version``) a published version predicts."""
        return record_task(self.get(version))

    def delete(self, version: str) -> None:
        """Forget a version and remove its files (the caller keeps the served one)."""
        self.get(version)
        self.db.models.delete_model(version)
        self.store.remove(MODELS, version)

    def promote(self, version: str, task: str | None = None) -> dict[str, Any]:
        """Serve ``version`` for its own task; ``task`` (``name@version``, or a name), when
        given, must be that task: a student of one task is never served for another."""
        own = self.task_of(version)  # must exist and be published
        if task is not None and task not in (own, own.partition("@")[0]):
            raise DataError(
                f"version {version} predicts task {own}; it cannot be promoted for {task}",
                field="task",
            )
        promoted = time.time()
        self.db.models.promote_model(version, promoted)
        return {"version": version, "promoted": promoted, "task": own}

    def promoted(self, task: str | None = None) -> str | None:
        """The version served for ``task`` (``name@version``; default NLI's)."""
        found = self.db.models.promoted_model(task)
        return found[0] if found else None

    def promoted_versions(self) -> dict[str, str]:
        """The version served for each task that has one (task ``name@version`` -> version)."""
        return {task: found[0] for task, found in self.db.models.promoted_models().items()}

    def pointer_stamp(self) -> float:
        """Changes whenever a version of any task is promoted (cheap to poll)."""
        return self.db.models.last_promotion()

    def adopt_files(self) -> int:
        """Record the published versions whose folders the job store does not list (each
        folder keeps its metadata file): an operator who points DATABASE_URL at a new
        database (SQLite to PostgreSQL) over the same ARTIFACTS_DIR keeps the models; how
        many were recorded. Which one is promoted lives only in the job store."""
        adopted = 0
        for folder in sorted(self._folders(), key=lambda p: int(p.name[1:])):
            if (folder / MODEL_METADATA).is_file():
                adopted += self.db.models.add_model(
                    self.store.read_json(MODELS, folder.name, MODEL_METADATA)
                )
        return adopted

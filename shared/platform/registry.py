"""The model registry: student versions in the artifact store, and which one is promoted.

A version is ``models/v<N>/`` holding the ONNX files, the tokenizer and ``metadata.json``
(base model, training data, spec, metrics, sha256 of every file, created). Its record in the
job store is written last, so a folder without one is an unfinished version and is never
listed. The job store also says which version was promoted last; servers poll it.
"""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path
from typing import Any

from shared.errors import NotFound
from shared.platform.artifacts import MODELS, ArtifactStore
from shared.platform.db.database import Database
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

    def versions(self) -> list[dict[str, Any]]:
        """Published versions, newest first."""
        return self.db.models.list_models()

    def delete(self, version: str) -> None:
        """Forget a version and remove its files (the caller keeps the served one)."""
        self.get(version)
        self.db.models.delete_model(version)
        self.store.remove(MODELS, version)

    def promote(self, version: str) -> dict[str, Any]:
        self.get(version)  # must exist and be published
        promoted = time.time()
        self.db.models.promote_model(version, promoted)
        return {"version": version, "promoted": promoted}

    def promoted(self) -> str | None:
        found = self.db.models.promoted_model()
        return found[0] if found else None

    def pointer_stamp(self) -> float:
        """Changes whenever a version is promoted (cheap to poll)."""
        found = self.db.models.promoted_model()
        return found[1] if found else 0.0

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

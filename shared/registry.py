"""The model registry: student versions in the artifact store, and which one is promoted.

A version is ``models/v<N>/`` holding the ONNX files, the tokenizer and ``metadata.json``
(base model, training data, spec, metrics, sha256 of every file, created). The metadata is
written last, so a folder without it is an unfinished version and is never listed. The
promoted version is named in ``models/promoted/version.json``; servers poll that file.
"""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path
from typing import Any

from shared.artifacts import ArtifactStore
from shared.errors import NotFound
from shared.layout import MODEL_METADATA, MODELS, PROMOTED_POINTER

VERSION_PATTERN = re.compile(r"^v[1-9][0-9]{0,8}$")


class UnknownVersion(NotFound):
    def __init__(self, version: str) -> None:
        super().__init__(f"no model version {version!r}", field="version")


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
    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

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
        """Finish a version whose files are in its folder: hash them, write the metadata."""
        files = file_digests(self.folder(version))
        record = {**metadata, "version": version, "created": time.time(), "files": files}
        self.store.write_json(MODELS, version, MODEL_METADATA, record)
        return record

    def get(self, version: str) -> dict[str, Any]:
        folder = self.folder(version)
        if not (folder / MODEL_METADATA).is_file():
            raise UnknownVersion(version)
        return self.store.read_json(MODELS, version, MODEL_METADATA)

    def versions(self) -> list[dict[str, Any]]:
        """Published versions, newest first."""
        found = [p.name for p in self._folders() if (p / MODEL_METADATA).is_file()]
        return [self.get(v) for v in sorted(found, key=lambda v: -int(v[1:]))]

    def promote(self, version: str) -> dict[str, Any]:
        self.get(version)  # must exist and be published
        pointer = {"version": version, "promoted": time.time()}
        self.store.write_json(*PROMOTED_POINTER, pointer)
        return pointer

    def promoted(self) -> str | None:
        try:
            return str(self.store.read_json(*PROMOTED_POINTER)["version"])
        except FileNotFoundError:
            return None

    def pointer_stamp(self) -> float:
        """Changes whenever a version is promoted (cheap to poll)."""
        try:
            return self.store.path(*PROMOTED_POINTER).stat().st_mtime_ns
        except FileNotFoundError:
            return 0.0

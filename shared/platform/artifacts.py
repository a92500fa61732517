"""The artifact store: a directory addressed by validated ids, never by user-supplied paths.

Layout: ``<root>/<kind>/<id>/<name>``. Kinds and names come from code; ids are checked
against :data:`ID_PATTERN`. Writes go to a temporary file and are renamed into place, so a
reader never sees half a file and a repeated (redelivered) write leaves one copy. A write
the filesystem refuses (read-only, full, not a folder) raises :class:`StoreNotWritable`.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from shared.errors import DataError, MjdError
from shared.files import write_atomically

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
DATASETS, JOBS, MODELS = "datasets", "jobs", "models"
KINDS = (DATASETS, JOBS, MODELS)


class StoreNotWritable(MjdError):
    """The filesystem refused a write to the store; the message says why, never where (the
    API answers it as 503, and paths are the operator's business)."""

    def __init__(self, exc: OSError) -> None:
        super().__init__(
            f"the artifact store is not writable: {exc.strerror or type(exc).__name__}"
        )


def new_id() -> str:
    return uuid.uuid4().hex


def check_id(value: str, field: str = "id") -> str:
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise DataError("must be 1-64 letters, digits, '_' or '-'", field=field)
    return value


class ArtifactStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def folder(self, kind: str, item_id: str) -> Path:
        if kind not in KINDS:
            raise ValueError(f"unknown artifact kind {kind!r}")
        return self.root / kind / check_id(item_id)

    def path(self, kind: str, item_id: str, name: str) -> Path:
        if not NAME_PATTERN.match(name) or ".." in name:
            raise DataError("not a valid artifact name", field="name")
        return self.folder(kind, item_id) / name

    def exists(self, kind: str, item_id: str, name: str) -> bool:
        return self.path(kind, item_id, name).is_file()

    def write_bytes(self, kind: str, item_id: str, name: str, data: bytes) -> Path:
        target = self.path(kind, item_id, name)
        try:
            write_atomically(target, lambda handle: handle.write(data), binary=True)
        except OSError as exc:
            raise StoreNotWritable(exc) from exc
        return target

    def check_writable(self) -> None:
        """Create and remove a small file under the root (StoreNotWritable if that fails):
        the readiness probe's cheap proof that writes will work."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-", suffix=".tmp"):
                pass
        except OSError as exc:
            raise StoreNotWritable(exc) from exc

    def write_json(self, kind: str, item_id: str, name: str, value: Any) -> Path:
        return self.write_bytes(kind, item_id, name, json.dumps(value).encode())

    def read_bytes(self, kind: str, item_id: str, name: str) -> bytes:
        return self.path(kind, item_id, name).read_bytes()

    def read_json(self, kind: str, item_id: str, name: str) -> Any:
        return json.loads(self.read_bytes(kind, item_id, name))

    def remove(self, kind: str, item_id: str) -> None:
        """Delete an item's folder and everything in it."""
        shutil.rmtree(self.folder(kind, item_id), ignore_errors=True)

    def size(self) -> int:
        """Bytes of every file in the store."""
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    def remove_partial(self, kind: str, item_id: str) -> None:
        """Delete temporary files a killed writer left behind."""
        folder = self.folder(kind, item_id)
        if folder.is_dir():
            for stale in folder.glob(".*.tmp"):
                stale.unlink(missing_ok=True)

    def names(self, kind: str, item_id: str) -> list[str]:
        folder = self.folder(kind, item_id)
        if not folder.is_dir():
            return []
        return sorted(
            p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
        )

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from shared.datasets import read_instances, vendored_path
from shared.schemas import Instance


@pytest.fixture(scope="session")
def explained() -> list[Instance]:
    return read_instances(vendored_path("explained"))


@pytest.fixture
def write_jsonl(tmp_path: Path) -> Callable[[str, Iterable[Any]], Path]:
    """Write raw lines (str) or records (anything else, as JSON) to a file under tmp_path."""

    def write(name: str, rows: Iterable[Any]) -> Path:
        path = tmp_path / name
        path.write_text(
            "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows)
        )
        return path

    return write


@pytest.fixture(scope="session")
def student_model(tmp_path_factory, explained) -> Path:
    """A small real student (16 explained items, 2 epochs), trained and exported through the
    CLI: the folder ``mjd export --out`` writes (ONNX files, tokenizer, metadata.json)."""
    from services.cli import main

    folder = tmp_path_factory.mktemp("student")
    data = folder / "train.jsonl"
    data.write_text("".join(json.dumps(i.to_json()) + "\n" for i in explained[:16]))
    check = folder / "check.jsonl"
    check.write_text("".join(json.dumps(i.to_json()) + "\n" for i in explained[300:332]))
    assert main(["train", "--data", str(data), "--epochs", "2", "--dev-fraction", "0.25",
                 "--learning-rate", "1e-4", "--out", str(folder / "checkpoint")]) == 0  # fmt: skip
    assert main(["export", str(folder / "checkpoint"), "--out", str(folder / "model"),
                 "--check", str(check)]) == 0  # fmt: skip
    return folder / "model"


def publish_copy(store_root: Path, model: Path) -> str:
    """Publish a copy of an exported model folder as a new registry version."""
    import shutil

    from shared.artifacts import ArtifactStore
    from shared.layout import MODEL_METADATA
    from shared.registry import ModelRegistry

    registry = ModelRegistry(ArtifactStore(store_root))
    version = registry.claim_version()
    for path in model.iterdir():
        if path.name != MODEL_METADATA:
            shutil.copy(path, registry.folder(version) / path.name)
    metadata = json.loads((model / MODEL_METADATA).read_text())
    for key in ("version", "created", "files"):
        metadata.pop(key, None)
    registry.publish(version, metadata)
    return version


def assert_problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    """Check an RFC 9457 problem-details answer (status, media type, detail, field)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["detail"]
    if field is not None:
        assert body["field"] == field, body
    return body

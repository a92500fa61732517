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

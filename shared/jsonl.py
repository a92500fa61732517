"""The project's one reader of JSON lines files: every bad line names its file and row."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shared.errors import DataError


def json_problem(exc: ValueError | RecursionError) -> str:
    """Why ``json.loads`` refused a text: besides invalid JSON, it raises RecursionError for
    deep nesting and ValueError for an integer over Python's 4300-digit limit on int()."""
    if isinstance(exc, json.JSONDecodeError):
        return exc.msg
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return "a number has too many digits"


def json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """Each record with its line number (from 1); blank lines are skipped. A file that is not
    UTF-8 raises UnicodeDecodeError only where the bad bytes are, after the lines before."""
    source = str(path)
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (ValueError, RecursionError) as exc:
                raise DataError(
                    f"invalid JSON: {json_problem(exc)}", source=source, row=number
                ) from None
            yield number, record

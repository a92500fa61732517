"""What every format's reader shares: raw rows, required fields and where errors happened."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shared.errors import DataError
from shared.jsonl import json_lines, json_problem
from shared.labels import Label
from shared.schemas import Explanation, Instance


@contextmanager
def located(source: str, row: int | None) -> Iterator[None]:
    """Add the file and row to any DataError raised inside."""
    try:
        yield
    except DataError as exc:
        raise DataError(
            exc.message,
            source=exc.source or source,
            row=exc.row if exc.row is not None else row,
            field=exc.field,
        ) from None


@contextmanager
def utf8_text(source: str | Path) -> Iterator[None]:
    """Report a file that is not UTF-8 text as a DataError, not a traceback."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise DataError(
            f"not UTF-8 text (byte {exc.start} cannot be decoded)", source=str(source)
        ) from None


def json_document(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:
        line = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise DataError(f"invalid JSON{line}: {json_problem(exc)}", source=str(path)) from None


def records(path: Path) -> Iterator[tuple[int, Any]]:
    """Rows of a JSON lines file or of a JSON array, numbered from 1."""
    if first_char(path) == "[":
        document = json_document(path)
        yield from enumerate(document, start=1)
    else:
        yield from json_lines(path)


def first_char(path: Path) -> str:
    with path.open(encoding="utf-8") as handle:
        while chunk := handle.read(4096):
            stripped = chunk.lstrip()
            if stripped:
                return stripped[0]
    return ""


def require(record: Any, name: str) -> Any:
    if not isinstance(record, Mapping):
        raise DataError(f"expected a JSON object, got {type(record).__name__}")
    if name not in record or record[name] is None:
        raise DataError("missing required field", field=name)
    return record[name]


def text(record: Any, name: str) -> str:
    value = require(record, name)
    if not isinstance(value, str) or not value.strip():
        raise DataError("must be a non-empty string", field=name)
    return value


def label(value: Any, field_name: str) -> Label:
    if not isinstance(value, str):
        raise DataError(f"expected a label string, got {value!r}", field=field_name)
    try:
        return Label.parse(value)
    except ValueError as exc:
        raise DataError(str(exc), field=field_name) from None


def comment_pairs(record: Any, key: str) -> tuple[Explanation, ...]:
    """The ``[text, label letter]`` pairs under ``key`` (the explained file's layout)."""
    comments = require(record, key)
    if not isinstance(comments, list):
        raise DataError("expected a list of [text, label letter] pairs", field=key)
    explanations = []
    for i, comment in enumerate(comments):
        name = f"{key}[{i}]"
        if not isinstance(comment, list) or len(comment) != 2 or not isinstance(comment[0], str):
            raise DataError("expected [text, label letter]", field=name)
        if not comment[0].strip():
            raise DataError("empty explanation", field=name)
        explanations.append(Explanation(comment[0], label(comment[1], name)))
    return tuple(explanations)


#: reads vendored dataset ``name`` in format ``fmt`` (given to formats joined to one)
VendoredReader = Callable[[str, str], list[Instance]]


class RowParser:
    """Makes each row of one file an Instance (the caller adds the file and row to its
    errors); a format that joins rows to other data checks the whole file in ``finish``."""

    def parse(self, record: Any, index: int) -> Instance:
        raise NotImplementedError

    def finish(self, rows: int, source: str) -> None:
        """Nothing to check once every row is read."""

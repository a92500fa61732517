"""Which format a file is in, from its name and its first record's fields."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from shared.datasets.model_explanations import MACHINE_COMMENT_KEYS
from shared.datasets.records import first_char, json_document, records, utf8_text
from shared.errors import DataError
from shared.labels import LABEL_NAMES


def detect_format(path: str | Path) -> str:
    """Pick a reader from the file name and the first record's fields."""
    with utf8_text(path):
        return _detect_format(Path(path))


def _detect_format(path: Path) -> str:
    if not path.is_file():
        raise DataError("no such file", source=str(path))
    if path.suffix.lower() == ".csv":
        return "csv"
    first = first_char(path)
    if first == "":
        raise DataError("file is empty", source=str(path))
    if path.suffix.lower() == ".json" and first == "{":
        document = json_document(path)
        if isinstance(document, Mapping) and any(
            isinstance(v, Mapping) and "soft_label" in v for v in document.values()
        ):
            return "lewidi"
    record = next((r for _, r in records(path)), None)
    if not isinstance(record, Mapping):
        raise DataError("expected JSON objects, one per line", source=str(path), row=1)
    keys = set(record)
    if {"comments", "chaos probs"} <= keys:
        return "explained"
    if "premise" in keys and keys & set(MACHINE_COMMENT_KEYS):
        return "model_explanations"
    if {"context", "statement"} <= keys and keys & set(LABEL_NAMES):
        return "varierr"
    if keys & {"label_counter", "label_dist", "example"} or (
        {"premise", "hypothesis", "label"} <= keys and "id" not in keys
    ):
        return "chaosnli"
    return "jsonl"

"""The reader registry and the one JSON lines reader: formats by name, bad lines by row."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.datasets import FORMATS, READERS, read_instances, reader_for
from shared.errors import DataError
from shared.jsonl import json_lines


def test_every_format_has_a_reader_in_the_documented_order() -> None:
    assert FORMATS == (
        "explained",
        "model_explanations",
        "chaosnli",
        "varierr",
        "lewidi",
        "jsonl",
        "csv",
    )
    assert all(reader_for(name) is READERS[name] for name in FORMATS)


def test_an_unknown_format_names_the_formats(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"premise": "p", "hypothesis": "h"}\n')
    with pytest.raises(DataError) as caught:
        read_instances(path, "tsv")
    assert caught.value.field == "format"
    assert caught.value.message == (
        "unknown format 'tsv'; expected auto or one of explained, model_explanations, "
        "chaosnli, varierr, lewidi, jsonl, csv"
    )


def test_json_lines_numbers_rows_and_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n[2]\n')
    assert list(json_lines(path)) == [(1, {"a": 1}), (3, [2])]


def test_a_bad_json_line_names_the_file_and_row(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n{"a": \n')
    with pytest.raises(DataError) as caught:
        list(json_lines(path))
    assert (caught.value.source, caught.value.row) == (str(path), 2)
    assert caught.value.message == "invalid JSON: Expecting value"

"""The reader registry: format name -> how its rows are read and each made an Instance."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.datasets.chaosnli import parse_chaosnli
from shared.datasets.csv_rows import csv_rows
from shared.datasets.explained import parse_explained
from shared.datasets.generic import instance_from_record
from shared.datasets.lewidi import lewidi_items, parse_lewidi
from shared.datasets.model_explanations import ModelExplanationParser
from shared.datasets.records import RowParser, VendoredReader, records
from shared.datasets.varierr import parse_varierr
from shared.errors import DataError
from shared.schemas import Instance


class _PerRow(RowParser):
    """A format whose rows stand alone."""

    def __init__(self, parse: Callable[[Any], Instance]) -> None:
        self._parse = parse

    def parse(self, record: Any, index: int) -> Instance:
        return self._parse(record)


@dataclass(frozen=True, slots=True)
class Reader:
    """One format. ``parser`` is given a reader of vendored datasets (for formats joined to
    one); ``texts_optional`` formats may hold distributions without premise and hypothesis."""

    rows: Callable[[Path], Iterator[tuple[int, Any]]]
    parser: Callable[[VendoredReader], RowParser]
    texts_optional: bool = False


def _per_row(parse: Callable[[Any], Instance]) -> Callable[[VendoredReader], RowParser]:
    return lambda read_vendored: _PerRow(parse)


READERS: dict[str, Reader] = {
    "explained": Reader(records, _per_row(parse_explained)),
    "model_explanations": Reader(records, ModelExplanationParser),
    "chaosnli": Reader(records, _per_row(parse_chaosnli)),
    "varierr": Reader(records, _per_row(parse_varierr)),
    "lewidi": Reader(lewidi_items, _per_row(parse_lewidi)),
    "jsonl": Reader(records, _per_row(instance_from_record), texts_optional=True),
    "csv": Reader(csv_rows, _per_row(instance_from_record), texts_optional=True),
}

FORMATS = tuple(READERS)


def reader_for(fmt: str) -> Reader:
    """The registered reader of ``fmt``; an unknown name is a DataError listing the formats."""
    try:
        return READERS[fmt]
    except KeyError:
        raise DataError(
            f"unknown format {fmt!r}; expected auto or one of {', '.join(FORMATS)}", field="format"
        ) from None

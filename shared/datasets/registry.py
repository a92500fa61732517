"""The reader registry: format name -> how its rows are read and each made an Instance."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.datasets.chaosnli import parse_chaosnli
from shared.datasets.csv_rows import csv_rows
from shared.datasets.explained import parse_explained
from shared.datasets.generic import instance_from_record
from shared.datasets.lewidi import LewidiParser, lewidi_items, lewidi_task
from shared.datasets.model_explanations import ModelExplanationParser
from shared.datasets.records import RowParser, VendoredReader, records
from shared.datasets.varierr import parse_varierr
from shared.errors import DataError
from shared.schemas import Instance
from shared.tasks import NLI, Task


class _PerRow(RowParser):
    """A format whose rows stand alone."""

    def __init__(self, parse: Callable[[Any], Instance]) -> None:
        self._parse = parse

    def parse(self, record: Any, index: int) -> Instance:
        return self._parse(record)


#: the reader of a file's rows, given its task
Rows = Callable[[Path, Task], Iterator[tuple[int, Any]]]
#: makes a format's row parser, given a reader of vendored datasets and the task
Parser = Callable[[VendoredReader, Task], RowParser]


@dataclass(frozen=True, slots=True)
class Reader:
    """One format. ``parser`` is given a reader of vendored datasets (for formats joined to
    one) and the task; ``texts_optional`` formats may hold distributions without inputs;
    ``task_of`` finds the task of a file that names it (else: NLI formats hold ``nli``,
    generic ones the task given)."""

    rows: Rows
    parser: Parser
    texts_optional: bool = False
    nli_only: bool = True
    task_of: Callable[[Path, Iterable[Task]], Task] | None = None


def _nli_rows(path: Path, task: Task) -> Iterator[tuple[int, Any]]:
    return records(path)


def _nli(parse: Callable[[Any], Instance]) -> Parser:
    return lambda read_vendored, task: _PerRow(parse)


def _generic(read_vendored: VendoredReader, task: Task) -> RowParser:
    return _PerRow(lambda record: instance_from_record(record, task))


READERS: dict[str, Reader] = {
    "explained": Reader(_nli_rows, _nli(parse_explained)),
    "model_explanations": Reader(
        _nli_rows, lambda read_vendored, task: ModelExplanationParser(read_vendored)
    ),
    "chaosnli": Reader(_nli_rows, _nli(parse_chaosnli)),
    "varierr": Reader(_nli_rows, _nli(parse_varierr)),
    "lewidi": Reader(
        lambda path, task: lewidi_items(path),
        lambda read_vendored, task: LewidiParser(task),
        nli_only=False,
        task_of=lewidi_task,
    ),
    "jsonl": Reader(_nli_rows, _generic, texts_optional=True, nli_only=False),
    "csv": Reader(csv_rows, _generic, texts_optional=True, nli_only=False),
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


def task_for(
    reader: Reader, fmt: str, path: Path, given: Task | None, known: Iterable[Task]
) -> Task:
    """The task a file is read as: the one given (checked against what the format holds),
    the one the file names, or NLI."""
    if reader.nli_only:
        if given is not None and given.labels != NLI.labels:
            raise DataError(
                f"the {fmt} format holds NLI items, not task {given.name!r}", field="task"
            )
        return given or NLI
    if given is not None:
        return given
    if reader.task_of is not None:
        return reader.task_of(path, known)
    return NLI

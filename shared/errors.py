"""Errors that user-facing adapters (CLI, HTTP) turn into a clear message, never a traceback."""

from __future__ import annotations


class MjdError(Exception):
    """Base class for problems caused by the user's input or configuration."""


class DataError(MjdError):
    """A bad value in an input file or request, located by source, row and field."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.row = row
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.source is not None:
            where.append(self.source)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field is not None:
            where.append(f"field '{self.field}'")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class NotFound(DataError):
    """A request names something that does not exist (a dataset, job or model version)."""

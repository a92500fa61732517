"""Errors that user-facing adapters (CLI, HTTP) turn into a clear message, never a traceback."""

from __future__ import annotations

import copy
import re


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

    def located(self, prefix: str) -> DataError:
        """The same error with its field placed under ``prefix`` (``run.``, ``instances[2].``)
        as the caller's request spells it; the row is kept."""
        moved = copy.copy(self)
        moved.field = f"{prefix}{self.field or ''}".rstrip(".") or None
        moved.args = (str(moved),)
        return moved


class NotFound(DataError):
    """A request names something that does not exist (a dataset, job or model version)."""


class Conflict(DataError):
    """The request conflicts with the state of what it names (a job still running, the
    promoted version)."""


class TooLarge(DataError):
    """The request is larger than the server takes (rows, bytes)."""


class Unsupported(DataError):
    """The request's media type or encoding is not one the server reads."""


class ServiceError(MjdError):
    """An error of the server's side, not the request's; ``field`` names the part of the
    request it concerns, if any."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.message = message
        self.field = field
        super().__init__(message)


class Unavailable(ServiceError):
    """A backing service (the job queue, the model, the artifact store) cannot serve the
    request now."""


class Failed(ServiceError):
    """The server failed at a step the request asked for (a promoted model that did not
    load)."""


_MSGSPEC_PATH = re.compile(r" - at `\$\.?([^`]*)`$")
_MSGSPEC_MISSING = re.compile(r"missing required field `([^`]+)`")


def msgspec_location(message: str) -> tuple[str, str | None]:
    """A msgspec decode or validation message without its `` - at `$...` `` suffix, and the
    field it names as a body spells it (``inputs[0].name``; a missing field under its
    parent); None when it names none."""
    at = _MSGSPEC_PATH.search(message)
    path = at.group(1) if at else ""
    missing = _MSGSPEC_MISSING.search(message)
    if missing:
        path = f"{path}.{missing.group(1)}" if path else missing.group(1)
    return (message[: at.start()] if at else message), path or None


#: the most characters of a request's own value an error repeats back
ECHO_CHARS = 32


def echo(value: object) -> str:
    """A request's value as an error repeats it: quoted, and cut to ECHO_CHARS (a 60 kB id
    must not come back whole)."""
    text = str(value)
    return repr(text if len(text) <= ECHO_CHARS else text[:ECHO_CHARS] + "…")

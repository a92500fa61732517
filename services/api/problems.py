"""RFC 9457 problem details for every error the API answers, naming the offending field."""

from __future__ import annotations

from typing import Any

from litestar.plugins.problem_details import ProblemDetailsException

from shared.errors import DataError, NotFound


def problem(
    status: int, detail: str, field_name: str | None = None, **extra: Any
) -> ProblemDetailsException:
    """A problem-details exception; ``field`` names what was wrong."""
    if field_name is not None:
        extra["field"] = field_name
    return ProblemDetailsException(status_code=status, detail=detail, extra=extra or None)


def data_error(exc: DataError) -> ProblemDetailsException:
    status = 404 if isinstance(exc, NotFound) else 422
    if exc.row:
        return problem(status, exc.message, exc.field, row=exc.row)
    return problem(status, exc.message, exc.field)

"""RFC 9457 problem details for every error the API answers, naming the offending field;
and the same errors described in the OpenAPI document."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import ClientException, HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.plugins.problem_details import ProblemDetailsException
from msgspec import Struct

from services.predictor import ClientGone, NoModel, NotServed, Overdue, QueueFull
from shared.errors import (
    Conflict,
    DataError,
    Failed,
    MjdError,
    NotFound,
    TooLarge,
    Unavailable,
    Unsupported,
)
from shared.platform.artifacts import StoreNotWritable

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger(__name__)


class ProblemDetails(Struct):
    """An error (RFC 9457). ``field`` names what was wrong in the request, as a path into
    its body (``instances[0].premise``) or the name of a parameter or header; it is null
    when no part of the request is at fault (a backing service is down, too many requests,
    a path the API does not have)."""

    status: int
    detail: str
    title: str | None = None
    type: str | None = None
    field: str | None = None
    row: int | None = None
    errors: list[dict[str, Any]] | None = None
    error: str | None = None
    jobs_url: str | None = None


#: why each error status is answered, as the OpenAPI document says it
REASONS = {
    400: "The body or a parameter does not match its schema (type, unknown or missing field).",
    401: "No valid API key.",
    404: "What the request names does not exist.",
    405: "The method is not allowed on this path.",
    409: "The request conflicts with the state of what it names.",
    413: "The request is larger than the server takes.",
    415: "The body's media type is not accepted.",
    422: "The body is well-formed but a value is not acceptable.",
    429: "Too many requests; retry after the Retry-After header's seconds.",
    500: "The server failed.",
    503: "A backing service (the job queue, the model, the artifact store) is unavailable.",
}


def responses(*statuses: int, media_type: str = MEDIA_TYPE) -> dict[int, ResponseSpec]:
    """OpenAPI responses: problem details for each error status a route really answers."""
    return {
        status: ResponseSpec(
            data_container=ProblemDetails,
            media_type=media_type,
            description=REASONS.get(status, HTTPStatus(status).phrase),
            generate_examples=False,
        )
        for status in statuses
    }


def problem(
    status: int,
    detail: str,
    field_name: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> ProblemDetailsException:
    """A problem-details exception; ``field`` names what was wrong (it is always in the
    body, null when no part of the request is at fault)."""
    return ProblemDetailsException(
        status_code=status, detail=detail, headers=headers, extra={"field": field_name, **extra}
    )


@dataclass(frozen=True, slots=True)
class Answer:
    """How the API answers one kind of domain error: its status, and for errors that carry
    no field or message of their own, the field and detail to answer with."""

    status: int
    field: str | None = None
    detail: str | None = None
    headers: dict[str, str] | None = None


#: every domain error's status, in one place (the most specific class in an error's MRO
#: wins); the OIP routes answer from the same table with DataError as 400
ANSWERS: dict[type[Exception], Answer] = {
    NotFound: Answer(404),
    Conflict: Answer(409),
    TooLarge: Answer(413),
    Unsupported: Answer(415),
    DataError: Answer(422),
    Failed: Answer(500),
    Unavailable: Answer(503),
    MjdError: Answer(400),
    QueueFull: Answer(
        429, detail="the prediction queue is full; retry shortly", headers={"Retry-After": "1"}
    ),
    NoModel: Answer(503, field="model"),  # the model the request asks for is missing
    Overdue: Answer(503),
    ClientGone: Answer(503, detail="the client disconnected"),  # nobody reads this answer
    NotServed: Answer(409, field="model"),
}


def domain_problem(
    exc: Exception, answers: dict[type[Exception], Answer] = ANSWERS
) -> ProblemDetailsException:
    """The problem details of a domain error (``answers`` must know a class in its MRO); a
    DataError's row, when it has one, is in the body too."""
    answer = next(answers[c] for c in type(exc).__mro__ if c in answers)
    detail = answer.detail or getattr(exc, "message", None) or str(exc)
    field_name = getattr(exc, "field", None) or answer.field
    row = getattr(exc, "row", None)
    extra = {"row": row} if row else {}
    return problem(answer.status, detail, field_name, answer.headers, **extra)


#: handler arguments whose query parameter has another name ("state" is reserved by Litestar)
QUERY_NAMES = {"state_filter": "state"}


def validation_problem(exc: HTTPException) -> ProblemDetailsException:
    """Litestar's request validation errors, with the first offending field named on top
    (``body`` when the body as a whole could not be read)."""
    errors = exc.extra if isinstance(exc.extra, list) else []
    first = next((e for e in errors if isinstance(e, dict) and e.get("key")), {})
    detail = first.get("message") or getattr(exc, "title", None) or exc.detail
    if not first:
        return problem(400, str(detail), "body", errors=errors or None)
    named = re.search(r"(unknown|missing required) field `([^`]+)`", str(detail))
    if named is None:
        field_name = QUERY_NAMES.get(str(first["key"]), str(first["key"]))
    elif named.group(1) == "unknown" or first["key"] in ("", "body"):
        field_name = named.group(2)
    else:
        field_name = f"{first['key']}.{named.group(2)}"
    return problem(400, str(detail), field_name, errors=errors)


#: the part of the request each of Litestar's own 4xx is about (other statuses: none is)
CLIENT_FIELDS = {401: "authorization", 403: "authorization", 413: "body", 415: "content-type"}


def client_problem(exc: ClientException) -> ProblemDetailsException:
    """4xx from Litestar itself; a body that is not valid JSON is named as field ``body``."""
    if type(exc) is ClientException and exc.status_code == 400:
        detail = getattr(exc, "title", None) or exc.detail
        return problem(400, f"the request body could not be read: {detail}", "body")
    extra = dict(exc.extra) if isinstance(exc.extra, dict) else {}
    if exc.extra and not extra:
        extra["errors"] = exc.extra
    return problem(
        exc.status_code,
        exc.detail,
        extra.pop("field", CLIENT_FIELDS.get(exc.status_code)),
        dict(exc.headers or {}),
        **extra,
    )


def domain_error(request: Request, exc: Exception) -> Response[Any]:
    """Domain errors that reach the app, answered from :data:`ANSWERS`."""
    return domain_problem(exc).to_response(request)


def undecodable(request: Request, _: UnicodeDecodeError) -> Response[Any]:
    """A multipart part without a filename is read as text; binary data there is a client
    error (Litestar's form parser raises while decoding it)."""
    detail = "a form field is not UTF-8 text; upload files as parts with a filename"
    return problem(400, detail, "body").to_response(request)


def too_deep(request: Request, exc: RecursionError) -> Response[Any]:
    """msgspec reads a JSON body nested past Python's recursion limit (about 1000 levels) by
    raising RecursionError; that body is the client's error. Any other RecursionError is
    the server's."""
    if "deserializing" not in str(exc):
        log.error("unhandled RecursionError", exc_info=exc)
        return problem(500, "Internal Server Error").to_response(request)
    detail = "the request body could not be read: JSON nested too deeply"
    return problem(400, detail, "body").to_response(request)


def not_writable(request: Request, exc: StoreNotWritable) -> Response[Any]:
    """A full or read-only artifact store is a backing service down, not a server bug."""
    log.error("%s", exc, exc_info=exc.__cause__)
    return problem(503, str(exc)).to_response(request)


#: exceptions the app turns into problem details (app.py registers them)
EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    **dict.fromkeys(ANSWERS, domain_error),
    StoreNotWritable: not_writable,
    UnicodeDecodeError: undecodable,
    RecursionError: too_deep,
}

"""One Litestar controller per area; handlers of a few lines over the service layer, each
declared with :func:`route` so that every route documents the same things."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from litestar import Response, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency

from services.api import urls
from services.api.auth import OPEN, SCOPE, Caller, requires
from services.api.domain.submissions import Submissions
from services.api.problems import responses
from services.api.schemas import JobView
from shared.platform.auth import Scope

T = TypeVar("T")

#: the caller of a request (its API key's id and scopes), for handlers that need it
Calling = NamedDependency[Caller]

#: documented on every route that creates something (201) or accepts a job (202)
LOCATION = [
    ResponseHeader(
        name="Location",
        value="/v1/...",  # documents the header as a string; the handler sets the real one
        description="Where the new resource is",
        documentation_only=True,
    )
]


def route(
    verb: Callable[..., Any],
    path: str,
    operation_id: str,
    summary: str,
    *errors: int,
    scope: Scope | None,
    **options: Any,
) -> Callable[[Callable[..., Any]], Any]:
    """``verb`` (litestar.get, post, ...) on ``path`` with its operation id, summary and the
    problem-details responses of the error ``errors`` it answers; the API key scope it needs
    (None: open to all, like health); 201 and 202 routes document their Location header,
    and synchronous handlers run in a worker thread. The status is 200 unless
    ``status_code`` says otherwise."""
    if scope is None:
        options["opt"] = {**options.get("opt", {}), OPEN: True}
    else:
        options["opt"] = {**options.get("opt", {}), SCOPE: str(scope)}
        options["guards"] = [requires(scope)]
        errors = tuple(sorted({*errors, 401, 403, 429}))
    options.setdefault("status_code", 200)
    if options["status_code"] in (201, 202):
        options["response_headers"] = LOCATION
    if errors:
        options["responses"] = {**responses(*errors), **options.get("responses", {})}

    def decorate(handler: Callable[..., Any]) -> Any:
        if not inspect.iscoroutinefunction(handler):
            options.setdefault("sync_to_thread", True)
        return verb(urls.route(path), operation_id=operation_id, summary=summary, **options)(
            handler
        )

    return decorate


def located(body: T, url: str, status: int) -> Response[T]:
    """``body`` with status ``status`` and a Location header pointing at ``url``."""
    return Response(body, status_code=status, headers={"Location": url})


#: what a job submission route needs and answers: 202 with the job, or these errors
Submit = NamedDependency[Submissions]
Accepted = Response[JobView]
SUBMISSION_ERRORS = (400, 404, 413, 422, 503)


def accepted(view: JobView) -> Accepted:
    return located(view, view.links.self_, 202)


def creation(path: str, operation_id: str, summary: str, *errors: int, **options: Any) -> Any:
    """A route that stores something: POST, 201 with its view and its Location."""
    return route(
        post, path, operation_id, summary, *errors, scope=Scope.SUBMIT, status_code=201,
        **options,
    )  # fmt: skip


def submission(
    path: str, operation_id: str, summary: str, *errors: int, scope: Scope = Scope.SUBMIT
) -> Any:
    """A route that queues a job: POST, 202 with the job's view and its Location."""
    return route(
        post, path, operation_id, summary, *SUBMISSION_ERRORS, *errors, scope=scope,
        status_code=202,
    )  # fmt: skip

"""One Litestar controller per area; handlers of a few lines over the service layer."""

from __future__ import annotations

from typing import TypeVar

from litestar import Response
from litestar.datastructures import ResponseHeader

T = TypeVar("T")

#: documented on every route that creates something (201) or accepts a job (202)
LOCATION = [
    ResponseHeader(
        name="Location",
        value="/v1/...",  # documents the header as a string; the handler sets the real one
        description="Where the new resource is",
        documentation_only=True,
    )
]


def located(body: T, url: str, status: int) -> Response[T]:
    """``body`` with status ``status`` and a Location header pointing at ``url``."""
    return Response(body, status_code=status, headers={"Location": url})

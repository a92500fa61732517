"""Browser safety: a request that changes something must say its body is JSON (or, for the
upload route, a multipart form), so a web page on another origin cannot drive the API with a
"simple" cross-site request (text/plain, form-encoded); and CORS only for listed origins."""

from __future__ import annotations

from litestar import Request
from litestar.config.cors import CORSConfig

from services.api.problems import problem
from shared.platform.settings import Settings

#: a route handler's opt key naming the media type its body must have (default JSON)
BODY_MEDIA = "body_media"
JSON = "application/json"
MULTIPART = "multipart/form-data"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _accepts(media: str, expected: str) -> bool:
    return media == expected or (
        expected == JSON and media.startswith("application/") and media.endswith("+json")
    )


async def require_body_media(request: Request) -> None:
    """415 for a write whose Content-Type is not the route's (a body-less write may omit
    the header)."""
    if request.method not in WRITES:
        return
    expected = request.route_handler.opt.get(BODY_MEDIA, JSON)
    header = request.headers.get("content-type")
    if header is None:
        has_body = request.headers.get("content-length", "0") != "0" or (
            "transfer-encoding" in request.headers
        )
        if not has_body:
            return
        raise problem(415, f"send the body as {expected}", "content-type")
    media = header.split(";", 1)[0].strip().lower()
    if not _accepts(media, expected):
        raise problem(415, f"send the body as {expected}, not {media[:40]}", "content-type")


def cors(settings: Settings) -> CORSConfig | None:
    """CORS for MJD_CORS_ORIGINS only; without it browsers keep their same-origin rule."""
    if not settings.cors_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["authorization", "content-type"],
        allow_credentials=False,
    )

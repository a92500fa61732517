"""API keys: their format, scopes and checks (pure functions; the keys live in the job store,
only as digests).

A key reads ``mjd_<id>_<secret>``: the id (8 hex characters) is public and names the key in
listings, logs and ownership; the secret (43 URL-safe characters, 256 bits) is shown once and
only its SHA-256 digest is stored. A slow hash adds nothing for a random 256-bit secret, and
the digests are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from enum import StrEnum

PREFIX = "mjd"
TOKEN_PATTERN = re.compile(r"^mjd_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")


class Scope(StrEnum):
    """What a key may do. ``read``: GET routes (a key sees its own jobs and datasets);
    ``predict``: predictions (REST and OIP v2); ``submit``: datasets, MJD and metrics jobs,
    cancelling its own jobs; ``admin``: everything, everyone's jobs and datasets, training,
    promotion, deletion and keys. Every scope includes ``read``."""

    READ = "read"
    PREDICT = "predict"
    SUBMIT = "submit"
    ADMIN = "admin"


def allows(scopes: frozenset[Scope], needed: Scope) -> bool:
    """Whether a key with ``scopes`` may do what needs ``needed``."""
    return Scope.ADMIN in scopes or needed in scopes or (needed == Scope.READ and bool(scopes))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key() -> tuple[str, str, str]:
    """(id, secret, the key a client sends)."""
    key_id, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
    return key_id, secret, f"{PREFIX}_{key_id}_{secret}"


def parse_key(token: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed key, else None."""
    found = TOKEN_PATTERN.match(token)
    return (found.group(1), found.group(2)) if found else None


def secret_matches(secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_digest)

"""API keys: never the secret, only its digest."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import func, select, update

from shared.platform.db.models import ApiKeyRow
from shared.platform.db.repository import Repository


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as the store keeps it: never the secret, only its digest."""

    id: str
    name: str
    scopes: tuple[str, ...]
    digest: str
    created: float
    revoked: float | None


class KeyRepository(Repository):
    def add_key(self, key_id: str, name: str, scopes: list[str], digest: str) -> ApiKey:
        row = ApiKeyRow(id=key_id, name=name, scopes=scopes, digest=digest, created=time.time())
        with self._tx() as session:
            session.add(row)
        return _api_key(row)

    def get_key(self, key_id: str) -> ApiKey | None:
        with self.session() as session:
            row = session.get(ApiKeyRow, key_id)
            return _api_key(row) if row is not None else None

    def list_keys(self) -> list[ApiKey]:
        with self.session() as session:
            rows = session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created)).all()
            return [_api_key(r) for r in rows]

    def revoke_key(self, key_id: str) -> bool:
        with self._tx() as session:
            result = session.execute(
                update(ApiKeyRow)
                .where(ApiKeyRow.id == key_id, ApiKeyRow.revoked.is_(None))
                .values(revoked=time.time())
            )
            return bool(result.rowcount)

    def active_keys(self) -> int:
        with self.session() as session:
            count = session.scalar(
                select(func.count()).select_from(ApiKeyRow).where(ApiKeyRow.revoked.is_(None))
            )
            return int(count or 0)


def _api_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(row.id, row.name, tuple(row.scopes), row.digest, row.created, row.revoked)

"""Published student versions: their metadata records (the files stay in the artifact
store) and when each was last promoted; the most recently promoted one is served."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from shared.platform.db.models import ModelRow
from shared.platform.db.repository import Repository


class ModelRepository(Repository):
    def add_model(self, record: dict[str, Any]) -> bool:
        """Record a published version (``record`` has its version, created time and, when a
        job trained it, job_id); False when it is recorded already."""
        version = str(record["version"])
        row = ModelRow(
            version=version,
            number=int(version[1:]),
            created=float(record["created"]),
            job_id=record.get("job_id"),
            record=record,
        )
        try:
            with self._tx() as session:
                session.add(row)
        except IntegrityError:
            return False
        return True

    def get_model(self, version: str) -> dict[str, Any] | None:
        with self.session() as session:
            row = session.get(ModelRow, version)
            return dict(row.record) if row is not None else None

    def list_models(self) -> list[dict[str, Any]]:
        """Published versions, newest first."""
        with self.session() as session:
            rows = session.scalars(select(ModelRow).order_by(ModelRow.number.desc())).all()
            return [dict(r.record) for r in rows]

    def delete_model(self, version: str) -> bool:
        with self._tx() as session:
            result = session.execute(delete(ModelRow).where(ModelRow.version == version))
            return bool(result.rowcount)

    def promote_model(self, version: str, when: float) -> bool:
        with self._tx() as session:
            result = session.execute(
                update(ModelRow).where(ModelRow.version == version).values(promoted=when)
            )
            return bool(result.rowcount)

    def promoted_model(self) -> tuple[str, float] | None:
        """The version promoted last, and when."""
        with self.session() as session:
            row = session.execute(
                select(ModelRow.version, ModelRow.promoted)
                .where(ModelRow.promoted.is_not(None))
                .order_by(ModelRow.promoted.desc())
                .limit(1)
            ).first()
            return (str(row[0]), float(row[1])) if row is not None else None

"""Published student versions: their metadata records (the files stay in the artifact
store), the task each predicts and when each was last promoted; per task, the most recently
promoted one is served."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from shared.platform.db.models import TASK_BEFORE, ModelRow
from shared.platform.db.repository import Repository


def record_task(record: dict[str, Any]) -> str:
    """The task (``name@version``) a version's record names; NLI's for records from before
    tasks."""
    return str(record.get("task") or TASK_BEFORE)


class ModelRepository(Repository):
    def add_model(self, record: dict[str, Any]) -> bool:
        """Record a published version (``record`` has its version, created time, task and,
        when a job trained it, job_id); False when it is recorded already."""
        version = str(record["version"])
        row = ModelRow(
            version=version,
            number=int(version[1:]),
            created=float(record["created"]),
            job_id=record.get("job_id"),
            record=record,
            task=record_task(record),
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

    def model_task(self, version: str) -> str | None:
        """The task a version predicts (None: no such version)."""
        with self.session() as session:
            row = session.get(ModelRow, version)
            return str(row.task) if row is not None else None

    def list_models(self, task: str | None = None) -> list[dict[str, Any]]:
        """Published versions (of ``task`` when given), newest first."""
        query = select(ModelRow).order_by(ModelRow.number.desc())
        if task is not None:
            query = query.where(ModelRow.task == task)
        with self.session() as session:
            return [dict(r.record) for r in session.scalars(query).all()]

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

    def promoted_model(self, task: str | None = None) -> tuple[str, float] | None:
        """The version of ``task`` promoted last, and when (default: NLI's, the task of
        every version from before tasks)."""
        with self.session() as session:
            row = session.execute(
                select(ModelRow.version, ModelRow.promoted)
                .where(ModelRow.promoted.is_not(None), ModelRow.task == (task or TASK_BEFORE))
                .order_by(ModelRow.promoted.desc())
                .limit(1)
            ).first()
            return (str(row[0]), float(row[1])) if row is not None else None

    def promoted_models(self) -> dict[str, tuple[str, float]]:
        """Per task, the version promoted last and when: what is served, one per task."""
        with self.session() as session:
            rows = session.execute(
                select(ModelRow.task, ModelRow.version, ModelRow.promoted)
                .where(ModelRow.promoted.is_not(None))
                .order_by(ModelRow.promoted)
            ).all()
        return {str(task): (str(version), float(when)) for task, version, when in rows}

    def last_promotion(self) -> float:
        """When any version was last promoted (0.0: never); cheap to poll."""
        with self.session() as session:
            found = session.scalar(select(func.max(ModelRow.promoted)))
            return float(found) if found is not None else 0.0

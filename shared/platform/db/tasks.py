"""User-defined tasks, each version stored whole and never changed: a job, dataset or model
names ``name@version`` and always finds the same task."""

from __future__ import annotations

import time

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from shared.errors import Conflict
from shared.platform.db.models import TaskRow
from shared.platform.db.repository import Repository
from shared.tasks import Task
from shared.tasks.files import task_from_json, task_json


class TaskRepository(Repository):
    def add_task(self, task: Task, owner: str | None = None) -> None:
        """Store a new task version; a Conflict when that version exists (versions are
        immutable: change a task by adding the next version)."""
        row = TaskRow(
            name=task.name,
            version=task.version,
            definition=task_json(task),
            created=time.time(),
            owner=owner,
        )
        try:
            with self._tx() as session:
                session.add(row)
        except IntegrityError:
            raise Conflict(
                f"task {task.ref} exists; tasks are immutable, add version "
                f"{self.latest_version(task.name) + 1}",
                field="version",
            ) from None

    def latest_version(self, name: str) -> int:
        with self.session() as session:
            found = session.scalar(select(func.max(TaskRow.version)).where(TaskRow.name == name))
            return int(found or 0)

    def list_tasks(self) -> list[Task]:
        """Every stored version, by name then version."""
        with self.session() as session:
            rows = session.scalars(select(TaskRow).order_by(TaskRow.name, TaskRow.version))
            return [task_from_json(row.definition) for row in rows]

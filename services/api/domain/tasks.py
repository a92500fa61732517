"""Tasks the API knows: the built-in ones and those admins add (stored whole, each version
immutable). Jobs, datasets and models name a task; this is where a name becomes a task."""

from __future__ import annotations

from shared.errors import Conflict, DataError, NotFound, echo
from shared.platform.db.database import Database
from shared.tasks import BUILTIN, NLI, Task
from shared.tasks.files import find_task


class TaskService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def all(self) -> list[Task]:
        """Built-in tasks, then every stored version (by name, then version)."""
        return [*BUILTIN.values(), *self.db.tasks.list_tasks()]

    def resolve(self, name: str | None, field_name: str = "task") -> Task:
        """The task ``name`` (``name`` or ``name@version``; newest version when none is
        given) names; NLI when None."""
        if name is None:
            return NLI
        stored = [] if name.partition("@")[0] in BUILTIN else self.db.tasks.list_tasks()
        try:
            return find_task(name, stored)
        except DataError:
            known = ", ".join(sorted({task.name for task in [*BUILTIN.values(), *stored]}))
            raise NotFound(f"no task {echo(name)}; known: {known}", field=field_name) from None

    def create(self, task: Task, owner: str | None) -> Task:
        """Store a new task (or a new version of one); built-in names are taken."""
        if task.name in BUILTIN:
            raise Conflict(
                f"{task.name!r} is a built-in task; give yours another name", field="name"
            )
        self.db.tasks.add_task(task, owner)
        return task

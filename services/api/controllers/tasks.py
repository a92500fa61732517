"""Tasks: the built-in ones and those admins add (each version immutable)."""

from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from msgspec import Struct

from services.api import urls
from services.api.controllers import Calling, located, route
from services.api.domain.tasks import TaskService
from shared.platform.auth import Scope
from shared.tasks import Task

Tasks = NamedDependency[TaskService]


class TaskList(Struct):
    tasks: list[Task]


class TaskController(Controller):
    tags = ("tasks",)

    @route(get, urls.TASKS, "listTasks", "Every task: built-in and added", scope=Scope.READ)
    def list_tasks(self, tasks: Tasks) -> TaskList:
        return TaskList(tasks.all())

    @route(
        get, urls.TASK, "getTask", "A task by name (newest version) or name@version", 400, 404,
        scope=Scope.READ,
    )  # fmt: skip
    def get_task(self, name: FromPath[str], tasks: Tasks) -> Task:
        return tasks.resolve(name, "name")

    @route(
        post, urls.TASKS, "createTask", "Add a task, or a new version of one", 400, 409, 422,
        scope=Scope.ADMIN, status_code=201,
    )  # fmt: skip
    def create(self, data: JSONBody[Task], tasks: Tasks, caller: Calling) -> Response[Task]:
        """The task whole; a version is never changed (409): add the next one instead."""
        task = tasks.create(data, caller.key_id)
        return located(task, urls.TASK.format(name=task.ref), 201)

"""Tasks users write: a JSON or TOML file, or a JSON document posted to the API, decoded
into a :class:`shared.tasks.Task` with every field checked (errors name the field)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec

from shared.errors import DataError, msgspec_location
from shared.tasks.builtin import BUILTIN
from shared.tasks.model import Task

#: the largest task file read (a task is a few kilobytes)
MAX_TASK_BYTES = 256 * 1024


def task_from_json(document: Any) -> Task:
    """A task from decoded JSON (a mapping), checked; DataError naming the field."""
    try:
        return msgspec.convert(document, Task)
    except msgspec.ValidationError as exc:
        message, field = msgspec_location(str(exc))
        raise DataError(message, field=field) from None


def read_task_file(path: str | Path) -> Task:
    """A task from a ``.json`` or ``.toml`` file."""
    path = Path(path)
    if not path.is_file():
        raise DataError("no such file", source=str(path))
    if path.stat().st_size > MAX_TASK_BYTES:
        raise DataError(f"larger than {MAX_TASK_BYTES // 1024} KiB", source=str(path))
    decode = msgspec.toml.decode if path.suffix.lower() == ".toml" else msgspec.json.decode
    try:
        document = decode(path.read_bytes())
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"not a task file: {exc}", source=str(path)) from None
    try:
        task = task_from_json(document)
    except DataError as exc:
        raise DataError(exc.message, source=str(path), field=exc.field) from None
    if task.name in BUILTIN and task != BUILTIN[task.name]:
        raise DataError(
            f"{task.name!r} is a built-in task; give yours another name", source=str(path)
        )
    return task


def find_task(name: str, extra: Iterable[Task] = ()) -> Task:
    """A task by name (``name`` or ``name@version``) among the built-in ones and ``extra``
    (the newest version when none is given)."""
    wanted, _, version = name.partition("@")
    known = [*BUILTIN.values(), *extra]
    matches = [t for t in known if t.name == wanted and (not version or str(t.version) == version)]
    if not matches:
        names = ", ".join(sorted({t.name for t in known}))
        raise DataError(f"unknown task {name!r}; known: {names}", field="task")
    return max(matches, key=lambda t: t.version)


def task_json(task: Task) -> dict[str, Any]:
    """The task as the JSON document a file or the API holds."""
    return msgspec.to_builtins(task)

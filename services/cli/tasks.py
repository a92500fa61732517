"""``mjd tasks list`` and ``mjd tasks show``: the built-in tasks, and any task file checked
and shown as the JSON document a task file (or ``POST /v1/tasks``) holds."""

from __future__ import annotations

import argparse
import json
from typing import Any

from services.cli.args import Commands, command_group


def task_row(task: Any) -> dict[str, Any]:
    """What ``tasks list --format json`` says of one task."""
    return {
        "name": task.name,
        "version": task.version,
        "ref": task.ref,
        "description": task.description,
        "inputs": list(task.input_names),
        "labels": list(task.label_names),
        "ordinal": task.ordinal,
        "option_policy": task.policy,
        "prompts_per_explanation_order": len(_orders(task)),
        "primary_metric": task.primary_metric,
        "lewidi_names": list(task.lewidi_names),
    }


def _orders(task: Any) -> tuple[tuple[str, ...], ...]:
    from shared.tasks import option_orders

    return option_orders(task)


def cmd_list(args: argparse.Namespace) -> int:
    from shared.tasks import BUILTIN
    from shared.tasks.files import read_task_file

    tasks = [*BUILTIN.values(), *(read_task_file(path) for path in args.file or [])]
    if args.output == "json":
        print(json.dumps({"tasks": [task_row(task) for task in tasks]}))
        return 0
    print(f"{'task':<16}{'labels':>7}  {'scale':<8}{'orders':>7}  inputs")
    for task in tasks:
        scale = "ordinal" if task.ordinal else "nominal"
        inputs = ", ".join(task.input_names)
        print(f"{task.ref:<16}{len(task.labels):>7}  {scale:<8}{len(_orders(task)):>7}  {inputs}")
    print("orders: prompts per explanation order (the option-order policy); show one with "
          "`mjd tasks show NAME`")  # fmt: skip
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from pathlib import Path

    from services.cli.args import task_from_args
    from shared.tasks.files import find_task, task_json

    given = Path(args.task)
    if not given.exists() and not given.suffix:  # a name: say which names there are
        find_task(args.task)
    task = task_from_args(args)
    if args.output == "json":
        print(json.dumps(task_json(task), indent=2, ensure_ascii=False))
        return 0
    row = task_row(task)
    print(f"{task.ref}: {task.description}")
    print(f"inputs: {', '.join(f'{i.name} (shown as {i.shown_as!r})' for i in task.inputs)}")
    print(f"labels ({'ordinal' if task.ordinal else 'nominal'}):")
    for letter, label in zip(task.letters, task.labels, strict=True):
        aliases = f" [also: {', '.join(label.aliases)}]" if label.aliases else ""
        print(f"  {letter}. {label.name}: {label.word}, {label.gloss}{aliases}".rstrip(", "))
    prompts = row["prompts_per_explanation_order"]
    print(f"option orders: {row['option_policy']}, {prompts} prompt(s) per explanation order")
    print(f"prompt template: {task.prompt.version}; baselines: {', '.join(task.baselines)}; "
          f"primary metric: {task.primary_metric}")  # fmt: skip
    if task.lewidi_names:
        print(f"LeWiDi files whose 'annotation task' is: {', '.join(task.lewidi_names)}")
    print("(--format json prints the task file)")
    return 0


def register(commands: Commands, formats: tuple[str, ...]) -> None:
    from services.cli.args import TASK_HELP, add_format_option

    actions = command_group(commands, "tasks", "the tasks mjd knows (labels, inputs, prompts)",
                            "list|show")  # fmt: skip
    listing = actions.add_parser("list", help="the built-in tasks (and any task files given)")
    listing.add_argument(
        "--file", action="append", metavar="FILE", help="a task file to list too (repeatable)"
    )
    add_format_option(listing)
    listing.set_defaults(handler=cmd_list)
    show = actions.add_parser("show", help="one task; --format json: as its task file")
    show.add_argument("task", metavar="NAME|FILE", help=TASK_HELP.split("; default")[0])
    add_format_option(show)
    show.set_defaults(handler=cmd_show)

"""Tasks as data: what a labelling task's inputs, labels, prompt and option orders are."""

from shared.tasks.builtin import BUILTIN, NLI
from shared.tasks.model import (
    MAX_LABELS,
    OPTION_LETTERS,
    Task,
    TaskInput,
    TaskLabel,
    option_orders,
)

__all__ = [
    "BUILTIN",
    "MAX_LABELS",
    "NLI",
    "OPTION_LETTERS",
    "Task",
    "TaskInput",
    "TaskLabel",
    "option_orders",
]

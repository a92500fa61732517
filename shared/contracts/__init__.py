"""The job contract: one table of job kinds (:mod:`.kinds`), each with its typed spec
(:mod:`.specs`, what the API stores and the worker reads) and summary (:mod:`.summaries`,
what the worker stores and the API answers)."""

from shared.contracts.kinds import (
    KINDS,
    QUEUES,
    TASKS,
    WORKERS,
    JobKind,
    KindRow,
    decode_spec,
    encode,
    queue_of,
)

__all__ = [
    "KINDS",
    "QUEUES",
    "TASKS",
    "WORKERS",
    "JobKind",
    "KindRow",
    "decode_spec",
    "encode",
    "queue_of",
]

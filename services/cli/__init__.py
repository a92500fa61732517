"""The ``mjd`` command line: a thin adapter over the functions in ``shared`` and the services,
one module per command group (each adds its sub-commands with ``register``).

Bad input exits with status 2 and one line on stderr naming the file, row and field; a
reader that stops reading (``| head``) ends the command quietly with status 141.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from services.cli import (
    database,
    evaluation,
    export,
    generation,
    keys,
    stack,
    students,
    tasks,
)
from services.cli.args import EXIT_USAGE, Parser
from shared.errors import MjdError

#: what a shell reports for a command killed by SIGPIPE (128 + 13)
EXIT_BROKEN_PIPE = 141


def build_parser() -> argparse.ArgumentParser:
    from shared.datasets import FORMATS

    formats = ("auto", *FORMATS)
    parser = Parser(
        prog="mjd",
        description="Model judgment distributions for NLI and other labelling tasks (mjd tasks).",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for group in (evaluation, generation, export, students, tasks, stack, database, keys):
        group.register(commands, formats)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        status = handler(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return status
    except BrokenPipeError:
        return _reader_gone()
    except MjdError as exc:
        print(f"mjd: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:  # invalid arrays from the metric functions
        print(f"mjd: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _reader_gone() -> int:
    """The reader of our output left (``mjd evaluate … | head``): stop quietly, as ``cat``
    does, with 128 + SIGPIPE; stdout goes to /dev/null so the exit flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE

"""The ``mjd`` command line: a thin adapter over the functions in ``shared`` and the services,
one module per command group (each adds its sub-commands with ``register``).

Bad input exits with status 2 and one line on stderr naming the file, row and field.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from services.cli import database, evaluation, generation, keys, stack, students
from services.cli.args import EXIT_USAGE, Parser
from shared.errors import MjdError


def build_parser() -> argparse.ArgumentParser:
    from shared.datasets import FORMATS

    formats = ("auto", *FORMATS)
    parser = Parser(prog="mjd", description="Model judgment distributions for NLI.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for group in (evaluation, generation, students, stack, database, keys):
        group.register(commands, formats)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except MjdError as exc:
        print(f"mjd: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:  # invalid arrays from the metric functions
        print(f"mjd: error: {exc}", file=sys.stderr)
        return EXIT_USAGE

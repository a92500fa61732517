"""What every command group parses with: a parser whose usage errors look like input errors,
argument types that reject bad values at the command line, and spec options whose defaults
stay in the spec dataclasses (``RunSpec``, ``TrainSpec``) rather than being copied here.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any, NoReturn, TypeAlias, TypeVar

EXIT_USAGE = 2
T = TypeVar("T")

#: what ``commands.add_parser`` is called on (argparse's sub-parsers action)
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line (status 2) like every other input error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def command_group(commands: Commands, name: str, help: str, actions: str) -> Commands:
    """``mjd <name> <action>``: a command whose actions (``a|b|c``) are commands of their own."""
    group = commands.add_parser(name, help=help)
    return group.add_subparsers(
        dest=f"{name}_command", metavar=actions, required=True, parser_class=Parser
    )


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return path


#: what an input_file option's help says it takes
INPUT_HELP = (
    "a file, or a vendored dataset: explained, dev, varierr, <model>-<setting>-<selection> "
    "(datasets/README.md)"
)


def input_file(text: str) -> Path:
    """A file path, or the name of a vendored dataset; a bare name that is neither says
    which names there are."""
    from shared.datasets import VENDORED, vendored_path
    from shared.platform.settings import datasets_dir_from_env

    path = Path(text)
    if text in VENDORED and not path.exists():
        return vendored_path(text, datasets_dir_from_env())
    if not path.exists() and len(path.parts) == 1 and not path.suffix:
        raise argparse.ArgumentTypeError(
            f"no such file or vendored dataset: {text} (vendored: {', '.join(VENDORED)})"
        )
    return existing_file(text)


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def add_format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("table", "json"), default="table", dest="output")


def add_report_options(parser: argparse.ArgumentParser) -> None:
    add_format_option(parser)
    parser.add_argument(
        "--bootstrap", type=non_negative_int, default=1000, help="resamples for CIs (0: none)"
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap / estimator seed")


def add_spec_option(
    parser: argparse.ArgumentParser,
    spec: type[Any],
    name: str,
    help: str | None = None,
    **options: Any,
) -> None:
    """``--name`` for the field ``name`` of the dataclass ``spec``: left out of the parsed
    arguments unless given, so :func:`spec_from_args` keeps the dataclass default, which the
    help shows (flags and fields whose default is None say what they mean in ``help``)."""
    (field,) = [f for f in dataclasses.fields(spec) if f.name == name]
    default = field.default
    shown = default is not None and default is not dataclasses.MISSING
    if shown and not isinstance(default, bool):
        help = f"{help} (default: {default})" if help else f"default: {default}"
    parser.add_argument(
        "--" + name.replace("_", "-"), default=argparse.SUPPRESS, help=help, **options
    )


def spec_from_args(cls: type[T], args: argparse.Namespace) -> T:
    """A spec dataclass from the options of the same names (the rest keep their defaults)."""
    names = {field.name for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{name: value for name, value in vars(args).items() if name in names})


#: what a ``--task`` option's help says it takes
TASK_HELP = (
    "a task: a built-in name (nli, paraphrase, csc, mp, md-agreement, convabuse; "
    "`mjd tasks list`) or a task file (.json or .toml); default: the one the data file "
    "names (LeWiDi's 'annotation task'), else nli"
)


def add_task_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", default=None, metavar="NAME|FILE", help=TASK_HELP)


def task_from_args(args: argparse.Namespace) -> Any:
    """The task ``--task`` names (a :class:`shared.tasks.Task`), or None when not given: a
    built-in name, else a task file (a DataError, so exit 2 with one line, otherwise)."""
    from shared.tasks import BUILTIN
    from shared.tasks.files import find_task, read_task_file

    given = getattr(args, "task", None)
    if given is None:
        return None
    if given.partition("@")[0] in BUILTIN:
        return find_task(given)
    if not Path(given).suffix and not Path(given).exists():
        return find_task(given)  # neither a built-in task nor a file: the error lists them
    return read_task_file(given)

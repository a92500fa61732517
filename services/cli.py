"""The ``mjd`` command line: a thin adapter over the functions in ``shared`` and the services.

Bad input exits with status 2 and one line on stderr naming the file, row and field.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from shared.errors import MjdError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line (status 2) like every other input error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return path


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _add_report_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("table", "json"), default="table", dest="output")
    parser.add_argument(
        "--bootstrap", type=_non_negative_int, default=1000, help="resamples for CIs (0: none)"
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap / estimator seed")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from shared.datasets import align, read_distributions
    from shared.metrics import evaluate

    human = read_distributions(args.human, args.human_format)
    model = read_distributions(args.model, args.model_format)
    _, human_probs, model_probs = align(human, model)
    report = evaluate(
        human_probs,
        model_probs,
        resamples=args.bootstrap,
        seed=args.seed,
        dcorr_method=args.dcorr,
    )
    if args.plot:
        from shared.plots import save_ternary

        save_ternary(args.plot, human_probs, model_probs, title=Path(args.model).name)
    if args.output == "json":
        print(json.dumps({"human": str(args.human), "model": str(args.model), **report.to_json()}))
    else:
        print(f"human: {args.human}\nmodel: {args.model}")
        print(report.to_table())
        if args.plot:
            print(f"plot: {args.plot}")
    return 0


def cmd_baselines(args: argparse.Namespace) -> int:
    from shared.baselines import BASELINES, evaluate_baselines
    from shared.datasets import read_instances, vendored_path

    path = args.data or vendored_path("explained")
    reports = evaluate_baselines(
        read_instances(path, args.data_format), resamples=args.bootstrap, seed=args.seed
    )
    if args.output == "json":
        print(
            json.dumps(
                {"data": str(path), "baselines": {k: r.to_json() for k, r in reports.items()}}
            )
        )
        return 0
    print(f"data: {path} ({next(iter(reports.values())).n} items)")
    print(f"{'baseline':<22}{'KL':>9}{'JSD':>9}{'TVD':>9}{'D.Corr':>9}")
    for name, report in reports.items():
        print(f"{name:<22}" + "".join(f"{v:>9.4f}" for v in report.summary_row()))
    unavailable = [name for name in BASELINES if name not in reports]
    if unavailable:
        print(f"not available for this file (missing labels): {', '.join(unavailable)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from shared.datasets import FORMATS

    formats = ("auto", *FORMATS)
    parser = _Parser(prog="mjd", description="Model judgment distributions for NLI.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    evaluate = commands.add_parser(
        "evaluate", help="compare model distributions with human distributions"
    )
    evaluate.add_argument("--human", type=_existing_file, required=True)
    evaluate.add_argument("--model", type=_existing_file, required=True)
    evaluate.add_argument("--human-format", choices=formats, default="auto")
    evaluate.add_argument("--model-format", choices=formats, default="auto")
    evaluate.add_argument("--plot", help="write a ternary plot here (.png or .svg)")
    evaluate.add_argument("--dcorr", choices=("auto", "exact", "estimate"), default="auto")
    _add_report_options(evaluate)
    evaluate.set_defaults(handler=cmd_evaluate)

    baselines = commands.add_parser("baselines", help="score the reference baselines")
    baselines.add_argument(
        "--data", type=_existing_file, help="default: the vendored 341 explained items"
    )
    baselines.add_argument("--data-format", choices=formats, default="auto")
    _add_report_options(baselines)
    baselines.set_defaults(handler=cmd_baselines)
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


if __name__ == "__main__":
    sys.exit(main())

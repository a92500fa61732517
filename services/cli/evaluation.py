"""``mjd evaluate`` and ``mjd baselines``: score distributions against human ones. They need
no model, so nothing here imports torch and both start fast."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from services.cli.args import (
    INPUT_HELP,
    Commands,
    add_report_options,
    existing_file,
    input_file,
)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from shared.datasets import align, id_mismatch, read_distributions
    from shared.errors import DataError
    from shared.metrics import evaluate
    from shared.platform.settings import datasets_dir_from_env

    folder = datasets_dir_from_env()
    human = read_distributions(args.human, args.human_format, datasets_dir=folder)
    model = read_distributions(args.model, args.model_format, datasets_dir=folder)
    try:
        ids, human_probs, model_probs = align(human, model, subset=args.subset)
    except DataError as exc:
        if exc.field != "id" or args.subset:
            raise
        raise DataError(f"{exc.message} (--subset evaluates the shared ids)", field="id") from None
    mismatch = id_mismatch(human.ids, model.ids, human.source, model.source)
    if mismatch and args.subset:
        print(f"mjd: warning: evaluating the {len(ids)} shared id(s); {mismatch}", file=sys.stderr)
    report = evaluate(
        human_probs,
        model_probs,
        resamples=args.bootstrap,
        seed=args.seed,
        dcorr_method=args.dcorr,
    )
    plots = []
    if args.plot:
        from shared.plots import save_plots

        title = f"{Path(args.human).name} vs {Path(args.model).name}"
        metrics = report.headline().as_dict()
        plots = save_plots(args.plot, human_probs, model_probs, title=title, metrics=metrics)
    if args.output == "json":
        print(json.dumps({"human": str(args.human), "model": str(args.model), **report.to_json()}))
    else:
        print(f"human: {args.human}\nmodel: {args.model}")
        print(report.to_table())
        for plot in plots:
            print(f"plot: {plot}")
    return 0


def cmd_baselines(args: argparse.Namespace) -> int:
    from shared.baselines import BASELINES, evaluate_baselines
    from shared.datasets import read_instances, vendored_path
    from shared.platform.settings import datasets_dir_from_env

    folder = datasets_dir_from_env()
    path = args.data or vendored_path("explained", folder)
    reports = evaluate_baselines(
        read_instances(path, args.data_format, datasets_dir=folder),
        resamples=args.bootstrap,
        seed=args.seed,
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
        print(f"{name:<22}" + "".join(f"{v:>9.4f}" for v in report.headline().values()))
    unavailable = [name for name in BASELINES if name not in reports]
    if unavailable:
        print(f"not available for this file (missing labels): {', '.join(unavailable)}")
    return 0


def register(commands: Commands, formats: tuple[str, ...]) -> None:
    evaluate = commands.add_parser(
        "evaluate", help="compare model distributions with human distributions"
    )
    evaluate.add_argument("--human", type=input_file, required=True, help=INPUT_HELP)
    evaluate.add_argument("--model", type=input_file, required=True)
    evaluate.add_argument("--human-format", choices=formats, default="auto")
    evaluate.add_argument("--model-format", choices=formats, default="auto")
    evaluate.add_argument(
        "--plot",
        help="write a ternary plot here (.png or .svg) and the entropy scatter beside it "
        "(x.png -> x.entropy.png)",
    )
    evaluate.add_argument(
        "--subset",
        action="store_true",
        help="evaluate the ids both files share (with a warning naming the counts) instead of "
        "refusing files whose ids differ",
    )
    evaluate.add_argument("--dcorr", choices=("auto", "exact", "estimate"), default="auto")
    add_report_options(evaluate)
    evaluate.set_defaults(handler=cmd_evaluate)

    baselines = commands.add_parser("baselines", help="score the reference baselines")
    baselines.add_argument(
        "--data", type=existing_file, help="default: the vendored 341 explained items"
    )
    baselines.add_argument("--data-format", choices=formats, default="auto")
    add_report_options(baselines)
    baselines.set_defaults(handler=cmd_baselines)

"""``mjd evaluate`` and ``mjd baselines``: score distributions against human ones. They need
no model, so nothing here imports torch and both start fast."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from services.cli.args import (
    INPUT_HELP,
    Commands,
    add_report_options,
    add_task_option,
    existing_file,
    input_file,
    task_from_args,
)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from shared.datasets import align, id_mismatch, read_distributions
    from shared.errors import DataError
    from shared.metrics import evaluate
    from shared.platform.settings import datasets_dir_from_env

    folder = datasets_dir_from_env()
    given = task_from_args(args)
    human = read_distributions(args.human, args.human_format, task=given, datasets_dir=folder)
    task = human.task  # the human file's own (LeWiDi), else --task, else NLI
    check_model_labels(args.model, args.model_format, task)
    model = read_distributions(args.model, args.model_format, task=task, datasets_dir=folder)
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
        labels=task.label_names,
        ordinal=task.ordinal,
        resamples=args.bootstrap,
        seed=args.seed,
        dcorr_method=args.dcorr,
    )
    plots = []
    if args.plot:
        from shared.plots import save_plots

        title = f"{Path(args.human).name} vs {Path(args.model).name}"
        plots = save_plots(
            args.plot,
            human_probs,
            model_probs,
            title=title,
            metrics=report.headline().as_dict(),
            labels=task.label_names,
            ordinal=task.ordinal,
            values=label_values(task.label_names),
        )
    if args.output == "json":
        print(json.dumps({"human": str(args.human), "model": str(args.model)} | task_fields(task)
                         | report.to_json()))  # fmt: skip
    else:
        print(f"human: {args.human}\nmodel: {args.model}")
        if task.name != "nli":
            print(f"task: {task.ref} ({', '.join(task.label_names)})")
        print(report.to_table())
        for plot in plots:
            print(f"plot: {plot}")
    return 0


def task_fields(task: Any) -> dict[str, Any]:
    """What a JSON report says of its task: its reference, labels and scale."""
    return {"task": task.ref, "labels": list(task.label_names), "ordinal": task.ordinal}


def label_values(names: tuple[str, ...]) -> list[float] | None:
    """Where a plot puts each label of an ordinal scale: at its number when every label is
    one ("-5".."5", "1".."6"), else None (0..K-1)."""
    try:
        return [float(name) for name in names]
    except ValueError:
        return None


def check_model_labels(path: Path, fmt: str, task: Any) -> None:
    """A model file whose first record lists the labels behind its distribution (MJD records,
    ``mjd predict`` output) must list the task's, in its order; a DataError otherwise."""
    from shared.datasets import detect_format, read_row_field
    from shared.errors import DataError

    if (detect_format(path) if fmt == "auto" else fmt) != "jsonl":
        return
    labels = next(iter(read_row_field(path, "labels")), None)
    if not (isinstance(labels, list) and all(isinstance(x, str) for x in labels)):
        return
    if len(set(labels)) == len(labels) and tuple(labels) != task.label_names:
        raise DataError(
            f"its distributions are over {', '.join(labels)}; the human file's task "
            f"{task.ref} has {', '.join(task.label_names)}",
            source=str(path),
            row=1,
            field="labels",
        )


def cmd_baselines(args: argparse.Namespace) -> int:
    from shared.baselines import BASELINES, baselines_for, is_nli, score_baselines
    from shared.datasets import read_dataset, vendored_path
    from shared.platform.settings import datasets_dir_from_env

    folder = datasets_dir_from_env()
    path = args.data or vendored_path("explained", folder)
    given = task_from_args(args)
    data = read_dataset(path, args.data_format, task=given, datasets_dir=folder)
    task = data.task
    train = None
    if args.train:
        train = read_dataset(args.train, args.train_format, task=given, datasets_dir=folder)
        same_labels(task, train.task, args.train)
    rows = baselines_for(
        data.instances,
        task,
        train=None if train is None else train.instances,
        train_source=str(args.train),
    )
    reports = score_baselines(data.instances, rows, task, resamples=args.bootstrap, seed=args.seed)
    if args.output == "json":
        described = {
            row.name: reports[row.name].to_json() | {"description": row.description} for row in rows
        }
        extra = {"renormalised": data.renormalised} if data.renormalised else {}
        print(
            json.dumps({"data": str(path)} | task_fields(task) | extra | {"baselines": described})
        )
        return 0
    print(f"data: {path} ({len(data.instances)} items)")
    lewidi = [] if is_nli(task) else ["manhattan"] + (["wasserstein"] if task.ordinal else [])
    if lewidi:
        print(f"task: {task.ref} ({', '.join(task.label_names)})")
    names = {"manhattan": "Manh.", "wasserstein": "Wass."}
    print(f"{'baseline':<22}{'KL':>9}{'JSD':>9}{'TVD':>9}{'D.Corr':>9}"
          + "".join(f"{names[m]:>9}" for m in lewidi))  # fmt: skip
    for name, report in reports.items():
        headline = report.headline()
        values = (*headline.values(), *(getattr(headline, m) for m in lewidi))
        print(f"{name:<22}" + "".join(f"{v:>9.4f}" for v in values))
    for row in rows:
        if row.name == "prior":
            print(f"prior: {row.description}")
    if data.renormalised:
        print(f"note: {data.renormalised} rounded soft label(s) renormalised to sum to 1")
    unavailable = [name for name in BASELINES if name not in reports] if is_nli(task) else []
    if unavailable:
        print(f"not available for this file (missing labels): {', '.join(unavailable)}")
    return 0


def same_labels(task: Any, other: Any, source: object) -> None:
    """A training set must be of the data's labels, in the same order."""
    from shared.errors import DataError

    if other.label_names != task.label_names:
        raise DataError(
            f"its task {other.ref} has labels {', '.join(other.label_names)}; the data's "
            f"{task.ref} has {', '.join(task.label_names)} (--task names one for both)",
            source=str(source),
            field="task",
        )


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
        help="write the main plot here (.png or .svg): ternary for 3 labels, the mean "
        "distributions otherwise; the entropy scatter beside it (x.png -> x.entropy.png) and, "
        "for an ordinal task, the expected values (x.expected.png)",
    )
    evaluate.add_argument(
        "--subset",
        action="store_true",
        help="evaluate the ids both files share (with a warning naming the counts) instead of "
        "refusing files whose ids differ",
    )
    evaluate.add_argument("--dcorr", choices=("auto", "exact", "estimate"), default="auto")
    add_task_option(evaluate)
    add_report_options(evaluate)
    evaluate.set_defaults(handler=cmd_evaluate)

    baselines = commands.add_parser("baselines", help="score the reference baselines")
    baselines.add_argument(
        "--data", type=existing_file, help="default: the vendored 341 explained items"
    )
    baselines.add_argument("--data-format", choices=formats, default="auto")
    baselines.add_argument(
        "--train",
        type=existing_file,
        help="the prior is this file's mean human distribution (a training set of the same "
        "task); default: the data's own (in-sample; NLI then shows the paper's rows only)",
    )
    baselines.add_argument("--train-format", choices=formats, default="auto")
    add_task_option(baselines)
    add_report_options(baselines)
    baselines.set_defaults(handler=cmd_baselines)

"""``mjd train``, ``mjd export`` and ``mjd predict``: a student's life from soft targets to
served predictions. The training options are ``TrainSpec`` fields and keep its defaults;
torch and ONNX Runtime are imported only when a command of this group runs."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from services.cli.args import (
    Commands,
    add_format_option,
    add_spec_option,
    add_task_option,
    existing_file,
    input_file,
    positive_float,
    positive_int,
    spec_from_args,
    task_from_args,
)
from services.cli.progress import ProgressBar
from shared.errors import MjdError


def _soft_labelled_data(
    args: argparse.Namespace, seed: int
) -> tuple[object, dict[str, object], object]:
    """Training targets from --data (human distributions) or --mjd (MJDs, optionally
    calibrated with ``seed``), the provenance recorded with the model, and the task (--task,
    else the one --data names, else NLI)."""
    from services.cli.calibration import read_mjd_records
    from shared.datasets import read_dataset
    from shared.platform.settings import datasets_dir_from_env
    from shared.platform.targets import mjd_targets
    from shared.training import SoftLabelled

    dataset = read_dataset(
        args.data, args.data_format, task=task_from_args(args), datasets_dir=datasets_dir_from_env()
    )
    task, instances = dataset.task, dataset.instances
    provenance: dict[str, object] = {"data": str(args.data)}
    if args.mjd is None:
        if args.calibrate_on:
            raise MjdError("--calibrate-on applies to --mjd targets only")
        provenance["targets"] = "human"
        return SoftLabelled.from_instances(instances, task=task), provenance, task
    records = {r.id: r for r in read_mjd_records(args.mjd)}
    unknown = sorted(set(records) - {i.id for i in instances})
    if unknown:
        raise MjdError(f"{args.mjd}: {len(unknown)} MJD ids not in {args.data}, e.g. {unknown[0]}")
    instances = [i for i in instances if i.id in records]
    targets = mjd_targets(instances, [records[i.id] for i in instances], args.calibrate_on, seed)
    provenance.update(targets="mjd", mjd=str(args.mjd), calibration=targets.calibration)
    return targets.data.for_task(task), provenance, task


def cmd_train(args: argparse.Namespace) -> int:
    from services.trainer.student import save_check_items, save_checkpoint
    from services.trainer.training import train
    from shared.datasets import read_dataset
    from shared.platform.settings import datasets_dir_from_env
    from shared.training import SoftLabelled, TrainSpec

    spec = spec_from_args(TrainSpec, args)
    data, provenance, task = _soft_labelled_data(args, spec.seed)
    if args.dev:
        dev_set = read_dataset(args.dev, task=task, datasets_dir=datasets_dir_from_env())
        dev = SoftLabelled.from_instances(dev_set.instances, task=task)
        provenance["dev"] = str(args.dev)
    else:
        data, dev = data.split(spec.dev_fraction, spec.seed)
        provenance["dev"] = f"{spec.dev_fraction:.0%} of --data held out (seed {spec.seed})"
    provenance.update(items=len(data), dev_items=len(dev))
    result = train(data, dev, spec, progress=ProgressBar("steps"), task=task)
    calibration = provenance.get("calibration") or {}
    for warning in [*calibration.get("warnings", []), *result.warnings]:
        print(f"mjd: warning: {warning}", file=sys.stderr)
    save_checkpoint(result.student, result.tokenizer, Path(args.out), result.info(spec, provenance))
    save_check_items(Path(args.out), dev.for_task(task))
    if args.output == "json":
        print(json.dumps(result.info(spec, provenance)))
    else:
        print(
            f"checkpoint {args.out} (task {task.ref}, {len(task.labels)} labels; best epoch "
            f"{result.best_epoch}, {result.seconds:.0f}s)"
        )
        print(f"dev set ({len(dev)} items):")
        print(result.dev_report.to_table() if result.dev_report else "")
    return 0


def _check_items(args: argparse.Namespace, student: object) -> object:
    """The items an export is checked on: --check (default: the vendored NLI dev set for an
    NLI student, else the dev items its checkpoint kept), of the student's task."""
    from services.trainer.student import load_check_items
    from shared.datasets import read_dataset
    from shared.platform.settings import datasets_dir_from_env
    from shared.tasks import NLI
    from shared.training import SoftLabelled

    task = student.task  # type: ignore[attr-defined]
    check = args.check
    if check is None and task.ref != NLI.ref:
        kept = load_check_items(args.checkpoint)
        if kept is None:
            raise MjdError(f"--check: give items of task {task.ref} to check the export on")
        take = kept.take(list(range(min(len(kept), args.check_items))))
        return take.for_task(task)
    dataset = read_dataset(check or "dev", task=task, datasets_dir=datasets_dir_from_env())
    return SoftLabelled.from_instances(dataset.instances[: args.check_items], task=task)


def cmd_export(args: argparse.Namespace) -> int:
    from services.trainer.export import export_student
    from services.trainer.student import load_checkpoint
    from shared.platform.jobs import database, store
    from shared.platform.layout import MODEL_METADATA
    from shared.platform.registry import ModelRegistry, file_digests

    if args.promote and not args.register:
        raise MjdError("--promote needs --register")
    student, tokenizer, info = load_checkpoint(args.checkpoint)
    check = _check_items(args, student)
    registry = ModelRegistry(store(), database())
    if args.register:
        version = registry.claim_version()
        folder = registry.folder(version)
    else:
        version, folder = "local", Path(args.out)
    report = export_student(student, tokenizer, check, folder, int8=not args.no_int8)
    metadata = {**info, "export": report}
    if args.register:
        registry.publish(version, metadata)
        if args.promote:
            registry.promote(version, info["task"])
    else:
        metadata.update(version=version, created=time.time(), files=file_digests(folder))
        (folder / MODEL_METADATA).write_text(json.dumps(metadata, indent=2))
    if args.output == "json":
        print(json.dumps({"version": version, "folder": str(folder), **report}))
        return 0
    promoted = f", promoted for {info['task']}" if args.promote else ""
    print(f"exported {folder} (task {info['task']}, version {version}{promoted})")
    parity = report["parity"]
    print(f"parity vs torch on {parity['items']} items: max |dp| {parity['max_abs_diff']:.2e}")
    if "int8" in report:
        print(f"int8 per-channel: max |dp| vs fp32 {report['int8']['max_abs_diff_vs_fp32']:.4f}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from services.predictor import LoadedModel
    from shared.datasets import write_jsonl
    from shared.metrics import entropy
    from shared.platform.artifacts import MODELS
    from shared.platform.jobs import database, store
    from shared.platform.registry import VERSION_PATTERN, ModelRegistry, UnknownVersion
    from shared.platform.settings import datasets_dir_from_env

    folder = Path(args.model)
    if not folder.is_dir() and VERSION_PATTERN.match(args.model):
        searched = store().root / MODELS
        where = (
            f"in {searched} (the models of ARTIFACTS_DIR, default ./artifacts of the current "
            "folder; set ARTIFACTS_DIR or give an mjd export folder)"
        )
        if not searched.is_dir():  # opening the registry would create a job store here
            raise MjdError(f"no model version {args.model!r} {where}")
        registry = ModelRegistry(store(), database())
        try:
            registry.get(args.model)
        except UnknownVersion as exc:
            raise MjdError(f"{exc.message} {where}") from None
        folder = registry.folder(args.model)
    model = LoadedModel.load(
        folder, provider=args.provider, variant=args.variant, max_batch=args.batch_size
    )
    instances = _predict_instances(args, model, datasets_dir_from_env())
    started = time.monotonic()
    probabilities, truncated = model.predict(
        [tuple(i.inputs[name] for name in model.inputs) for i in instances]
    )
    seconds = time.monotonic() - started
    entropies = entropy(probabilities)
    labels = list(model.labels)
    write_jsonl(
        args.out,
        (
            {
                "id": i.id,
                "distribution": p.tolist(),
                "labels": labels,
                "entropy": float(h),
                "truncated": t,
            }
            for i, p, h, t in zip(instances, probabilities, entropies, truncated, strict=True)
        ),
    )
    print(
        f"wrote {len(instances)} predictions to {args.out} (task {model.task}, "
        f"{len(labels)} labels; model {model.version} {model.variant} on {model.provider}; "
        f"{len(instances) / max(seconds, 1e-9):.0f} items/s; {sum(truncated)} truncated)"
    )
    return 0


def _predict_instances(args: argparse.Namespace, model: Any, folder: Path) -> list[Any]:
    """--input's instances, read as the model's task: --task, else the one the file names
    (LeWiDi's), else the model's when it is a built-in task other than NLI (an NLI model
    reads files as before tasks); each must have the model's inputs."""
    from shared.datasets import read_dataset
    from shared.tasks import BUILTIN, NLI

    task = task_from_args(args)
    builtin = BUILTIN.get(model.task.partition("@")[0])
    if task is None and builtin is not None and model.task == builtin.ref != NLI.ref:
        task = builtin
    dataset = read_dataset(args.input, args.input_format, task=task, datasets_dir=folder)
    missing = [field for field in model.inputs if field not in dataset.task.input_names]
    if missing:
        raise MjdError(
            f"{args.input}: items of task {dataset.task.ref} have no {missing[0]!r}; the model "
            f"predicts task {model.task} from {', '.join(model.inputs)} (give --task)"
        )
    return dataset.instances


def register(commands: Commands, formats: tuple[str, ...]) -> None:
    from shared.platform.settings import PROVIDERS, VARIANTS
    from shared.training import EARLY_STOPPING, TrainSpec

    train = commands.add_parser(
        "train", help="distil a student from soft targets (human distributions or MJDs)"
    )
    train.add_argument(
        "--data",
        type=input_file,
        required=True,
        help="instances (a file, or a vendored dataset: datasets/README.md); their human "
        "distributions are the targets unless --mjd is given",
    )
    train.add_argument("--data-format", choices=formats, default="auto")
    train.add_argument("--mjd", type=existing_file, help="mjd generate output: train on MJDs")
    train.add_argument(
        "--calibrate-on",
        type=positive_int,
        help="fit the MJDs' temperature and bias on N labelled items first",
    )
    train.add_argument(
        "--dev", type=input_file, help="early-stopping set (default: hold out --dev-fraction)"
    )
    train.add_argument("--out", required=True, help="checkpoint folder, read by mjd export")
    add_spec_option(train, TrainSpec, "epochs", type=positive_int)
    add_spec_option(train, TrainSpec, "batch_size", type=positive_int)
    add_spec_option(train, TrainSpec, "learning_rate", type=positive_float)
    add_spec_option(train, TrainSpec, "max_length", type=positive_int, help="tokens per item")
    add_spec_option(train, TrainSpec, "early_stopping", choices=EARLY_STOPPING)
    add_spec_option(train, TrainSpec, "patience", type=positive_int)
    add_spec_option(train, TrainSpec, "dev_fraction", type=positive_float)
    add_spec_option(train, TrainSpec, "seed", type=int)
    add_spec_option(
        train, TrainSpec, "base_model", help="local Hugging Face encoder folder (default MiniLM)"
    )
    add_task_option(train)
    add_format_option(train)
    train.set_defaults(handler=cmd_train)

    export = commands.add_parser("export", help="export a trained student to ONNX")
    export.add_argument("checkpoint", type=Path, help="mjd train --out folder")
    where = export.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", help="write the model folder here")
    where.add_argument(
        "--register", action="store_true", help="publish as a new version in ARTIFACTS_DIR"
    )
    export.add_argument("--promote", action="store_true", help="with --register: serve it")
    export.add_argument(
        "--check",
        type=input_file,
        default=None,
        help="real items of the student's task for the parity and accuracy report (default: "
        "dev for an NLI student, else the dev items its checkpoint kept)",
    )
    export.add_argument("--check-items", type=positive_int, default=256)
    export.add_argument("--no-int8", action="store_true", help="skip the int8 variant")
    add_format_option(export)
    export.set_defaults(handler=cmd_export)

    predict = commands.add_parser("predict", help="predict distributions with an exported model")
    predict.add_argument(
        "--model", required=True, help="mjd export folder, or a registry version (v3)"
    )
    predict.add_argument("--input", type=input_file, required=True)
    predict.add_argument("--input-format", choices=formats, default="auto")
    predict.add_argument("--out", required=True, help="predictions as JSON lines")
    predict.add_argument("--variant", choices=VARIANTS, default="fp32")
    predict.add_argument("--provider", choices=PROVIDERS, default="auto")
    predict.add_argument("--batch-size", type=positive_int, default=32)
    add_task_option(predict)
    predict.set_defaults(handler=cmd_predict)

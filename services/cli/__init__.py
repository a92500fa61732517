"""The ``mjd`` command line: a thin adapter over the functions in ``shared`` and the services.

Bad input exits with status 2 and one line on stderr naming the file, row and field.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, TypeVar

from shared.errors import MjdError

EXIT_USAGE = 2
T = TypeVar("T")


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line (status 2) like every other input error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return path


def _input_file(text: str) -> Path:
    """A file path, or the name of a vendored dataset (explained, dev, varierr)."""
    from shared.datasets import VENDORED, vendored_path

    if text in VENDORED and not Path(text).exists():
        return vendored_path(text)
    return _existing_file(text)


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


class ProgressBar:
    """A one-line progress bar with rate and ETA on stderr (a line per 10% when not a TTY)."""

    def __init__(self, label: str, stream: object = sys.stderr) -> None:
        self.label = label
        self.stream = stream
        self.start = time.monotonic()
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.last_decile = -1

    def __call__(self, done: int, total: int) -> None:
        elapsed = time.monotonic() - self.start
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else float("inf")
        filled = int(30 * done / total) if total else 30
        line = (
            f"{self.label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} "
            f"{rate:.1f}/s ETA {_duration(eta)}"
        )
        decile = int(10 * done / total) if total else 10
        if self.tty:
            print("\r" + line, end="\n" if done >= total else "", file=self.stream, flush=True)
        elif decile != self.last_decile:
            print(line, file=self.stream, flush=True)
        self.last_decile = decile


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "?"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


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


def _spec_from_args(cls: type[T], args: argparse.Namespace) -> T:
    """A spec dataclass from the options of the same names (the rest keep their defaults)."""
    names = {field.name for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{name: value for name, value in vars(args).items() if name in names})


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


def cmd_generate(args: argparse.Namespace) -> int:
    from services.generator.backends import create_backend
    from services.generator.engine import generate
    from shared.datasets import read_instances, write_jsonl
    from shared.method.runs import RunSpec

    spec = _spec_from_args(RunSpec, args)
    instances = read_instances(args.input, args.input_format)
    if args.limit:
        instances = instances[: args.limit]
    options: dict[str, object] = {}
    if args.backend == "transformers":
        options = {"dtype": args.dtype, "batch_size": args.batch_size}
        if args.device:
            options["device"] = args.device
    else:
        options = {"base_url": args.base_url, "mode": args.openai_mode}
    started = time.monotonic()
    backend = create_backend(args.backend, args.model, **options)
    loaded = time.monotonic()
    records = generate(instances, backend, spec, progress=ProgressBar("prompts"))
    write_jsonl(args.out, (record.to_json() for record in records))
    print(
        f"wrote {len(instances)} MJDs to {args.out} (model {backend.model_id}; "
        f"load {loaded - started:.1f}s, generation {time.monotonic() - loaded:.1f}s)"
    )
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from shared.method.calibration import calibrate_file

    summary = calibrate_file(
        args.mjd, args.human, out=args.out, folds=args.folds, fit_bias=args.bias, seed=args.seed
    )
    print(json.dumps(summary, indent=None if args.output == "json" else 2))
    return 0


def _soft_labelled_data(args: argparse.Namespace) -> tuple[object, dict[str, object]]:
    """Training targets from --data (human distributions) or --mjd (MJDs, optionally
    calibrated), and the provenance recorded with the model."""
    from shared.datasets import read_instances
    from shared.method.calibration import read_mjd_records
    from shared.targets import mjd_targets
    from shared.training import SoftLabelled

    instances = read_instances(args.data, args.data_format)
    provenance: dict[str, object] = {"data": str(args.data)}
    if args.mjd is None:
        if args.calibrate_on:
            raise MjdError("--calibrate-on applies to --mjd targets only")
        provenance["targets"] = "human"
        return SoftLabelled.from_instances(instances), provenance
    records = {r.id: r for r in read_mjd_records(args.mjd)}
    unknown = sorted(set(records) - {i.id for i in instances})
    if unknown:
        raise MjdError(f"{args.mjd}: {len(unknown)} MJD ids not in {args.data}, e.g. {unknown[0]}")
    instances = [i for i in instances if i.id in records]
    targets = mjd_targets(
        instances, [records[i.id] for i in instances], args.calibrate_on, args.seed
    )
    provenance.update(targets="mjd", mjd=str(args.mjd), calibration=targets.calibration)
    return targets.data, provenance


def cmd_train(args: argparse.Namespace) -> int:
    from services.trainer.student import save_checkpoint
    from services.trainer.training import train
    from shared.datasets import read_instances
    from shared.training import SoftLabelled, TrainSpec

    spec = _spec_from_args(TrainSpec, args)
    data, provenance = _soft_labelled_data(args)
    if args.dev:
        dev = SoftLabelled.from_instances(read_instances(args.dev))
        provenance["dev"] = str(args.dev)
    else:
        data, dev = data.split(spec.dev_fraction, spec.seed)
        provenance["dev"] = f"{spec.dev_fraction:.0%} of --data held out (seed {spec.seed})"
    provenance.update(items=len(data), dev_items=len(dev))
    result = train(data, dev, spec, progress=ProgressBar("steps"))
    save_checkpoint(result.student, result.tokenizer, Path(args.out), result.info(spec, provenance))
    if args.output == "json":
        print(json.dumps(result.info(spec, provenance)))
    else:
        print(f"checkpoint {args.out} (best epoch {result.best_epoch}, {result.seconds:.0f}s)")
        print(f"dev set ({len(dev)} items):")
        print(result.dev_report.to_table() if result.dev_report else "")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from services.trainer.export import export_student
    from services.trainer.student import load_checkpoint
    from shared.datasets import read_instances
    from shared.jobs import store
    from shared.layout import MODEL_METADATA
    from shared.registry import ModelRegistry, file_digests
    from shared.training import SoftLabelled

    if args.promote and not args.register:
        raise MjdError("--promote needs --register")
    student, tokenizer, info = load_checkpoint(args.checkpoint)
    check = SoftLabelled.from_instances(read_instances(args.check)[: args.check_items])
    registry = ModelRegistry(store())
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
            registry.promote(version)
    else:
        metadata.update(version=version, created=time.time(), files=file_digests(folder))
        (folder / MODEL_METADATA).write_text(json.dumps(metadata, indent=2))
    if args.output == "json":
        print(json.dumps({"version": version, "folder": str(folder), **report}))
        return 0
    print(f"exported {folder} (version {version}{', promoted' if args.promote else ''})")
    parity = report["parity"]
    print(f"parity vs torch on {parity['items']} pairs: max |dp| {parity['max_abs_diff']:.2e}")
    if "int8" in report:
        print(f"int8 per-channel: max |dp| vs fp32 {report['int8']['max_abs_diff_vs_fp32']:.4f}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from services.predictor import LoadedModel
    from shared.datasets import read_instances, write_jsonl
    from shared.jobs import store
    from shared.metrics import entropy
    from shared.registry import VERSION_PATTERN, ModelRegistry

    folder = Path(args.model)
    if not folder.is_dir() and VERSION_PATTERN.match(args.model):
        registry = ModelRegistry(store())
        registry.get(args.model)
        folder = registry.folder(args.model)
    model = LoadedModel.load(
        folder, provider=args.provider, variant=args.variant, max_batch=args.batch_size
    )
    instances = read_instances(args.input, args.input_format)
    started = time.monotonic()
    probabilities, truncated = model.predict([(i.premise, i.hypothesis) for i in instances])
    seconds = time.monotonic() - started
    entropies = entropy(probabilities)
    write_jsonl(
        args.out,
        (
            {"id": i.id, "distribution": p.tolist(), "entropy": float(h), "truncated": t}
            for i, p, h, t in zip(instances, probabilities, entropies, truncated, strict=True)
        ),
    )
    print(
        f"wrote {len(instances)} predictions to {args.out} (model {model.version} "
        f"{model.variant} on {model.provider}; {len(instances) / seconds:.0f} pairs/s; "
        f"{sum(truncated)} truncated)"
    )
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    """The API alone (containers): uvicorn in this process."""
    import os

    import uvicorn

    from services.cli.launcher import fresh_metrics_dir

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # before any metric is created
        fresh_metrics_dir(os.environ["PROMETHEUS_MULTIPROC_DIR"])

    uvicorn.run(
        "services.api.app:create_app", factory=True, host=args.host, port=args.port,
        log_level="info", access_log=False, proxy_headers=True,
    )  # fmt: skip
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from services.cli.launcher import run_worker

    run_worker(args.queue, args.metrics_port)
    return 0  # not reached: the process became the worker


def cmd_up(args: argparse.Namespace) -> int:
    from services.cli.launcher import run

    return run(args.port, bootstrap=not args.no_bootstrap, bootstrap_items=args.bootstrap_items)


def build_parser() -> argparse.ArgumentParser:
    from shared.datasets import FORMATS

    formats = ("auto", *FORMATS)
    parser = _Parser(prog="mjd", description="Model judgment distributions for NLI.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    evaluate = commands.add_parser(
        "evaluate", help="compare model distributions with human distributions"
    )
    evaluate.add_argument(
        "--human", type=_input_file, required=True, help="a file, or: explained, dev, varierr"
    )
    evaluate.add_argument("--model", type=_input_file, required=True)
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

    from services.generator.backends import BACKENDS
    from shared.method.aggregation import AGGREGATIONS
    from shared.method.runs import MAX_K, SHORTFALL_POLICIES

    generate = commands.add_parser("generate", help="make MJDs with an LLM")
    generate.add_argument(
        "--input", type=_input_file, required=True, help="a file, or: explained, dev, varierr"
    )
    generate.add_argument("--input-format", choices=formats, default="auto")
    generate.add_argument("--out", required=True, help="MJD records as JSON lines")
    generate.add_argument(
        "--k", type=int, choices=range(MAX_K + 1), default=0, help="explanations per prompt"
    )
    generate.add_argument(
        "--explicit",
        action="store_true",
        help="append each explanation's label ('So I choose ...')",
    )
    generate.add_argument(
        "--max-orders",
        type=_positive_int,
        help="explanation orders per item (seeded sample); default: all",
    )
    generate.add_argument(
        "--shortfall",
        choices=SHORTFALL_POLICIES,
        default="error",
        help="items with fewer than k explanations",
    )
    generate.add_argument("--aggregation", choices=AGGREGATIONS, default="softmax")
    generate.add_argument("--temperature", type=_positive_float, default=1.0)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--backend", choices=BACKENDS, default="transformers")
    generate.add_argument("--model", help="model dir or .gguf (transformers), model name (openai)")
    generate.add_argument(
        "--dtype",
        choices=("auto", "fp32", "bf16", "fp16"),
        default="auto",
        help="auto: bf16 on CUDA, fp32 on CPU",
    )
    generate.add_argument("--device", help="torch device; default cuda when available")
    generate.add_argument("--batch-size", type=_positive_int, default=16)
    generate.add_argument("--base-url", help="OpenAI-compatible server (or OPENAI_BASE_URL)")
    generate.add_argument("--openai-mode", choices=("chat", "completions"), default="chat")
    generate.add_argument("--limit", type=_positive_int, help="only the first N items")
    generate.set_defaults(handler=cmd_generate)

    calibrate = commands.add_parser(
        "calibrate", help="fit the softmax temperature (and bias) of MJDs to human labels"
    )
    calibrate.add_argument("--mjd", type=_existing_file, required=True, help="mjd generate output")
    calibrate.add_argument("--human", type=_input_file, required=True)
    calibrate.add_argument(
        "--folds",
        type=_non_negative_int,
        default=0,
        help="cross-fit over K folds (0: fit on all items)",
    )
    calibrate.add_argument("--bias", action="store_true", help="also fit a per-label bias")
    calibrate.add_argument("--out", help="write the recalibrated MJD records here")
    calibrate.add_argument("--seed", type=int, default=0, help="fold assignment seed")
    calibrate.add_argument("--format", choices=("table", "json"), default="table", dest="output")
    calibrate.set_defaults(handler=cmd_calibrate)

    train = commands.add_parser(
        "train", help="distil a student from soft targets (human distributions or MJDs)"
    )
    train.add_argument(
        "--data",
        type=_input_file,
        required=True,
        help="instances (a file, or: explained, dev, varierr); their human distributions are "
        "the targets unless --mjd is given",
    )
    train.add_argument("--data-format", choices=formats, default="auto")
    train.add_argument("--mjd", type=_existing_file, help="mjd generate output: train on MJDs")
    train.add_argument(
        "--calibrate-on",
        type=_positive_int,
        help="fit the MJDs' temperature and bias on N labelled items first",
    )
    train.add_argument(
        "--dev", type=_input_file, help="early-stopping set (default: hold out --dev-fraction)"
    )
    train.add_argument("--out", required=True, help="checkpoint folder, read by mjd export")
    train.add_argument("--epochs", type=_positive_int, default=3)
    train.add_argument("--batch-size", type=_positive_int, default=16)
    train.add_argument("--learning-rate", type=_positive_float, default=5e-5)
    train.add_argument("--max-length", type=_positive_int, default=128, help="tokens per pair")
    train.add_argument("--early-stopping", choices=("dcorr", "kl"), default="dcorr")
    train.add_argument("--patience", type=_positive_int, default=2)
    train.add_argument("--dev-fraction", type=_positive_float, default=0.1)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--base-model", help="local Hugging Face encoder folder (default MiniLM)")
    train.add_argument("--format", choices=("table", "json"), default="table", dest="output")
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
        type=_input_file,
        default="dev",
        help="real pairs for the parity and accuracy report (default: dev)",
    )
    export.add_argument("--check-items", type=_positive_int, default=256)
    export.add_argument("--no-int8", action="store_true", help="skip the int8 variant")
    export.add_argument("--format", choices=("table", "json"), default="table", dest="output")
    export.set_defaults(handler=cmd_export)

    from shared.settings import PROVIDERS, VARIANTS

    predict = commands.add_parser("predict", help="predict distributions with an exported model")
    predict.add_argument(
        "--model", required=True, help="mjd export folder, or a registry version (v3)"
    )
    predict.add_argument("--input", type=_input_file, required=True)
    predict.add_argument("--input-format", choices=formats, default="auto")
    predict.add_argument("--out", required=True, help="predictions as JSON lines")
    predict.add_argument("--variant", choices=VARIANTS, default="fp32")
    predict.add_argument("--provider", choices=PROVIDERS, default="auto")
    predict.add_argument("--batch-size", type=_positive_int, default=32)
    predict.set_defaults(handler=cmd_predict)

    from services.cli.launcher import API_PORT, WORKERS
    from shared.celery_app import QUEUES

    api = commands.add_parser("api", help="run the API alone (one service of a deployment)")
    api.add_argument("--host", default="127.0.0.1", help="0.0.0.0 in a container")
    api.add_argument("--port", type=_positive_int, default=API_PORT)
    api.set_defaults(handler=cmd_api)

    worker = commands.add_parser("worker", help="run the Celery worker of one queue")
    worker.add_argument("queue", choices=[q for q in QUEUES if q in {q for _, q in WORKERS}])
    worker.add_argument(
        "--metrics-port", type=_positive_int, help="serve this worker's /metrics on this port"
    )
    worker.set_defaults(handler=cmd_worker)

    up = commands.add_parser("up", help="run Redis (embedded if no REDIS_URL), the API and workers")
    up.add_argument("--port", type=_positive_int, default=8000)
    up.add_argument(
        "--no-bootstrap", action="store_true", help="do not train a student when none is promoted"
    )
    up.add_argument(
        "--bootstrap-items",
        type=_positive_int,
        help="train the first student on the first N explained items (default: all 341)",
    )
    up.set_defaults(handler=cmd_up)
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

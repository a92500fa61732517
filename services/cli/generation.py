"""``mjd generate``, ``mjd explain`` and ``mjd calibrate``: make MJDs with an LLM, write
explanations with one and fit the MJDs' temperature. The run and explain options take their
defaults from ``RunSpec``, ``ExplainSpec`` and ``Decoding``; the LLM backends (torch,
transformers) are imported only when a command that needs one runs."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from services.cli.args import (
    INPUT_HELP,
    Commands,
    add_format_option,
    add_spec_option,
    add_task_option,
    existing_file,
    input_file,
    non_negative_int,
    positive_float,
    positive_int,
    spec_from_args,
    task_from_args,
)
from services.cli.progress import ProgressBar


def cmd_generate(args: argparse.Namespace) -> int:
    from services.generator.backends import create_backend
    from services.generator.engine import generate
    from shared.datasets import write_jsonl
    from shared.method.runs import RunSpec

    dataset = input_dataset(args)
    task = dataset.task
    spec = spec_from_args(RunSpec, args).for_task(task)  # a bad --bias named before loading
    instances = dataset.instances[: args.limit] if args.limit else dataset.instances
    started = time.monotonic()
    backend = create_backend(args.backend, args.model, **backend_options(args))
    loaded = time.monotonic()
    records = generate(instances, backend, spec, task=task, progress=ProgressBar("prompts"))
    write_jsonl(args.out, (record.to_json() for record in records))
    print(
        f"wrote {len(instances)} MJDs to {args.out} ({task_words(task)}model {backend.model_id}; "
        f"load {loaded - started:.1f}s, generation {time.monotonic() - loaded:.1f}s)"
    )
    return 0


def input_dataset(args: argparse.Namespace) -> Any:
    """The ``--input`` file (or vendored name) read as ``--task``'s, or its own task."""
    from shared.datasets import read_dataset
    from shared.platform.settings import datasets_dir_from_env

    return read_dataset(
        args.input,
        args.input_format,
        task=task_from_args(args),
        datasets_dir=datasets_dir_from_env(),
    )


def task_words(task: Any) -> str:
    """What a command's last line says of its task: nothing for NLI, else its name and K."""
    return "" if task.name == "nli" else f"task {task.ref}, {len(task.labels)} labels; "


def backend_options(args: argparse.Namespace) -> dict[str, object]:
    """The constructor options of the chosen backend (see :func:`add_backend_options`)."""
    if args.backend == "transformers":
        options: dict[str, object] = {"dtype": args.dtype, "batch_size": args.batch_size}
        if args.device:
            options["device"] = args.device
        return options
    return {
        "base_url": args.base_url,
        "mode": args.openai_mode,
        "template": args.chat_template,
        "top_logprobs": args.top_logprobs,
        "concurrency": args.concurrency,
        "timeout": args.timeout,
        "max_retries": args.max_retries,
    }


def cmd_explain(args: argparse.Namespace) -> int:
    from services.generator.backends import create_backend
    from shared.datasets import detect_format, read_row_field, write_jsonl
    from shared.method.explanations import (
        Decoding,
        ExplainSpec,
        explain_with,
        labels_column,
        plan,
        tally,
    )

    spec = ExplainSpec(
        mode=args.mode,
        select=args.select,
        per_label=args.per_label,
        labels_from=args.labels_from,
        decoding=Decoding(
            max_new_tokens=args.max_new_tokens,
            sample=args.sample,
            temperature=args.temperature,
            top_p=args.top_p,
            seed=args.seed,
        ),
    )
    dataset = input_dataset(args)
    task = dataset.task
    fmt = detect_format(args.input) if args.input_format == "auto" else args.input_format
    labels = (
        labels_column(read_row_field(args.input, "labels"), str(args.input), task)
        if fmt == "jsonl"
        else None
    )
    instances = dataset.instances[: args.limit] if args.limit else dataset.instances
    given = plan(instances, spec, labels, task=task)
    started = time.monotonic()
    backend = create_backend(args.backend, args.model, **backend_options(args))
    loaded = time.monotonic()
    records = list(
        explain_with(backend, instances, given, spec, task=task, progress=ProgressBar("prompts"))
    )
    write_jsonl(args.out, records)
    counts = tally(records)
    empty = counts["items_without_explanations"]
    print(
        f"wrote {len(records)} items with {counts['explanations']} explanations to {args.out}"
        + (f" ({empty} item(s) got none)" if empty else "")
        + f" ({task_words(task)}model {backend.model_id}; load {loaded - started:.1f}s, "
        f"generation {time.monotonic() - loaded:.1f}s)"
    )
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from services.cli.calibration import calibrate_file, summary_table
    from shared.platform.settings import datasets_dir_from_env

    summary = calibrate_file(
        args.mjd,
        args.human,
        out=args.out,
        folds=args.folds,
        fit_bias=args.bias,
        seed=args.seed,
        datasets_dir=datasets_dir_from_env(),
        task=task_from_args(args),
    )
    print(json.dumps(summary) if args.output == "json" else summary_table(summary))
    return 0


def add_backend_options(parser: argparse.ArgumentParser) -> None:
    from services.generator.backends import BACKENDS
    from shared.endpoints import OPENAI_MODES

    parser.add_argument("--backend", choices=BACKENDS, default="transformers")
    parser.add_argument("--model", help="model dir or .gguf (transformers), model name (openai)")
    parser.add_argument(
        "--dtype",
        choices=("auto", "fp32", "bf16", "fp16"),
        default="auto",
        help="auto: bf16 on CUDA, fp32 on CPU",
    )
    parser.add_argument("--device", help="torch device; default cuda when available")
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=16,
        help="transformers: messages per batch when generating explanations (scoring packs "
        "whole items into calls by a token budget)",
    )
    parser.add_argument("--base-url", help="OpenAI-compatible server (or OPENAI_BASE_URL)")
    parser.add_argument("--openai-mode", choices=OPENAI_MODES, default="chat")
    parser.add_argument(
        "--chat-template",
        default="local",
        help="completions mode: whose chat template wraps the prompt: local (the transformers "
        "backend's model, the default), none (raw prompt), or a model folder / .gguf file",
    )
    parser.add_argument(
        "--top-logprobs", type=positive_int, default=5, help="openai: 1 to 20 (OpenAI: 5)"
    )
    parser.add_argument(
        "--concurrency", type=positive_int, default=8, help="openai: requests at once (1 to 64)"
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=60.0,
        help="openai: seconds a request may take (1 to 600; a timed-out request is not retried)",
    )
    parser.add_argument(
        "--max-retries",
        type=non_negative_int,
        default=3,
        help="openai: retries after connect errors, 429 and 5xx (0 to 10)",
    )


def register(commands: Commands, formats: tuple[str, ...]) -> None:
    _add_generate(commands, formats)
    _add_explain(commands, formats)
    _add_calibrate(commands)


def _add_input_output(parser: argparse.ArgumentParser, formats: tuple[str, ...], out: str) -> None:
    """The items read (``--input``, ``--input-format``) and the JSON lines written (``--out``)."""
    parser.add_argument("--input", type=input_file, required=True, help=INPUT_HELP)
    parser.add_argument("--input-format", choices=formats, default="auto")
    parser.add_argument("--out", required=True, help=out)


def _add_generate(commands: Commands, formats: tuple[str, ...]) -> None:
    from shared.method.aggregation import AGGREGATIONS
    from shared.method.prompts import LETTER_CHOICES
    from shared.method.runs import MAX_K, SHORTFALL_POLICIES, RunSpec

    generate = commands.add_parser("generate", help="make MJDs with an LLM")
    _add_input_output(generate, formats, "MJD records as JSON lines")
    add_spec_option(
        generate, RunSpec, "k", type=int, choices=range(MAX_K + 1), help="explanations per prompt"
    )
    add_spec_option(
        generate,
        RunSpec,
        "explicit",
        action="store_true",
        help="append each explanation's label ('So I choose ...')",
    )
    add_spec_option(
        generate,
        RunSpec,
        "max_orders",
        type=positive_int,
        help="explanation orders per item (seeded sample); default: all",
    )
    add_spec_option(
        generate,
        RunSpec,
        "shortfall",
        choices=SHORTFALL_POLICIES,
        help="items with fewer than k explanations",
    )
    add_spec_option(
        generate,
        RunSpec,
        "letters",
        choices=LETTER_CHOICES,
        help="which spellings of an option letter count: bare 'A' (the authors') or also ' A'",
    )
    add_spec_option(generate, RunSpec, "aggregation", choices=AGGREGATIONS)
    add_spec_option(
        generate, RunSpec, "temperature", type=positive_float, help="softmax temperature"
    )
    add_spec_option(generate, RunSpec, "seed", type=int)
    add_backend_options(generate)
    generate.add_argument("--limit", type=positive_int, help="only the first N items")
    add_task_option(generate)
    generate.set_defaults(handler=cmd_generate)


def _add_explain(commands: Commands, formats: tuple[str, ...]) -> None:
    """The ``ExplainSpec`` options; their defaults are the spec's, so they live in one place."""
    from shared.method.explanations import MAX_PER_LABEL, MODES, SELECTIONS, ExplainSpec

    spec = ExplainSpec()
    explain = commands.add_parser(
        "explain", help="write explanations with an LLM for items that have labels"
    )
    _add_input_output(explain, formats, "the explained items as JSON lines")
    explain.add_argument("--mode", choices=MODES, default=spec.mode)
    explain.add_argument(
        "--select",
        choices=SELECTIONS,
        default=spec.select,
        help="which of the LLM's reasons to keep",
    )
    _count_option(
        explain, "--per-label", spec.per_label, "reasons kept per given label", MAX_PER_LABEL
    )
    explain.add_argument(
        "--labels-from",
        default=spec.labels_from,
        help="label-guided: labels (a 'labels' list), explanations, counts, or a reference "
        "name (mnli, varierr); auto: the first of labels, explanations, counts",
    )
    _add_decoding_options(explain)
    add_backend_options(explain)
    explain.add_argument("--limit", type=positive_int, help="only the first N items")
    add_task_option(explain)
    explain.set_defaults(handler=cmd_explain)


def _count_option(
    parser: argparse.ArgumentParser, flag: str, default: int, what: str, most: int
) -> None:
    parser.add_argument(flag, type=positive_int, default=default, help=f"{what} (1 to {most})")


def _add_decoding_options(parser: argparse.ArgumentParser) -> None:
    """The ``Decoding`` options (``--sample`` is a flag: greedy unless given); their defaults
    are the dataclass's."""
    from shared.method.explanations import MAX_NEW_TOKENS, Decoding

    decoding = Decoding()
    _count_option(
        parser, "--max-new-tokens", decoding.max_new_tokens, "longest answer per prompt",
        MAX_NEW_TOKENS,
    )  # fmt: skip
    parser.add_argument(
        "--sample", action="store_true", help="sample (seeded) instead of greedy decoding"
    )
    parser.add_argument(
        "--temperature", type=positive_float, default=decoding.temperature, help="with --sample"
    )
    parser.add_argument(
        "--top-p", type=positive_float, default=decoding.top_p, help="with --sample"
    )
    parser.add_argument(
        "--seed", type=non_negative_int, default=decoding.seed, help="with --sample"
    )


def _add_calibrate(commands: Commands) -> None:
    calibrate = commands.add_parser(
        "calibrate", help="fit the softmax temperature (and bias) of MJDs to human labels"
    )
    calibrate.add_argument("--mjd", type=existing_file, required=True, help="mjd generate output")
    calibrate.add_argument("--human", type=input_file, required=True)
    calibrate.add_argument(
        "--folds",
        type=non_negative_int,
        default=0,
        help="cross-fit over K folds (0: fit on all items)",
    )
    calibrate.add_argument("--bias", action="store_true", help="also fit a per-label bias")
    calibrate.add_argument("--out", help="write the recalibrated MJD records here")
    calibrate.add_argument("--seed", type=int, default=0, help="fold assignment seed")
    add_task_option(calibrate)
    add_format_option(calibrate)
    calibrate.set_defaults(handler=cmd_calibrate)

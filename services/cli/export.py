"""``mjd export-predictions``: a dataset's MJDs or a student's predictions (records with
``id`` and ``distribution``) in LeWiDi's submission layout, keyed by the original file's ids
and spelt with its soft-label keys, so the organisers' tools can score them."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from services.cli.args import Commands, existing_file, input_file

#: what ``--format`` takes and what each writes
EXPORT_FORMATS = {
    "lewidi": 'a JSON object of id -> {"soft_label": {key: p}}: the original file\'s ids, its '
    'items\' soft-label keys as it spells them ("0.0"/"1.0" for MP, "-5".."5" for '
    "Paraphrase), the shape of the file's own soft labels",
    "lewidi-tsv": "one line per item, no header: the id, a tab, and the probabilities as a "
    "list ([0.1, 0.9]) in the order of the file's soft-label keys: the <Dataset>_test_soft.tsv "
    "layout that LeWiDi 2025 participants' code writes for the Codabench soft-label track (we "
    "found no specification of it in the organisers' public repository, "
    "Le-Wi-Di/le-wi-di.github.io, whose scoring notebook takes lists of distributions in that "
    "order)",
}


def soft_label_keys(path: Path, task: Any) -> list[str]:
    """For each of the task's labels (its column order) the key the file spells it with
    (the first spelling met, else the label's name); a DataError for VariErrNLI's per-label
    binary soft labels, which one distribution over the labels cannot give."""
    from shared.datasets.records import json_document
    from shared.errors import DataError

    document = json_document(path)
    if not isinstance(document, Mapping):
        raise DataError("expected a LeWiDi file: a JSON object of id -> item", source=str(path))
    spelt: dict[int, str] = {}
    for row, item in enumerate(document.values(), start=1):
        soft = item.get("soft_label") if isinstance(item, Mapping) else None
        if not isinstance(soft, Mapping):
            continue
        for key, value in soft.items():
            if isinstance(value, Mapping):
                raise DataError(
                    "its soft labels are per-label binary shares (VariErrNLI's multi-label "
                    "layout); a distribution over the labels does not give them, so it cannot "
                    "be exported in that layout",
                    source=str(path),
                    row=row,
                    field=f"soft_label.{key}",
                )
            spelt.setdefault(task.index(str(key)), str(key))
    return [spelt.get(i, name) for i, name in enumerate(task.label_names)]


def cmd_export_predictions(args: argparse.Namespace) -> int:
    from services.cli.args import task_from_args
    from services.cli.evaluation import check_model_labels
    from shared.datasets import detect_format, id_mismatch, read_dataset, read_distributions
    from shared.errors import DataError
    from shared.platform.settings import datasets_dir_from_env

    folder = datasets_dir_from_env()
    if detect_format(args.data) != "lewidi":
        raise DataError("expected the original LeWiDi file (id -> item)", source=str(args.data))
    data = read_dataset(args.data, "lewidi", task=task_from_args(args), datasets_dir=folder)
    task = data.task
    keys = soft_label_keys(Path(args.data), task)
    check_model_labels(args.input, args.input_format, task)
    predicted = read_distributions(args.input, args.input_format, task=task, datasets_dir=folder)
    ids = [instance.id for instance in data.instances]
    mismatch = id_mismatch(ids, predicted.ids, args.data, args.input)
    if mismatch:
        raise DataError(f"ids must be the file's; {mismatch}", source=str(args.input), field="id")
    by_id = dict(zip(predicted.ids, predicted.probs.tolist(), strict=True))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.output == "lewidi":
        document = {
            item_id: {"soft_label": dict(zip(keys, by_id[item_id], strict=True))} for item_id in ids
        }
        out.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    else:
        out.write_text(
            "".join(f"{item_id}\t{json.dumps(by_id[item_id])}\n" for item_id in ids),
            encoding="utf-8",
        )
    print(
        f"wrote {len(ids)} soft labels ({task.ref}; keys {', '.join(keys)}) to {out} "
        f"({args.output})"
    )
    return 0


def register(commands: Commands, formats: tuple[str, ...]) -> None:
    from services.cli.args import add_task_option

    export = commands.add_parser(
        "export-predictions",
        help="MJDs or a student's predictions in LeWiDi's submission layout",
        description="Write the distributions of --input (mjd generate or mjd predict output: "
        "records with id and distribution, in the task's label order) for the items of --data, "
        "the original LeWiDi file (every id of it, no other). Formats: "
        + "; ".join(f"{name}: {text}" for name, text in EXPORT_FORMATS.items())
        + ".",
    )
    export.add_argument("--input", type=input_file, required=True, help="MJDs or predictions")
    export.add_argument("--input-format", choices=formats, default="auto")
    export.add_argument("--data", type=existing_file, required=True, help="the LeWiDi file")
    export.add_argument("--format", choices=tuple(EXPORT_FORMATS), default="lewidi", dest="output")
    export.add_argument("--out", required=True, help="the file to write")
    add_task_option(export)
    export.set_defaults(handler=cmd_export_predictions)

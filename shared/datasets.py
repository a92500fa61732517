"""Readers and writers for NLI label-distribution data.

Readers validate every row and raise :class:`DataError` naming the file, row and field; no
row is ever dropped silently. Formats:

- ``explained``: the 341 ChaosNLI-MNLI items with VariErr explanations (MJD-Estimator).
- ``model_explanations``: LLM explanations for those items (Chen et al., ACL Findings 2025),
  line i for explained item i; joined to that item's human distributions.
- ``chaosnli``: ChaosNLI jsonl (``label_counter``/``label_dist`` with ``example``) or the
  MJD-Estimator style ``{premise, hypothesis, label: [pE, pN, pC]}``.
- ``varierr``: VariErr NLI (JSON lines or a JSON array).
- ``lewidi``: LeWiDi 2025 VariErrNLI json (a mapping of id to item).
- ``jsonl`` / ``csv``: generic rows with ``id`` (optional), ``premise``/``hypothesis``
  (optional for distribution-only files) and probabilities or counts.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shared.errors import DataError
from shared.labels import LABEL_NAMES, LABELS, Label
from shared.schemas import Explanation, Instance, Judgment, text_id

FORMATS = ("explained", "model_explanations", "chaosnli", "varierr", "lewidi", "jsonl", "csv")

#: The authors' LLM explanation sets for the explained items, by file name without extension
#: (``datasets/model_explanations/README.md`` says what each part means).
MODEL_EXPLANATION_SETS = tuple(
    f"{model}-{setting}-{selection}"
    for model in ("gpt4o", "llama3", "mixtral")
    for setting in ("label-free", "mnli-label-guided", "varierr-label-guided")
    for selection in ("first", "longest")
)

#: Datasets shipped in ``datasets/`` (see datasets/README.md for provenance and licences).
VENDORED = {
    "explained": "chaosnli_mnli_explained.jsonl",
    "dev": "chaosnli_mnli_dev.jsonl",
    "varierr": "varierr.jsonl",
    **{name: f"model_explanations/{name}.jsonl" for name in MODEL_EXPLANATION_SETS},
}

#: The key of the [explanation, label letter] pairs in a model explanation file: label-free
#: files use the first, label-guided ones either of the others.
MACHINE_COMMENT_KEYS = (
    "machine_comments",
    "machine_replaced_comments",
    "machine_generated_comments",
)

PROB_FIELDS = ("distribution", "probs", "label")
COUNT_FIELDS = ("counts",)
CSV_PROB_COLUMNS = LABEL_NAMES
CSV_COUNT_COLUMNS = tuple(f"n_{name}" for name in LABEL_NAMES)


def datasets_dir() -> Path:
    """``MJD_DATASETS_DIR`` when set, else the checkout's ``datasets/``."""
    configured = os.environ.get("MJD_DATASETS_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[1] / "datasets"


def vendored_path(name: str) -> Path:
    try:
        return datasets_dir() / VENDORED[name]
    except KeyError:
        raise DataError(
            f"unknown dataset {name!r}; vendored datasets: {', '.join(VENDORED)}", field="dataset"
        ) from None


@dataclass(frozen=True, slots=True)
class DistributionSet:
    """N distributions in E/N/C order with their ids.

    ``ids_from_data`` is False when the file had neither ids nor texts, so rows can only be
    matched by position.
    """

    ids: list[str]
    probs: np.ndarray
    source: str
    ids_from_data: bool = True

    def __len__(self) -> int:
        return len(self.ids)


@contextmanager
def located(source: str, row: int | None) -> Iterator[None]:
    """Add the file and row to any DataError raised inside."""
    try:
        yield
    except DataError as exc:
        raise DataError(
            exc.message,
            source=exc.source or source,
            row=exc.row if exc.row is not None else row,
            field=exc.field,
        ) from None


@contextmanager
def utf8_text(source: str | Path) -> Iterator[None]:
    """Report a file that is not UTF-8 text as a DataError, not a traceback."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise DataError(
            f"not UTF-8 text (byte {exc.start} cannot be decoded)", source=str(source)
        ) from None


# ---------------------------------------------------------------------------- raw records


def _json_problem(exc: ValueError | RecursionError) -> str:
    """Why ``json.loads`` refused a text: besides invalid JSON, it raises RecursionError for
    deep nesting and ValueError for an integer over Python's 4300-digit limit on int()."""
    if isinstance(exc, json.JSONDecodeError):
        return exc.msg
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return "a number has too many digits"


def _jsonl_records(path: Path) -> Iterator[tuple[int, Any]]:
    source = str(path)
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (ValueError, RecursionError) as exc:
                raise DataError(
                    f"invalid JSON: {_json_problem(exc)}", source=source, row=number
                ) from None
            yield number, record


def _json_document(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:
        line = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise DataError(f"invalid JSON{line}: {_json_problem(exc)}", source=str(path)) from None


def _records(path: Path) -> Iterator[tuple[int, Any]]:
    """Rows of a JSON lines file or of a JSON array, numbered from 1."""
    if _first_char(path) == "[":
        document = _json_document(path)
        yield from enumerate(document, start=1)
    else:
        yield from _jsonl_records(path)


def _first_char(path: Path) -> str:
    with path.open(encoding="utf-8") as handle:
        while chunk := handle.read(4096):
            stripped = chunk.lstrip()
            if stripped:
                return stripped[0]
    return ""


def _require(record: Any, name: str) -> Any:
    if not isinstance(record, Mapping):
        raise DataError(f"expected a JSON object, got {type(record).__name__}")
    if name not in record or record[name] is None:
        raise DataError("missing required field", field=name)
    return record[name]


def _text(record: Any, name: str) -> str:
    value = _require(record, name)
    if not isinstance(value, str) or not value.strip():
        raise DataError("must be a non-empty string", field=name)
    return value


def _label(value: Any, field_name: str) -> Label:
    if not isinstance(value, str):
        raise DataError(f"expected a label string, got {value!r}", field=field_name)
    try:
        return Label.parse(value)
    except ValueError as exc:
        raise DataError(str(exc), field=field_name) from None


# ---------------------------------------------------------------------------- format parsers


def _comment_pairs(record: Any, key: str) -> tuple[Explanation, ...]:
    """The ``[text, label letter]`` pairs under ``key`` (the explained file's layout)."""
    comments = _require(record, key)
    if not isinstance(comments, list):
        raise DataError("expected a list of [text, label letter] pairs", field=key)
    explanations = []
    for i, comment in enumerate(comments):
        name = f"{key}[{i}]"
        if not isinstance(comment, list) or len(comment) != 2 or not isinstance(comment[0], str):
            raise DataError("expected [text, label letter]", field=name)
        if not comment[0].strip():
            raise DataError("empty explanation", field=name)
        explanations.append(Explanation(comment[0], _label(comment[1], name)))
    return tuple(explanations)


def _parse_explained(record: Any) -> Instance:
    premise, hypothesis = _text(record, "premise"), _text(record, "hypothesis")
    mnli = _require(record, "mnli labels")
    if not isinstance(mnli, list) or len(mnli) != 2:
        raise DataError("expected [gold letter, [E, N, C] counts]", field="mnli labels")
    return Instance(
        id=str(record.get("id") or text_id(premise, hypothesis)),
        premise=premise,
        hypothesis=hypothesis,
        explanations=_comment_pairs(record, "comments"),
        human=Judgment.from_probs(_require(record, "chaos probs"), "chaos probs"),
        references={
            "mnli": Judgment.from_counts(mnli[1], "mnli labels"),
            "varierr": Judgment.from_counts(_require(record, "varierr labels"), "varierr labels"),
        },
        gold_label=_label(mnli[0], "mnli labels"),
    )


def _parse_model_explanations(record: Any, explained: Sequence[Instance], index: int) -> Instance:
    """Item ``index`` of the explained file with this row's explanations in place of the
    experts'; the row's premise (and hypothesis, where it has one) must be that item's."""
    if index >= len(explained):
        raise DataError(f"more rows than the {len(explained)} explained items")
    item = explained[index]
    texts = (
        ("premise", "hypothesis")
        if isinstance(record, Mapping) and "hypothesis" in record
        else ("premise",)
    )
    for name in texts:
        if _text(record, name) != getattr(item, name):
            raise DataError(
                f"not the {name} of explained item {index + 1}: line i of a model "
                "explanation file must be item i of the explained file",
                field=name,
            )
    keys = [key for key in MACHINE_COMMENT_KEYS if key in record]
    if len(keys) != 1:
        raise DataError(
            f"expected exactly one of {', '.join(MACHINE_COMMENT_KEYS)}", field="machine_comments"
        )
    return dataclasses.replace(item, explanations=_comment_pairs(record, keys[0]))


def _parse_chaosnli(record: Any) -> Instance:
    example = record.get("example") if isinstance(record, Mapping) else None
    source = example if isinstance(example, Mapping) else record
    premise, hypothesis = _text(source, "premise"), _text(source, "hypothesis")
    if "label_counter" in record:
        human = Judgment.from_counts(record["label_counter"], "label_counter")
    elif "label_dist" in record:
        human = Judgment.from_probs(record["label_dist"], "label_dist")
    else:
        human = Judgment.from_probs(_require(record, "label"), "label")
    gold = record.get("old_label")
    return Instance(
        id=str(record.get("uid") or source.get("uid") or text_id(premise, hypothesis)),
        premise=premise,
        hypothesis=hypothesis,
        human=human,
        gold_label=None if gold is None else _label(gold, "old_label"),
    )


#: VariErr explanations are grouped in this label order, then by annotator: the order of the
#: MJD-Estimator explained file, whose prompts the paper's figures come from.
VARIERR_EXPLANATION_ORDER = (Label.ENTAILMENT, Label.CONTRADICTION, Label.NEUTRAL)


def _parse_varierr(record: Any) -> Instance:
    premise, hypothesis = _text(record, "context"), _text(record, "statement")
    entries: list[tuple[int, int, Explanation]] = []
    counts = [0, 0, 0]
    for label in LABELS:
        items = record.get(label.value) or []
        if not isinstance(items, list):
            raise DataError("expected a list of explanations", field=label.value)
        for i, item in enumerate(items):
            reason = _text(item, "reason") if isinstance(item, Mapping) else None
            if reason is None:
                raise DataError("expected {annotator, reason, ...}", field=f"{label.value}[{i}]")
            annotator = item.get("annotator", i)
            group = VARIERR_EXPLANATION_ORDER.index(label)
            entries.append((group, int(annotator), Explanation(reason, label)))
            counts[label.index] += 1
    entries.sort(key=lambda entry: entry[:2])
    chaos = record.get("chaosnli_labels")
    return Instance(
        id=str(record.get("id") or text_id(premise, hypothesis)),
        premise=premise,
        hypothesis=hypothesis,
        explanations=tuple(entry[2] for entry in entries),
        human=None if chaos is None else Judgment.from_counts(chaos, "chaosnli_labels"),
        references={"varierr": Judgment.from_counts(counts, "varierr explanations")}
        if any(counts)
        else {},
    )


def lewidi_soft_label_to_probs(soft_label: Any) -> list[float]:
    """LeWiDi's VariErr ``soft_label`` is per-label binary: {label: {"0": p, "1": q}}, where q is
    the share of annotators who found that label valid. These shares need not sum to 1, so the
    3-way distribution is q normalised over E/N/C. Plain {label: p} mappings pass through."""
    if not isinstance(soft_label, Mapping):
        raise DataError("expected a mapping of label to probability", field="soft_label")
    shares = []
    for name in LABEL_NAMES:
        value = soft_label.get(name, 0.0)
        if isinstance(value, Mapping):
            value = value.get("1", value.get("1.0", 0.0))
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise DataError(f"bad share for {name}: {value!r}", field="soft_label")
        shares.append(float(value))
    total = sum(shares)
    if not total > 0:
        raise DataError("no label has a positive share", field="soft_label")
    return [share / total for share in shares]


def _parse_lewidi(item_id: str, record: Any) -> Instance:
    text = _require(record, "text")
    premise, hypothesis = _text(text, "context"), _text(text, "statement")
    other = record.get("other_info") or {}
    explanations = other.get("explanations") or [] if isinstance(other, Mapping) else []
    return Instance(
        id=str(item_id),
        premise=premise,
        hypothesis=hypothesis,
        explanations=tuple(Explanation(str(t)) for t in explanations if str(t).strip()),
        human=Judgment.from_probs(
            lewidi_soft_label_to_probs(_require(record, "soft_label")), "soft_label"
        ),
    )


def _generic_judgment(record: Mapping[str, Any]) -> Judgment:
    for name in PROB_FIELDS:
        if record.get(name) is not None:
            return Judgment.from_probs(record[name], name)
    for name in COUNT_FIELDS:
        if record.get(name) is not None:
            return Judgment.from_counts(record[name], name)
    raise DataError(
        f"missing distribution: expected one of {', '.join(PROB_FIELDS + COUNT_FIELDS)}",
        field="distribution",
    )


def _generic_id(record: Mapping[str, Any]) -> str | None:
    value = record.get("id", record.get("uid"))
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise DataError("must be a non-empty string or integer", field="id")
    return str(value)


def instance_from_record(record: Any) -> Instance:
    """One generic JSON record (id?, premise, hypothesis, explanations?, distribution/probs/
    label/counts?) as an Instance; DataError names the field."""
    premise, hypothesis = _text(record, "premise"), _text(record, "hypothesis")
    explanations = []
    for i, item in enumerate(record.get("explanations") or []):
        name = f"explanations[{i}]"
        if isinstance(item, str):
            explanations.append(Explanation(item))
        elif isinstance(item, Mapping) and isinstance(item.get("text"), str):
            label = item.get("label")
            explanations.append(
                Explanation(item["text"], None if label is None else _label(label, name))
            )
        else:
            raise DataError("expected a string or {text, label}", field=name)
    if isinstance(record.get("human"), Mapping):  # the layout Instance.to_json writes
        human: Judgment | None = _judgment_object(record["human"], "human")
    elif any(record.get(n) is not None for n in PROB_FIELDS + COUNT_FIELDS):
        human = _generic_judgment(record)
    else:
        human = None
    references = record.get("references") or {}
    if not isinstance(references, Mapping):
        raise DataError("expected a mapping of name to {probs|counts}", field="references")
    gold = record.get("gold_label")
    return Instance(
        id=_generic_id(record) or text_id(premise, hypothesis),
        premise=premise,
        hypothesis=hypothesis,
        explanations=tuple(explanations),
        human=human,
        references={
            str(name): _judgment_object(value, f"references.{name}")
            for name, value in references.items()
        },
        gold_label=None if gold is None else _label(gold, "gold_label"),
    )


def _judgment_object(value: Any, field_name: str) -> Judgment:
    """{"counts": [...]} or {"probs": [...]}, as Judgment.to_json writes them."""
    if not isinstance(value, Mapping):
        raise DataError("expected {probs: [...]} or {counts: [...]}", field=field_name)
    if value.get("counts") is not None:
        return Judgment.from_counts(value["counts"], f"{field_name}.counts")
    if value.get("probs") is not None:
        return Judgment.from_probs(value["probs"], f"{field_name}.probs")
    raise DataError("expected {probs: [...]} or {counts: [...]}", field=field_name)


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """CSV rows as records: probability columns become ``probs``, count columns ``counts``."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        number = 0  # rows read so far; the header is row 1
        try:
            columns = set(reader.fieldnames or [])
            number = 1
            for number, row in enumerate(reader, start=2):
                record: dict[str, Any] = {
                    k: v for k, v in row.items() if k in ("id", "premise", "hypothesis") and v
                }
                for names, key in ((CSV_PROB_COLUMNS, "probs"), (CSV_COUNT_COLUMNS, "counts")):
                    if columns.issuperset(names):
                        record[key] = [_csv_number(row[n], n, number, path) for n in names]
                        with located(str(path), number):  # name the file's columns
                            _CSV_JUDGMENTS[key](record[key], ",".join(names))
                        break
                yield number, record
        except csv.Error as exc:  # e.g. a field over csv.field_size_limit() (131,072 chars)
            raise DataError(
                f"not readable as CSV: {exc}", source=str(path), row=number + 1
            ) from None


#: how _csv_rows checks the columns it reads, so a bad row names them, not its record key
_CSV_JUDGMENTS = {"probs": Judgment.from_probs, "counts": Judgment.from_counts}


def _csv_number(text: str | None, column: str, row: int, path: Path) -> float:
    try:
        return float(text) if text not in (None, "") else float("nan")
    except ValueError:
        raise DataError(
            f"not a number: {text!r}", source=str(path), row=row, field=column
        ) from None


# ---------------------------------------------------------------------------- public readers


def detect_format(path: str | Path) -> str:
    """Pick a reader from the file name and the first record's fields."""
    with utf8_text(path):
        return _detect_format(Path(path))


def _detect_format(path: Path) -> str:
    if not path.is_file():
        raise DataError("no such file", source=str(path))
    if path.suffix.lower() == ".csv":
        return "csv"
    first = _first_char(path)
    if first == "":
        raise DataError("file is empty", source=str(path))
    if path.suffix.lower() == ".json" and first == "{":
        document = _json_document(path)
        if isinstance(document, Mapping) and any(
            isinstance(v, Mapping) and "soft_label" in v for v in document.values()
        ):
            return "lewidi"
    record = next((r for _, r in _records(path)), None)
    if not isinstance(record, Mapping):
        raise DataError("expected JSON objects, one per line", source=str(path), row=1)
    keys = set(record)
    if {"comments", "chaos probs"} <= keys:
        return "explained"
    if "premise" in keys and keys & set(MACHINE_COMMENT_KEYS):
        return "model_explanations"
    if {"context", "statement"} <= keys and keys & set(LABEL_NAMES):
        return "varierr"
    if keys & {"label_counter", "label_dist", "example"} or (
        {"premise", "hypothesis", "label"} <= keys and "id" not in keys
    ):
        return "chaosnli"
    return "jsonl"


def _instance_rows(path: Path, fmt: str) -> Iterator[tuple[int, Any]]:
    if fmt == "csv":
        yield from _csv_rows(path)
    elif fmt == "lewidi":
        document = _json_document(path)
        if not isinstance(document, Mapping):
            raise DataError("expected a JSON object mapping ids to items", source=str(path))
        yield from enumerate(document.items(), start=1)
    else:
        yield from _records(path)


_PARSERS = {
    "explained": _parse_explained,
    "chaosnli": _parse_chaosnli,
    "varierr": _parse_varierr,
    "jsonl": instance_from_record,
    "csv": instance_from_record,
}


def read_instances(path: str | Path, fmt: str = "auto") -> list[Instance]:
    """Read NLI instances; every row must carry premise and hypothesis."""
    with utf8_text(path):
        return _read_instances(Path(path), fmt)


def _read_instances(path: Path, fmt: str) -> list[Instance]:
    fmt = detect_format(path) if fmt == "auto" else _check_format(fmt)
    source = str(path)
    explained = _explained_items() if fmt == "model_explanations" else []
    instances: list[Instance] = []
    seen: dict[str, int] = {}
    for index, (row, record) in enumerate(_instance_rows(path, fmt)):
        with located(source, row):
            if fmt == "model_explanations":
                instance = _parse_model_explanations(record, explained, index)
            elif fmt == "lewidi":
                instance = _parse_lewidi(*record)
            else:
                instance = _PARSERS[fmt](record)
            if instance.id in seen:
                raise DataError(
                    f"duplicate id {instance.id!r} (first at row {seen[instance.id]})", field="id"
                )
            seen[instance.id] = row
        instances.append(instance)
    if not instances:
        raise DataError("file has no records", source=source)
    if explained and len(instances) != len(explained):
        raise DataError(
            f"{len(instances)} rows; a model explanation file has one per explained item "
            f"({len(explained)})",
            source=source,
        )
    return instances


def _explained_items() -> list[Instance]:
    """The vendored explained items, which model explanation files are joined to."""
    return read_instances(vendored_path("explained"), "explained")


def read_distributions(path: str | Path, fmt: str = "auto") -> DistributionSet:
    """Read one distribution per row: the human distribution of a dataset, or the
    ``distribution``/``probs``/``label``/``counts`` of a generic file (texts optional)."""
    with utf8_text(path):
        return _read_distributions(Path(path), fmt)


def _read_distributions(path: Path, fmt: str) -> DistributionSet:
    fmt = detect_format(path) if fmt == "auto" else _check_format(fmt)
    if fmt not in ("jsonl", "csv"):
        instances = read_instances(path, fmt)
        missing = next((i for i, inst in enumerate(instances, 1) if inst.human is None), None)
        if missing is not None:
            raise DataError("row has no human distribution", source=str(path), row=missing)
        return DistributionSet(
            ids=[inst.id for inst in instances],
            probs=np.array([inst.human.probs for inst in instances], dtype=np.float64),  # type: ignore[union-attr]
            source=str(path),
        )
    source = str(path)
    ids: list[str] = []
    rows: list[tuple[float, ...]] = []
    seen: dict[str, int] = {}
    any_missing_id = False
    for row, record in _instance_rows(path, fmt):
        with located(source, row):
            if not isinstance(record, Mapping):
                raise DataError(f"expected a JSON object, got {type(record).__name__}")
            judgment = _generic_judgment(record)
            item_id = _generic_id(record)
            if item_id is None and record.get("premise") and record.get("hypothesis"):
                item_id = text_id(_text(record, "premise"), _text(record, "hypothesis"))
            if item_id is None:
                any_missing_id = True
                item_id = f"row-{row}"
            if item_id in seen:
                raise DataError(
                    f"duplicate id {item_id!r} (first at row {seen[item_id]})", field="id"
                )
            seen[item_id] = row
        ids.append(item_id)
        rows.append(judgment.probs)
    if not rows:
        raise DataError("file has no records", source=source)
    return DistributionSet(ids, np.array(rows, dtype=np.float64), source, not any_missing_id)


def id_mismatch(
    human_ids: Sequence[str], model_ids: Sequence[str], human_source: object, model_source: object
) -> str | None:
    """How two files' ids differ (counts and examples each way), or None when they agree."""
    human_set, model_set = set(human_ids), set(model_ids)
    if human_set == model_set:
        return None
    only_human = [i for i in human_ids if i not in model_set]
    only_model = [i for i in model_ids if i not in human_set]
    parts = []
    if only_human:
        parts.append(f"{len(only_human)} id(s) missing from {model_source}: {_preview(only_human)}")
    if only_model:
        parts.append(f"{len(only_model)} id(s) not in {human_source}: {_preview(only_model)}")
    return "; ".join(parts)


def align(
    human: DistributionSet, model: DistributionSet, *, subset: bool = False
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Pair rows by id when both files identify their rows, else by position. Ids must
    match, or with ``subset`` the rows of the ids both files share are paired (the caller
    says so: :func:`id_mismatch`)."""
    if human.ids_from_data and model.ids_from_data:
        mismatch = id_mismatch(human.ids, model.ids, human.source, model.source)
        order = {item_id: i for i, item_id in enumerate(model.ids)}
        shared = [r for r, item_id in enumerate(human.ids) if item_id in order]
        if mismatch and not (subset and shared):
            raise DataError("ids do not match; " + mismatch, field="id")
        ids = [human.ids[r] for r in shared]
        return ids, human.probs[shared], model.probs[[order[i] for i in ids]]
    if len(human) != len(model):
        raise DataError(
            f"row counts differ: {human.source} has {len(human)} rows, "
            f"{model.source} has {len(model)}"
        )
    return human.ids, human.probs, model.probs


def _preview(ids: list[str], limit: int = 3) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" (and {len(ids) - limit} more)" if len(ids) > limit else "")


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise DataError(
            f"unknown format {fmt!r}; expected auto or one of {', '.join(FORMATS)}", field="format"
        )
    return fmt


# ---------------------------------------------------------------------------- writers


def _atomic_write(path: Path, write: Any) -> None:
    """Write through a temporary file in the same folder, then rename: no half-written files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_jsonl(path: str | Path, records: Iterable[Mapping[str, Any]]) -> None:
    def write(handle: Any) -> None:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    _atomic_write(Path(path), write)


def write_instances_jsonl(path: str | Path, instances: Iterable[Instance]) -> None:
    write_jsonl(path, (instance.to_json() for instance in instances))


def write_distributions_csv(path: str | Path, ids: Iterable[str], probs: np.ndarray) -> None:
    def write(handle: Any) -> None:
        writer = csv.writer(handle)
        writer.writerow(["id", *CSV_PROB_COLUMNS])
        for item_id, row in zip(ids, probs, strict=True):
            writer.writerow([item_id, *(repr(float(p)) for p in row)])

    _atomic_write(Path(path), write)


def write_distributions_jsonl(path: str | Path, ids: Iterable[str], probs: np.ndarray) -> None:
    write_jsonl(
        path,
        (
            {"id": i, "distribution": [float(p) for p in row]}
            for i, row in zip(ids, probs, strict=True)
        ),
    )


def read_row_field(path: str | Path, name: str) -> list[Any]:
    """Each row's ``name`` field (None where absent), in the order :func:`read_instances`
    reads a JSON lines or JSON array file: e.g. the ``labels`` list ``mjd explain`` takes."""
    with utf8_text(path):
        return [
            record.get(name) if isinstance(record, Mapping) else None
            for _, record in _records(Path(path))
        ]

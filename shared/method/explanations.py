"""Explanations written by an LLM for items that have labels but no explanations (Chen, Peng,
Korhonen and Plank, Findings of ACL 2025: LLM-written explanations are good proxies for human
ones when collecting label distributions).

- ``label-guided``: for each label given for an item (from a ``labels`` list, its explanations'
  labels, its label counts or a named reference such as ``mnli``), the LLM lists short reasons
  why a reader would choose it; ``select`` keeps the first, the longest or all of them.
- ``label-free``: the LLM picks the labels a reader could choose and gives a reason for each.

No LLM here: :func:`explain` takes a function that turns prompts into texts (a backend's
``generate_texts``), a progress callback and a cancel check, so the CLI and a worker task can
both call it. Every record stores the template id and version, the model, the decoding
settings and the labels given, next to the explanations in the layout ``mjd generate`` reads.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, get_args

from shared.bounds import check_range, check_seed
from shared.errors import DataError
from shared.method.answers import SELECTIONS, Selection, parse_labelled, parse_list, select
from shared.schemas import Explanation, Instance
from shared.tasks import NLI, Task

Mode = Literal["label-guided", "label-free"]
MODES: tuple[str, ...] = get_args(Mode)
#: where the given labels of an item come from; any other name is one of its references
LABEL_SOURCES = ("auto", "labels", "explanations", "counts")
MAX_PER_LABEL = 10
MAX_NEW_TOKENS = 512
#: most labels given for one item (one prompt per distinct label, ``per_label`` kept each)
MAX_GIVEN_LABELS = 20
MAX_TEMPERATURE = 2.0


@dataclass(frozen=True, slots=True)
class Template:
    """A prompt, named and versioned: a changed wording gets a new version, so records made
    with different prompts can always be told apart. ``text`` is one of the task's
    explanation templates (placeholders checked by :class:`shared.tasks.Task`)."""

    id: str
    version: str
    text: str
    task: Task = NLI

    def render(self, instance: Instance, label: str | None = None) -> str:
        task = self.task
        lines = task.explanations.input_line
        inputs = "".join(
            lines.format(shown_as=field.shown_as, value=instance.inputs[field.name])
            for field in task.inputs
        )
        words = [item.word for item in task.labels]
        values = {
            "inputs": inputs + task.explanations.inputs_end,
            "words": ", ".join(words[:-1]) + " or " + words[-1],
        }
        if label is not None:
            known = task.labels[task.index(label)]
            values |= {"word": known.word, "gloss": known.gloss or known.word}
        return self.text.format(**values)


def templates_for(task: Task) -> dict[str, Template]:
    """The task's two explanation prompts by mode (NLI's keep their ids from before)."""
    stem = "mjd-explain" if task.name == NLI.name else f"mjd-explain-{task.name}"
    version = task.explanations.version
    return {
        "label-guided": Template(
            f"{stem}-label-guided", version, task.explanations.label_guided, task
        ),
        "label-free": Template(f"{stem}-label-free", version, task.explanations.label_free, task),
    }


TEMPLATES: dict[str, Template] = templates_for(NLI)


@dataclass(frozen=True, slots=True)
class Decoding:
    """Greedy by default; ``sample`` draws with ``temperature`` and ``top_p`` from ``seed``."""

    max_new_tokens: int = 128
    sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        check_range(self.max_new_tokens, 1, MAX_NEW_TOKENS, "max_new_tokens")
        if not 0 < self.temperature <= MAX_TEMPERATURE:
            raise DataError(f"must be > 0 and at most {MAX_TEMPERATURE}", field="temperature")
        if not 0 < self.top_p <= 1:
            raise DataError("must be > 0 and at most 1", field="top_p")
        check_seed(self.seed)


@dataclass(frozen=True, slots=True)
class ExplainSpec:
    mode: Mode = "label-guided"
    select: Selection = "first"
    per_label: int = 1
    labels_from: str = "auto"
    decoding: Decoding = field(default_factory=Decoding)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise DataError(f"expected one of {', '.join(MODES)}", field="mode")
        if self.select not in SELECTIONS:
            raise DataError(f"expected one of {', '.join(SELECTIONS)}", field="select")
        check_range(self.per_label, 1, MAX_PER_LABEL, "per_label")
        if not re.fullmatch(r"[a-z][a-z0-9_-]{0,39}", self.labels_from):
            raise DataError(
                f"expected {', '.join(LABEL_SOURCES)} or a reference name", field="labels_from"
            )

    @classmethod
    def from_json(cls, fields: Mapping[str, Any]) -> ExplainSpec:
        """The spec as ``asdict`` wrote it (a job's stored spec), its decoding included."""
        return cls(**{**fields, "decoding": Decoding(**fields.get("decoding", {}))})


#: told (done, total) as work goes on
Progress = Callable[[int, int], None] | None
#: what a text-generation backend offers: prompts, decoding, progress(done, total) -> texts
GenerateTexts = Callable[[Sequence[str], Decoding, Callable[[int, int], None] | None], list[str]]


class TextBackend(Protocol):
    """The part of an LLM backend :func:`explain_with` uses."""

    name: str
    model_id: str

    def generate_texts(
        self,
        prompts: Sequence[str],
        decoding: Decoding,
        progress: Progress = None,
    ) -> list[str]: ...


# ---------------------------------------------------------------------------- labels given


def labels_from_record(value: Any, field_name: str = "labels", task: Task = NLI) -> list[str]:
    """A ``labels`` list (["e", "neutral", ...]) checked against the task and bounded."""
    if not isinstance(value, list) or not value:
        raise DataError("expected a non-empty list of labels", field=field_name)
    if len(value) > MAX_GIVEN_LABELS:
        raise DataError(f"at most {MAX_GIVEN_LABELS} labels, got {len(value)}", field=field_name)
    out = []
    for item in value:
        try:
            out.append(task.parse_label(item if isinstance(item, str) else repr(item)))
        except DataError as exc:
            raise DataError(exc.message, field=field_name) from None
    return out


def given_labels(
    instance: Instance, source: str, labels: list[str] | None = None, task: Task = NLI
) -> list[str]:
    """The labels to explain for one item, with repeats (two readers chose it: two kept).

    ``auto`` takes the first of: a ``labels`` list, the explanations' labels, the counts of
    the item's human distribution. An item without any raises a DataError."""
    found: list[str] | None = None
    if source in ("auto", "labels") and labels:
        found = labels
    if found is None and source in ("auto", "explanations"):
        explained = [e.label for e in instance.explanations if e.label is not None]
        found = explained or None
    if found is None and source in ("auto", "counts"):
        counts = instance.human.counts if instance.human else None
        found = _expand(counts, "counts", task) if counts else None
    if found is None and source not in LABEL_SOURCES:
        reference = instance.references.get(source)
        if reference is None or reference.counts is None:
            known = ", ".join(name for name, r in instance.references.items() if r.counts)
            raise DataError(
                f"item {instance.id!r} has no label counts named {source!r}"
                + (f" (it has: {known})" if known else ""),
                field="labels_from",
            )
        found = _expand(reference.counts, source, task)
    if not found:
        where = "labels" if source == "auto" else source
        raise DataError(
            f"item {instance.id!r} has no labels to explain (from {where}); label-guided mode "
            "needs a labels list, labelled explanations or label counts",
            field="labels",
        )
    if len(found) > MAX_GIVEN_LABELS:
        raise DataError(
            f"item {instance.id!r} has {len(found)} labels; at most {MAX_GIVEN_LABELS}",
            field="labels",
        )
    return found


def _expand(counts: Sequence[int], name: str, task: Task) -> list[str]:
    if sum(counts) > MAX_GIVEN_LABELS:
        raise DataError(
            f"{sum(counts)} labels in {name}; at most {MAX_GIVEN_LABELS} can be explained",
            field="labels",
        )
    return [label for label, n in zip(task.label_names, counts, strict=True) for _ in range(n)]


# ---------------------------------------------------------------------------- records


def prompts_for(
    instance: Instance, spec: ExplainSpec, given: Sequence[str], task: Task = NLI
) -> list[str]:
    template = templates_for(task)[spec.mode]
    if spec.mode == "label-free":
        return [template.render(instance)]
    return [template.render(instance, label) for label in dict.fromkeys(given)]


def explained_record(
    instance: Instance,
    spec: ExplainSpec,
    given: Sequence[str],
    responses: Sequence[str],
    run: Mapping[str, Any],
    task: Task = NLI,
) -> dict[str, Any]:
    """The item with the LLM's explanations, in the generic JSON lines layout that
    ``read_instances`` reads, and what made them under ``explanation_generation``."""
    explanations: list[Explanation] = []
    unparsed = 0
    if spec.mode == "label-free":
        pairs, unparsed = parse_labelled(responses[0], task)
        for label in dict.fromkeys(label for label, _ in pairs):
            reasons = [reason for found, reason in pairs if found == label]
            explanations += [
                Explanation(r, label) for r in select(reasons, spec.select, spec.per_label)
            ]
        labels_asked: list[str | None] = [None]
    else:
        labels_asked = list(dict.fromkeys(given))
        for label, response in zip(labels_asked, responses, strict=True):
            wanted = spec.per_label * given.count(label)
            explanations += [
                Explanation(r, label) for r in select(parse_list(response), spec.select, wanted)
            ]
    template = templates_for(task)[spec.mode]
    out = instance.to_json()
    out["explanations"] = [e.to_json() for e in explanations]
    out["explanation_generation"] = {
        **run,
        "template": template.id,
        "template_version": template.version,
        "mode": spec.mode,
        "select": spec.select,
        "per_label": spec.per_label,
        "labels_from": spec.labels_from,
        "decoding": asdict(spec.decoding),
        "task": task.ref,
        "labels_given": [str(label) for label in given],
        "responses": [
            {"label": None if label is None else str(label), "text": text}
            for label, text in zip(labels_asked, responses, strict=True)
        ],
        "unparsed_lines": unparsed,
    }
    return out


def plan(
    instances: Sequence[Instance],
    spec: ExplainSpec,
    labels: Sequence[list[str] | None] | None = None,
    task: Task = NLI,
) -> list[list[str]]:
    """The labels given for each item (none in label-free mode), all checked before any LLM
    is loaded or called; ``labels[i]`` is item i's ``labels`` list, if any."""
    if spec.mode == "label-free":
        return [[] for _ in instances]
    return [
        given_labels(instance, spec.labels_from, labels[i] if labels else None, task)
        for i, instance in enumerate(instances)
    ]


def explain(
    instances: Sequence[Instance],
    given: Sequence[Sequence[str]],
    generate_texts: GenerateTexts,
    spec: ExplainSpec,
    *,
    run: Mapping[str, Any],
    task: Task = NLI,
    items_per_call: int = 8,
    progress: Progress = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> Iterator[dict[str, Any]]:
    """One explained record per item, in input order, for the labels :func:`plan` gave.
    ``run`` (backend, model) is stored with each; ``cancelled`` is asked before each call
    to the LLM and ``progress(done, total)`` counts prompts."""
    prompts = [
        prompts_for(instance, spec, g, task) for instance, g in zip(instances, given, strict=True)
    ]
    total = sum(len(p) for p in prompts)
    done = 0
    if progress is not None:
        progress(done, total)
    for start in range(0, len(instances), items_per_call):
        if cancelled():
            return
        chunk = range(start, min(start + items_per_call, len(instances)))
        flat = [p for i in chunk for p in prompts[i]]

        def advance(finished: int, _total: int, before: int = done) -> None:
            if progress is not None:
                progress(before + finished, total)

        texts = iter(generate_texts(flat, spec.decoding, advance))
        for i in chunk:
            responses = [next(texts) for _ in prompts[i]]
            yield explained_record(instances[i], spec, given[i], responses, run, task)
        done += len(flat)
        if progress is not None:
            progress(done, total)


def explain_with(
    backend: TextBackend,
    instances: Sequence[Instance],
    given: Sequence[Sequence[str]],
    spec: ExplainSpec,
    **options: Any,
) -> Iterator[dict[str, Any]]:
    """:func:`explain` with a backend's generation, its name and model stored with each record."""
    run = {"backend": backend.name, "model": backend.model_id}
    return explain(instances, given, backend.generate_texts, spec, run=run, **options)


def tally(records: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """How many explanations the records hold, and how many items got none."""
    return {
        "explanations": sum(len(record["explanations"]) for record in records),
        "items_without_explanations": sum(1 for record in records if not record["explanations"]),
    }


def labels_column(values: Sequence[Any], source: str, task: Task = NLI) -> list[list[str] | None]:
    """The ``labels`` field of each row of an input file, checked (row numbers from 1)."""
    out: list[list[str] | None] = []
    for row, value in enumerate(values, start=1):
        try:
            out.append(None if value is None else labels_from_record(value, task=task))
        except DataError as exc:
            raise DataError(exc.message, source=source, row=row, field=exc.field) from None
    return out

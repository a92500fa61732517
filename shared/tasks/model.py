"""What a task is, as data: its inputs, its labels, its prompt and its option orders.

A task is a value (a msgspec Struct): built-in ones live in :mod:`shared.tasks.builtin`,
users write more in a JSON or TOML file. Every text a user may write is checked here (its
placeholders are a fixed set, so a template can never reach an attribute), and every count
is bounded, so a task posted to the API is safe to store and to run.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from itertools import permutations
from typing import Annotated, Literal, get_args

import msgspec

from shared.errors import DataError

#: most labels a task may have: option letters are A, B, C, ... and single tokens up to P
MAX_LABELS = 16
OPTION_LETTERS: tuple[str, ...] = tuple(string.ascii_uppercase[:MAX_LABELS])
MAX_INPUTS = 8
#: longest text a task may hold in one of its strings (an instruction, a template)
MAX_TEXT = 4000
#: K up to this gets every permutation of its options (K = 4: 24 prompts per order)
MAX_ALL_PERMUTATIONS = 4
#: orders drawn by the ``sample`` policy
SAMPLED_ORDERS = 8
NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_ +-]{0,39}")

#: ``all``: every permutation (K <= 4); ``scale``: the scale in its order and reversed
#: (ordinal tasks: shuffling a scale changes the question); ``cyclic``: the K rotations;
#: ``sample``: a seeded sample of SAMPLED_ORDERS permutations; ``auto``: all for K <= 4, else
#: scale (ordinal) or cyclic (nominal).
OptionPolicy = Literal["auto", "all", "scale", "cyclic", "sample"]
OPTION_POLICIES: tuple[str, ...] = get_args(OptionPolicy)

Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]
Short = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class TaskInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One input field: ``name`` in the data, ``shown_as`` in the prompt ("Context");
    ``aliases`` are other names a data file may give it (LeWiDi's ``context``)."""

    name: Short
    shown_as: Short
    aliases: list[Short] = msgspec.field(default_factory=list)


class TaskLabel(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One label: ``name`` in the data (a soft-label key, a column), ``word`` in the prompt's
    option list, ``gloss`` saying what it means, ``aliases`` also accepted in data."""

    name: Short
    word: Short
    gloss: Text = ""
    aliases: list[Short] = msgspec.field(default_factory=list)


class PromptTemplate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The multiple-choice prompt, as pieces: an opening (plain or, with explanations, the
    explained one) then ``instruction``, one ``input_line`` per input, one ``comment`` per
    explanation (with ``explicit_choice`` when labels are stated), the options joined by
    ``option_separator``, and ``answer_cue``. The defaults are the authors' wording."""

    version: Short
    instruction: Text
    plain_prefix: Text = "Please "
    explained_prefix: Text = (
        "Please carefully and fairly base your selection on the comments below to "
    )
    input_line: Text = "\n{shown_as}: {value} "
    comment: Text = "\nComment {index}: {text} "
    explicit_choice: Text = "So I choose {word}. "
    option: Text = "\n{letter}. {word}"
    option_separator: Text = " "
    answer_cue: Text = ". \nAnswer:"


class ExplanationTemplates(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Prompts that ask an LLM for explanations. ``label_guided`` gets ``{inputs}``,
    ``{word}`` and ``{gloss}`` of one label; ``label_free`` gets ``{inputs}`` and
    ``{words}`` (the label words, "A, B or C"); ``input_line`` renders each input."""

    version: Short
    label_guided: Text
    label_free: Text
    input_line: Text = "{shown_as}: {value}\n"
    inputs_end: Text = "\n"


def check_placeholders(text: str, allowed: set[str], field: str) -> None:
    """Only ``{name}`` for allowed names: no attribute access, indexing, conversions or
    format specs (a template from a user must not read anything but its values)."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise DataError(f"bad template: {exc}", field=field) from None
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in allowed or spec or conversion:
            known = ", ".join("{" + n + "}" for n in sorted(allowed)) or "none"
            raise DataError(f"unknown placeholder {{{name}}}; it may use {known}", field=field)


class Task(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A labelling task: everything mjd needs to prompt for it, read its data and score it."""

    name: Annotated[str, msgspec.Meta(pattern=NAME.pattern)]
    version: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
    description: Text
    inputs: Annotated[list[TaskInput], msgspec.Meta(min_length=1, max_length=MAX_INPUTS)]
    labels: Annotated[list[TaskLabel], msgspec.Meta(min_length=2, max_length=MAX_LABELS)]
    prompt: PromptTemplate
    explanations: ExplanationTemplates
    ordinal: bool = False
    option_orders: OptionPolicy = "auto"
    #: the baselines every dataset of the task is scored against
    baselines: list[Literal["uniform", "prior"]] = msgspec.field(
        default_factory=lambda: ["uniform", "prior"]
    )
    #: the ``annotation task`` values of LeWiDi files that hold this task
    lewidi_names: list[Short] = msgspec.field(default_factory=list)
    #: the metric the task is ranked by (LeWiDi 2025: Wasserstein for ordinal scales)
    primary_metric: Literal["kl", "jsd", "tvd", "manhattan", "wasserstein"] = "manhattan"

    def __post_init__(self) -> None:
        _unique([i.name for i in self.inputs], "inputs")
        for i, item in enumerate(self.inputs):
            if not FIELD_NAME.fullmatch(item.name):
                raise DataError(f"must match {FIELD_NAME.pattern}", field=f"inputs[{i}].name")
        _unique([label.name for label in self.labels], "labels")
        spellings = [s.lower() for label in self.labels for s in (label.name, *label.aliases)]
        if len(set(spellings)) != len(spellings):
            raise DataError("a label name or alias is used twice", field="labels")
        for text, allowed, field in self._templates():
            check_placeholders(text, allowed, field)
        if self.option_orders == "scale" and not self.ordinal:
            raise DataError("the scale policy is for ordinal tasks", field="option_orders")
        if self.option_orders == "all" and len(self.labels) > MAX_ALL_PERMUTATIONS:
            raise DataError(
                f"all permutations only up to {MAX_ALL_PERMUTATIONS} labels "
                f"({len(self.labels)} would give too many prompts); use cyclic or sample",
                field="option_orders",
            )
        if self.primary_metric == "wasserstein" and not self.ordinal:
            raise DataError("wasserstein needs an ordinal task", field="primary_metric")

    def _templates(self) -> list[tuple[str, set[str], str]]:
        """Every template text, the placeholders it may use, and its field."""
        prompt, explain = self.prompt, self.explanations
        fixed = ("instruction", "plain_prefix", "explained_prefix", "option_separator")
        return [
            (prompt.input_line, {"shown_as", "value"}, "prompt.input_line"),
            (prompt.comment, {"index", "text"}, "prompt.comment"),
            (prompt.explicit_choice, {"word"}, "prompt.explicit_choice"),
            (prompt.option, {"letter", "word"}, "prompt.option"),
            (prompt.answer_cue, set(), "prompt.answer_cue"),
            *((getattr(prompt, name), set(), f"prompt.{name}") for name in fixed),
            (explain.label_guided, {"inputs", "word", "gloss"}, "explanations.label_guided"),
            (explain.label_free, {"inputs", "words"}, "explanations.label_free"),
            (explain.input_line, {"shown_as", "value"}, "explanations.input_line"),
            (explain.inputs_end, set(), "explanations.inputs_end"),
        ]

    @property
    def ref(self) -> str:
        """``name@version``, how records and jobs name the task they used."""
        return f"{self.name}@{self.version}"

    @property
    def label_names(self) -> tuple[str, ...]:
        return tuple(label.name for label in self.labels)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(item.name for item in self.inputs)

    @property
    def letters(self) -> tuple[str, ...]:
        return OPTION_LETTERS[: len(self.labels)]

    @property
    def policy(self) -> str:
        """The option-order policy ``auto`` resolves to for this task."""
        if self.option_orders != "auto":
            return self.option_orders
        if len(self.labels) <= MAX_ALL_PERMUTATIONS:
            return "all"
        return "scale" if self.ordinal else "cyclic"

    def word(self, label: str) -> str:
        return self.labels[self.index(label)].word

    def index(self, label: str) -> int:
        """The column of a label given by name, alias or word (any case); a DataError that
        lists the labels otherwise."""
        text = str(label).strip().lower()
        for i, known in enumerate(self.labels):
            spellings = (known.name, known.word, *known.aliases)
            if text in (s.lower() for s in spellings) or _same_number(text, known.name):
                return i
        raise DataError(
            f"unknown label {label!r} for task {self.name!r}; expected one of "
            + ", ".join(self.label_names)
        )

    def parse_label(self, label: str) -> str:
        """The label's name, from any accepted spelling."""
        return self.labels[self.index(label)].name


def _same_number(text: str, name: str) -> bool:
    """ "1.0" is label "1" and "+5" is "5" (LeWiDi writes some keys as floats)."""
    try:
        return float(text) == float(name)
    except ValueError:
        return False


def _unique(names: Sequence[str], field: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise DataError(f"{name!r} appears twice", field=f"{field}[{i}].name")
        seen.add(name)


def option_orders(task: Task, seed: int = 0) -> tuple[tuple[str, ...], ...]:
    """The label names behind options A, B, C, ... for each prompt of one explanation order,
    by the task's policy (``all`` keeps itertools' order: NLI's 6 are the notebook's)."""
    names = task.label_names
    policy = task.policy
    if policy == "all":
        return tuple(permutations(names))
    if policy == "scale":
        return (names, names[::-1])
    if policy == "cyclic":
        return tuple(names[i:] + names[:i] for i in range(len(names)))
    import numpy as np

    rng = np.random.default_rng(seed)
    drawn = {tuple(names)}
    while len(drawn) < SAMPLED_ORDERS:
        drawn.add(tuple(names[i] for i in rng.permutation(len(names))))
    return tuple(sorted(drawn, key=lambda order: [names.index(n) for n in order]))

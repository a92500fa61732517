"""LLM-written explanations without an LLM: parsing the LLM's list, selection, the labels
given, and the records :func:`explain` assembles (the text generator here is a plain function
that answers each prompt from its own words, so what lands where can be checked)."""

from __future__ import annotations

import pytest

from shared.datasets import instance_from_record, read_row_field
from shared.errors import DataError
from shared.labels import Label
from shared.method.explanations import (
    MAX_GIVEN_LABELS,
    TEMPLATES,
    Decoding,
    ExplainSpec,
    explain,
    given_labels,
    labels_column,
    parse_labelled,
    parse_list,
    plan,
    select,
)
from shared.schemas import Explanation, Instance, Judgment

E, N, C = Label.ENTAILMENT, Label.NEUTRAL, Label.CONTRADICTION
ITEM = Instance.nli("a", "A man sleeps.", "A person rests.")


def test_parse_list_keeps_marked_items_in_order_without_markers_or_repeats():
    text = (
        "Here are some reasons:\n- The man is a person.\n*  Sleeping is resting.\n"
        "1. Sleeping is resting.\n2) the man is a PERSON.\n\nHope this helps!"
    )
    assert parse_list(text) == ["The man is a person.", "Sleeping is resting."]
    assert parse_list("One reason.\n\nAnother one.") == ["One reason.", "Another one."]
    assert parse_list("  \n") == []


def test_parse_labelled_takes_a_label_per_line_and_counts_the_rest():
    text = (
        "- Entailment: a man is a person.\n- **Neutral**: he may be awake.\n"
        "- contradiction - sleeping is not resting.\n- I think so.\n- Neutral:\n"
    )
    pairs, unparsed = parse_labelled(text)
    assert pairs == [
        (E, "a man is a person."),
        (N, "he may be awake."),
        (C, "sleeping is not resting."),
    ]
    assert unparsed == 2


def test_select_first_longest_all():
    reasons = ["bb", "a", "cccc", "dd"]
    assert select(reasons, "first", 2) == ["bb", "a"]
    assert select(reasons, "longest", 2) == ["cccc", "bb"]
    assert select(reasons, "longest", 1) == [max(reasons, key=len)]
    assert select(reasons, "all", 1) == reasons
    assert select(reasons, "first", 9) == reasons


def test_given_labels_come_from_a_list_explanations_counts_or_a_reference():
    item = Instance.nli(
        "a",
        "P.",
        "H.",
        explanations=(Explanation("x", N), Explanation("y", E), Explanation("z")),
        human=Judgment.from_counts([1, 0, 2]),
        references={"mnli": Judgment.from_counts([0, 3, 2])},
    )
    assert given_labels(item, "auto", [C]) == [C]
    assert given_labels(item, "auto") == [N, E]
    assert given_labels(item, "counts") == [E, C, C]
    assert given_labels(item, "mnli") == [N, N, N, C, C]
    with pytest.raises(DataError, match=r"no label counts named 'varierr'.*mnli"):
        given_labels(item, "varierr")


def test_items_without_labels_or_with_too_many_are_refused_before_any_generation():
    spec = ExplainSpec()
    with pytest.raises(DataError, match="item 'a' has no labels to explain") as info:
        plan([ITEM], spec)
    assert info.value.field == "labels"
    crowd = Instance.nli("b", "P.", "H.", human=Judgment.from_counts([50, 30, 20]))
    with pytest.raises(DataError, match=f"100 labels in counts; at most {MAX_GIVEN_LABELS}"):
        plan([crowd], spec)
    assert plan([ITEM], ExplainSpec(mode="label-free")) == [[]]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"per_label": 0}, "per_label"),
        ({"per_label": 11}, "per_label"),
        ({"select": "best"}, "select"),
        ({"mode": "free"}, "mode"),
        ({"labels_from": "../etc"}, "labels_from"),
        ({"decoding": {"max_new_tokens": 513}}, "max_new_tokens"),
        ({"decoding": {"max_new_tokens": 0}}, "max_new_tokens"),
        ({"decoding": {"temperature": 0.0}}, "temperature"),
        ({"decoding": {"top_p": 1.5}}, "top_p"),
        ({"decoding": {"seed": -1}}, "seed"),
    ],
)
def test_every_knob_is_bounded(options, field):
    with pytest.raises(DataError) as info:
        decoding = options.pop("decoding", None)
        ExplainSpec(**options, **({"decoding": Decoding(**decoding)} if decoding else {}))
    assert info.value.field == field


def test_labels_lists_are_checked_with_their_row(write_jsonl):
    path = write_jsonl(
        "in.jsonl",
        [
            {"premise": "P.", "hypothesis": "H.", "labels": ["e", "Neutral"]},
            {"premise": "P2.", "hypothesis": "H."},
            {"premise": "P3.", "hypothesis": "H.", "labels": ["maybe"]},
        ],
    )
    values = read_row_field(path, "labels")
    assert labels_column(values[:2], str(path)) == [[E, N], None]
    with pytest.raises(DataError) as info:
        labels_column(values, str(path))
    assert (info.value.row, info.value.field) == (3, "labels")
    assert "unknown label 'maybe'" in str(info.value)
    with pytest.raises(DataError, match="at most"):
        labels_column([["e"] * (MAX_GIVEN_LABELS + 1)], "x")


def _echo(prompts, decoding, progress):
    """An answer per prompt that says which label it was asked about and how long it may be."""
    answers = []
    for prompt in prompts:
        word = next(
            (w for w in ("Entailment", "Neutral", "Contradiction") if f"choose {w}" in prompt), None
        )
        if word is None:  # label-free
            answers.append("- Neutral: not said.\n- Entailment: same thing.\n- who knows")
        else:
            answers.append(
                f"Reasons:\n- {word} short.\n- {word} is the longer reason.\n- {word} third."
                f" ({decoding.max_new_tokens})"
            )
    if progress is not None:
        progress(len(prompts), len(prompts))
    return answers


def test_label_guided_records_carry_the_given_labels_and_how_they_were_made():
    items = [ITEM, Instance.nli("b", "P.", "H.", explanations=(Explanation("x", C),))]
    spec = ExplainSpec(select="longest", decoding=Decoding(max_new_tokens=7))
    given = plan(items, spec, [[N, E, N], None])
    seen = []
    records = list(
        explain(
            items,
            given,
            _echo,
            spec,
            run={"backend": "test", "model": "echo"},
            items_per_call=1,
            progress=lambda done, total: seen.append((done, total)),
        )
    )
    first = records[0]
    assert [(e["label"], e["text"]) for e in first["explanations"]] == [
        ("neutral", "Neutral is the longer reason."),
        ("neutral", "Neutral third. (7)"),
        ("entailment", "Entailment is the longer reason."),
    ]
    made = first["explanation_generation"]
    template = TEMPLATES["label-guided"]
    assert (made["template"], made["template_version"]) == (template.id, template.version)
    assert made["model"] == "echo" and made["decoding"]["max_new_tokens"] == 7
    assert made["decoding"]["sample"] is False
    assert made["labels_given"] == ["neutral", "entailment", "neutral"]
    assert [r["label"] for r in made["responses"]] == ["neutral", "entailment"]
    assert [e["label"] for e in records[1]["explanations"]] == ["contradiction"]
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)
    # the record is an explained item as the generic reader reads it
    read = instance_from_record(first)
    assert read.id == "a" and [e.label for e in read.explanations] == [N, N, E]


def test_label_free_records_keep_the_labels_the_llm_chose():
    spec = ExplainSpec(mode="label-free")
    (record,) = explain([ITEM], plan([ITEM], spec), _echo, spec, run={"model": "echo"})
    assert [(e["label"], e["text"]) for e in record["explanations"]] == [
        ("neutral", "not said."),
        ("entailment", "same thing."),
    ]
    made = record["explanation_generation"]
    assert made["unparsed_lines"] == 1 and made["labels_given"] == []
    assert made["template"] == TEMPLATES["label-free"].id


def test_a_cancelled_run_stops_before_the_next_call():
    calls = []

    def generate(prompts, decoding, progress):
        calls.append(len(prompts))
        return _echo(prompts, decoding, progress)

    items = [Instance.nli(str(i), "P.", "H.") for i in range(3)]
    spec = ExplainSpec(mode="label-free")
    records = explain(
        items, plan(items, spec), generate, spec, run={}, items_per_call=1,
        cancelled=lambda: len(calls) >= 2,
    )  # fmt: skip
    assert len(list(records)) == 2 and calls == [1, 1]

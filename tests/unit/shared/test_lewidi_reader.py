"""Issue 22's readers: every LeWiDi file in ``../shared/data/lewidi`` (read by path) with its
count, task and label set; a fixture of our own per shape variant; wrong fields and labels
named by row and field."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from shared.datasets import detect_format, read_dataset, read_distributions, read_instances
from shared.errors import DataError
from shared.tasks import BUILTIN, NLI
from tests.lewidi_data import FIXTURES, lewidi_file, needs_lewidi

PARAPHRASE_LABELS = tuple(str(n) for n in range(-5, 6))

#: file -> (items, task, labels)
LEWIDI_FILES = {
    "2025/Paraphrase_train.json": (400, "paraphrase", PARAPHRASE_LABELS),
    "2025/Paraphrase_dev.json": (50, "paraphrase", PARAPHRASE_LABELS),
    "2025/CSC_dev.json": (704, "csc", ("1", "2", "3", "4", "5", "6")),
    "2025/MP_dev.json": (3005, "mp", ("0", "1")),
    "2025/VariErrNLI_train.json": (388, "nli", ("entailment", "neutral", "contradiction")),
    "2025/VariErrNLI_dev.json": (50, "nli", ("entailment", "neutral", "contradiction")),
    "2023/MD-Agreement_dev.json": (1104, "md-agreement", ("0", "1")),
    "2023/ConvAbuse_dev.json": (812, "convabuse", ("0", "1")),
}


@needs_lewidi
@pytest.mark.parametrize("name", list(LEWIDI_FILES))
def test_every_lewidi_file_reads_with_its_count_task_and_labels(name):
    count, task, labels = LEWIDI_FILES[name]
    path = lewidi_file(name)
    assert detect_format(path) == "lewidi"
    dataset = read_dataset(path)
    assert dataset.format == "lewidi" and len(dataset.instances) == count
    assert dataset.task is BUILTIN[task] and dataset.task.label_names == labels
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert [i.id for i in dataset.instances] == list(raw)  # ids are the file's keys
    for instance in dataset.instances:
        assert set(instance.inputs) == set(dataset.task.input_names)
        assert len(instance.human.probs) == len(labels)
        assert sum(instance.human.probs) == pytest.approx(1.0, abs=1e-9)
    distributions = read_distributions(path)
    assert distributions.task is dataset.task and distributions.probs.shape == (count, len(labels))


@needs_lewidi
def test_lewidi_soft_labels_are_the_files_own_in_the_tasks_order():
    """An independent reading: each item's soft label, key by key, as the reader's column."""
    for name in ("2025/Paraphrase_dev.json", "2025/MP_dev.json", "2023/MD-Agreement_dev.json"):
        path = lewidi_file(name)
        raw = json.loads(path.read_text(encoding="utf-8"))
        dataset = read_dataset(path)
        names = dataset.task.label_names
        for instance in dataset.instances:
            soft = raw[instance.id]["soft_label"]
            expected = [soft.get(n, soft.get(f"{float(n)}", 0.0)) for n in names]
            assert instance.human.probs == pytest.approx(expected, abs=1e-12)


@needs_lewidi
def test_paraphrase_explanations_carry_their_annotators_labels():
    path = lewidi_file("2025/Paraphrase_dev.json")
    raw = json.loads(path.read_text(encoding="utf-8"))
    for instance in read_instances(path):
        item = raw[instance.id]
        annotators = item["annotators"].split(",")
        texts = [t.strip() for t in item["other_info"]["explanations"]]
        expected = [
            (text, item["annotations"][a]) for text, a in zip(texts, annotators, strict=False)
        ]
        got = [(e.text.strip(), e.label) for e in instance.explanations]
        assert got == [(t, label) for t, label in expected if t]


@needs_lewidi
def test_varierr_nli_keeps_its_per_label_binary_soft_labels_and_the_hard_labels():
    dataset = read_dataset(lewidi_file("2025/VariErrNLI_dev.json"))
    assert dataset.task is NLI and dataset.renormalised == 0
    md = read_dataset(lewidi_file("2023/MD-Agreement_dev.json"))
    raw = json.loads(lewidi_file("2023/MD-Agreement_dev.json").read_text(encoding="utf-8"))
    assert [i.gold_label for i in md.instances] == [raw[i.id]["hard_label"] for i in md.instances]


# fixtures of our own, one per shape variant


def test_text_as_a_string_with_comma_separated_annotations_and_a_hard_label():
    dataset = read_dataset(FIXTURES / "text_string.json")
    assert dataset.task.name == "md-agreement" and dataset.renormalised == 0
    first, second = dataset.instances
    assert first.id == "1" and first.inputs == {"text": "<user> nobody asked for this #opinion"}
    assert first.human.probs == (0.8, 0.2) and second.human.probs == (0.2, 0.8)
    assert (first.gold_label, second.gold_label) == ("0", "1")


def test_text_as_a_json_encoded_object_and_rounded_soft_labels():
    dataset = read_dataset(FIXTURES / "text_json_encoded.json")
    assert dataset.task.name == "convabuse"
    second = dataset.instances[1]
    assert second.inputs["user"] == "shut up you stupid bot"
    assert list(second.inputs) == ["prev_agent", "prev_user", "agent", "user"]
    assert second.human.probs == pytest.approx((0.33, 0.67))


def test_text_as_an_object_with_explanations_and_renormalised_soft_labels():
    dataset = read_dataset(FIXTURES / "text_object_explanations.json")
    assert dataset.task.name == "paraphrase" and dataset.task.ordinal
    # 0.33 x 3 sums to 0.99: renormalised and counted; 0.67 + 0.33 and quarters are exact
    assert dataset.renormalised == 1
    first, second, third = dataset.instances
    assert first.human.probs[PARAPHRASE_LABELS.index("3")] == pytest.approx(1 / 3)
    assert sum(first.human.probs) == pytest.approx(1.0, abs=1e-12)
    assert first.inputs == {
        "Question1": "How do I learn to cook rice?",
        "Question2": "What is the best way to cook rice?",
    }
    assert [(e.text.strip(), e.label) for e in first.explanations] == [
        ("Both ask how to cook rice.", "3"),
        ("Learning is not the same as the best way.", "-1"),
        ("Same question.", "5"),
    ]
    # an empty explanation is left out and the others keep their annotators' labels
    assert [(e.text, e.label) for e in second.explanations] == [
        ("Different topics.", "-5"),
        ("Nothing in common.", "-4"),
    ]
    assert len(third.explanations) == 4 and third.gold_label is None


def test_soft_label_keys_written_as_floats():
    dataset = read_dataset(FIXTURES / "float_keys.json")
    assert dataset.task.name == "mp" and [i.id for i in dataset.instances] == ["2", "5"]
    assert [i.human.probs for i in dataset.instances] == [(0.4, 0.6), (1.0, 0.0)]


def test_varierr_binary_soft_labels_and_an_annotator_listed_twice():
    dataset = read_dataset(FIXTURES / "varierr_binary.json")
    assert dataset.task is NLI and dataset.renormalised == 0
    (item,) = dataset.instances
    # per-label shares of annotators who found each label valid (0.5, 0.75, 0), normalised
    assert item.human.probs == pytest.approx((0.5 / 1.25, 0.75 / 1.25, 0.0))
    assert item.inputs == {
        "premise": "The next year, he built himself a palace, which can still be toured.",
        "hypothesis": "The palace was built in only 1 year.",
    }
    labels = [str(e.label) for e in item.explanations]
    # Ann1 neutral, Ann2 "entailment,neutral" (listed twice: one each), Ann3, Ann4
    assert labels == ["neutral", "entailment", "neutral", "neutral", "entailment"]


def test_a_task_given_overrides_the_files_and_another_is_refused_by_its_labels():
    with pytest.raises(DataError) as caught:
        read_dataset(FIXTURES / "float_keys.json", task=BUILTIN["paraphrase"])
    assert caught.value.row == 1 and caught.value.field == "text.Question1"


def _write(tmp_path: Path, name: str, document: dict) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def _paraphrase(tmp_path: Path, change) -> Path:
    document = json.loads((FIXTURES / "text_object_explanations.json").read_text())
    change(document)
    return _write(tmp_path, "bad.json", document)


@pytest.mark.parametrize(
    ("change", "row", "field", "message"),
    [
        (lambda d: d["102"]["soft_label"].update({"7": 0.0}), 2, "soft_label.7", "unknown label"),
        (lambda d: d["103"]["soft_label"].update({"2.0": 0.1}), 3, "soft_label.2.0", "same label"),
        (lambda d: d["101"]["soft_label"].update({"-5": "x"}), 1, "soft_label.-5", "bad prob"),
        (lambda d: d["103"]["soft_label"].update({"5": 0.5}), 3, "soft_label", "sum to 1.5"),
        (lambda d: d["102"].pop("soft_label"), 2, "soft_label", "missing"),
        (lambda d: d["103"]["text"].pop("Question2"), 3, "text.Question2", "missing input"),
        (lambda d: d["101"]["text"].update({"Question1": " "}), 1, "text.Question1", "non-empty"),
        (lambda d: d["102"].update({"hard_label": "9"}), 2, "hard_label", "unknown label"),
    ],
)
def test_a_wrong_field_or_label_names_row_and_field(tmp_path, change, row, field, message):
    path = _paraphrase(tmp_path, change)
    with pytest.raises(DataError) as caught:
        read_dataset(path)
    assert (caught.value.source, caught.value.row, caught.value.field) == (str(path), row, field)
    assert message in caught.value.message
    assert f"row {row}, field '{field}'" in str(caught.value)


def test_a_file_whose_task_cannot_be_found_says_to_give_one(tmp_path):
    path = _write(
        tmp_path, "x.json", {"1": {"annotation task": "x", "text": "t", "soft_label": {"a": 1}}}
    )
    with pytest.raises(DataError, match="give one with --task") as caught:
        read_dataset(path)
    assert caught.value.field == "annotation task"


def test_annotations_without_an_annotators_list_pair_in_the_mappings_order(tmp_path):
    document = json.loads((FIXTURES / "varierr_binary.json").read_text())
    document["49807"].pop("annotators")
    (item,) = read_instances(_write(tmp_path, "v.json", document))
    assert [str(e.label) for e in item.explanations] == [
        "neutral", "entailment", "neutral", "neutral", "entailment"
    ]  # fmt: skip


def test_a_one_input_task_reads_its_field_from_a_json_encoded_text(tmp_path):
    document = json.loads((FIXTURES / "text_string.json").read_text())
    document["1"]["text"] = json.dumps({"text": "encoded tweet"})
    document["2"]["text"] = '{"not the field": 1}'  # kept as the text itself
    first, second = read_instances(_write(tmp_path, "t.json", document))
    assert first.inputs == {"text": "encoded tweet"}
    assert second.inputs == {"text": '{"not the field": 1}'}


def test_lewidi_distributions_align_with_a_prediction_file(tmp_path):
    path = FIXTURES / "float_keys.json"
    human = read_distributions(path)
    assert human.ids == ["2", "5"] and np.array_equal(human.probs, [[0.4, 0.6], [1.0, 0.0]])

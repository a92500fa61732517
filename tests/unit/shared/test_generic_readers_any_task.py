"""Generic JSONL and CSV files of any task: the task's input fields by name (or alias), its
label columns (CSV: one per label name, or ``n_<label>`` counts); a user task from a TOML
file with a JSONL of its items."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shared.datasets import read_dataset, read_distributions
from shared.errors import DataError
from shared.tasks import BUILTIN
from shared.tasks.files import read_task_file
from tests.lewidi_data import TASK_FIXTURES

CSC = BUILTIN["csc"]
PARAPHRASE = BUILTIN["paraphrase"]


@pytest.fixture
def stance():
    return read_task_file(TASK_FIXTURES / "stance.toml")


def test_a_user_task_file_with_a_jsonl_of_its_items(stance):
    assert stance.ref == "stance@1" and stance.policy == "all" and not stance.ordinal
    dataset = read_dataset(TASK_FIXTURES / "stance.jsonl", task=stance)
    assert dataset.task is stance and dataset.format == "jsonl"
    s1, s2, s3, s4 = dataset.instances
    assert s1.human.counts == (4, 0, 1, 0) and s1.human.probs == (0.8, 0.0, 0.2, 0.0)
    assert s2.inputs == {"text": "Wind turbines ruin the view and kill birds."}  # an alias
    assert s2.human.probs == (0.0, 0.75, 0.25, 0.0)  # keyed by label, missing ones 0
    assert [(e.text, e.label) for e in s3.explanations] == [("Just an observation.", "neither")]
    assert s4.gold_label == "unrelated"
    human = read_distributions(TASK_FIXTURES / "stance.jsonl", task=stance)
    assert human.ids == ["s1", "s2", "s3", "s4"] and human.probs.shape == (4, 4)


def test_a_wrong_label_in_a_user_tasks_file_names_row_and_field(tmp_path, stance):
    path = tmp_path / "bad.jsonl"
    lines = (TASK_FIXTURES / "stance.jsonl").read_text().splitlines()
    lines[2] = json.dumps({"id": "s3", "text": "x", "gold_label": "maybe"})
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as caught:
        read_dataset(path, task=stance)
    assert (caught.value.row, caught.value.field) == (3, "gold_label")
    assert "favor, against, neither, unrelated" in caught.value.message


def test_generic_jsonl_with_a_tasks_field_names(tmp_path):
    path = tmp_path / "csc.jsonl"
    rows = [
        {"id": "a", "context": "It rained all day.", "response": "Lovely.",
         "probs": [0, 0, 0, 0, 0.5, 0.5]},
        {"id": "b", "context": "You won!", "response": "Thanks!", "counts": [3, 1, 0, 0, 0, 0]},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    dataset = read_dataset(path, task=CSC)
    assert [i.inputs for i in dataset.instances] == [
        {"context": "It rained all day.", "response": "Lovely."},
        {"context": "You won!", "response": "Thanks!"},
    ]
    assert dataset.instances[1].human.probs == (0.75, 0.25, 0, 0, 0, 0)
    path.write_text(json.dumps({"id": "c", "context": "x", "probs": [1, 0, 0, 0, 0, 0]}) + "\n")
    with pytest.raises(DataError) as caught:
        read_dataset(path, task=CSC)
    assert (caught.value.row, caught.value.field) == (1, "response")
    path.write_text(json.dumps({"id": "c", "context": "x", "response": "y", "probs": [1, 0]}))
    with pytest.raises(DataError, match="expected 6 values") as caught:
        read_dataset(path, task=CSC)
    assert (caught.value.row, caught.value.field) == (1, "probs")


def test_csv_with_a_tasks_label_columns_and_count_columns(tmp_path):
    names = PARAPHRASE.label_names
    probs = np.zeros((2, 11))
    probs[0, [0, 10]] = 0.5
    probs[1, 5] = 1.0
    path = tmp_path / "p.csv"
    path.write_text(
        "id,Question1,Question2," + ",".join(names) + "\n"
        + "".join(f"q{r},A?,B?," + ",".join(f"{v:g}" for v in probs[r]) + "\n" for r in (0, 1))
    )  # fmt: skip
    dataset = read_dataset(path, task=PARAPHRASE)
    assert [i.id for i in dataset.instances] == ["q0", "q1"]
    assert np.array_equal([i.human.probs for i in dataset.instances], probs)
    counts = tmp_path / "n.csv"
    counts.write_text(
        "id,context,response," + ",".join(f"n_{n}" for n in CSC.label_names) + "\n"
        "x,Nice day.,Sure is.,1,0,0,0,0,3\n"
    )
    (item,) = read_dataset(counts, task=CSC).instances
    assert item.human.counts == (1, 0, 0, 0, 0, 3)


def test_csv_missing_one_label_column_names_it(tmp_path):
    path = tmp_path / "p.csv"
    names = PARAPHRASE.label_names[:-1]  # no "5"
    path.write_text("id," + ",".join(names) + "\nq0," + ",".join(["0.1"] * 10) + "\n")
    with pytest.raises(DataError) as caught:
        read_distributions(path, task=PARAPHRASE)
    assert (caught.value.row, caught.value.field) == (1, "5")
    path.write_text("id," + ",".join(PARAPHRASE.label_names) + "\nq0," + "x," * 10 + "1\n")
    with pytest.raises(DataError) as caught:
        read_distributions(path, task=PARAPHRASE)
    assert (caught.value.row, caught.value.field) == (2, "-5")

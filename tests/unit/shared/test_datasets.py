"""Readers, writers and format detection on the vendored data and on files built here."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shared.datasets import (
    align,
    detect_format,
    read_distributions,
    read_instances,
    soft_label_probs,
    vendored_path,
    write_distributions_csv,
    write_distributions_jsonl,
    write_instances_jsonl,
)
from shared.errors import DataError
from shared.labels import LABELS, Label
from shared.tasks import NLI


@pytest.mark.parametrize(
    ("name", "fmt", "rows"),
    [("explained", "explained", 341), ("dev", "chaosnli", 629), ("varierr", "varierr", 500)],
)
def test_vendored_files_are_detected_and_read_whole(name, fmt, rows):
    path = vendored_path(name)
    assert detect_format(path) == fmt
    instances = read_instances(path)
    assert len(instances) == rows
    assert len({i.id for i in instances}) == rows
    assert all(i.human is not None for i in instances)
    assert np.allclose([sum(i.human.probs) for i in instances], 1.0)


def test_explained_items_carry_explanations_references_and_gold(explained):
    for item in explained:
        assert len(item.explanations) == 4
        assert all(e.label in LABELS for e in item.explanations)
        counts = [sum(e.label == label for e in item.explanations) for label in LABELS]
        assert list(item.references["varierr"].counts) == counts
        assert sum(item.references["mnli"].counts) == 5
        assert item.gold_label is not None


def test_varierr_reader_agrees_with_the_explained_file(explained):
    """Where both files hold an item, VariErr's explanations (grouped E, C, N, then by
    annotator) and its ChaosNLI counts are the explained file's comments and distribution."""
    varierr = {(i.premise, i.hypothesis): i for i in read_instances(vendored_path("varierr"))}
    matched = 0
    for item in explained:
        other = varierr.get((item.premise, item.hypothesis))
        if other is None:
            continue
        matched += 1
        assert [e.label for e in other.explanations] == [e.label for e in item.explanations]
        assert [e.text.strip() for e in other.explanations] == [
            e.text.strip() for e in item.explanations
        ]
        assert np.allclose(other.human.probs, item.human.probs)
    assert matched > 300


def test_chaosnli_original_layout_uses_counts_and_example(write_jsonl):
    path = write_jsonl(
        "chaos.jsonl",
        [
            {
                "uid": "42e",
                "label_counter": {"e": 60, "n": 30, "c": 10},
                "label_dist": [0.6, 0.3, 0.1],
                "old_label": "e",
                "example": {
                    "uid": "42e",
                    "premise": "A dog runs.",
                    "hypothesis": "An animal moves.",
                },
            }
        ],
    )
    assert detect_format(path) == "chaosnli"
    (item,) = read_instances(path)
    assert item.id == "42e"
    assert item.human.counts == (60, 30, 10)
    assert item.gold_label is Label.ENTAILMENT


def test_lewidi_per_label_binary_soft_labels_are_converted(tmp_path):
    soft = {
        "contradiction": {"0": 0.5, "1": 0.5},
        "entailment": {"0": 0.5, "1": 0.5},
        "neutral": {"0": 1.0, "1": 0.0},
    }
    assert soft_label_probs(soft, NLI) == ([0.5, 0.0, 0.5], False)
    path = tmp_path / "VariErrNLI_dev.json"
    path.write_text(
        json.dumps(
            {
                "7": {
                    "text": {"context": "P.", "statement": "H."},
                    "soft_label": soft,
                    "other_info": {"explanations": ["one", "two"]},
                }
            }
        )
    )
    assert detect_format(path) == "lewidi"
    (item,) = read_instances(path)
    assert item.id == "7"
    assert item.human.probs == (0.5, 0.0, 0.5)
    assert [e.text for e in item.explanations] == ["one", "two"]


def test_generic_jsonl_and_csv_round_trip(tmp_path, explained):
    ids = [i.id for i in explained[:20]]
    probs = np.array([i.human.probs for i in explained[:20]])
    write_distributions_jsonl(tmp_path / "d.jsonl", ids, probs)
    write_distributions_csv(tmp_path / "d.csv", ids, probs)
    for name, fmt in (("d.jsonl", "jsonl"), ("d.csv", "csv")):
        assert detect_format(tmp_path / name) == fmt
        got = read_distributions(tmp_path / name)
        assert got.ids == ids
        assert np.array_equal(got.probs, probs)
    write_instances_jsonl(tmp_path / "i.jsonl", explained[:20])
    again = read_instances(tmp_path / "i.jsonl")
    assert [i.id for i in again] == ids
    assert again == explained[:20]  # texts, explanations, human, references and gold label


def test_csv_counts_columns(tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text("id,n_entailment,n_neutral,n_contradiction\na,3,1,0\nb,0,0,4\n")
    got = read_distributions(path)
    assert got.ids == ["a", "b"]
    assert np.allclose(got.probs, [[0.75, 0.25, 0], [0, 0, 1]])


def test_align_by_id_reorders_and_by_position_needs_equal_length(tmp_path):
    write_distributions_jsonl(tmp_path / "h.jsonl", ["a", "b"], np.array([[1, 0, 0], [0, 1, 0.0]]))
    write_distributions_jsonl(tmp_path / "m.jsonl", ["b", "a"], np.array([[0, 1, 0], [1, 0, 0.0]]))
    _, human, model = align(
        read_distributions(tmp_path / "h.jsonl"), read_distributions(tmp_path / "m.jsonl")
    )
    assert np.array_equal(human, model)
    (tmp_path / "p.jsonl").write_text('{"probs": [1, 0, 0]}\n')
    with pytest.raises(DataError, match="row counts differ"):
        align(read_distributions(tmp_path / "h.jsonl"), read_distributions(tmp_path / "p.jsonl"))


def test_finding_7_a_csv_field_over_the_csv_limit_is_a_data_error_naming_its_row(tmp_path):
    """The csv module refuses fields over 131,072 characters (``_csv.Error``, a 500 at the
    API); the reader says which row."""
    path = tmp_path / "long.csv"
    path.write_text("premise,hypothesis\nP1.,H.\nP2.,H.\n" + "x" * 131_073 + ",H.\n")
    with pytest.raises(DataError, match="field larger than field limit") as caught:
        read_instances(path)
    assert caught.value.row == 4 and caught.value.source == str(path)
    header = tmp_path / "header.csv"
    header.write_text("premise," + "h" * 131_073 + "\nP.,H.\n")
    with pytest.raises(DataError) as caught:
        read_distributions(header)
    assert caught.value.row == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"premise": "P.", "hypothesis": "H.", "n": ' + "9" * 5000 + "}", "digits"),
        ('{"premise": "P.", "hypothesis": "H.", "x": ' + "[" * 5000 + "]" * 5000 + "}", "nested"),
    ],
    ids=["huge-integer", "deep-nesting"],
)
@pytest.mark.parametrize("layout", ["jsonl", "json"])
def test_finding_7_json_nested_too_deeply_or_a_huge_integer_is_a_data_error(
    tmp_path, text, message, layout
):
    """``json.loads`` raises RecursionError or ValueError (Python's 4300-digit limit on int())
    for these; the readers turn them into DataErrors like any invalid JSON."""
    path = tmp_path / f"bad.{layout}"
    path.write_text(f'{{"premise": "P.", "hypothesis": "H."}}\n{text}\n' if layout == "jsonl"
                    else f'[{{"premise": "P.", "hypothesis": "H."}}, {text}]')  # fmt: skip
    with pytest.raises(DataError, match=message) as caught:
        read_instances(path)
    assert caught.value.row == (2 if layout == "jsonl" else None)

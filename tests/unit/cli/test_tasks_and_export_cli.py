"""``mjd tasks list|show`` and ``mjd export-predictions`` (issue 22, sections 1 and 8): the
tasks as their JSON documents; MJDs or predictions in LeWiDi's submission layout, keyed by the
original file's ids and spelt with its soft-label keys."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from services.cli import main
from shared.datasets import read_dataset
from shared.tasks import BUILTIN
from shared.tasks.files import read_task_file, task_from_json, task_json
from tests.lewidi_data import FIXTURES, TASK_FIXTURES, lewidi_file, needs_lewidi

STANCE = TASK_FIXTURES / "stance.toml"


def test_tasks_list_json_names_every_built_in_task_and_a_file(capsys):
    assert main(["tasks", "list", "--format", "json", "--file", str(STANCE)]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)["tasks"]}
    assert list(rows) == [*BUILTIN, "stance"]
    assert rows["paraphrase"]["labels"] == [str(n) for n in range(-5, 6)]
    assert rows["paraphrase"]["prompts_per_explanation_order"] == 2
    assert rows["nli"]["prompts_per_explanation_order"] == 6
    assert rows["stance"]["prompts_per_explanation_order"] == 24
    assert rows["md-agreement"]["inputs"] == ["text"] and rows["csc"]["ordinal"] is True


def test_tasks_list_table(capsys):
    assert main(["tasks", "list"]) == 0
    out = capsys.readouterr().out
    assert "paraphrase@1" in out and "ordinal" in out


@pytest.mark.parametrize("name", [*BUILTIN, str(STANCE)])
def test_tasks_show_json_is_the_task_file(capsys, name):
    assert main(["tasks", "show", name, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    expected = BUILTIN[name] if name in BUILTIN else read_task_file(STANCE)
    assert task_from_json(document) == expected and document == task_json(expected)


def test_tasks_show_table_and_unknown_names(capsys):
    assert main(["tasks", "show", "csc@1"]) == 0
    out = capsys.readouterr().out
    assert "A. 1: 1, not at all sarcastic" in out and "2 prompt(s)" in out
    assert main(["tasks", "show", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown task 'nope'; known: convabuse" in err and len(err.splitlines()) == 1


def predictions(path: Path, ids: list[str], probs: np.ndarray) -> Path:
    rows = [{"id": i, "distribution": p} for i, p in zip(ids, probs.tolist(), strict=True)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def export(data: Path, pred: Path, out: Path, fmt: str = "lewidi") -> int:
    return main(["export-predictions", "--input", str(pred), "--data", str(data),
                 "--format", fmt, "--out", str(out)])  # fmt: skip


def test_export_keys_soft_labels_as_the_file_spells_them(tmp_path, capsys):
    data = FIXTURES / "float_keys.json"  # MP: keys "0.0" and "1.0"
    pred = predictions(tmp_path / "p.jsonl", ["5", "2"], np.array([[0.9, 0.1], [0.3, 0.7]]))
    assert export(data, pred, tmp_path / "sub.json") == 0
    assert "wrote 2 soft labels (mp@1; keys 0.0, 1.0)" in capsys.readouterr().out
    document = json.loads((tmp_path / "sub.json").read_text())
    assert list(document) == ["2", "5"]  # the file's order
    assert document == {
        "2": {"soft_label": {"0.0": 0.3, "1.0": 0.7}},
        "5": {"soft_label": {"0.0": 0.9, "1.0": 0.1}},
    }
    assert export(data, pred, tmp_path / "sub.tsv", "lewidi-tsv") == 0
    assert (tmp_path / "sub.tsv").read_text() == "2\t[0.3, 0.7]\n5\t[0.9, 0.1]\n"


def test_export_reads_back_as_the_same_distributions(tmp_path):
    """The exported soft labels, put back into the original file's items, read as the
    predictions: ids, keys and order survive the trip."""
    data = FIXTURES / "text_object_explanations.json"
    ids = [i.id for i in read_dataset(data).instances]
    probs = np.random.default_rng(1).dirichlet(np.ones(11), size=len(ids))
    assert export(data, predictions(tmp_path / "p.jsonl", ids, probs), tmp_path / "s.json") == 0
    submitted = json.loads((tmp_path / "s.json").read_text())
    assert all(list(v["soft_label"]) == [str(n) for n in range(-5, 6)] for v in submitted.values())
    original = json.loads(data.read_text())
    for item_id, value in submitted.items():
        original[item_id]["soft_label"] = value["soft_label"]
    (tmp_path / "back.json").write_text(json.dumps(original))
    back = read_dataset(tmp_path / "back.json")
    assert np.allclose([i.human.probs for i in back.instances], probs, atol=1e-12)


@needs_lewidi
def test_export_mjds_for_paraphrase_dev(tmp_path, capsys):
    dev = lewidi_file("2025/Paraphrase_dev.json")
    ids = [i.id for i in read_dataset(dev).instances]
    probs = np.random.default_rng(2).dirichlet(np.ones(11), size=len(ids))
    rows = [
        {
            "id": i,
            "distribution": p,
            "labels": [str(n) for n in range(-5, 6)],
            "task": "paraphrase@1",
        }
        for i, p in zip(ids, probs.tolist(), strict=True)
    ]  # as mjd generate writes them
    pred = tmp_path / "mjd.jsonl"
    pred.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert export(dev, pred, tmp_path / "Paraphrase_dev_soft.json") == 0
    document = json.loads((tmp_path / "Paraphrase_dev_soft.json").read_text())
    raw = json.loads(dev.read_text())
    assert list(document) == list(raw)
    assert all(list(document[i]["soft_label"]) == list(raw[i]["soft_label"]) for i in raw)


def _row(item_id: str, *probs: float) -> dict:
    return {"id": item_id, "distribution": list(probs)}


@pytest.mark.parametrize(
    ("data", "rows", "message"),
    [
        ("float_keys.json", [_row("2", 1, 0)], "1 id(s) missing from"),
        ("float_keys.json", [_row("2", 1, 0), _row("5", 1, 0), _row("9", 1, 0)], "1 id(s) not in"),
        ("float_keys.json", [_row("2", 1, 0, 0)], "row 1, field 'distribution'"),
        ("varierr_binary.json", [_row("49807", 1, 0, 0)], "per-label binary"),
    ],
)
def test_export_bad_input_exits_2_with_one_line(tmp_path, capsys, data, rows, message):
    pred = tmp_path / "p.jsonl"
    pred.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "sub.json"
    assert export(FIXTURES / data, pred, out) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_export_needs_the_original_lewidi_file(tmp_path, capsys):
    pred = predictions(tmp_path / "p.jsonl", ["s1"], np.array([[1.0, 0, 0, 0]]))
    assert export(TASK_FIXTURES / "stance.jsonl", pred, tmp_path / "o.json") == 2
    assert "expected the original LeWiDi file" in capsys.readouterr().err

"""Issue 22's acceptance for students from the command line: ``mjd train --data
Paraphrase_train.json`` (its human soft labels; the task found from the file) then ``mjd
export`` then ``mjd predict --input Paraphrase_dev.json`` gives 11-way predictions with the
file's ids and the labels. The LeWiDi files are read by path, never copied."""

from __future__ import annotations

import json

import numpy as np
import pytest

from services.cli import main
from shared.datasets import read_dataset
from tests.lewidi_data import lewidi_file, needs_lewidi

TRAIN, DEV = lewidi_file("2025/Paraphrase_train.json"), lewidi_file("2025/Paraphrase_dev.json")

pytestmark = [pytest.mark.slow, needs_lewidi]


def test_train_export_predict_on_paraphrase(tmp_path, capsys):
    checkpoint, model, out = tmp_path / "checkpoint", tmp_path / "model", tmp_path / "pred.jsonl"
    assert main(["train", "--data", str(TRAIN), "--epochs", "1", "--max-length", "48",
                 "--batch-size", "32", "--out", str(checkpoint)]) == 0  # fmt: skip
    info = json.loads((checkpoint / "student.json").read_text())
    assert info["task"] == "paraphrase@1" and len(info["labels"]) == 11
    assert main(["export", str(checkpoint), "--out", str(model), "--no-int8"]) == 0
    metadata = json.loads((model / "metadata.json").read_text())
    assert metadata["inputs"] == ["Question1", "Question2"] and metadata["ordinal"] is True
    assert main(["predict", "--model", str(model), "--input", str(DEV), "--out", str(out)]) == 0
    assert "task paraphrase@1, 11 labels" in capsys.readouterr().out
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    dev = read_dataset(DEV)
    assert [r["id"] for r in rows] == [i.id for i in dev.instances] and len(rows) == 50
    assert all(r["labels"] == [str(n) for n in range(-5, 6)] for r in rows)
    p = np.array([r["distribution"] for r in rows])
    assert p.shape == (50, 11) and np.allclose(p.sum(1), 1, atol=1e-5)

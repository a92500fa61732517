"""`mjd evaluate` end to end: report numbers equal the library's, plots are real images."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from services.cli import main
from shared.datasets import vendored_path, write_distributions_jsonl
from shared.metrics import evaluate


@pytest.fixture
def model_file(tmp_path, explained):
    rng = np.random.default_rng(0)
    human = np.array([i.human.probs for i in explained])
    model = 0.7 * human + 0.3 * rng.dirichlet([1, 1, 1], len(human))
    order = rng.permutation(len(human))  # a model file in another order still lines up by id
    write_distributions_jsonl(
        tmp_path / "model.jsonl", [explained[i].id for i in order], model[order]
    )
    return tmp_path / "model.jsonl", human, model


def test_json_report_equals_library_result(capsys, model_file):
    path, human, model = model_file
    argv = ["evaluate", "--human", str(vendored_path("explained")), "--model", str(path)]
    assert main([*argv, "--format", "json", "--bootstrap", "200", "--seed", "3"]) == 0
    payload = json.loads(capsys.readouterr().out)
    expected = evaluate(human, model, resamples=200, seed=3).to_json()
    assert payload["kl"] == expected["kl"]
    assert payload["dcorr"] == expected["dcorr"]
    assert payload["n"] == 341
    assert payload["conventions"]["label_order"] == ["entailment", "neutral", "contradiction"]


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_plot_is_written(capsys, tmp_path, model_file, suffix):
    path, *_ = model_file
    plot = tmp_path / f"ternary{suffix}"
    argv = ["evaluate", "--human", str(vendored_path("explained")), "--model", str(path)]
    assert main([*argv, "--plot", str(plot), "--bootstrap", "0"]) == 0
    out = capsys.readouterr().out
    assert "D.Corr" in out
    entropy_plot = tmp_path / f"ternary.entropy{suffix}"  # the entropy scatter, beside it
    assert f"plot: {plot}\nplot: {entropy_plot}" in out
    assert entropy_plot.read_bytes()[:8] == plot.read_bytes()[:8]
    data = plot.read_bytes()
    if suffix == ".png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    else:
        root = ET.fromstring(data)
        assert root.tag.endswith("svg")
        assert (
            b"entailment" in data or len(root.findall(".//{http://www.w3.org/2000/svg}path")) > 100
        )


def test_plot_suffix_is_checked(capsys, model_file, tmp_path):
    path, *_ = model_file
    argv = ["evaluate", "--human", str(vendored_path("explained")), "--model", str(path)]
    assert main([*argv, "--plot", str(tmp_path / "x.jpg")]) == 2
    assert "field 'plot'" in capsys.readouterr().err
